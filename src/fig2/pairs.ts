// Preference data of the Figure 2 reproduction (DPO, Rafailov et al. 2023, §6.1): K = 4 samples per
// training prefix from the SFT model, each scored by the ground-truth reward r = p(positive), and from them
//   - all C(K, 2) = 6 pairs per prefix, chosen = the higher reward (deterministic labels), or sampled from
//     Bradley–Terry: P(y_i ≻ y_j) = σ((r_i − r_j)/τ) (optional, seeded);
//   - the K samples ranked best-first (listwise DPO / Plackett–Luce; with τ > 0 the order is a
//     Plackett–Luce draw with utilities r/τ, by Gumbel-max);
//   - unpaired KTO labels, one per sample: desirable ⇔ r > threshold (default 0.5: the judge calls the
//     whole text positive; an absolute judgement, as KTO's binary feedback is).
// Ties (|r_i − r_j| ≤ tieTolerance, which includes identical completions, whose rewards are equal) carry no
// preference: they are left out of the pairs and COUNTED; a ranking with a tie or a duplicate inside is left
// out of the rankings and counted. Empty completions (<eos> first) cannot be written as TRL text (an empty
// string is not a valid record), so they are left out of everything and counted.
//
// The data reach the trainers only through TRL's file formats: writeTrlFiles writes {prompt, chosen,
// rejected} / {prompt, completion, label} / {prompt, responses, scores} JSONL with src/data/export, and
// readTrlFiles reads them back with the data layer's strict reader and parsers (as loadPreferences,
// loadUnpaired and loadRankings do, keeping each record's line) and re-tokenises them into the LM trainer's
// inputs. A user's own TRL file takes the same path.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Rng } from "../random";
import { iterateJsonRecords } from "../data/loaders";
import { toJsonObject, writeJsonl } from "../data/export";
import { checkFieldMap, renameFields, type FieldMap } from "../data/fieldMap";
import { parsePreference, parseRanking, parseUnpaired } from "../data/records";
import { getLoss } from "../losses/registry";
import { textToString, type PreferenceRecord, type RankingRecord, type Text, type UnpairedRecord } from "../data/types";
import { Collector, RecordError, type ValidationReport } from "../data/validation";
import {
  detokenize,
  rankByScore,
  trlPromptCompletion,
  type TokenizedPair as PreferencePair,
  type RankedGroup,
  type RlaifData,
  type ScoredCompletion,
  type UnpairedExample,
} from "../lm/rlaif";
import { sampleGroups } from "../lm/sampling";
import { trainPreference, type PreferenceTrainOptions, type PreferenceTrainResult } from "../lm/preferenceTrainer";
import { UNK, type WordTokenizer } from "../lm/tokenizer";
import type { Sequence } from "../lm/batching";
import type { Transformer } from "../lm/transformer";

/** A batched reward: reward[i] for (prompts[i], completions[i]), texts in tokenizer spacing. */
export type RewardFn = (prompts: readonly string[], completions: readonly string[]) => Float64Array;

/** K scored samples for one prompt. */
export interface ScoredGroup {
  prompt: string;
  samples: ScoredCompletion[];
}

export interface SampleGroupsOptions {
  /** Samples per prompt (default 4, the K). */
  k?: number;
  maxNewTokens: number;
  temperature?: number;
  seed?: number;
  batchSize?: number;
}

/** K samples per prompt from `model` (temperature 1 by default), scored by `reward` in one batch. */
export function sampleScoredGroups(
  model: Transformer,
  tokenizer: WordTokenizer,
  prompts: readonly string[],
  reward: RewardFn,
  opts: SampleGroupsOptions,
): ScoredGroup[] {
  const k = opts.k ?? 4;
  if (!(Number.isInteger(k) && k >= 2)) throw new Error(`sampleScoredGroups: k must be an integer ≥ 2, got ${k}`);
  const rng = new Rng(opts.seed ?? 0).fork("fig2-preference-samples");
  const seqs = sampleGroups(
    model,
    prompts.map((p) => tokenizer.encode(p)),
    k,
    rng,
    { maxNewTokens: opts.maxNewTokens, temperature: opts.temperature ?? 1, batchSize: opts.batchSize },
  );
  const flatPrompts: string[] = [];
  const flatTexts: string[] = [];
  seqs.forEach((g, i) =>
    g.forEach((s) => (flatPrompts.push(prompts[i]), flatTexts.push(tokenizer.decode(s.completion)))),
  );
  const scores = reward(flatPrompts, flatTexts);
  if (scores.length !== flatTexts.length)
    throw new Error(
      `sampleScoredGroups: the reward returned ${scores.length} scores for ${flatTexts.length} completions`,
    );
  return seqs.map((g, i) => ({
    prompt: prompts[i],
    samples: g.map((seq, j) => {
      const s = scores[i * k + j];
      if (!Number.isFinite(s))
        throw new Error(
          `sampleScoredGroups: reward ${s} for prompt ${JSON.stringify(prompts[i])}, completion ${JSON.stringify(flatTexts[i * k + j])}`,
        );
      return { seq, text: flatTexts[i * k + j], score: s };
    }),
  }));
}

