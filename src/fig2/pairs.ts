// Preference data of the Figure 2 reproduction (DPO, Rafailov et al. 2023, §6.1): K = 4 samples per
// training prefix from the SFT model, each scored by the ground-truth reward r = p(positive), and from them
//   - all C(K, 2) = 6 pairs per prefix, chosen = the higher reward (deterministic labels), or sampled from
//     Bradley–Terry: P(y_i ≻ y_j) = σ((r_i − r_j)/τ) (optional, seeded);
//   - the K samples ranked best-first (listwise DPO / Plackett–Luce);
//   - unpaired KTO labels: desirable ⇔ r > threshold (default 0.5, i.e. the judge calls the text positive).
// Ties (|r_i − r_j| ≤ tieTolerance, which includes identical completions) carry no preference: they are
// left out of the pairs and COUNTED; a ranking with a tie inside is left out of the rankings and counted.
//
// The data reach the trainers only through TRL's file formats: writeTrlFiles writes {prompt, chosen,
// rejected} / {prompt, completion, label} / {prompt, responses, scores} JSONL with src/data/export, and
// readTrlFiles reads them back with the data layer's loaders (loadPreferences, loadUnpaired,
// loadRankings) and re-tokenises them into the LM trainer's inputs. A user's own TRL file takes the same path.
import type { Rng } from "../random";
import type { PreferenceRecord, RankingRecord, UnpairedRecord } from "../data/types";
import type { ValidationReport } from "../data/validation";
import type { RlaifData, ScoredCompletion } from "../lm/rlaif";
import type { Sequence } from "../lm/batching";
import type { Transformer } from "../lm/transformer";
import type { WordTokenizer } from "../lm/tokenizer";
import type { PreferenceTrainOptions, PreferenceTrainResult } from "../lm/preferenceTrainer";

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
export function sampleScoredGroups(model: Transformer, tokenizer: WordTokenizer, prompts: readonly string[], reward: RewardFn, opts: SampleGroupsOptions): ScoredGroup[] {
  void model; void tokenizer; void prompts; void reward; void opts;
  throw new Error("not implemented yet");
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
  /** Pairs kept (candidatePairs − tiedPairs). */
  pairs: number;
  /** Pairs left out as ties, and how many of those were identical completions. */
  tiedPairs: number;
  identicalPairs: number;
  /** Prompts whose K samples all tie (no pair at all). */
  tiedPrompts: number;
  /** Bradley–Terry labels that disagree with the reward order (0 for deterministic labels). */
  flippedPairs: number;
  rankings: number;
  /** Rankings left out because two of their samples tie. */
  tiedLists: number;
  desirable: number;
  undesirable: number;
  /** Mean |r_chosen − r_rejected| over kept pairs. */
  meanMargin: number;
}

/** RlaifData (what trainPreference consumes) plus the counts above. */
export interface Fig2PreferenceData extends RlaifData {
  stats: PairStats;
}

/** All pairs, rankings and KTO labels from scored groups (ties handled and counted, see the header). */
export function buildPairwiseData(groups: readonly ScoredGroup[], opts: PairOptions = {}): Fig2PreferenceData {
  void groups; void opts;
  throw new Error("not implemented yet");
}

/** Bradley–Terry label for one pair: true when i is preferred, drawn with P = σ((r_i − r_j)/τ). */
export function bradleyTerryLabel(ri: number, rj: number, temperature: number, rng: Rng): boolean {
  void ri; void rj; void temperature; void rng;
  throw new Error("not implemented yet");
}

/** TRL records of the data (TRL spacing: the completion carries its leading space). */
export function toTrlRecords(data: RlaifData): { preferences: PreferenceRecord[]; unpaired: UnpairedRecord[]; rankings: RankingRecord[] } {
  void data;
  throw new Error("not implemented yet");
}

export interface TrlFiles {
  preferences: string;
  unpaired: string;
  rankings: string;
}

/** Write the three TRL JSONL files into `dir` (preferences.jsonl, unpaired.jsonl, rankings.jsonl). */
export async function writeTrlFiles(dir: string, data: RlaifData): Promise<TrlFiles> {
  void dir; void data;
  throw new Error("not implemented yet");
}

export interface TrlReadResult {
  /** What the LM trainers consume, rebuilt from the files alone. */
  data: RlaifData;
  reports: { preferences?: ValidationReport; unpaired?: ValidationReport; rankings?: ValidationReport };
  /** Records whose prompt + completion did not fit the context and were cut (counted, kept). */
  truncated: number;
}

/**
 * Read TRL-format files back through the data layer's loaders (strict mode: a bad record throws naming
 * file, line and field) and tokenise them into the LM trainer's inputs. Any subset of the three files.
 * A completion ends with <eos> (as TRL appends the EOS token) unless its record says `"ended": false`.
 */
export async function readTrlFiles(files: Partial<TrlFiles>, tokenizer: WordTokenizer, contextLength: number): Promise<TrlReadResult> {
  void files; void tokenizer; void contextLength;
  throw new Error("not implemented yet");
}

/** One prompt/completion text pair → the trainer's token Sequence ("<unk>" maps back to the UNK id). */
export function textToSequence(tokenizer: WordTokenizer, prompt: string, completion: string, contextLength: number, ended = true): { seq: Sequence; truncated: boolean } {
  void tokenizer; void prompt; void completion; void contextLength; void ended;
  throw new Error("not implemented yet");
}

/**
 * Train the LM track on a user's own TRL-format file: DPO/IPO on {prompt, chosen, rejected}, KTO on
 * {prompt, completion, label}, listwise DPO on {prompt, responses}. `policy` is trained in place from the
 * frozen `reference`; texts are tokenised with `tokenizer` (the one the models were trained with).
 */
export async function trainOnTrlFile(file: string, policy: Transformer, reference: Transformer, tokenizer: WordTokenizer, opts: PreferenceTrainOptions): Promise<PreferenceTrainResult & { read: TrlReadResult }> {
  void file; void policy; void reference; void tokenizer; void opts;
  throw new Error("not implemented yet");
}
