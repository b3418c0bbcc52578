// The small pure steps of the group and online methods (src/lm/grpo.ts, src/lm/onlineDpo.ts, src/lm/trDpo.ts),
// on plain numbers so the tests check them by hand, plus the tensor forms the trainers differentiate:
//
//   GRPO advantage      Â_i = (R_i − mean(R_group)) / (std(R_group) + 1e−4), the same Â_i at every token of o_i
//                       (Shao et al. 2024, DeepSeekMath, §4.1.2 "outcome supervision"; std as TRL's GRPOTrainer:
//                       torch.std, the unbiased n − 1 form)
//   Dr. GRPO advantage  Â_i = R_i − mean(R_group), no division by the std (Liu et al. 2025, "Understanding
//                       R1-Zero-Like Training: A Critical Perspective", §3.1, Eq. 3)
//   k3 KL estimator     D_KL ≈ exp(r) − r − 1 with r = log π_ref(o_t) − log π(o_t) (Schulman 2020, "Approximating
//                       KL divergence"; Shao et al. 2024, Eq. 4): unbiased, ≥ 0 for every sample
//   GRPO objective      J = 1/G Σ_i 1/|o_i| Σ_t [min(ρ Â, clip(ρ, 1 ± ε) Â) − β D_KL]   (Shao et al. 2024, Eq. 3)
//   Dr. GRPO objective  J = 1/G Σ_i 1/L_max Σ_t [ … ]: no 1/|o_i|, a constant L_max instead (Liu et al. 2025, Eq. 3)
//   OAIF labelling      of two samples of one prompt, the one the judge scores higher is chosen (Guo et al. 2024,
//                       "Direct Language Model Alignment from Online AI Feedback", Alg. 1); an exact tie gives no pair
//   TR-DPO update       every τ steps  θ_ref ← α θ + (1 − α) θ_ref   (Gorbatovski et al. 2024, "Learn Your Reference
//                       Model for Real Good Alignment", Eq. 4 soft (α < 1) and Eq. 5 hard (α = 1); TRL's
//                       SyncRefModelCallback with ref_model_mixup_alpha and ref_model_sync_steps)
import * as tf from "@tensorflow/tfjs";

export type GroupVariant = "grpo" | "dr-grpo";

/**
 * Per-sample advantages from scores laid out group after group (`groupSize` samples per prompt):
 * GRPO (R − mean) / (std + 1e−4) with the unbiased std; Dr. GRPO R − mean.
 */
export function groupAdvantages(scores: readonly number[], groupSize: number, variant: GroupVariant): number[] {
  if (!(Number.isInteger(groupSize) && groupSize >= 2))
    throw new Error(`groupAdvantages: groupSize must be an integer ≥ 2, got ${groupSize}`);
  if (scores.length % groupSize !== 0)
    throw new Error(`groupAdvantages: ${scores.length} scores are not whole groups of ${groupSize}`);
  const out = new Array<number>(scores.length);
  for (let g = 0; g < scores.length; g += groupSize) {
    const xs = scores.slice(g, g + groupSize);
    if (!xs.every(Number.isFinite))
      throw new Error(`groupAdvantages: group ${g / groupSize} has a score that is not finite`);
    const mean = xs.reduce((a, b) => a + b, 0) / groupSize;
    const sd = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (groupSize - 1));
    xs.forEach((x, j) => (out[g + j] = variant === "grpo" ? (x - mean) / (sd + 1e-4) : x - mean));
  }
  return out;
}

/** The k3 estimator of KL(π‖π_ref) at one sampled token: exp(r) − r − 1, r = lpRef − lp (≥ 0, 0 iff equal). */
export function k3(lp: number, lpRef: number): number {
  const r = lpRef - lp;
  return Math.expm1(r) - r;
}

/** k3 on tensors, elementwise. */
export function k3Tensor(lp: tf.Tensor, lpRef: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const r = tf.sub(lpRef, lp);
    return tf.sub(tf.sub(tf.exp(r), r), 1);
  });
}

export interface GroupLossSettings {
  variant: GroupVariant;
  /** PPO's clip ε. */
  eps: number;
  /** Weight of the k3 KL term. */
  beta: number;
  /** Dr. GRPO's constant normaliser L_max (the most tokens a completion can score). */
  maxTokens: number;
}

