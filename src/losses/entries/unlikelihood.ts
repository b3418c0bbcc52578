// The unlikelihood baseline of the DPO paper (§6.1): raise log π(y_w), push π(y_l) down through log(1 − π(y_l)).
import * as tf from "@tensorflow/tfjs";
import { log1mexp } from "../math64";
import { LOG1MEXP_MAX, log1mexpTf, pairGrad, pairTensors } from "../pairCommon";
import { registerLoss } from "../registry";
import { stopGradient } from "../common";
import type { PairBatch } from "../registry";

/**
 * Per pair: −log π(y_w) − α · Σ_t log(1 − π(y_l,t | x, y_l,<t)), Welleck et al.'s token-level unlikelihood
 * (their Eq. 4, with every token of the rejected completion as a negative candidate at its own position),
 * the DPO paper's §6.1 baseline with its coefficient α on the unlikelihood term. log π(y_w) is the summed
 * log-prob of the chosen completion. With per-token log-probs (batch.rejectedTokenLogps and
 * rejectedTokenMask, [B, T], passed by the LM trainer) the sum runs over the scored tokens; without them
 * each rejected completion is one token (the bandit, where the two forms coincide). Token-level matters:
 * applied to a whole sequence of ~10 tokens, log(1 − π(y_l)) with π(y_l) ≈ e^−45 has a gradient of ~1e-20
 * and the method would be Preferred-FT. log(1 − p) = log(1 − e^{log p}) is log1mexp (expm1 near 0, log1p(−e^x)
 * below −ln 2) with log p clamped at −1e-6, so a token of probability ~1 gives a large finite loss, not ∞.
 * ∂/∂log p = α e^x/(1 − e^x) (0 above the clamp). No reference, no token counts. Rewards are the summed
 * policy log-probs (β = 1).
 */
export const unlikelihoodLoss = registerLoss({
  name: "unlikelihood",
  summary:
    "unlikelihood: −log π(y_w) − α Σ_t log(1 − π(y_l,t | y_l,<t)) (token-level; one token per response without tokens)",
  citation:
    "Welleck et al. 2019, Neural Text Generation with Unlikelihood Training, Eq. 4 (token-level unlikelihood), as the baseline of Rafailov et al. 2023 §6.1",
  data: "pairs",
  needsReference: false,
  lengths: "no",
  tokenLevel: true,
  options: { unlikelihoodAlpha: true },
  loss(batch, o) {
    return tf.tidy(() => {
      const t = pairTensors("unlikelihood", batch, o, { reference: false, lengths: "no" });
      const alpha = o.unlikelihoodAlpha;
      const unlikely = rejectedUnlikelihood(batch, t.pr);
      const losses = tf.sub(tf.neg(t.pc), tf.mul(alpha, unlikely));
      return { losses, chosenRewards: stopGradient(t.pc), rejectedRewards: stopGradient(t.pr), extras: {} };
    });
  },
  twin(b, o) {
    const n = b.policyChosen.length;
    const g = pairGrad(n);
    const alpha = o.unlikelihoodAlpha;
    for (let i = 0; i < n; i++) {
      const x = b.policyRejected[i];
      const xc = Math.min(x, LOG1MEXP_MAX);
      g.losses[i] = -b.policyChosen[i] - alpha * log1mexp(xc);
      g.dChosen[i] = -1;
      g.dRejected[i] = x < LOG1MEXP_MAX ? (alpha * Math.exp(xc)) / -Math.expm1(xc) : 0;
    }
    return g;
  },
});

/** Σ_t log(1 − π(y_l,t)) over the scored tokens when given, else log(1 − π(y_l)) per completion. */
function rejectedUnlikelihood(batch: PairBatch, policyRejected: tf.Tensor): tf.Tensor {
  const tokens = batch.rejectedTokenLogps;
  const mask = batch.rejectedTokenMask;
  if (tokens == null && mask == null) return log1mexpTf(policyRejected);
  const where = 'preferenceLoss("unlikelihood")';
  if (tokens == null || mask == null)
    throw new Error(`${where}: batch.rejectedTokenLogps and batch.rejectedTokenMask go together`);
  if (tokens.rank !== 2 || mask.shape.join(",") !== tokens.shape.join(","))
    throw new Error(
      `${where}: rejectedTokenLogps [${tokens.shape}] and rejectedTokenMask [${mask.shape}] must both be [B, T]`,
    );
  if (tokens.shape[0] !== policyRejected.size)
    throw new Error(`${where}: rejectedTokenLogps has ${tokens.shape[0]} rows for ${policyRejected.size} pairs`);
  // Padding positions may hold anything (even 0 = log 1): the mask zeroes them after the clamp.
  return tf.reshape(tf.sum(tf.mul(log1mexpTf(tokens), mask), 1), policyRejected.shape);
}
