// TRL loss_type "nca_pair": Noise Contrastive Alignment, the pairwise form.
import * as tf from "@tensorflow/tfjs";
import { logSigmoid } from "../../ops";
import { logSigmoid as ls, sigmoid } from "../math64";
import { logratioEntry } from "../pairCommon";
import { registerLoss } from "../registry";

/**
 * With r_w = β a, r_l = β b (a, b the log-ratios): −log σ(r_w) − ½ log σ(−r_w) − ½ log σ(−r_l).
 * ∂/∂a = β(−σ(−r_w) + ½σ(r_w)), ∂/∂b = ½βσ(r_l).
 */
export const ncaPairLoss = registerLoss(
  logratioEntry({
    name: "nca_pair",
    summary: "NCA: −log σ(βa) − ½ log σ(−βa) − ½ log σ(−βb), absolute log-ratios a, b",
    citation:
      "Chen et al. 2024, Noise Contrastive Alignment of Language Models with Explicit Rewards, the NCA loss for K = 2 responses with binary preference; TRL dpo_loss loss_type='nca_pair'",
    options: { beta: true, referenceFree: true, rpoAlpha: true },
    phi: (a, b, o) => {
      const beta = o.beta;
      const rw = tf.mul(a, beta);
      const rl = tf.mul(b, beta);
      return tf.sub(
        tf.sub(tf.neg(logSigmoid(rw)), tf.mul(0.5, logSigmoid(tf.neg(rw)))),
        tf.mul(0.5, logSigmoid(tf.neg(rl))),
      );
    },
    phi64: (a, b, o) => {
      const beta = o.beta;
      const [rw, rl] = [beta * a, beta * b];
      return [
        -ls(rw) - 0.5 * ls(-rw) - 0.5 * ls(-rl),
        beta * (-sigmoid(-rw) + 0.5 * sigmoid(rw)),
        0.5 * beta * sigmoid(rl),
      ];
    },
  }),
);