export interface PairOptions {
  /** "deterministic" (default): chosen = higher reward; "bradley-terry": sampled with temperature τ. */
  labels?: "deterministic" | "bradley-terry";
  /** τ of the Bradley–Terry labels (default 0.1 on r ∈ [0, 1]). */
  temperature?: number;
  seed?: number;
  /** |r_i − r_j| ≤ tieTolerance is a tie (default 0; identical completions always tie). */
  tieTolerance?: number;
  /** KTO: desirable ⇔ r > desirableThreshold (default 0.5). */
  desirableThreshold?: number;
}

export interface PairStats {
  prompts: number;
  /** K(K−1)/2 per prompt. */
  candidatePairs: number;
  /** Pairs kept (candidatePairs − tiedPairs − pairs with an empty side). */
  pairs: number;
  /** Pairs left out as ties, and how many of those were identical completions. */
  tiedPairs: number;
  identicalPairs: number;
  /** Prompts whose K samples all tie (no pair at all). */
  tiedPrompts: number;
  /** Bradley–Terry labels that disagree with the reward order (0 for deterministic labels). */
  flippedPairs: number;
  rankings: number;
  /** Rankings left out because two of their samples tie (or one is empty). */
  tiedLists: number;
  desirable: number;
  undesirable: number;
  /** Samples with an empty completion, left out of everything. */
  emptyCompletions: number;
  /** Mean |r_chosen − r_rejected| over kept pairs. */
  meanMargin: number;
}

/** RlaifData (what trainPreference consumes) plus the counts above. */
export interface Fig2PreferenceData extends RlaifData {
  stats: PairStats;
}

/** Bradley–Terry label for one pair: true when i is preferred, drawn with P = σ((r_i − r_j)/τ). */
export function bradleyTerryLabel(ri: number, rj: number, temperature: number, rng: Rng): boolean {
  if (!(temperature > 0)) throw new Error(`bradleyTerryLabel: temperature must be > 0, got ${temperature}`);
  const p = 1 / (1 + Math.exp(-(ri - rj) / temperature));
  return rng.uniform() < p;
}

