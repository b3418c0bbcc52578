// TRL loss_type "apo_down": Anchored Preference Optimisation, both down, rejected more.
import * as tf from "@tensorflow/tfjs";
import { sigmoid } from "../math64";
import { logratioEntry } from "../pairCommon";
import { registerLoss } from "../registry";

/**
 * σ(βa) + 1 − σ(β(a − b)). With s1 = σ(βa), s2 = σ(β(a − b)): ∂/∂a = β[s1(1−s1) − s2(1−s2)], ∂/∂b = βs2(1−s2).
 * For chosen outputs worse than the model's own.
 */
export const apoDownLoss = registerLoss(
  logratioEntry({
    name: "apo_down",
    summary: "APO-down: σ(βa) + 1 − σ(β(a − b)): lower chosen, lower rejected more",
    citation:
      "D'Oosterlinck et al. 2024, Anchored Preference Optimization and Contrastive Revisions, Eq. 8; TRL dpo_loss loss_type='apo_down'",
    options: { beta: true, referenceFree: true, rpoAlpha: true },
    phi: (a, b, o) => {
      const beta = o.beta;
      return tf.add(tf.sigmoid(tf.mul(a, beta)), tf.sub(1, tf.sigmoid(tf.mul(tf.sub(a, b), beta))));
    },
    phi64: (a, b, o) => {
      const beta = o.beta;
      const [s1, s2] = [sigmoid(beta * a), sigmoid(beta * (a - b))];
      return [s1 + 1 - s2, beta * (s1 * (1 - s1) - s2 * (1 - s2)), beta * s2 * (1 - s2)];
    },
  }),
);
