// SimPO (TRL's CPOTrainer loss_type "simpo"): reference-free, average log-probs, a target margin γ.
import * as tf from "@tensorflow/tfjs";
import { smoothedLogistic } from "../math64";
import { marginEntry } from "../pairCommon";
import { registerLoss } from "../registry";
import { smoothedLogisticTf } from "./sigmoid";

/**
 * −(1−ε) log σ(βΔ − γ) − ε log σ(−(βΔ − γ)), Δ = log π(y_w)/|y_w| − log π(y_l)/|y_l|. TRL writes it as
 * β(Δ − γ/β). rpoAlpha > 0 adds the chosen NLL (TRL's cpo_alpha, "CPO-SimPO"); the paper's SimPO has none.
 */
export const simpoLoss = registerLoss(
  marginEntry({
    name: "simpo",
    summary: "SimPO: −log σ(β·Δavg − γ), average log-probs, no reference",
    citation:
      "Meng et al. 2024, SimPO: Simple Preference Optimization with a Reference-Free Reward, Eq. 6; TRL CPOTrainer loss_type='simpo'",
    margin: "averagePolicy",
    options: { beta: true, simpoGamma: true, labelSmoothing: true, rpoAlpha: true },
    phi: (z, o) => smoothedLogisticTf(tf.sub(z, o.simpoGamma), o.labelSmoothing),
    phi64: (z, o) => smoothedLogistic(z - o.simpoGamma, o.labelSmoothing),
  }),
);
