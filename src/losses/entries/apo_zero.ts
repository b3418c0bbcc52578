// TRL loss_type "apo_zero": Anchored Preference Optimisation, chosen up and rejected down.
import * as tf from "@tensorflow/tfjs";
import { sigmoid } from "../math64";
import { logratioEntry } from "../pairCommon";
import { registerLoss } from "../registry";

/** 1 − σ(βa) + σ(βb). ∂/∂a = −βσ(βa)σ(−βa), ∂/∂b = βσ(βb)σ(−βb). For chosen outputs better than the model's. */
export const apoZeroLoss = registerLoss(
  logratioEntry({
    name: "apo_zero",
    summary: "APO-zero: 1 − σ(βa) + σ(βb): raise chosen, lower rejected, each against the reference",
    citation:
      "D'Oosterlinck et al. 2024, Anchored Preference Optimization and Contrastive Revisions, Eq. 7; TRL dpo_loss loss_type='apo_zero'",
    options: { beta: true, referenceFree: true, rpoAlpha: true },
    phi: (a, b, o) => tf.add(tf.sub(1, tf.sigmoid(tf.mul(a, o.beta))), tf.sigmoid(tf.mul(b, o.beta))),
    phi64: (a, b, o) => {
      const beta = o.beta;
      const [sa, sb] = [sigmoid(beta * a), sigmoid(beta * b)];
      return [1 - sa + sb, -beta * sa * (1 - sa), beta * sb * (1 - sb)];
    },
  }),
);
