// Listwise (Plackett–Luce) DPO for full rankings, ranking axis last: inputs [..., N], best first.
import * as tf from "@tensorflow/tfjs";
import { logSigmoid } from "../ops";
import { checkBeta, checkSameShape, stopGradient } from "./common";

export interface ListwiseDpoOptions {
  beta: number;
}

export interface ListwiseDpoOutput {
  /** Per-ranking losses, shape [...]. */
  losses: tf.Tensor;
  /** β(log π − log π_ref) for every ranked response, shape [..., N], no gradient. */
  rewards: tf.Tensor;
}

/**
 * Plackett–Luce DPO (Rafailov et al. 2023, Appendix A.3: the PL ranking model and the DPO objective derived
 * from it, which closes that section):
 * with u_k = log π(y_k) − log π_ref(y_k) for the ranking y_1 ≻ … ≻ y_N,
 *   loss = −Σ_{k=1}^{N−1} log [exp(βu_k) / Σ_{j=k}^{N} exp(βu_j)]
 * (the k = N term is log 1 = 0). Written as Σ_k −log σ(βu_k − R_{k+1}) with the reverse cumulative
 * log-sum-exp R_k = logaddexp(βu_k, R_{k+1}) = βu_k + softplus(R_{k+1} − βu_k), so it stays finite for
 * any spread of βu and has exact gradients at ties. Equals dpoLoss at N = 2.
 */
export function listwiseDpoLoss(
  policyLogps: tf.Tensor,
  refLogps: tf.Tensor,
  options: ListwiseDpoOptions,
): ListwiseDpoOutput {
  const where = "listwiseDpoLoss (src/losses/listwise.ts)";
  checkBeta(where, options.beta);
  checkSameShape(where, { policyLogps, refLogps });
  const n = policyLogps.rank === 0 ? 0 : policyLogps.shape[policyLogps.rank - 1];
  if (n < 2)
    throw new Error(`${where}: the last (ranking) axis needs N >= 2 responses, got shape [${policyLogps.shape}]`);
  return tf.tidy(() => {
    const u = tf.sub(policyLogps, refLogps);
    return { losses: plackettLuceNll(tf.mul(u, options.beta)), rewards: stopGradient(tf.mul(u, options.beta)) };
  });
}

/**
 * Negative Plackett–Luce log-likelihood of the order given along the last axis (best first) under scores s:
 *   −Σ_{k=1}^{N−1} [s_k − log Σ_{j≥k} exp(s_j)]  (Plackett 1975; Luce 1959). Shape [...]. N = 2 is
 * Bradley–Terry: −log σ(s_1 − s_2); N ≤ 1 is 0 (nothing is ranked).
 */
export function plackettLuceNll(scores: tf.Tensor): tf.Tensor {
  if (scores.rank === 0)
    throw new Error(
      "plackettLuceNll (src/losses/listwise.ts): scores must have the ranked items on the last axis (shape [..., N]), got a scalar",
    );
  // N = 0 or 1: the empty product, likelihood 1, NLL 0 (and no column to start the recursion from).
  if (scores.shape[scores.rank - 1] < 2) return tf.zeros(scores.shape.slice(0, -1));
  return tf.tidy(() => {
    const cols = tf.unstack(scores, scores.rank - 1);
    const n = cols.length;
    let rest = cols[n - 1]; // R_N = s_N
    let nll: tf.Tensor = tf.zerosLike(rest);
    for (let k = n - 2; k >= 0; k--) {
      nll = tf.sub(nll, logSigmoid(tf.sub(cols[k], rest)));
      rest = tf.add(cols[k], tf.softplus(tf.sub(rest, cols[k])));
    }
    return nll;
  });
}
