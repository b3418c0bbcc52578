// TRL loss_type "sigmoid_norm": DPO on per-token average log-ratios (length-normalised DPO).
import { smoothedLogistic } from "../math64";
import { marginEntry } from "../pairCommon";
import { registerLoss } from "../registry";
import { smoothedLogisticTf } from "./sigmoid";

/** −log σ(β[(log π/π_ref)(y_w)/|y_w| − (log π/π_ref)(y_l)/|y_l|]). */
export const sigmoidNormLoss = registerLoss(
  marginEntry({
    name: "sigmoid_norm",
    summary: "length-normalised DPO: −log σ(β·[per-token h(y_w) − per-token h(y_l)])",
    citation:
      "Lambert et al. 2024, Tülu 3: Pushing Frontiers in Open Language Model Post-Training, length-normalised DPO; TRL dpo_loss loss_type='sigmoid_norm'",
    margin: "averageLogratio",
    options: { beta: true, referenceFree: true, rpoAlpha: true },
    phi: (z) => smoothedLogisticTf(z, 0),
    phi64: (z) => smoothedLogistic(z, 0),
  }),
);
