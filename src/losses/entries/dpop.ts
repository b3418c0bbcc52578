// DPOP (DPO-Positive; Pal et al. 2024, "Smaug: Fixing Failure Modes of Preference Optimisation with
// DPO-Positive", arXiv 2402.13228, Eq. 3): DPO with a penalty inside the sigmoid whenever the policy's
// log-likelihood of the chosen completion falls below the reference's:
//
//   L = −log σ( β ( a − b − λ · max(0, −a) ) ),   a = log π(y_w) − log π_ref(y_w),  b = log π(y_l) − log π_ref(y_l),
//
// (max(0, −a) = max(0, log π_ref(y_w)/π(y_w))). With a ≥ 0 it is DPO; with a < 0 the chosen log-ratio counts
// (1 + λ) times, so the gradient pushes y_w's likelihood back up. The shorthand "DPO + λ·max(0, …)"
// puts the penalty outside the sigmoid; the paper's Eq. 3 (used here) puts it inside, scaled by β.
// The derivative at the kink a = 0 is taken from the a ≥ 0 side (tf.relu's gradient at 0 is 0).
import * as tf from "@tensorflow/tfjs";
import { logSigmoid, sigmoid } from "../math64";
import { logSigmoid as logSigmoidT } from "../../ops";
import { logratioEntry } from "../pairCommon";
import { registerLoss } from "../registry";

/** DPOP's loss and derivatives on one pair's log-ratios a (chosen) and b (rejected): [L, ∂L/∂a, ∂L/∂b]. */
export function dpop64(a: number, b: number, beta: number, lambda: number): [number, number, number] {
  const below = a < 0;
  const z = beta * (a - b - lambda * (below ? -a : 0));
  const g = -sigmoid(-z); // dL/dz
  return [-logSigmoid(z), g * beta * (1 + (below ? lambda : 0)), -g * beta];
}

export const dpopLoss = registerLoss(
  logratioEntry({
    name: "dpop",
    summary: "DPOP: −log σ(β(a − b − λ·max(0, −a))): DPO that will not lower the chosen likelihood",
    citation: "Pal et al. 2024, Smaug: Fixing Failure Modes of Preference Optimisation with DPO-Positive, Eq. 3",
    options: { beta: true, dpopLambda: true, referenceFree: true, rpoAlpha: true },
    phi: (a, b, o) =>
      tf.neg(logSigmoidT(tf.mul(tf.sub(tf.sub(a, b), tf.mul(tf.relu(tf.neg(a)), o.dpopLambda)), o.beta))),
    phi64: (a, b, o) => dpop64(a, b, o.beta, o.dpopLambda),
  }),
);
