// Tabular softmax policies trained on a PairObjective (./objective.ts): Adam on minibatches of a pair
// dataset (seeded, with optional label flips), or on all pairs at once. The loss zoo's trainer for losses
// the bandit trainer does not take; it shares minibatchIndices with src/bandit/trainer.ts, so a seed draws
// the same minibatches in both.
import { Rng } from "../random";
import { throwIfInterrupted } from "../interrupt";
import { minibatchIndices } from "../bandit/trainer";
import type { PairDataset } from "../bandit/datasets";
import type { PolicyTable } from "../bandit/tabular";
import { createLossState } from "../losses/preferenceLoss";
import { datasetPairs, objectiveFor, type ObjectiveSpec, type PairObjective, type WeightedPairs } from "./objective";

/** log π = log-softmax(θ) row by row (max-shifted), and π. */
export function logSoftmaxRows(theta: Float64Array, M: number, logp: Float64Array, probs: Float64Array): void {
  for (let r = 0; r < theta.length; r += M) {
    let max = -Infinity;
    for (let y = 0; y < M; y++) max = Math.max(max, theta[r + y]);
    let z = 0;
    for (let y = 0; y < M; y++) z += Math.exp(theta[r + y] - max);
    const lz = max + Math.log(z);
    for (let y = 0; y < M; y++) {
      logp[r + y] = theta[r + y] - lz;
      probs[r + y] = Math.exp(logp[r + y]);
    }
  }
}

/** Chain rule through log-softmax: ∂/∂θ[x,y] = a[x,y] − π[x,y]·Σ_y' a[x,y'], a = ∂/∂log π. Writes into `out`. */
export function logitGradient(dLogp: Float64Array, probs: Float64Array, M: number, out: Float64Array): void {
  for (let r = 0; r < dLogp.length; r += M) {
    let s = 0;
    for (let y = 0; y < M; y++) s += dLogp[r + y];
    for (let y = 0; y < M; y++) out[r + y] = dLogp[r + y] - probs[r + y] * s;
  }
}

/** The objective's value and its gradient with respect to the logits θ ([K·M]). */
export function objectiveAt(
  objective: PairObjective,
  theta: Float64Array,
  logRef: Float64Array,
  M: number,
  pairs: WeightedPairs,
): { loss: number; grad: Float64Array; probs: Float64Array } {
  const n = theta.length;
  const [logp, probs, dLogp, grad] = [
    new Float64Array(n),
    new Float64Array(n),
    new Float64Array(n),
    new Float64Array(n),
  ];
  logSoftmaxRows(theta, M, logp, probs);
  const loss = objective(logp, probs, logRef, M, pairs, dLogp);
  logitGradient(dLogp, probs, M, grad);
  return { loss, grad, probs };
}

/** Each pair's label flipped (chosen ↔ rejected) independently with probability `rate`, from Rng(seed).fork("flips"). */
export function flipLabels(data: PairDataset, rate: number, seed: number): PairDataset {
  if (!(rate >= 0 && rate <= 1)) throw new Error(`flipLabels: rate must be in [0, 1], got ${rate}`);
  const rng = new Rng(seed).fork("flips");
  return {
    ...data,
    description: `${data.description ?? "pairs"}, labels flipped with probability ${rate} (seed ${seed})`,
    pairs: data.pairs.map((p) => (rng.uniform() < rate ? { ...p, chosen: p.rejected, rejected: p.chosen } : { ...p })),
  };
}

export interface TrainTabularConfig {
  objective: ObjectiveSpec;
  dataset: PairDataset;
  /** π_ref [K][M]; training starts at π = π_ref. */
  ref: PolicyTable;
  steps: number;
  /** Pairs per step drawn with replacement (minibatchIndices(seed, …)); 0: every pair every step. */
  batchSize: number;
  lr: number;
  seed: number;
  /** Record the mean minibatch loss every this many steps (0: never). */
  recordEvery?: number;
}

export interface TrainTabularResult {
  policy: PolicyTable;
  logits: number[][];
  /** [step, minibatch loss] every recordEvery steps. */
  curve: Array<[number, number]>;
  /** π at the same steps. */
  policies: PolicyTable[];
}

/**
 * Adam (β1 0.9, β2 0.999, ε 1e-7, as tf.train.adam) on θ ∈ R^{K×M} from θ = log π_ref. A stateful loss
 * (BCO's running mean) gets a fresh state per run. Same config, same numbers.
 */
export function trainTabular(c: TrainTabularConfig): TrainTabularResult {
  const { nPrompts: K, nResponses: M } = c.dataset;
  if (!(Number.isInteger(c.steps) && c.steps > 0))
    throw new Error(`trainTabular: steps must be a positive integer, got ${c.steps}`);
  if (!(c.lr > 0)) throw new Error(`trainTabular: lr must be > 0, got ${c.lr}`);
  if (c.ref.length !== K || c.ref.some((r) => r.length !== M))
    throw new Error(`trainTabular: ref must be [${K}][${M}]`);
  const objective = objectiveFor(
    c.objective,
    c.objective.lossType === "naive" || c.objective.lossType === "kto"
      ? undefined
      : createLossState(c.objective.lossType),
  );
  const all = datasetPairs(c.dataset);
  const n = all.weight.length;
  const B = c.batchSize > 0 ? c.batchSize : n;
  const idx = c.batchSize > 0 ? minibatchIndices(c.seed, c.steps, B, n) : null;
  const batch: WeightedPairs = idx
    ? {
        prompt: new Int32Array(B),
        chosen: new Int32Array(B),
        rejected: new Int32Array(B),
        weight: new Float64Array(B).fill(1 / B),
      }
    : all;
  const logRef = Float64Array.from(c.ref.flat().map(Math.log));
  const theta = Float64Array.from(logRef);
  const KM = K * M;
  const [logp, probs, dLogp, grad, m1, m2] = Array.from({ length: 6 }, () => new Float64Array(KM));
  const curve: Array<[number, number]> = [];
  const policies: PolicyTable[] = [];
  const rows = (a: Float64Array) => Array.from({ length: K }, (_, x) => Array.from(a.subarray(x * M, x * M + M)));
  let [b1t, b2t] = [1, 1];
  for (let t = 0; t < c.steps; t++) {
    throwIfInterrupted();
    if (idx) {
      for (let j = 0; j < B; j++) {
        const i = idx[t * B + j];
        [batch.prompt[j], batch.chosen[j], batch.rejected[j]] = [all.prompt[i], all.chosen[i], all.rejected[i]];
      }
    }
    logSoftmaxRows(theta, M, logp, probs);
    dLogp.fill(0);
    const loss = objective(logp, probs, logRef, M, batch, dLogp);
    if (c.recordEvery && t % c.recordEvery === 0) {
      curve.push([t, loss]);
      policies.push(rows(probs));
    }
    logitGradient(dLogp, probs, M, grad);
    b1t *= 0.9;
    b2t *= 0.999;
    for (let j = 0; j < KM; j++) {
      m1[j] = 0.9 * m1[j] + 0.1 * grad[j];
      m2[j] = 0.999 * m2[j] + 0.001 * grad[j] * grad[j];
      theta[j] -= (c.lr * (m1[j] / (1 - b1t))) / (Math.sqrt(m2[j] / (1 - b2t)) + 1e-7);
    }
  }
  logSoftmaxRows(theta, M, logp, probs);
  return { policy: rows(probs), logits: rows(theta), curve, policies };
}
