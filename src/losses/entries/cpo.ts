// CPO (TRL's CPOTrainer, loss_type "sigmoid"): DPO's sigmoid on policy log-probs alone, plus the chosen NLL.
import { smoothedLogistic } from "../math64";
import { marginEntry } from "../pairCommon";
import { registerLoss } from "../registry";
import { smoothedLogisticTf } from "./sigmoid";

/**
 * −(1−ε) log σ(β[log π(y_w) − log π(y_l)]) − ε log σ(−β[…]) + rpoAlpha · NLL(y_w), rpoAlpha defaulting to 1
 * (TRL's cpo_alpha); NLL is the token-mean over the batch when lengths are given (see chosenNll).
 */
export const cpoLoss = registerLoss(
  marginEntry({
    name: "cpo",
    summary: "CPO: −log σ(β[log π(y_w) − log π(y_l)]) + NLL(y_w), no reference",
    citation:
      "Xu et al. 2024, Contrastive Preference Optimization, the CPO objective L_prefer + L_NLL; TRL CPOTrainer loss_type='sigmoid', cpo_alpha",
    margin: "policy",
    options: { beta: true, labelSmoothing: true, rpoAlpha: { default: 1 } },
    phi: (z, o) => smoothedLogisticTf(z, o.labelSmoothing),
    phi64: (z, o) => smoothedLogistic(z, o.labelSmoothing),
  }),
);
