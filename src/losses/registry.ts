// The preference-loss registry: one entry per loss (src/losses/entries/*.ts), consulted by every trainer,
// sweep kind and notebook. An entry says what data the loss needs, which options it takes (with defaults
// and checks, in one place), how to compute it on tensors (tfjs, differentiable) and in float64 with its
// derivative (the "twin": the bandit engine's loss and the tests' oracle), and where it comes from.
import type * as tf from "@tensorflow/tfjs";
import {
  LOSS_OPTIONS,
  MAX_SCALE,
  MAX_SCALE_REASON,
  float32Problem,
  type LossOptionName,
  type LossOptionSpec,
  type OptionValues,
} from "./options";

/** What one training example of the loss is. */
export type LossData = "pairs" | "unpaired" | "rankings";

/**
 * A batch of pairs, TRL's names: per-example log-probs summed over each completion's tokens, and the
 * completions' token counts. Every tensor has the same shape [..., B].
 */
export interface PairBatch<T = tf.Tensor> {
  policyChosen: T;
  policyRejected: T;
  /** Reference log-probs (omit for reference-free losses, or with referenceFree: true). */
  refChosen?: T | null;
  refRejected?: T | null;
  chosenLengths?: T | number[] | null;
  rejectedLengths?: T | number[] | null;
  /**
   * Token-level losses only (an entry with `tokenLevel`): the rejected completions' per-token log-probs
   * [B, T] and a 0/1 mask of the scored tokens [B, T]. Trainers with tokens (the LM track) pass them;
   * without them each completion counts as one token (the bandit, where that is exact).
   */
  rejectedTokenLogps?: T | null;
  rejectedTokenMask?: T | null;
}

/** KTO's unpaired judgements: log π(y|x) and log π_ref(y|x) per example, and a desirable flag each. */
export interface UnpairedBatch<T = tf.Tensor> {
  policy: T;
  ref: T;
  desirable: boolean[] | T;
  /** The reference point z0 (held constant) or the mismatched pairs to estimate it from. */
  z0?: number | T;
  klPolicy?: T;
  klRef?: T;
}

/** Rankings, best first along the last axis: log-probs [..., B, N]. */
export interface RankingBatch<T = tf.Tensor> {
  policy: T;
  ref: T;
}

export type AnyBatch = PairBatch | UnpairedBatch | RankingBatch;

/** What every loss returns. Rewards and extras carry no gradient. */
export interface LossOutput {
  /** Per-example losses [..., B] (not reduced: trainers take the mean). */
  losses: tf.Tensor;
  /** β(log π − log π_ref) of the chosen / desirable / best responses (β log π for reference-free losses). */
  chosenRewards: tf.Tensor;
  /** The same for the rejected / undesirable / worst responses. */
  rejectedRewards: tf.Tensor;
  /** Loss-specific logged quantities (KTO's z0 as `kl`, BCO's δ as `bco/delta`, ORPO's log odds ratio, …). */
  extras: Record<string, tf.Tensor>;
}

/** The float64 twin's input for pairs: one value per example. Lengths are 1 where the data has no tokens. */
export interface PairBatch64 {
  policyChosen: Float64Array;
  policyRejected: Float64Array;
  refChosen: Float64Array;
  refRejected: Float64Array;
  chosenLengths: Float64Array;
  rejectedLengths: Float64Array;
}

/** The twin's output: per-example losses and ∂(Σ_i losses_i)/∂ of each policy log-prob. */
export interface PairGrad64 {
  losses: Float64Array;
  dChosen: Float64Array;
  dRejected: Float64Array;
}

export interface UnpairedBatch64 {
  policy: Float64Array;
  ref: Float64Array;
  desirable: boolean[];
  /** The reference point, held constant. */
  z0: number;
}
export interface UnpairedGrad64 {
  losses: Float64Array;
  dPolicy: Float64Array;
}
/** Rankings flattened row-major: example i's responses are [i·n, (i+1)·n), best first. */
export interface RankingBatch64 {
  policy: Float64Array;
  ref: Float64Array;
  n: number;
}
export interface RankingGrad64 {
  losses: Float64Array;
  dPolicy: Float64Array;
}

/**
 * Resolved options as a plain record (what resolveLossOptions returns to trainers and sweep kinds, which
 * handle any loss); an entry's own functions see them typed, as OptionValues of the options it declares.
 */
export type LossOptions = Record<string, number | boolean | string>;

/** State a loss carries across steps (BCO's running reward mean); created by the entry, owned by the trainer. */
export type LossState = Record<string, number | number[]>;

