// Every option a registered loss can take, defined once: type, default, range and meaning. An entry
// (src/losses/entries/*.ts) lists the options it takes and may override a default; src/losses/registry.ts
// validates against these specs for the trainers, sweep kinds and preferenceLoss alike, and the
// TypeScript type of an entry's resolved options (OptionValues) is derived from the same declarations.

export interface LossOptionSpec {
  type: "number" | "boolean" | "enum";
  default?: number | boolean | string;
  min?: number;
  max?: number;
  exclusiveMin?: boolean;
  exclusiveMax?: boolean;
  integer?: boolean;
  values?: readonly string[];
  /** No default, and may be left out. */
  optional?: boolean;
  /** What it means (shown in errors and in listLossTypes). */
  doc: string;
}

/** The largest finite float32, (2 − 2^−23)·2^127: a larger option becomes ∞ in a float32 tensor. */
export const FLOAT32_MAX = 3.4028234663852886e38;
/** The smallest normal float32, 2^−126: a smaller non-zero option is subnormal (or 0) in a float32 tensor. */
export const FLOAT32_MIN_NORMAL = 1.1754943508222875e-38;

/**
 * Why a number cannot be carried by a float32 tensor (undefined when it can): beyond ±FLOAT32_MAX it is ∞;
 * non-zero below FLOAT32_MIN_NORMAL it loses precision or flushes to 0, and its reciprocal (IPO's 1/(2β))
 * overflows.
 */
export function float32Problem(x: number): string | undefined {
  if (Math.abs(x) > FLOAT32_MAX) return `is beyond float32's largest finite value ${FLOAT32_MAX}, got ${x}`;
  if (x !== 0 && Math.abs(x) < FLOAT32_MIN_NORMAL)
    return `is below float32's smallest normal value ${FLOAT32_MIN_NORMAL} (its reciprocal overflows), got ${x}`;
  return undefined;
}

/**
 * The largest value of a scale option: β and the other factors that multiply a log-probability or a
 * log-ratio h (f-DPO's α, RPO's α, SimPO's γ, KTO's λ_D and λ_U, the unlikelihood weight), and of the
 * reciprocals that do (DiscoPOP's 1/τ, IPO's and SPPO's 1/(2β): src/losses/ipo.ts IPO_MIN_BETA); BCO's fixed
 * reward shift δ, in reward units, is bounded by ±MAX_SCALE too. Why 1e6: a
 * sequence log-probability of a float32 model is a sum of per-token log-softmax values, each bounded by the
 * logits' spread plus log(vocabulary), so |h| stays within ~1e2–1e4 nats for the models here (1e6 with a
 * wide margin). With every scale ≤ 1e6, β·h ≤ 1e12 and (β·h)² ≤ 1e24, far inside float32's 3.4e38, so no
 * loss or gradient overflows (test/reliability-maths.test.ts checks every registered loss at the cap with
 * |h| = 1e4). Being a normal float32 is not enough: β = 3e38 overflowed DPO's −log σ(βh) at h = −4. Useful
 * settings are far below (TRL's β is 0.01–1; DPO is a hard constraint long before β = 1e6).
 */
export const MAX_SCALE = 1e6;
/** Why MAX_SCALE exists, as error messages say it. */
export const MAX_SCALE_REASON =
  "a larger scale times a log-ratio of a float32 model can overflow float32: see MAX_SCALE in src/losses/options.ts";

export const F_DIVERGENCES = ["reverse_kl", "forward_kl", "js_divergence", "alpha_divergence"] as const;
export type FDivergence = (typeof F_DIVERGENCES)[number];

