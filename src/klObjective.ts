// The KL-regularised reward-maximisation objective over a finite response set, its closed-form optimum
// and the reward a policy implies (Rafailov et al. 2023, Eq. 3, 4 and 5). Every function takes plain
// arrays (returning numbers) or tensors whose LAST axis runs over the responses (returning tensors [...]).
import * as tf from "@tensorflow/tfjs";

type Vec = number[] | Float64Array | Float32Array;

function isTensor(x: unknown): x is tf.Tensor {
  return x instanceof tf.Tensor;
}

function checkLengths(where: string, a: Vec, b: Vec): void {
  if (a.length !== b.length)
    throw new Error(`${where} (src/klObjective.ts): arrays have lengths ${a.length} and ${b.length}`);
  if (a.length === 0) throw new Error(`${where} (src/klObjective.ts): empty response set`);
}

/** E_{y∼π}[r(y)] = Σ_y π(y) r(y). */
export function expectedReward(policy: Vec, reward: Vec): number;
export function expectedReward(policy: tf.Tensor, reward: tf.Tensor): tf.Tensor;
export function expectedReward(policy: Vec | tf.Tensor, reward: Vec | tf.Tensor): number | tf.Tensor {
  if (isTensor(policy) || isTensor(reward)) {
    return tf.tidy(() => tf.sum(tf.mul(policy as tf.Tensor, reward as tf.Tensor), -1));
  }
  checkLengths("expectedReward", policy, reward);
  let s = 0;
  for (let i = 0; i < policy.length; i++) s += policy[i] * reward[i];
  return s;
}

/** KL(π‖π_ref) = Σ_y π(y) log(π(y)/π_ref(y)), with 0 log 0 = 0 (finite gradients at π = 0 too). */
export function kl(policy: Vec, reference: Vec): number;
export function kl(policy: tf.Tensor, reference: tf.Tensor): tf.Tensor;
export function kl(policy: Vec | tf.Tensor, reference: Vec | tf.Tensor): number | tf.Tensor {
  if (isTensor(policy) || isTensor(reference)) {
    return tf.tidy(() => {
      const p = policy as tf.Tensor;
      const logRatio = tf.sub(tf.log(tf.maximum(p, 1e-30)), tf.log(reference as tf.Tensor));
      return tf.sum(tf.mul(p, logRatio), -1);
    });
  }
  checkLengths("kl", policy, reference);
  let s = 0;
  for (let i = 0; i < policy.length; i++) if (policy[i] > 0) s += policy[i] * Math.log(policy[i] / reference[i]);
  return s;
}

/** J(π) = E_π[r] − β KL(π‖π_ref)  (Rafailov et al. 2023, Eq. 3, for one prompt). */
export function klRegularisedObjective(policy: Vec, reward: Vec, reference: Vec, beta: number): number;
export function klRegularisedObjective(
  policy: tf.Tensor,
  reward: tf.Tensor,
  reference: tf.Tensor,
  beta: number,
): tf.Tensor;
export function klRegularisedObjective(
  policy: Vec | tf.Tensor,
  reward: Vec | tf.Tensor,
  reference: Vec | tf.Tensor,
  beta: number,
): number | tf.Tensor {
  checkBeta("klRegularisedObjective", beta);
  if (isTensor(policy)) {
    return tf.tidy(() =>
      tf.sub(expectedReward(policy, reward as tf.Tensor), tf.mul(beta, kl(policy, reference as tf.Tensor))),
    );
  }
  return expectedReward(policy, reward as Vec) - beta * kl(policy, reference as Vec);
}

export interface KlOptimum<T> {
  /** π*(y) = π_ref(y) exp(r(y)/β) / Z. */
  policy: T;
  /** log Z = log Σ_y π_ref(y) exp(r(y)/β). */
  logZ: T extends tf.Tensor ? tf.Tensor : number;
}

/**
 * The maximiser of J (Rafailov et al. 2023, Eq. 4): π*(y) = π_ref(y) exp(r(y)/β) / Z, computed in log space
 * (stable for any r/β). Responses with π_ref = 0 get π* = 0.
 */
export function klRegularisedOptimum(reward: Vec, reference: Vec, beta: number): KlOptimum<number[]>;
export function klRegularisedOptimum(reward: tf.Tensor, reference: tf.Tensor, beta: number): KlOptimum<tf.Tensor>;
export function klRegularisedOptimum(
  reward: Vec | tf.Tensor,
  reference: Vec | tf.Tensor,
  beta: number,
): KlOptimum<number[]> | KlOptimum<tf.Tensor> {
  checkBeta("klRegularisedOptimum", beta);
  if (isTensor(reward)) {
    return tf.tidy(() => {
      const logits = tf.add(tf.log(reference as tf.Tensor), tf.div(reward, beta));
      const logZ = tf.logSumExp(logits, -1, true);
      return { policy: tf.exp(tf.sub(logits, logZ)), logZ: tf.squeeze(logZ, [-1]) };
    });
  }
  const ref = reference as Vec;
  checkLengths("klRegularisedOptimum", reward, ref);
  const logits = Array.from(reward, (r, i) => Math.log(ref[i]) + r / beta);
  const m = Math.max(...logits);
  if (m === -Infinity) throw new Error("klRegularisedOptimum (src/klObjective.ts): reference policy is all zero");
  let s = 0;
  for (const l of logits) s += Math.exp(l - m);
  const logZ = m + Math.log(s);
  return { policy: logits.map((l) => Math.exp(l - logZ)), logZ };
}

/**
 * The reward a policy implies (Rafailov et al. 2023, Eq. 5): r(y) = β log(π(y)/π_ref(y)) + β log Z.
 * Without logZ this is the reward up to the prompt-dependent constant β log Z (all DPO needs).
 */
export function impliedReward(policy: Vec, reference: Vec, beta: number, logZ?: number): number[];
export function impliedReward(
  policy: tf.Tensor,
  reference: tf.Tensor,
  beta: number,
  logZ?: number | tf.Tensor,
): tf.Tensor;
export function impliedReward(
  policy: Vec | tf.Tensor,
  reference: Vec | tf.Tensor,
  beta: number,
  logZ?: number | tf.Tensor,
): number[] | tf.Tensor {
  checkBeta("impliedReward", beta);
  if (isTensor(policy)) {
    return tf.tidy(() => {
      const r = tf.mul(beta, tf.sub(tf.log(policy), tf.log(reference as tf.Tensor)));
      if (logZ === undefined) return r;
      const z = typeof logZ === "number" ? tf.scalar(logZ) : tf.expandDims(logZ, -1);
      return tf.add(r, tf.mul(beta, z));
    });
  }
  const ref = reference as Vec;
  checkLengths("impliedReward", policy, ref);
  if (isTensor(logZ)) throw new Error("impliedReward (src/klObjective.ts): pass logZ as a number with array inputs");
  return Array.from(policy, (p, i) => beta * Math.log(p / ref[i]) + beta * (logZ ?? 0));
}

function checkBeta(where: string, beta: number): void {
  if (!(Number.isFinite(beta) && beta > 0))
    throw new Error(`${where} (src/klObjective.ts): beta must be > 0, got ${beta}`);
}
