// Loaders for the real datasets, by name, from ../shared/data or the download cache (see registry.ts).
//
// These curated loaders load their dataset even where it has known-bad records (UltraFeedback's train
// sample has a pair whose chosen and rejected are identical; HH-RLHF has empty replies): by default they
// skip such records and report them, in the result's `report` and in one note on stderr with the counts
// and line numbers. `mode: "strict"` stops at the first instead. Loaders for a user's own files
// (loaders.ts) stay strict by default.
import * as path from "path";
import {
  judgementColumns,
  listFiles,
  loadDelimited,
  loadHhRlhf,
  loadLabelledLines,
  loadPreferences,
  loadTabLabelled,
  type LoadOptions,
  type LoadResult,
} from "./loaders";
import { locateDataDir, requireDataFile } from "./registry";
import { RecordError, mergeReports, summarizeReport, type ValidationMode } from "./validation";
import type { LabelledText, PreferenceRecord } from "./types";

export interface CuratedOptions {
  /** "collect" (default here): skip and report known-bad records; "strict": throw at the first. */
  mode?: ValidationMode;
  /** No note on stderr about skipped records (they are still in the report). */
  quiet?: boolean;
}

/** A curated load: collect mode unless asked otherwise, and one note naming what was skipped. */
async function curated<T>(
  name: string,
  opts: CuratedOptions,
  load: (mode: ValidationMode) => Promise<LoadResult<T>>,
): Promise<LoadResult<T>> {
  const result = await load(opts.mode ?? "collect");
  if (result.report.rejected > 0 && !opts.quiet)
    process.stderr.write(
      `${name}: skipped ${result.report.rejected} known-bad record(s): ${summarizeReport(result.report, 10)}\n`,
    );
  return result;
}

/** HH-RLHF subset/split, e.g. ("harmless-base", "test"): 2,312 pairs with prompts split off (4 empty replies skipped). */
export function loadHhRlhfSplit(
  subset = "harmless-base",
  split: "train" | "test" = "test",
  opts: LoadOptions & CuratedOptions = {},
): Promise<LoadResult<PreferenceRecord>> {
  return curated(`loadHhRlhfSplit(${subset}, ${split})`, opts, (mode) =>
    loadHhRlhf(requireDataFile(`hh-rlhf/${subset}/${split}.jsonl.gz`, `hh-rlhf-${subset}`), { ...opts, mode }),
  );
}

/** UltraFeedback binarized sample: split "train" (1,000 lines) or "eval" (200); scores kept in extra.metadata. */
export function loadUltraFeedbackSample(
  split: "train" | "eval",
  opts: LoadOptions & CuratedOptions = {},
): Promise<LoadResult<PreferenceRecord>> {
  return curated(`loadUltraFeedbackSample(${split})`, opts, (mode) =>
    loadPreferences(requireDataFile(`ultrafeedback-binarized-subset/${split}_clean.jsonl`), {
      ...opts,
      mode,
      prompt: "explicit",
    }),
  );
}

/** Scores of an UltraFeedback pair, from extra.metadata.{score_chosen, score_rejected}. */
export function ultraFeedbackScores(pair: PreferenceRecord): { chosen: number; rejected: number } {
  const meta = pair.extra?.metadata as { score_chosen?: unknown; score_rejected?: unknown } | undefined;
  if (typeof meta?.score_chosen !== "number" || typeof meta?.score_rejected !== "number")
    throw new Error("pair has no metadata.score_chosen / score_rejected");
  return { chosen: meta.score_chosen, rejected: meta.score_rejected };
}

export interface UkpTopic {
  /** File stem, e.g. "tv-is-better-than-books_tv". */
  topic: string;
  /** The debate (file stem before "_"), shared by the two stances of one question. */
  debate: string;
  stance: string;
}

export function ukpTopic(file: string): UkpTopic {
  const topic = path.basename(file).replace(/\.csv(\.gz)?$/, "");
  const cut = topic.lastIndexOf("_");
  return { topic, debate: topic.slice(0, cut), stance: topic.slice(cut + 1) };
}

/** A readable prompt for a UKP topic: "Debate: tv is better than books. Stance: tv." */
export function ukpPrompt(t: UkpTopic): string {
  const words = (s: string) => s.replace(/-+/g, " ").trim();
  return `Debate: ${words(t.debate)}. Stance: ${words(t.stance)}.`;
}

function ukpDir(sub: string): string {
  const dir = locateDataDir(`ukpconvarg1/${sub}`);
  if (!dir) requireDataFile(`ukpconvarg1/${sub}`, "ukpconvarg1"); // throws with the how-to message
  return dir as string;
}

/**
 * UKPConvArg1Strict: 11,650 judgements "a1 or a2 is more convincing" over 32 topics (16 debates × 2 stances).
 * Pairs carry extra {id, label, topic, debate, stance, winnerId, loserId}; the prompt names debate and stance.
 */