export const LOSS_OPTIONS = {
  beta: {
    type: "number",
    default: 0.1,
    min: 0,
    exclusiveMin: true,
    max: MAX_SCALE,
    doc: "β > 0: the KL strength / reward temperature (IPO's τ, SPPO's 1/(2·target))",
  },
  labelSmoothing: {
    type: "number",
    default: 0,
    min: 0,
    max: 0.5,
    exclusiveMax: true,
    doc: "ε in [0, ½): assumed probability that a label is flipped (cDPO, robust, EXO, AOT)",
  },
  variant: {
    type: "enum",
    default: "sigmoid",
    values: ["sigmoid", "robust", "hinge"] as const,
    doc: "prefopt's dpo: which of TRL's sigmoid, robust, hinge",
  },
  referenceFree: {
    type: "boolean",
    default: false,
    doc: "use π_ref ≡ uniform: reference log-probs taken as 0 (TRL reference_free)",
  },
  fDivergence: {
    type: "enum",
    default: "reverse_kl",
    values: F_DIVERGENCES,
    doc: "the f-divergence regulariser of f-DPO (Wang et al. 2023): reverse_kl is DPO",
  },
  fAlphaCoef: {
    type: "number",
    default: 1,
    min: 0,
    exclusiveMin: true,
    max: MAX_SCALE,
    doc: "α of the α-divergence, f'(u) = (1 − u^−α)/α (Wang et al. 2023; TRL's f_divergence_params alpha_divergence_coef): α → 0 is reverse KL, α = 1 forward KL",
  },
  rpoAlpha: {
    type: "number",
    default: 0,
    min: 0,
    max: MAX_SCALE,
    doc: "weight of the chosen completions' NLL added to each example (RPO, Pang et al. 2024; TRL rpo_alpha, CPO's cpo_alpha, ORPO's NLL)",
  },
  lengthNormalize: {
    type: "boolean",
    default: true,
    doc: "divide each log-ratio by its completion's token count before forming the margin",
  },
  discopopTau: {
    type: "number",
    default: 0.05,
    min: 1 / MAX_SCALE,
    max: 1,
    doc: "τ in [1e-6, 1] of DiscoPOP's mixing σ(βh/τ) (TRL discopop_tau); τ > 1 lets exp(−βh)σ(βh/τ) overflow, and 1/τ is a scale (≤ MAX_SCALE)",
  },
  simpoGamma: {
    type: "number",
    default: 0.5,
    min: 0,
    max: MAX_SCALE,
    doc: "γ ≥ 0: SimPO's target reward margin (TRL simpo_gamma)",
  },
  bcoDelta: {
    type: "number",
    optional: true,
    min: -MAX_SCALE,
    max: MAX_SCALE,
    doc: "BCO's reward shift δ held fixed (default: the running mean of the rewards, TRL's RunningMoments)",
  },
  desirableWeight: { type: "number", default: 1, min: 0, max: MAX_SCALE, doc: "KTO's λ_D" },
  undesirableWeight: { type: "number", default: 1, min: 0, max: MAX_SCALE, doc: "KTO's λ_U" },
  dpopLambda: {
    type: "number",
    default: 50,
    min: 0,
    max: MAX_SCALE,
    doc: "λ ≥ 0: DPOP's weight of max(0, log π_ref(y_w) − log π(y_w)) inside the sigmoid (Pal et al. 2024, Eq. 3; the paper's 50)",
  },
  unlikelihoodAlpha: {
    type: "number",
    default: 1,
    min: 0,
    max: MAX_SCALE,
    doc: "α ≥ 0: weight of the unlikelihood term −log(1 − π(y_l))",
  },
} satisfies Record<string, LossOptionSpec>;

export type LossOptionName = keyof typeof LOSS_OPTIONS;

/** The TypeScript type of an option's value, read off its spec: number, boolean, or the enum's values. */
type SpecValue<S> = S extends { type: "number" }
  ? number
  : S extends { type: "boolean" }
    ? boolean
    : S extends { values: readonly (infer V)[] }
      ? V
      : never;

/** Every option's value type, from LOSS_OPTIONS. */
export type LossOptionValues = { [K in LossOptionName]: SpecValue<(typeof LOSS_OPTIONS)[K]> };

/** Options without a default that may be left out (bcoDelta). */
type OptionalOption = {
  [K in LossOptionName]: (typeof LOSS_OPTIONS)[K] extends { optional: true } ? K : never;
}[LossOptionName];

/**
 * The resolved options of a loss that takes the options `K` (its entry's `options` keys): each present
 * with its type (defaults filled by resolveLossOptions), optional ones possibly absent.
 */
export type OptionValues<K extends LossOptionName> = {
  [P in Exclude<K, OptionalOption>]: LossOptionValues[P];
} & { [P in Extract<K, OptionalOption>]?: LossOptionValues[P] };

/** Options as the helpers shared by several losses read them: any option, typed, possibly absent. */
export type SharedOptions = Partial<LossOptionValues>;

/**
 * An entry's resolved options seen by a helper shared across entries (the same object; a widening only:
 * OptionValues<K> holds a subset of LossOptionValues with the same types, which TypeScript cannot check
 * for a generic K).
 */
export function sharedOptions<K extends LossOptionName>(o: OptionValues<K>): SharedOptions {
  return o as SharedOptions;
}

/** A shared helper's read of an option every loss it builds takes (throws if it was not resolved). */
export function requiredOption<N extends LossOptionName>(o: SharedOptions, name: N): LossOptionValues[N] {
  const v = o[name];
  if (v === undefined) throw new Error(`loss option ${name} is missing: resolve options with resolveLossOptions`);
  return v as LossOptionValues[N];
}
