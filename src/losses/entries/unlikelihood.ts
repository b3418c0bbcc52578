// The unlikelihood baseline of the DPO paper (§6.1): raise log π(y_w), push π(y_l) down through log(1 − π(y_l)).
import * as tf from "@tensorflow/tfjs";
import { log1mexp } from "../math64";
import { LOG1MEXP_MAX, log1mexpTf, pairGrad, pairTensors } from "../pairCommon";
import { registerLoss } from "../registry";
import { stopGradient } from "../common";

/**
 * Per pair, on whole sequences: −log π(y_w) − α · log(1 − π(y_l)), with log π the SUMMED token log-probs
 * (batch.policyChosen / policyRejected), so π(y_l) is the sequence probability. This is the sequence-level
 * form of Welleck et al.'s unlikelihood; their token-level form Σ_t −log(1 − π(y_l,t | y_l,<t)) needs
 * per-token log-probs, which a batch of summed log-probs does not carry. log(1 − π) = log(1 − e^{log π}) is
 * computed by log1mexp (expm1 near 0, log1p(−e^x) below −ln 2) with log π(y_l) clamped at −1e-6, so a
 * rejected sequence of probability ~1 gives a large finite loss, not ∞. No reference, no token counts.
 * ∂/∂log π(y_l) = α e^x/(1 − e^x) (0 above the clamp). Rewards are the policy log-probs (β = 1).
 */
export const unlikelihoodLoss = registerLoss({
  name: "unlikelihood",
  summary: "unlikelihood: −log π(y_w) − α log(1 − π(y_l)) on sequence log-probs",
  citation:
    "Welleck et al. 2019, Neural Text Generation with Unlikelihood Training (the unlikelihood term −log(1 − p), applied to whole sequences), as the baseline of Rafailov et al. 2023 §6.1",
  data: "pairs",
  needsReference: false,
  lengths: "no",
  options: { unlikelihoodAlpha: true },
  loss(batch, o) {
    return tf.tidy(() => {
      const t = pairTensors("unlikelihood", batch, o, { reference: false, lengths: "no" });
      const losses = tf.sub(tf.neg(t.pc), tf.mul(o.unlikelihoodAlpha as number, log1mexpTf(t.pr)));
      return { losses, chosenRewards: stopGradient(t.pc), rejectedRewards: stopGradient(t.pr), extras: {} };
    });
  },
  twin(b, o) {
    const n = b.policyChosen.length;
    const g = pairGrad(n);
    const alpha = o.unlikelihoodAlpha as number;
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
