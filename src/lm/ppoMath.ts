// The small pure steps of PPO as RLHF runs it (Schulman et al. 2017; Ziegler et al. 2019; Stiennon et al.
// 2020; TRL's PPOTrainer; Huang et al. 2022, "The N implementation details of RLHF with PPO"), each on plain
// numbers so the tests can check it by hand, plus the tensor forms the trainer differentiates:
//
//   per-token reward   r_t = −β (log π_old(y_t|·) − log π_ref(y_t|·)),  plus the score R(x, y) at the last token
//   GAE                δ_t = r_t + γ V_{t+1} − V_t  (V after the last token = 0),  A_t = δ_t + γλ A_{t+1},
//                      returns G_t = A_t + V_t        (Schulman et al. 2016, "High-dimensional continuous
//                      control using generalized advantage estimation", eqs. 16-18)
//   whitening          (x − mean) / √(var + 1e−8) over the batch's scored tokens (TRL masked_whiten, unbiased var)
//   value loss         ½ max((V − G)², (clip(V, V_old ± c) − G)²)       (TRL cliprange_value; PPO2's vf clip)
//   policy loss        −min(ρ A, clip(ρ, 1 ± ε) A),  ρ = π/π_old         (Schulman et al. 2017, eq. 7)
//   score scaling      R ← (R − μ) / σ with running moments of every score seen so far (TRL's
//                      use_score_scaling + use_score_norm, RunningMoments)
//   KL controllers     Ziegler et al. (2019, §2.2)'s adaptive one and a proportional-integral one on log β
//
// The batched reward type every online trainer takes lives here too (RLOO and PPO share it).
import * as tf from "@tensorflow/tfjs";
import type { Sequence } from "./batching";

/** A batched reward: one number per (prompt, completion) row; `seqs` carries the token ids. */
export type BatchReward = (
  prompts: readonly string[],
  completions: readonly string[],
  seqs: readonly Sequence[],
) => ArrayLike<number>;

/** One log row per iteration, TRL's PPO/RLOO metric names (PPO adds its value-head metrics). */
export interface PpoLog {
  iteration: number;
  "objective/scores": number;
  "objective/kl": number;
  "objective/rlhf_reward": number;
  "policy/clipfrac_avg": number;
  "loss/policy_avg": number;
  /** β used in this iteration's rewards (changes only with a target KL). */
  "objective/kl_coef": number;
  "loss/value_avg"?: number;
  "val/clipfrac_avg"?: number;
}

/**
 * Per-token rewards of one sample: r_t = −β (lpOld_t − lpRef_t) at every scored token, plus `score` at the
 * last one (Ziegler et al. 2019 §2.2; TRL compute_rewards). `lpOld`, `lpRef`: the sample's scored tokens in order.
 */
export function perTokenRewards(
  score: number,
  lpOld: readonly number[],
  lpRef: readonly number[],
  beta: number,
): number[] {
  if (lpOld.length !== lpRef.length) throw new Error(`perTokenRewards: ${lpOld.length} vs ${lpRef.length} log-probs`);
  if (lpOld.length === 0) throw new Error("perTokenRewards: a sample with no scored token");
  const r = lpOld.map((lp, t) => -beta * (lp - lpRef[t]));
  r[r.length - 1] += score;
  return r;
}

/**
 * Generalised advantage estimation over one sample's tokens (Schulman et al. 2016, eqs. 16-18):
 *   δ_t = r_t + γ V_{t+1} − V_t  (V_T = 0: the episode ends after the last token),
 *   A_t = δ_t + γλ A_{t+1},   returns G_t = A_t + V_t (the value head's regression target).
 */
export function gaeAdvantages(
  rewards: readonly number[],
  values: readonly number[],
  gamma: number,
  lambda: number,
): { advantages: number[]; returns: number[] } {
  if (rewards.length !== values.length)
    throw new Error(`gaeAdvantages: ${rewards.length} rewards but ${values.length} values`);
  if (!(gamma >= 0 && gamma <= 1 && lambda >= 0 && lambda <= 1))
    throw new Error(`gaeAdvantages: γ and λ must lie in [0, 1], got γ = ${gamma}, λ = ${lambda}`);
  const T = rewards.length;
  const advantages = new Array<number>(T);
  let next = 0; // A_{t+1}
  for (let t = T - 1; t >= 0; t--) {
    const vNext = t + 1 < T ? values[t + 1] : 0;
    const delta = rewards[t] + gamma * vNext - values[t];
    next = delta + gamma * lambda * next;
    advantages[t] = next;
  }
  return { advantages, returns: advantages.map((a, t) => a + values[t]) };
}