/** All pairs, rankings and KTO labels from scored groups (ties handled and counted, see the header). */
export function buildPairwiseData(groups: readonly ScoredGroup[], opts: PairOptions = {}): Fig2PreferenceData {
  const bt = (opts.labels ?? "deterministic") === "bradley-terry";
  const tau = opts.temperature ?? 0.1;
  const tol = opts.tieTolerance ?? 0;
  const threshold = opts.desirableThreshold ?? 0.5;
  if (bt && !(tau > 0)) throw new Error(`buildPairwiseData: Bradley–Terry labels need temperature > 0, got ${tau}`);
  const rng = new Rng(opts.seed ?? 0).fork("fig2-pair-labels");
  const pairs: PreferencePair[] = [];
  const rankings: RankedGroup[] = [];
  const unpaired: UnpairedExample[] = [];
  const st: PairStats = {
    prompts: groups.length,
    candidatePairs: 0,
    pairs: 0,
    tiedPairs: 0,
    identicalPairs: 0,
    tiedPrompts: 0,
    flippedPairs: 0,
    rankings: 0,
    tiedLists: 0,
    desirable: 0,
    undesirable: 0,
    emptyCompletions: 0,
    meanMargin: 0,
  };
  let marginSum = 0;
  for (const g of groups) {
    const s = g.samples;
    if (s.length < 2)
      throw new Error(`buildPairwiseData: prompt ${JSON.stringify(g.prompt)} has ${s.length} samples; need at least 2`);
    const empty = s.map((c) => c.text.trim() === "");
    st.emptyCompletions += empty.filter(Boolean).length;
    const tie = (i: number, j: number) => s[i].text === s[j].text || Math.abs(s[i].score - s[j].score) <= tol;
    let kept = 0;
    for (let i = 0; i < s.length; i++)
      for (let j = i + 1; j < s.length; j++) {
        st.candidatePairs++;
        if (empty[i] || empty[j]) continue;
        if (tie(i, j)) {
          st.tiedPairs++;
          if (s[i].text === s[j].text) st.identicalPairs++;
          continue;
        }
        const iWins = bt ? bradleyTerryLabel(s[i].score, s[j].score, tau, rng) : s[i].score > s[j].score;
        const [w, l] = iWins ? [s[i], s[j]] : [s[j], s[i]];
        if (w.score < l.score) st.flippedPairs++;
        pairs.push({
          prompt: g.prompt,
          chosen: w.text,
          rejected: l.text,
          chosenSeq: w.seq,
          rejectedSeq: l.seq,
          scoreChosen: w.score,
          scoreRejected: l.score,
        });
        marginSum += Math.abs(w.score - l.score);
        kept++;
      }
    if (kept === 0) st.tiedPrompts++;
    // Rankings: a list with a tie (or duplicate, or empty sample) has no order the judge gave: left out.
    const anyTie = s.some((_, i) => s.some((__, j) => j > i && tie(i, j)));
    if (anyTie || empty.some(Boolean)) st.tiedLists++;
    else {
      const order = rankByScore(
        s.map((c) => c.score),
        rng,
        bt ? tau : 0,
      );
      rankings.push({ prompt: g.prompt, ranking: order.map((i) => s[i]) });
    }
    s.forEach((c, i) => {
      if (empty[i]) return;
      const label = c.score > threshold;
      unpaired.push({ prompt: g.prompt, completion: c.text, label, seq: c.seq });
      if (label) st.desirable++;
      else st.undesirable++;
    });
  }
  st.pairs = pairs.length;
  st.rankings = rankings.length;
  st.meanMargin = pairs.length ? marginSum / pairs.length : NaN;
  return {
    pairs,
    rankings,
    unpaired,
    tiedPrompts: st.tiedPrompts,
    tiedLists: st.tiedLists,
    flippedFraction: pairs.length ? st.flippedPairs / pairs.length : 0,
    stats: st,
  };
}

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

