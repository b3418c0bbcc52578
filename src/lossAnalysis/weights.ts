// The per-example gradient weights of a loss as functions of the margin h, read off the registry's float64
// twins, and a finite-difference check of those twins. The setting is one prompt with two responses and
// uniform π_ref, so every loss (reference-free ones included) sees valid probabilities:
//   π(y_w) = σ(h), π(y_l) = σ(−h)  ⇒  log π(y_w)/π(y_l) = h and the DPO margin is h itself.
// The weights are the coefficients of the DPO paper's §4 gradient form
//   ∇ℓ = −w_w(h)·∇log π(y_w) + w_l(h)·∇log π(y_l),  w_w = −∂ℓ/∂log π(y_w),  w_l = ∂ℓ/∂log π(y_l);
// for DPO both are βσ(−βh) (Rafailov et al. 2023, §4).
import {
  objectiveFor,
  ktoSplitObjective,
  type ObjectiveSpec,
  type PairObjective,
  type WeightedPairs,
} from "./objective";
import { registryObjective } from "./objective";

const ONE_PAIR: WeightedPairs = {
  prompt: Int32Array.of(0),
  chosen: Int32Array.of(0),
  rejected: Int32Array.of(1),
  weight: Float64Array.of(1),
};
const LOG_HALF = Math.log(0.5);
const logSigmoid = (x: number): number => (x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x)));

/** The two-response point at margin h: log π = [log σ(h), log σ(−h)], log π_ref = [log ½, log ½]. */
export function twoResponsePoint(h: number): { logp: Float64Array; probs: Float64Array; logRef: Float64Array } {
  const logp = Float64Array.of(logSigmoid(h), logSigmoid(-h));
  return { logp, probs: logp.map(Math.exp), logRef: Float64Array.of(LOG_HALF, LOG_HALF) };
}

/**
 * The objective used for weight curves: as objectiveFor, but with the quantities a trainer holds constant
 * pinned, so that the curve is a function of h alone: BCO's δ = 0 (its value at π = π_ref) unless bcoDelta
 * is given, KTO's z0 = 0.
 */
export function curveObjective(spec: ObjectiveSpec): PairObjective {
  const o = spec.options ?? {};
  if (spec.lossType === "kto") return ktoSplitObjective(o, 0);
  if (spec.lossType === "bco_pair" && o.bcoDelta === undefined)
    return registryObjective("bco_pair", { ...o, bcoDelta: 0 });
  return objectiveFor(spec);
}

export interface MarginWeights {
  h: number[];
  loss: number[];
  /** −∂ℓ/∂log π(y_w): how hard the chosen response is pushed up. */
  chosen: number[];
  /** ∂ℓ/∂log π(y_l): how hard the rejected response is pushed down. */
  rejected: number[];
}

/** The loss and both weights at each margin in `hs` (one pair per evaluation, so batch-coupled losses see a batch of one). */
export function marginWeights(spec: ObjectiveSpec, hs: number[]): MarginWeights {
  const objective = curveObjective(spec);
  const out: MarginWeights = { h: hs.slice(), loss: [], chosen: [], rejected: [] };
  for (const h of hs) {
    const { logp, probs, logRef } = twoResponsePoint(h);
    const d = new Float64Array(2);
    out.loss.push(objective(logp, probs, logRef, 2, ONE_PAIR, d));
    out.chosen.push(-d[0]);
    out.rejected.push(d[1]);
  }
  return out;
}

/**
 * The same weights by central finite differences of the twin's loss value, log π(y_w) and log π(y_l) moved
 * one at a time (π held fixed, as the twin's partial derivatives are taken): an independent check of each
 * twin's hand-written derivative. Step `eps` (default 1e-5; error O(eps²)), or 1% of |log π| when smaller (relative error then ≲ 4e-5 for log(1 − π) terms).
 */
export function finiteDifferenceWeights(spec: ObjectiveSpec, hs: number[], eps = 1e-5): MarginWeights {
  const objective = curveObjective(spec);
  const value = (logp: Float64Array, probs: Float64Array, logRef: Float64Array) =>
    objective(logp, probs, logRef, 2, ONE_PAIR, new Float64Array(2));
  const out: MarginWeights = { h: hs.slice(), loss: [], chosen: [], rejected: [] };
  for (const h of hs) {
    const { logp, probs, logRef } = twoResponsePoint(h);
    out.loss.push(value(logp, probs, logRef));
    const partial = (j: number) => {
      // A step below 1% of |log π| keeps log(1 − π) terms (ORPO, unlikelihood) smooth across it when π → 1.
      const step = Math.min(eps, 0.01 * Math.abs(logp[j]));
      const up = Float64Array.from(logp);
      const down = Float64Array.from(logp);
      up[j] += step;
      down[j] -= step;
      return (value(up, probs, logRef) - value(down, probs, logRef)) / (2 * step);
    };
    out.chosen.push(-partial(0));
    out.rejected.push(partial(1));
  }
  return out;
}

/**
 * Largest |twin − finite difference| over both weights, relative to max(1, |weight|). Points within `skip`
 * of a kink (e.g. the hinge's at βh = 1, or the log(1 − π) clamp) can be passed as `exclude`.
 */
export function maxWeightError(
  a: MarginWeights,
  b: MarginWeights,
  exclude: (h: number) => boolean = () => false,
): number {
  let worst = 0;
  a.h.forEach((h, i) => {
    if (exclude(h)) return;
    for (const k of ["chosen", "rejected"] as const)
      worst = Math.max(worst, Math.abs(a[k][i] - b[k][i]) / Math.max(1, Math.abs(a[k][i])));
  });
  return worst;
}