/**
 * Whitening over the entries where `mask` is non-zero (all when omitted), as TRL's masked_whiten:
 * (x − mean) / √(var + 1e−8) with the unbiased variance; with shiftMean false the mean is added back
 * (scale only). Masked-out entries are returned unchanged.
 */
export function whiten(xs: ArrayLike<number>, mask?: ArrayLike<number>, shiftMean = true): Float32Array {
  const on = (i: number) => !mask || mask[i] !== 0;
  let n = 0;
  let sum = 0;
  for (let i = 0; i < xs.length; i++) if (on(i)) (n++, (sum += xs[i]));
  if (n < 2) throw new Error(`whiten: needs at least 2 entries, got ${n}`);
  const mean = sum / n;
  let ss = 0;
  for (let i = 0; i < xs.length; i++) if (on(i)) ss += (xs[i] - mean) ** 2;
  const scale = 1 / Math.sqrt(ss / (n - 1) + 1e-8);
  const out = Float32Array.from(xs);
  for (let i = 0; i < xs.length; i++) if (on(i)) out[i] = (xs[i] - mean) * scale + (shiftMean ? 0 : mean);
  return out;
}

/** Clipped value loss of one token: ½ max((V − G)², (clip(V, V_old − c, V_old + c) − G)²) (TRL, PPO2). */
export function clippedValueLoss(value: number, oldValue: number, ret: number, clip: number): number {
  const clipped = Math.min(oldValue + clip, Math.max(oldValue - clip, value));
  return 0.5 * Math.max((value - ret) ** 2, (clipped - ret) ** 2);
}

/**
 * The tensor form of `clippedValueLoss`, averaged over the mask's tokens, and the fraction of tokens where
 * the clipped term is the larger (TRL's val/clipfrac). All (B, T−1).
 */
export function clippedValueLossTensor(
  values: tf.Tensor2D,
  oldValues: tf.Tensor2D,
  returns: tf.Tensor2D,
  mask: tf.Tensor2D,
  clip: number,
): { loss: tf.Scalar; clipfrac: tf.Scalar } {
  return tf.tidy(() => {
    const n = tf.maximum(tf.sum(mask), 1);
    const clipped = tf.add(oldValues, tf.clipByValue(tf.sub(values, oldValues), -clip, clip));
    const a = tf.square(tf.sub(values, returns));
    const b = tf.square(tf.sub(clipped, returns));
    const loss = tf.div(tf.sum(tf.mul(tf.mul(tf.maximum(a, b), 0.5), mask)), n) as tf.Scalar;
    const clipfrac = tf.div(tf.sum(tf.mul(tf.cast(tf.greater(b, a), "float32"), mask)), n) as tf.Scalar;
    return { loss, clipfrac };
  });
}

/**
 * PPO-clip policy loss averaged over the mask's tokens, −E[min(ρA, clip(ρ, 1 ± ε)A)] with ρ = exp(lp − lpOld)
 * (Schulman et al. 2017, eq. 7), and the fraction of tokens with |ρ − 1| > ε (TRL's policy/clipfrac).
 */
export function ppoClipLoss(
  logProbs: tf.Tensor2D,
  oldLogProbs: tf.Tensor2D,
  advantages: tf.Tensor2D,
  mask: tf.Tensor2D,
  eps: number,
): { loss: tf.Scalar; clipfrac: tf.Scalar } {
  return tf.tidy(() => {
    const n = tf.maximum(tf.sum(mask), 1);
    const ratio = tf.exp(tf.sub(logProbs, oldLogProbs));
    const unclipped = tf.mul(ratio, advantages);
    const clipped = tf.mul(tf.clipByValue(ratio, 1 - eps, 1 + eps), advantages);
    const loss = tf.neg(tf.div(tf.sum(tf.mul(tf.minimum(unclipped, clipped), mask)), n)) as tf.Scalar;
    const clipfrac = tf.div(
      tf.sum(tf.mul(tf.cast(tf.greater(tf.abs(tf.sub(ratio, 1)), eps), "float32"), mask)),
      n,
    ) as tf.Scalar;
    return { loss, clipfrac };
  });
}