/** An entry's option list: each option it takes (specs in ./options), with this entry's overrides. */
export type OptionDecl<K extends LossOptionName> = { [P in K]: Partial<LossOptionSpec> | true };

/**
 * What every entry says. `K` is the options it takes: declared once in `options`, which gives both the
 * runtime schema (spec, default, checks, messages) and the type its functions see (OptionValues<K>).
 * `LossEntry` (K = never) is any entry, as trainers and the registry hold them.
 */
interface EntryBase<K extends LossOptionName> {
  /** The name used everywhere (TRL's `loss_type` where TRL has the loss). */
  name: string;
  /** Other names accepted by getLoss (old prefopt names). */
  aliases?: string[];
  /** One line: what it is. */
  summary: string;
  /** Paper and equation (and the TRL code it matches). */
  citation: string;
  /** Needs reference log-probs (false: policy-only, e.g. SimPO, CPO, ORPO, SFT). */
  needsReference: boolean;
  /** "required": the loss divides by token counts; "optional": used when given; "no": ignored. */
  lengths: "required" | "optional" | "no";
  /** Each example's loss depends on the rest of the batch (AOT's sorting, BCO's mean, SFT's token mean). */
  batchCoupled?: boolean;
  /** Options it takes, by name (specs in ./options), with this entry's defaults where they differ. */
  options: OptionDecl<K>;
  /** Extra checks across options (e.g. robust needs labelSmoothing < ½); return a problem or undefined. */
  check?(o: OptionValues<K>): { option: string; problem: string } | undefined;
  /** Reads batch.rejectedTokenLogps / rejectedTokenMask when the trainer has per-token log-probs. */
  tokenLevel?: boolean;
  /** Fresh state for a training run (absent: stateless). */
  createState?: () => LossState;
}

// loss, twin and check are methods (not function-valued properties) so that an entry typed for its own
// options is still a LossEntry: trainers call them with a resolved LossOptions record.
export interface PairLossEntry<K extends LossOptionName = never> extends EntryBase<K> {
  data: "pairs";
  loss(batch: PairBatch, o: OptionValues<K>, state?: LossState): LossOutput;
  twin(batch: PairBatch64, o: OptionValues<K>, state?: LossState): PairGrad64;
}
export interface UnpairedLossEntry<K extends LossOptionName = never> extends EntryBase<K> {
  data: "unpaired";
  loss(batch: UnpairedBatch, o: OptionValues<K>, state?: LossState): LossOutput;
  twin(batch: UnpairedBatch64, o: OptionValues<K>, state?: LossState): UnpairedGrad64;
}
export interface RankingLossEntry<K extends LossOptionName = never> extends EntryBase<K> {
  data: "rankings";
  loss(batch: RankingBatch, o: OptionValues<K>, state?: LossState): LossOutput;
  twin(batch: RankingBatch64, o: OptionValues<K>, state?: LossState): RankingGrad64;
}
export type LossEntry<K extends LossOptionName = never> = PairLossEntry<K> | UnpairedLossEntry<K> | RankingLossEntry<K>;

const entries = new Map<string, LossEntry>();
const aliases = new Map<string, string>();

/**
 * Adds a loss; throws if the name or an alias is taken or an option is unknown. `K` is inferred from the
 * entry's `options`, so its loss, twin and check see those options typed.
 */
export function registerLoss<K extends LossOptionName>(entry: LossEntry<K>): LossEntry<K> {
  for (const name of [entry.name, ...(entry.aliases ?? [])]) {
    if (entries.has(name) || aliases.has(name))
      throw new Error(`registerLoss (src/losses/registry.ts): the name "${name}" is already registered`);
  }
  for (const option of Object.keys(entry.options)) {
    if (!(option in LOSS_OPTIONS))
      throw new Error(
        `registerLoss: ${entry.name} takes option "${option}", which src/losses/options.ts does not define`,
      );
  }
  entries.set(entry.name, entry as LossEntry);
  for (const a of entry.aliases ?? []) aliases.set(a, entry.name);
  return entry;
}

/** The entry for a name or alias; the error lists every registered name. */
export function getLoss(name: string): LossEntry {
  const entry = entries.get(name) ?? entries.get(aliases.get(name) ?? "");
  if (!entry) throw new Error(`unknown loss "${name}"; registered losses: ${[...entries.keys()].join(", ")}`);
  return entry;
}

