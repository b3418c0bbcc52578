// TRL loss_type "robust": the unbiased DPO loss under label flips with known rate ε.
import * as tf from "@tensorflow/tfjs";
import { logSigmoid } from "../../ops";
import { logSigmoid as logSigmoid64, sigmoid } from "../math64";
import { marginEntry } from "../pairCommon";
import { registerLoss } from "../registry";

/** [−(1−ε) log σ(z) + ε log σ(−z)] / (1 − 2ε), z = βΔ. */
export const robustLoss = registerLoss(
  marginEntry({
    name: "robust",
    summary: "robust DPO: [−(1−ε) log σ(βh) + ε log σ(−βh)]/(1−2ε), unbiased when labels flip with rate ε",
    citation:
      "Chowdhury et al. 2024, Provably Robust DPO, §3 (the unbiased rDPO loss); TRL dpo_loss loss_type='robust'",
    margin: "logratio",
    fDivergence: true,
    options: {
      beta: true,
      labelSmoothing: true,
      referenceFree: true,
      fDivergence: true,
      fAlphaCoef: true,
      rpoAlpha: true,
    },
    phi: (z, o) => {
      const eps = o.labelSmoothing;
      return tf.div(tf.add(tf.mul(-(1 - eps), logSigmoid(z)), tf.mul(eps, logSigmoid(tf.neg(z)))), 1 - 2 * eps);
    },
    phi64: (z, o) => {
      const eps = o.labelSmoothing;
      const d = 1 - 2 * eps;
      return [
        (-(1 - eps) * logSigmoid64(z) + eps * logSigmoid64(-z)) / d,
        (-(1 - eps) * sigmoid(-z) - eps * sigmoid(z)) / d,
      ];
    },
  }),
);