export function loadUkpConvArg1(opts: CuratedOptions = {}): Promise<LoadResult<PreferenceRecord>> {
  return curated("loadUkpConvArg1", opts, (mode) => loadUkpConvArg1Files(mode));
}

async function loadUkpConvArg1Files(mode: ValidationMode): Promise<LoadResult<PreferenceRecord>> {
  const results: LoadResult<PreferenceRecord>[] = [];
  for (const file of listFiles(ukpDir("UKPConvArg1Strict-CSV"), /\.csv(\.gz)?$/)) {
    const t = ukpTopic(file);
    const toPair = judgementColumns({
      prompt: { fixed: ukpPrompt(t) },
      first: "a1",
      second: "a2",
      label: "label",
      firstWins: "a1",
      secondWins: "a2",
      id: "#id",
    });
    results.push(
      await loadDelimited(file, {
        delimiter: "\t",
        quote: null,
        mode,
        toRecord: (row) => {
          const pair = toPair(row);
          const ids = row["#id"].split("_");
          if (ids.length !== 2)
            throw new RecordError(
              "bad-row",
              `"#id" must be "<a1 id>_<a2 id>", got ${JSON.stringify(row["#id"])}`,
              "#id",
            );
          const a1Wins = row.label === "a1";
          pair.extra = { ...pair.extra, ...t, winnerId: a1Wins ? ids[0] : ids[1], loserId: a1Wins ? ids[1] : ids[0] };
          return pair;
        },
      }),
    );
  }
  return { records: results.flatMap((r) => r.records), report: mergeReports(results.map((r) => r.report)) };
}

export interface UkpArgument extends UkpTopic {
  id: string;
  /**
   * Real-valued rank score from the paper's graph ranking of the judgements. In this export a LOWER score
   * means MORE convincing: per topic, the lowest-scored arguments win most of their judgements (tested).
   */
  rank: number;
  text: string;
}

/** UKPConvArg1-Ranking: 1,052 arguments with their rank score (`#id rank argument`). */
export function loadUkpRanking(opts: CuratedOptions = {}): Promise<LoadResult<UkpArgument>> {
  return curated("loadUkpRanking", opts, (mode) => loadUkpRankingFiles(mode));
}

async function loadUkpRankingFiles(mode: ValidationMode): Promise<LoadResult<UkpArgument>> {
  const results: LoadResult<UkpArgument>[] = [];
  for (const file of listFiles(ukpDir("UKPConvArg1-Ranking-CSV"), /\.csv(\.gz)?$/)) {
    const t = ukpTopic(file);
    results.push(
      await loadDelimited(file, {
        delimiter: "\t",
        quote: null,
        mode,
        toRecord: (row) => {
          const rank = Number(row.rank);
          if (!Number.isFinite(rank) || row.rank.trim() === "")
            throw new RecordError("bad-row", `"rank" must be a number, got ${JSON.stringify(row.rank)}`, "rank");
          if (row.argument.trim() === "") throw new RecordError("empty-text", "empty argument", "argument");
          return { ...t, id: row["#id"], rank, text: row.argument };
        },
      }),
    );
  }
  return { records: results.flatMap((r) => r.records), report: mergeReports(results.map((r) => r.report)) };
}

/** rt-polarity: 5,331 positive (label 1) + 5,331 negative (label 0) snippets, decoded as Latin-1. */
export function loadRtPolarityData(opts: CuratedOptions = {}): Promise<LoadResult<LabelledText>> {
  return curated("loadRtPolarityData", opts, async (mode) => {
    const pos = await loadLabelledLines(requireDataFile("rt-polarity/rt-polarity.pos", "rt-polarity"), 1, {
      mode,
      encoding: "latin1",
    });
    const neg = await loadLabelledLines(requireDataFile("rt-polarity/rt-polarity.neg", "rt-polarity"), 0, {
      mode,
      encoding: "latin1",
    });
    return { records: [...pos.records, ...neg.records], report: mergeReports([pos.report, neg.report]) };
  });
}

export const UCI_SOURCES = ["amazon_cells", "imdb", "yelp"] as const;

/** UCI sentiment labelled sentences: 1,000 each from Amazon, IMDb and Yelp (`sentence<TAB>0|1`). */
export function loadUciSentences(opts: CuratedOptions = {}): Promise<LoadResult<LabelledText>> {
  return curated("loadUciSentences", opts, async (mode) => {
    const results = [];
    for (const src of UCI_SOURCES)
      results.push(
        await loadTabLabelled(requireDataFile(`uci-sentiment-labelled-sentences/${src}_labelled.txt`), { mode }),
      );
    return { records: results.flatMap((r) => r.records), report: mergeReports(results.map((r) => r.report)) };
  });
}