/** Running mean and variance of every score seen (TRL RunningMoments: Chan et al.'s parallel update). */
export interface Moments {
  mean: number;
  /** Population variance of the `count` values seen. */
  variance: number;
  count: number;
}

/** Fold a batch into running moments: the exact mean and variance of all values seen so far. */
export function updateMoments(m: Moments, batch: readonly number[]): Moments {
  if (batch.length === 0) return m;
  const n = batch.length;
  const bMean = batch.reduce((a, b) => a + b, 0) / n;
  const bVar = batch.reduce((a, b) => a + (b - bMean) ** 2, 0) / n;
  const total = m.count + n;
  const delta = bMean - m.mean;
  const mean = m.mean + (delta * n) / total;
  const m2 = m.variance * m.count + bVar * n + (delta * delta * m.count * n) / total;
  return { mean, variance: m2 / total, count: total };
}

/** The adaptive KL controller's update (Ziegler et al. 2019 §2.2; TRL AdaptiveKLController.update):
 *  e_t = clip(KL_t / KL_target − 1, −0.2, 0.2),   β_{t+1} = β_t · (1 + e_t · n_t / H). */
export function adaptiveKlUpdate(
  beta: number,
  currentKl: number,
  targetKl: number,
  nSamples: number,
  horizon: number,
): number {
  if (!(targetKl > 0)) throw new Error(`adaptiveKlUpdate: targetKl must be > 0, got ${targetKl}`);
  if (!(horizon > 0)) throw new Error(`adaptiveKlUpdate: horizon must be > 0, got ${horizon}`);
  const error = Math.min(0.2, Math.max(-0.2, currentKl / targetKl - 1));
  return beta * (1 + (error * nSamples) / horizon);
}

/** State of the proportional-integral KL controller: log β and the previous error. */
export interface PiKlState {
  logBeta: number;
  lastError: number;
}

export interface PiKlGains {
  /** Proportional gain on the change of the error (default 1). */
  kp?: number;
  /** Integral gain (default 0.5). */
  ki?: number;
  /** The error is clipped to [minError, maxError] (defaults −0.5, 1). The smaller downward clip limits the
   *  windup while the policy is still far below the target (β would otherwise collapse and the KL overshoot). */
  minError?: number;
  maxError?: number;
  /** β stays within [minBeta, maxBeta] (defaults 1e-4, 100). */
  minBeta?: number;
  maxBeta?: number;
}

/**
 * A proportional-integral controller on log β (the velocity form of a PI loop; Åström & Murray,
 * "Feedback Systems", §10.1), used instead of Ziegler's when it must hold a target within a few dozen
 * iterations:  e_t = clip(log(KL_t / KL_target), e_min, e_max),
 *   log β_{t+1} = log β_t + k_i e_t + k_p (e_t − e_{t−1}).
 * The integral term alone is Ziegler's update in log form (with a larger step); the proportional term damps
 * the overshoot that comes from the policy's KL lagging behind β (the KL is itself an accumulated drift).
 * The log error treats "twice the target" and "half the target" alike (up to the asymmetric clip).
 */
export function piKlUpdate(state: PiKlState, currentKl: number, targetKl: number, gains: PiKlGains = {}): PiKlState {
  if (!(targetKl > 0)) throw new Error(`piKlUpdate: targetKl must be > 0, got ${targetKl}`);
  if (!Number.isFinite(currentKl)) throw new Error(`piKlUpdate: KL is ${currentKl}`);
  const hiE = gains.maxError ?? 1;
  const loE = gains.minError ?? -0.5;
  // A KL estimate ≤ 0 (the policy at the reference) reads as the largest "too small" error.
  const raw = currentKl > 0 ? Math.log(currentKl / targetKl) : loE;
  const error = Math.min(hiE, Math.max(loE, raw));
  const next = state.logBeta + (gains.ki ?? 0.5) * error + (gains.kp ?? 1) * (error - state.lastError);
  const lo = Math.log(gains.minBeta ?? 1e-4);
  const hi = Math.log(gains.maxBeta ?? 100);
  return { logBeta: Math.min(hi, Math.max(lo, next)), lastError: error };
}
