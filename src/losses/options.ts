// Every option a registered loss can take, defined once: type, default, range and meaning. An entry
// (src/losses/entries/*.ts) lists the options it takes and may override a default; src/losses/registry.ts
// validates against these specs for the trainers, sweep kinds and preferenceLoss alike.

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

export const F_DIVERGENCES = ["reverse_kl", "forward_kl", "js_divergence", "alpha_divergence"] as const;
export type FDivergence = (typeof F_DIVERGENCES)[number];

export const LOSS_OPTIONS = {
  beta: {
    type: "number",
    default: 0.1,
    min: 0,
    exclusiveMin: true,
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
    values: ["sigmoid", "robust", "hinge"],
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
    doc: "α of the α-divergence, f'(u) = (1 − u^−α)/α (Wang et al. 2023; TRL's f_divergence_params alpha_divergence_coef): α → 0 is reverse KL, α = 1 forward KL",
  },
  rpoAlpha: {
    type: "number",
    default: 0,
    min: 0,
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
    min: 0,
    max: 1,
    exclusiveMin: true,
    doc: "τ in (0, 1] of DiscoPOP's mixing σ(βh/τ) (TRL discopop_tau); τ > 1 lets exp(−βh)σ(βh/τ) overflow",
  },
  simpoGamma: { type: "number", default: 0.5, min: 0, doc: "γ ≥ 0: SimPO's target reward margin (TRL simpo_gamma)" },
  bcoDelta: {
    type: "number",
    optional: true,
    doc: "BCO's reward shift δ held fixed (default: the running mean of the rewards, TRL's RunningMoments)",
  },
  desirableWeight: { type: "number", default: 1, min: 0, doc: "KTO's λ_D" },
  undesirableWeight: { type: "number", default: 1, min: 0, doc: "KTO's λ_U" },
  unlikelihoodAlpha: {
    type: "number",
    default: 1,
    min: 0,
    doc: "α ≥ 0: weight of the unlikelihood term −log(1 − π(y_l))",
  },
} satisfies Record<string, LossOptionSpec>;

export type LossOptionName = keyof typeof LOSS_OPTIONS;