/**
 * The GRPO / Dr. GRPO loss −J (module header) on (B, T) token log-probs of the current policy, the sampling
 * policy π_old and the reference, `advantages` per row (B), `mask` the scored tokens. Returns the loss, the
 * fraction of clipped tokens and the mean per-token k3 KL (both over the mask's tokens).
 */
export function groupPolicyLoss(
  logProbs: tf.Tensor2D,
  oldLogProbs: tf.Tensor2D,
  refLogProbs: tf.Tensor2D,
  advantages: tf.Tensor1D,
  mask: tf.Tensor2D,
  s: GroupLossSettings,
): { loss: tf.Scalar; clipfrac: tf.Scalar; kl: tf.Scalar } {
  return tf.tidy(() => {
    const adv = tf.expandDims(advantages, 1);
    const ratio = tf.exp(tf.sub(logProbs, oldLogProbs));
    const surrogate = tf.minimum(tf.mul(ratio, adv), tf.mul(tf.clipByValue(ratio, 1 - s.eps, 1 + s.eps), adv));
    const kl = k3Tensor(logProbs, refLogProbs);
    const perToken = tf.mul(tf.sub(surrogate, tf.mul(kl, s.beta)), mask);
    const rowSum = tf.sum(perToken, 1);
    const denom = s.variant === "grpo" ? tf.maximum(tf.sum(mask, 1), 1) : tf.scalar(s.maxTokens);
    const loss = tf.neg(tf.mean(tf.div(rowSum, denom))) as tf.Scalar;
    const n = tf.maximum(tf.sum(mask), 1);
    const clipped = tf.cast(tf.greater(tf.abs(tf.sub(ratio, 1)), s.eps), "float32");
    return {
      loss,
      clipfrac: tf.div(tf.sum(tf.mul(clipped, mask)), n) as tf.Scalar,
      kl: tf.div(tf.sum(tf.mul(kl, mask)), n) as tf.Scalar,
    };
  });
}

/**
 * OAIF's labels for samples laid out in pairs (2 per prompt): for each prompt the index of the chosen and the
 * rejected sample by the judge's scores, or null for an exact tie (no preference: the pair is left out and
 * counted by the trainer).
 */
export function labelPairs(scores: readonly number[]): Array<{ chosen: number; rejected: number } | null> {
  if (scores.length % 2 !== 0) throw new Error(`labelPairs: ${scores.length} scores are not pairs`);
  const out: Array<{ chosen: number; rejected: number } | null> = [];
  for (let i = 0; i < scores.length; i += 2) {
    const [a, b] = [scores[i], scores[i + 1]];
    if (!Number.isFinite(a) || !Number.isFinite(b))
      throw new Error(`labelPairs: pair ${i / 2} has a score that is not finite (${a}, ${b})`);
    out.push(a === b ? null : a > b ? { chosen: i, rejected: i + 1 } : { chosen: i + 1, rejected: i });
  }
  return out;
}

/** TR-DPO: whether the reference is updated after `step` (1-based): every `tau` steps. */
export function syncDue(step: number, tau: number): boolean {
  if (!(Number.isInteger(tau) && tau >= 1)) throw new Error(`syncDue: tau must be an integer ≥ 1, got ${tau}`);
  return step % tau === 0;
}

/** TR-DPO's update on plain numbers: α θ + (1 − α) θ_ref. */
export function mixWeights(policy: readonly number[], ref: readonly number[], alpha: number): number[] {
  return ref.map((r, i) => alpha * policy[i] + (1 - alpha) * r);
}

/** TR-DPO's update in place on the reference's variables: θ_ref ← α θ + (1 − α) θ_ref (α = 1: a copy). */
export function mixInto(ref: readonly tf.Variable[], policy: readonly tf.Variable[], alpha: number): void {
  if (!(alpha > 0 && alpha <= 1)) throw new Error(`mixInto: alpha must lie in (0, 1], got ${alpha}`);
  if (ref.length !== policy.length)
    throw new Error(`mixInto: the reference has ${ref.length} variables, the policy ${policy.length}`);
  ref.forEach((v, i) => {
    if (v.shape.join() !== policy[i].shape.join())
      throw new Error(
        `mixInto: variable ${i} has shape [${v.shape}] in the reference, [${policy[i].shape}] in the policy`,
      );
    const next = tf.tidy(() =>
      alpha === 1 ? policy[i].clone() : tf.add(tf.mul(policy[i], alpha), tf.mul(v, 1 - alpha)),
    );
    v.assign(next);
    next.dispose();
  });
}