/** The data layer's strict loader, also keeping each accepted record's line (for errors found later). */
async function loadWithLines<T>(
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

/** What trainOnTrlFile trains from: a file's path, or records already loaded (the data layer's loaders, your code). */
export type TrlSource = string | readonly PreferenceRecord[] | readonly UnpairedRecord[] | readonly RankingRecord[];

export interface TrlTrainOptions extends PreferenceTrainOptions {
  /**
   * The file's own field names, as the loaders take them (like `rename_column`):
   * `{prompt: "question", chosen: "answer_good", rejected: "answer_bad"}`. Files only: records are already mapped.
   */
  fields?: FieldMap;
}

/**
 * Train the LM track on a user's own preference data: DPO/IPO/… on {prompt, chosen, rejected}, KTO on
 * {prompt, completion, label}, listwise DPO on {prompt, responses} (which one follows the loss's data kind,
 * so aliases such as "listwise-dpo" read rankings too). `source` is a JSON/JSONL/Parquet file (its fields
 * renamed by `opts.fields`) or records already loaded. Every record is checked first, strictly, naming the
 * file (or "records") and line: a missing field lists the record's own fields, and a chat-message list is
 * refused (the LM track reads plain text). The records then take the TRL round trip (written as TRL JSONL to
 * a temporary folder, read back by readTrlFiles), so they are tokenised exactly as the Figure 2 data are.
 * `policy` is trained in place from the frozen `reference`; texts are tokenised with `tokenizer` (the one
 * the models were trained with; words outside its vocabulary become <unk>). `read.reports` is the check's
 * report on the source.
 */
export async function trainOnTrlFile(
  source: TrlSource,
  policy: Transformer,
  reference: Transformer,
  tokenizer: WordTokenizer,
  opts: TrlTrainOptions,
): Promise<PreferenceTrainResult & { read: TrlReadResult }> {
  const { fields, ...trainOptions } = opts;
  const data = getLoss(trainOptions.method).data;
  const kind: keyof TrlFiles = data === "unpaired" ? "unpaired" : data === "rankings" ? "rankings" : "preferences";
  const { records, lines, report } = await checkTrlRecords(source, kind, fields);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "prefopt-trl-"));
  try {
    const file = path.join(dir, `${kind}.jsonl`);
    await writeJsonl(file, records); // one record a line: line k is records[k − 1], from the source's lines[k − 1]
    const origin = { name: typeof source === "string" ? source : "records", lines };
    const read = await readTrlFiles({ [kind]: file }, tokenizer, policy.config.contextLength, { [kind]: origin });
    read.reports = { [kind]: report };
    return { ...trainPreference(policy, reference, read.data, trainOptions), read };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

type TrlRecord = PreferenceRecord | UnpairedRecord | RankingRecord;

/** Per TRL file kind: its fields (what `fields` may map onto), its parser, and its texts (which must be plain). */
const TRL_KINDS: Record<
  keyof TrlFiles,
  { fields: string[]; parse: (value: unknown) => TrlRecord; texts: (r: TrlRecord) => Array<[string, Text]> }
> = {
  preferences: {
    fields: ["prompt", "chosen", "rejected"],
    parse: (v) => parsePreference(v, { prompt: "explicit" }),
    texts: (r) => {
      const p = r as PreferenceRecord;
      return [
        ["prompt", p.prompt],
        ["chosen", p.chosen],
        ["rejected", p.rejected],
      ];
    },
  },
  unpaired: {
    fields: ["prompt", "completion", "label"],
    parse: parseUnpaired,
    texts: (r) => [
      ["prompt", (r as UnpairedRecord).prompt],
      ["completion", (r as UnpairedRecord).completion],
    ],
  },
  rankings: {
    fields: ["prompt", "responses", "scores"],
    parse: parseRanking,
    texts: (r) => [
      ["prompt", (r as RankingRecord).prompt],
      ...(r as RankingRecord).responses.map((t, i): [string, Text] => [`responses[${i}]`, t]),
    ],
  },
};

/** trainOnTrlFile's check of its source (strict: the first bad record throws, naming file or "records" and line). */
async function checkTrlRecords(
  source: TrlSource,
  kind: keyof TrlFiles,
  fields: FieldMap | undefined,
): Promise<{ records: TrlRecord[]; lines: number[]; report: ValidationReport }> {
  const spec = TRL_KINDS[kind];
  const where = typeof source === "string" ? source : "records";
  if (fields && typeof source !== "string")
    throw new Error(`trainOnTrlFile: fields renames a file's fields; records are already in the loaders' form`);
  if (fields) checkFieldMap(fields, spec.fields, where);
  const parse = (value: unknown): TrlRecord => {
    const renamed = fields ? renameFields(value, fields) : value; // its own errors list the record's fields
    let record: TrlRecord;
    try {
      record = spec.parse(renamed);
    } catch (err) {
      if (!(err instanceof RecordError && err.reason === "missing-field")) throw err;
      const own = value !== null && typeof value === "object" ? Object.keys(value).map((k) => `"${k}"`) : [];
      throw new RecordError(
        "missing-field",
        `${err.message}; the record's fields are ${own.join(", ") || "none"}: name yours with fields: {${err.field}: "<field>"}` +
          ` (a ${kind} file has ${spec.fields.join(", ")})`,
        err.field,
      );
    }
    for (const [field, text] of spec.texts(record))
      if (typeof text !== "string")
        throw new RecordError(
          "wrong-type",
          `is a chat-message list; the LM track reads plain-text prompts and completions`,
          field,
        );
    return record;
  };
  if (typeof source === "string") {
    const { records, report } = await loadWithLines(source, parse);
    return { records: records.map((r) => r.record), lines: records.map((r) => r.line), report };
  }
  const collector = new Collector<TrlRecord>("strict");
  collector.addFile(where);
  source.forEach((r, i) => collector.attempt(where, i + 1, () => parse(toJsonObject(r))));
  return { records: collector.records, lines: source.map((_, i) => i + 1), report: collector.report };
}
