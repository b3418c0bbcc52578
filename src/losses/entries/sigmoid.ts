// TRL loss_type "sigmoid": DPO, with conservative label smoothing and the f-divergence family.
import * as tf from "@tensorflow/tfjs";
import { logSigmoid } from "../../ops";
import { smoothedLogistic } from "../math64";
import { marginEntry } from "../pairCommon";
import { registerLoss } from "../registry";

/** −(1−ε) log σ(z) − ε log σ(−z) on tensors. */
export const smoothedLogisticTf = (z: tf.Tensor, eps: number): tf.Tensor =>
  eps === 0 ? tf.neg(logSigmoid(z)) : tf.sub(tf.mul(-(1 - eps), logSigmoid(z)), tf.mul(eps, logSigmoid(tf.neg(z))));

/**
 * −(1−ε) log σ(βΔ) − ε log σ(−βΔ), Δ = s(y_w) − s(y_l) with s the f-divergence score of log π/π_ref
 * (reverse KL: Δ = h = [log π(y_w) − log π(y_l)] − [log π_ref(y_w) − log π_ref(y_l)]).
 */
export const sigmoidLoss = registerLoss(
  marginEntry({
    name: "sigmoid",
    summary: "DPO: −log σ(βh), with cDPO label smoothing ε and f-DPO's f-divergences",
    citation:
      "Rafailov et al. 2023, Direct Preference Optimization, Eq. 7; ε: Mitchell 2023, A note on DPO with noisy preferences (cDPO); f-divergences: Wang et al. 2023, Beyond Reverse KL (f-DPO), Table 1's f′ in the f-DPO loss; TRL dpo_loss loss_type='sigmoid'",
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
    phi: (z, o) => smoothedLogisticTf(z, o.labelSmoothing),
    phi64: (z, o) => smoothedLogistic(z, o.labelSmoothing),
  }),
);
