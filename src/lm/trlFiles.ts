// TRL preference files, the LM track's way in for any preference data: toTrlRecords / writeTrlFiles write
// {prompt, chosen, rejected} / {prompt, completion, label} / {prompt, responses, scores} JSONL with
// src/data/export (the rewards and whether each completion ended with <eos> in extra fields), and
// readTrlFiles reads such files back with the data layer's strict reader and parsers (as loadPreferences,
// loadUnpaired and loadRankings do, keeping each record's line) and tokenises them into the LM trainer's
// inputs (RlaifData). The Figure 2 data (src/fig2/pairs.ts) and a user's own files (trainOnTrlFile.ts)
// take this same path.
import * as fs from "fs";
import * as path from "path";
import { iterateJsonRecords } from "../data/loaders";
import { writeJsonl } from "../data/export";
import { parsePreference, parseRanking, parseUnpaired } from "../data/records";
import { textToString, type PreferenceRecord, type RankingRecord, type Text, type UnpairedRecord } from "../data/types";
import { Collector, type ValidationReport } from "../data/validation";
import { detokenize, trlPromptCompletion, type RlaifData } from "./rlaif";
import { UNK, type WordTokenizer } from "./tokenizer";
import type { Sequence } from "./batching";

/**
 * TRL records of the data (TRL spacing: the completion carries its leading space). Extra fields, which TRL
 * ignores and the loaders keep in `extra`: the rewards (score_chosen/score_rejected, score, rewards) and
 * whether each completion ended with <eos> (chosen_ended, rejected_ended, ended).
 */
export function toTrlRecords(data: RlaifData): {
  preferences: PreferenceRecord[];
  unpaired: UnpairedRecord[];
  rankings: RankingRecord[];
} {
  const completion = (prompt: string, text: string) => trlPromptCompletion(prompt, text).completion;
  return {
    preferences: data.pairs.map((p) => ({
      prompt: detokenize(p.prompt),
      chosen: completion(p.prompt, p.chosen),
      rejected: completion(p.prompt, p.rejected),
      extra: {
        score_chosen: p.scoreChosen,
        score_rejected: p.scoreRejected,
        chosen_ended: p.chosenSeq.ended,
        rejected_ended: p.rejectedSeq.ended,
      },
    })),
    unpaired: data.unpaired.map((e) => ({
      ...trlPromptCompletion(e.prompt, e.completion),
      label: e.label,
      extra: { ended: e.seq.ended },
    })),
    rankings: data.rankings.map((r) => {
      const rec: RankingRecord = {
        prompt: detokenize(r.prompt),
        responses: r.ranking.map((c) => completion(r.prompt, c.text)),
        extra: { rewards: r.ranking.map((c) => c.score), ended: r.ranking.map((c) => c.seq.ended) },
      };
      // `scores` must be non-increasing (best first); a Plackett–Luce draw need not be, so then only `rewards`.
      if (r.ranking.every((c, i) => i === 0 || c.score <= r.ranking[i - 1].score))
        rec.scores = r.ranking.map((c) => c.score);
      return rec;
    }),
  };
}

export interface TrlFiles {
  preferences: string;
  unpaired: string;
  rankings: string;
}

