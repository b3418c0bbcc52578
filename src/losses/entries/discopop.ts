// TRL loss_type "discopop": DiscoPOP's log-ratio modulated loss, computed in log space.
import * as tf from "@tensorflow/tfjs";
import { logSigmoid } from "../../ops";
import { logSigmoid as logSigmoid64, sigmoid, softplus } from "../math64";
import { marginEntry } from "../pairCommon";
import { registerLoss } from "../registry";

/**
 * With z = βΔ and m = σ(z/τ): (1 − m)·(−log σ(z)) + m·e^{−z}
 *   = σ(−z/τ)·softplus(−z) + exp(−z + log σ(z/τ)),
 * the second term formed in log space so it never overflows: for τ ≤ 1 its exponent is ≤ 0 when z ≥ 0 and
 * ≤ z(1/τ − 1) ≤ 0 when z < 0, so it is at most 1 (hence τ ∈ (0, 1]).
 * d/dz = −σ(−z)σ(−z/τ) − softplus(−z)σ(z/τ)σ(−z/τ)/τ + e^{−z}m·(σ(−z/τ)/τ − 1).
 */
export const discopopLoss = registerLoss(
  marginEntry({
    name: "discopop",
    summary: "DiscoPOP: logistic and exponential losses blended by σ(βh/τ)",
    citation:
      "Chris Lu et al. 2024, Discovering Preference Optimization Algorithms with and for LLMs (DiscoPOP / LRML), Eq. 5; TRL dpo_loss loss_type='discopop'",
    margin: "logratio",
    fDivergence: true,
    options: {
      beta: true,
      discopopTau: true,
      referenceFree: true,
      fDivergence: true,
      fAlphaCoef: true,
      rpoAlpha: true,
    },
    phi: (z, o) => {
      const tau = o.discopopTau;
      const zt = tf.div(z, tau);
      const logistic = tf.mul(tf.sigmoid(tf.neg(zt)), tf.softplus(tf.neg(z)));
      return tf.add(logistic, tf.exp(tf.add(tf.neg(z), logSigmoid(zt))));
    },
    phi64: (z, o) => {
      const tau = o.discopopTau;
      const [mp, mn] = [sigmoid(z / tau), sigmoid(-z / tau)];
      const sp = softplus(-z);
      const expo = Math.exp(-z + logSigmoid64(z / tau));
      return [mn * sp + expo, -sigmoid(-z) * mn - (sp * mp * mn) / tau + expo * (mn / tau - 1)];
    },
  }),
);
