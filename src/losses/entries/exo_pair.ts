// TRL loss_type "exo_pair": EXO, the reverse KL between the model's and the labels' pair distributions.
import * as tf from "@tensorflow/tfjs";
import { logSigmoid } from "../../ops";
import { logSigmoid as logSigmoid64, sigmoid } from "../math64";
import { marginEntry } from "../pairCommon";
import { registerLoss } from "../registry";

/**
 * KL(q‖p) over {y_w ≻ y_l, y_l ≻ y_w} with q = (σ(z), σ(−z)), z = βΔ, and p = (1 − ε, ε):
 *   σ(z)[log σ(z) − log(1−ε)] + σ(−z)[log σ(−z) − log ε].
 * d/dz = σ(z)σ(−z)·[(log σ(z) − log(1−ε)) − (log σ(−z) − log ε)] (the other terms cancel since σ' sums to 0).
 * ε must be > 0 (TRL replaces ε = 0 by 1e-3, which is this entry's default).
 */
export const exoPairLoss = registerLoss(
  marginEntry({
    name: "exo_pair",
    summary: "EXO: KL between σ(βh) and the smoothed label (1−ε, ε)",
    citation:
      "Ji et al. 2024, Towards Efficient Exact Optimization of Language Model Alignment (EXO), Eq. 16 (K = 2); TRL dpo_loss loss_type='exo_pair'",
    margin: "logratio",
    fDivergence: true,
    options: {
      beta: true,
      labelSmoothing: { default: 1e-3, exclusiveMin: true },
      referenceFree: true,
      fDivergence: true,
      fAlphaCoef: true,
      rpoAlpha: true,
    },
    phi: (z, o) => {
      const eps = o.labelSmoothing;
      const lw = logSigmoid(z);
      const ll = logSigmoid(tf.neg(z));
      return tf.add(tf.mul(tf.exp(lw), tf.sub(lw, Math.log1p(-eps))), tf.mul(tf.exp(ll), tf.sub(ll, Math.log(eps))));
    },
    phi64: (z, o) => {
      const eps = o.labelSmoothing;
      const [lw, ll] = [logSigmoid64(z), logSigmoid64(-z)];
      const [qw, ql] = [sigmoid(z), sigmoid(-z)];
      const [tw, tl] = [lw - Math.log1p(-eps), ll - Math.log(eps)];
      return [qw * tw + ql * tl, qw * ql * (tw - tl)];
    },
  }),
);