/** True when `name` (or an alias) is registered. */
export function hasLoss(name: string): boolean {
  return entries.has(name) || aliases.has(name);
}

/** The registered name for a name or alias. */
export function canonicalLossName(name: string): string {
  return getLoss(name).name;
}

/** What exists and what each needs (for tables and for trainers that filter by data kind). */
export interface LossTypeInfo {
  name: string;
  aliases: string[];
  data: LossData;
  needsReference: boolean;
  lengths: "required" | "optional" | "no";
  batchCoupled: boolean;
  stateful: boolean;
  options: Record<string, LossOptionSpec>;
  summary: string;
  citation: string;
}

export function listLossTypes(filter?: { data?: LossData }): LossTypeInfo[] {
  return [...entries.values()]
    .filter((e) => !filter?.data || e.data === filter.data)
    .map((e) => ({
      name: e.name,
      aliases: e.aliases ?? [],
      data: e.data,
      needsReference: e.needsReference,
      lengths: e.lengths,
      batchCoupled: e.batchCoupled ?? false,
      stateful: e.createState !== undefined,
      options: optionSpecs(e),
      summary: e.summary,
      citation: e.citation,
    }));
}

/** The full spec of every option an entry takes (shared spec overlaid with the entry's defaults). */
export function optionSpecs(entry: LossEntry): Record<string, LossOptionSpec> {
  return Object.fromEntries(
    Object.entries(entry.options).map(([k, v]) => [
      k,
      { ...LOSS_OPTIONS[k as LossOptionName], ...(v === true ? {} : (v as Partial<LossOptionSpec>)) } as LossOptionSpec,
    ]),
  );
}

/** Where problems in options are reported: a thrower by default, a sweep's complainer from the sweep kinds. */
export type OptionComplain = (option: string, problem: string) => never;

/**
 * Checks `options` against the entry's schema and fills defaults. Unknown options (including options of
 * other losses) are errors naming the option and listing what this loss takes: a knob a loss ignores would
 * otherwise make two runs that compute the same thing look different.
 */
export function resolveLossOptions(
  lossType: string,
  options: Record<string, unknown> = {},
  complain?: OptionComplain,
): LossOptions {
  const entry = getLoss(lossType);
  const fail: OptionComplain =
    complain ??
    ((option, problem) => {
      throw new Error(`loss "${entry.name}": option ${option} ${problem}`);
    });
  const specs = optionSpecs(entry);
  const out: LossOptions = {};
  for (const key of Object.keys(options)) {
    if (options[key] === undefined) continue;
    if (!(key in specs))
      fail(key, `is not an option of loss "${entry.name}"; it takes ${Object.keys(specs).join(", ") || "no options"}`);
  }
  for (const [key, spec] of Object.entries(specs)) {
    const v = options[key] === undefined ? spec.default : options[key];
    if (v === undefined) {
      if (spec.optional) continue;
      fail(key, `is required (${spec.doc})`);
    }
    if (spec.type === "number") {
      if (typeof v !== "number" || !Number.isFinite(v)) fail(key, `must be a finite number, got ${JSON.stringify(v)}`);
      const n = v as number;
      const f32 = float32Problem(n);
      if (f32) fail(key, `${f32} (losses compute in float32)`);
      if (spec.integer && !Number.isInteger(n)) fail(key, `must be an integer, got ${n}`);
      if (spec.min !== undefined && (spec.exclusiveMin ? n <= spec.min : n < spec.min))
        fail(
          key,
          `must be ${spec.exclusiveMin ? ">" : ">="} ${spec.min}, got ${n}` +
            (spec.min === -MAX_SCALE || spec.min === 1 / MAX_SCALE ? ` (${MAX_SCALE_REASON})` : ""),
        );
      if (spec.max !== undefined && (spec.exclusiveMax ? n >= spec.max : n > spec.max))
        fail(
          key,
          `must be ${spec.exclusiveMax ? "<" : "<="} ${spec.max}, got ${n}` +
            (spec.max === MAX_SCALE ? ` (${MAX_SCALE_REASON})` : ""),
        );
    } else if (spec.type === "boolean") {
      if (typeof v !== "boolean") fail(key, `must be true or false, got ${JSON.stringify(v)}`);
    } else if (!spec.values!.includes(v as string)) {
      fail(key, `must be one of ${spec.values!.join(", ")}, got ${JSON.stringify(v)}`);
    }
    out[key] = v as number | boolean | string;
  }
  const problem = entry.check?.(out);
  if (problem) fail(problem.option, problem.problem);
  return out;
}