async function writeAtomic(
  file: string,
  records: Array<PreferenceRecord | UnpairedRecord | RankingRecord>,
): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}`;
  await writeJsonl(tmp, records);
  fs.renameSync(tmp, file);
}

/** Write the three TRL JSONL files into `dir` (preferences.jsonl, unpaired.jsonl, rankings.jsonl), atomically. */
export async function writeTrlFiles(dir: string, data: RlaifData): Promise<TrlFiles> {
  fs.mkdirSync(dir, { recursive: true });
  const recs = toTrlRecords(data);
  const files: TrlFiles = {
    preferences: path.join(dir, "preferences.jsonl"),
    unpaired: path.join(dir, "unpaired.jsonl"),
    rankings: path.join(dir, "rankings.jsonl"),
  };
  await writeAtomic(files.preferences, recs.preferences);
  await writeAtomic(files.unpaired, recs.unpaired);
  await writeAtomic(files.rankings, recs.rankings);
  return files;
}

export interface TrlReadResult {
  /** What the LM trainers consume, rebuilt from the files alone. */
  data: RlaifData;
  reports: { preferences?: ValidationReport; unpaired?: ValidationReport; rankings?: ValidationReport };
  /** Records whose prompt + completion did not fit the context and were cut (counted, kept). */
  truncated: number;
  /**
   * Pairs and rankings left out because two of their completions became the same token sequence (they
   * differ only beyond the context, or only in words outside the vocabulary, which all become <unk>): a
   * pair of identical sequences has loss log 2 and no gradient whatever the model, so it carries no
   * preference. Counted here and in `warnings`.
   */
  identical: { pairs: number; rankings: number };
  /** One line per kind of record left out, naming the first few by file:line. */
  warnings: string[];
}

/** Token ids of a text the tokenizer's decode wrote: the literal "<unk>" maps back to the UNK id. */
export function encodeDecoded(tokenizer: WordTokenizer, text: string): number[] {
  const out: number[] = [];
  text.split("<unk>").forEach((piece, i) => {
    if (i > 0) out.push(UNK);
    out.push(...tokenizer.encode(piece));
  });
  return out;
}

/** One prompt/completion text pair → the trainer's token Sequence, cut to fit `contextLength` (then no <eos>). */
export function textToSequence(
  tokenizer: WordTokenizer,
  prompt: string,
  completion: string,
  contextLength: number,
  ended = true,
): { seq: Sequence; truncated: boolean } {
  const p = encodeDecoded(tokenizer, prompt);
  const c = encodeDecoded(tokenizer, completion);
  const room = contextLength - 1 - p.length - (ended ? 1 : 0); // <bos> + prompt + completion (+ <eos>)
  if (contextLength - 1 - p.length < 1)
    throw new Error(
      `textToSequence: the prompt ${JSON.stringify(prompt)} has ${p.length} tokens, leaving no room for a completion in contextLength ${contextLength}`,
    );
  if (c.length <= room) return { seq: { prompt: p, completion: c, ended }, truncated: false };
  return { seq: { prompt: p, completion: c.slice(0, contextLength - 1 - p.length), ended: false }, truncated: true };
}

function plain(t: Text, where: string, field: string): string {
  if (typeof t !== "string")
    throw new Error(
      `${where}: "${field}" is a chat-message list; the LM track reads plain-text prompts and completions (${JSON.stringify(textToString(t)).slice(0, 80)})`,
    );
  return t;
}

function endedFlag(extra: Record<string, unknown> | undefined, key: string, index?: number): boolean {
  const v = extra?.[key];
  const x = index === undefined ? v : Array.isArray(v) ? v[index] : undefined;
  return x === false ? false : true; // TRL appends EOS to every completion: absent means ended
}

function numberField(extra: Record<string, unknown> | undefined, key: string, index?: number): number {
  const v = extra?.[key];
  const x = index === undefined ? v : Array.isArray(v) ? v[index] : undefined;
  return typeof x === "number" ? x : NaN;
}

/** The same tokens, the same <eos> flag: the trainer cannot tell the two apart. */
function sameSequence(a: Sequence, b: Sequence): boolean {
  return (
    a.ended === b.ended &&
    a.completion.length === b.completion.length &&
    a.completion.every((t, i) => t === b.completion[i]) &&
    a.prompt.length === b.prompt.length &&
    a.prompt.every((t, i) => t === b.prompt[i])
  );
}

/** The data layer's strict loader, also keeping each accepted record's line (for errors found later; trainOnTrlFile uses it). */
export async function loadWithLines<T>(
  file: string,
  parse: (value: unknown) => T,
): Promise<{ records: Array<{ record: T; line: number }>; report: ValidationReport }> {
  let current = 0;
  const lines: number[] = [];
  const collector = new (class extends Collector<T> {
    override attempt(f: string, line: number, run: () => T): void {
      current = line;
      super.attempt(f, line, run);
    }
    override accept(record: T): void {
      lines.push(current);
      super.accept(record);
    }
  })("strict");
  const records: Array<{ record: T; line: number }> = [];
  let k = 0;
  for await (const record of iterateJsonRecords(file, parse, collector)) records.push({ record, line: lines[k++] });
  return { records, report: collector.report };
}

/**
 * Where the records of a TRL file written by trainOnTrlFile came from: `name` (the user's file, or "records")
 * and, for the file's k-th line, the source's line or row (lines[k − 1]).
 */
export interface RecordOrigin {
  name: string;
  lines: readonly number[];
}

/**
 * Read TRL-format files back through the data layer's parsers (strict mode: a bad record throws naming
 * file, line and field) and tokenise them into the LM trainer's inputs. Any subset of the three files.
 * A completion ends with <eos> (as TRL appends the EOS token) unless its record says it did not
 * (`chosen_ended` / `rejected_ended` / `ended` false). Rewards come from the extra fields when present, else NaN.
 * A prompt that leaves no room for a completion is an error naming file and line; pairs and rankings
 * whose completions tokenise to the same sequence are left out and counted (`identical`, `warnings`).
 */
export async function readTrlFiles(
  files: Partial<TrlFiles>,
  tokenizer: WordTokenizer,
  contextLength: number,
  origins: Partial<Record<keyof TrlFiles, RecordOrigin>> = {},
): Promise<TrlReadResult> {
  // Where a record came from, for messages: its own file and line, or the source it was copied from.
  const at = (kind: keyof TrlFiles, f: string, line: number): string => {
    const o = origins[kind];
    return o ? `${o.name}:${o.lines[line - 1] ?? "?"}` : `${f}:${line}`;
  };
  const reports: TrlReadResult["reports"] = {};
  let truncated = 0;
  const identical = { pairs: 0, rankings: 0 };
  const dropped: Record<"pairs" | "rankings", string[]> = { pairs: [], rankings: [] };
  const seq = (where: string, prompt: string, completion: string, ended: boolean): Sequence => {
    let r: ReturnType<typeof textToSequence>;
    try {
      r = textToSequence(tokenizer, prompt, completion, contextLength, ended);
    } catch (err) {
      // textToSequence refuses only a prompt that leaves no room for a completion.
      throw new Error(`${where}: field "prompt": ${(err as Error).message}`);
    }
    if (r.truncated) truncated++;
    return r.seq;
  };
  const data: RlaifData = { pairs: [], rankings: [], unpaired: [], tiedPrompts: 0, tiedLists: 0, flippedFraction: 0 };
  if (files.preferences) {
    const f = files.preferences;
    const { records, report } = await loadWithLines(f, (v) => parsePreference(v, { prompt: "explicit" }));
    reports.preferences = report;
    for (const { record: r, line } of records) {
      const where = at("preferences", f, line);
      const prompt = plain(r.prompt, where, "prompt");
      const chosen = plain(r.chosen, where, "chosen");
      const rejected = plain(r.rejected, where, "rejected");
      const chosenSeq = seq(where, prompt, chosen, endedFlag(r.extra, "chosen_ended"));
      const rejectedSeq = seq(where, prompt, rejected, endedFlag(r.extra, "rejected_ended"));
      if (sameSequence(chosenSeq, rejectedSeq)) {
        identical.pairs++;
        dropped.pairs.push(where);
        continue;
      }
      data.pairs.push({
        prompt,
        chosen: chosen.trim(),
        rejected: rejected.trim(),
        chosenSeq,
        rejectedSeq,
        scoreChosen: numberField(r.extra, "score_chosen"),
        scoreRejected: numberField(r.extra, "score_rejected"),
      });
    }
  }
  if (files.unpaired) {
    const f = files.unpaired;
    const { records, report } = await loadWithLines(f, parseUnpaired);
    reports.unpaired = report;
    data.unpaired = records.map(({ record: r, line }) => {
      const where = at("unpaired", f, line);
      const prompt = plain(r.prompt, where, "prompt");
      const completion = plain(r.completion, where, "completion");
      return {
        prompt,
        completion: completion.trim(),
        label: r.label,
        seq: seq(where, prompt, completion, endedFlag(r.extra, "ended")),
      };
    });
  }
  if (files.rankings) {
    const f = files.rankings;
    const { records, report } = await loadWithLines(f, parseRanking);
    reports.rankings = report;
    for (const { record: r, line } of records) {
      const where = at("rankings", f, line);
      const prompt = plain(r.prompt, where, "prompt");
      const ranking = r.responses.map((t, i) => {
        const text = plain(t, where, `responses[${i}]`);
        const score = r.scores?.[i] ?? numberField(r.extra, "rewards", i);
        const s = seq(where, prompt, text, endedFlag(r.extra, "ended", i));
        return { seq: s, text: text.trim(), score };
      });
      if (ranking.some((a, i) => ranking.slice(i + 1).some((b) => sameSequence(a.seq, b.seq)))) {
        identical.rankings++;
        dropped.rankings.push(where);
        continue;
      }
      data.rankings.push({ prompt, ranking });
    }
  }
  const warnings = (["pairs", "rankings"] as const)
    .filter((k) => dropped[k].length > 0)
    .map(
      (k) =>
        `${dropped[k].length} ${k === "pairs" ? "pair(s)" : "ranking(s)"} left out: two completions became the same ` +
        `token sequence (they differ only beyond contextLength ${contextLength} or only in out-of-vocabulary words): ` +
        `${dropped[k].slice(0, 5).join(", ")}${dropped[k].length > 5 ? ", …" : ""}`,
    );
  return { data, reports, truncated, identical, warnings };
}
