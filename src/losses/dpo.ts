// Direct Preference Optimisation and its pairwise variants, elementwise on tensors of any shape [..., B].
import * as tf from "@tensorflow/tfjs";
import { logSigmoid } from "../ops";
import { checkBeta, checkSameShape, stopGradient, type PreferenceLossOutput } from "./common";

export type DpoVariant = "sigmoid" | "robust" | "hinge";

export interface DpoOptions {
  /** KL strength β > 0 (the temperature of the implicit reward β log π/π_ref). */
  beta: number;
  /** ε: assumed probability that a preference label is flipped (cDPO / robust DPO); 0 ≤ ε < ½. */
  labelSmoothing?: number;
  variant?: DpoVariant;
  /** Drop the reference model: h = log π(y_w) − log π(y_l). */
  referenceFree?: boolean;
}

/**
 * DPO loss per example, with the log-ratio margin
 *   h = [log π(y_w) − log π(y_l)] − [log π_ref(y_w) − log π_ref(y_l)]   (reference term 0 if referenceFree)
 * and
 *   sigmoid: −(1−ε) log σ(βh) − ε log σ(−βh)
 *            (Rafailov et al. 2023, "Direct Preference Optimization", Eq. 7 at ε = 0; conservative DPO (cDPO),
 *            Mitchell 2023 "A note on DPO with noisy preferences & relationship to IPO", Eq. 3, for ε > 0)
 *   robust:  [−(1−ε) log σ(βh) + ε log σ(−βh)] / (1 − 2ε)
 *            (Chowdhury et al. 2024, "Provably Robust DPO", the unbiased loss under label flips)
 *   hinge:   max(0, 1 − βh)
 *            (SLiC-HF, Zhao et al. 2023, calibration hinge loss, as used by TRL's loss_type="hinge")
 * Rewards β(log π − log π_ref) carry no gradient. Inputs are per-example summed log-probs.
 */
export function dpoLoss(
  policyChosen: tf.Tensor,
  policyRejected: tf.Tensor,
  refChosen: tf.Tensor | null,
  refRejected: tf.Tensor | null,
  options: DpoOptions,
): PreferenceLossOutput {
  const where = "dpoLoss (src/losses/dpo.ts)";
  const { beta, labelSmoothing: eps = 0, variant = "sigmoid", referenceFree = false } = options;
  checkBeta(where, beta);
  if (!(eps >= 0 && eps < 0.5)) throw new Error(`${where}: labelSmoothing must be in [0, 0.5), got ${eps}`);
  if (variant !== "sigmoid" && variant !== "robust" && variant !== "hinge") {
    throw new Error(`${where}: variant must be "sigmoid", "robust" or "hinge", got "${String(variant)}"`);
  }
  if (!referenceFree && (refChosen === null || refRejected === null)) {
    throw new Error(`${where}: refChosen and refRejected are required unless referenceFree is true`);
  }
  checkSameShape(where, {
    policyChosen,
    policyRejected,
    refChosen: referenceFree ? null : refChosen,
    refRejected: referenceFree ? null : refRejected,
  });
  return tf.tidy(() => {
    const policyMargin = tf.sub(policyChosen, policyRejected);
    const h = referenceFree ? policyMargin : tf.sub(policyMargin, tf.sub(refChosen!, refRejected!));
    const z = tf.mul(h, beta);
    let losses: tf.Tensor;
    if (variant === "hinge") {
      losses = tf.relu(tf.sub(1, z));
    } else {
      const lossW = tf.neg(logSigmoid(z)); // −log σ(βh)
      if (eps === 0) {
        // No ε·log σ(−βh) term at all: at h = +∞ (a rejected log-prob of −∞) it would be 0·(−∞) = NaN.
        losses = lossW;
      } else {
        const logSigNeg = logSigmoid(tf.neg(z)); // log σ(−βh)
        losses =
          variant === "sigmoid"
            ? tf.sub(tf.mul(1 - eps, lossW), tf.mul(eps, logSigNeg))
            : tf.div(tf.add(tf.mul(1 - eps, lossW), tf.mul(eps, logSigNeg)), 1 - 2 * eps);
      }
    }
    return { losses, ...implicitRewards(policyChosen, policyRejected, refChosen, refRejected, beta, referenceFree) };
  });
}

/** β(log π − log π_ref) for chosen and rejected, with no gradient (π alone when referenceFree). */
export function implicitRewards(
  policyChosen: tf.Tensor,
  policyRejected: tf.Tensor,
  refChosen: tf.Tensor | null,
  refRejected: tf.Tensor | null,
  beta: number,
  referenceFree = false,
): { chosenRewards: tf.Tensor; rejectedRewards: tf.Tensor } {
  return tf.tidy(() => {
    const c = referenceFree || refChosen === null ? policyChosen : tf.sub(policyChosen, refChosen);
    const r = referenceFree || refRejected === null ? policyRejected : tf.sub(policyRejected, refRejected);
    return { chosenRewards: stopGradient(tf.mul(c, beta)), rejectedRewards: stopGradient(tf.mul(r, beta)) };
  });
}
