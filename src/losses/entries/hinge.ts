// TRL loss_type "hinge": SLiC's calibration hinge on the DPO margin.
import * as tf from "@tensorflow/tfjs";
import { marginEntry } from "../pairCommon";
import { registerLoss } from "../registry";

/** max(0, 1 − βΔ): zero once the margin exceeds 1/β (the derivative at the kink is taken as 0). */
export const hingeLoss = registerLoss(
  marginEntry({
    name: "hinge",
    summary: "SLiC hinge: max(0, 1 − βh)",
    citation:
      "Zhao et al. 2023, SLiC-HF, the rank calibration loss max(0, δ − log π(y_w) + log π(y_l)) with δ = 1/β, on the reference-corrected margin; TRL dpo_loss loss_type='hinge'",
    margin: "logratio",
    fDivergence: true,
    options: { beta: true, referenceFree: true, fDivergence: true, fAlphaCoef: true, rpoAlpha: true },
    phi: (z) => tf.relu(tf.sub(1, z)),
    phi64: (z) => (z < 1 ? [1 - z, -1] : [0, 0]),
  }),
);
