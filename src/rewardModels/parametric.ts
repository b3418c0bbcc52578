// Parametric reward models r_φ(x) trained by Bradley–Terry / Plackett–Luce maximum likelihood with Adam.
import * as tf from "@tensorflow/tfjs";
import { makeRng, type Rng } from "../random";
import { plackettLuceNll } from "../losses/listwise";

/** Any differentiable scorer: inputs [m, ...features] → scores [m] (or [m, 1]), with its trainable variables. */
export interface RewardModel {
  score: (inputs: tf.Tensor) => tf.Tensor;
  variables: tf.Variable[];
}

/**
 * Preference data over feature tensors (any dtype, e.g. float features or int token ids):
 *  - pairs:    winners[i] ≻ losers[i], each [n, ...features];
 *  - rankings: items [n, N, ...features], ranking axis 1, best first.
 */
export type PreferenceData =
  | { kind: "pairs"; winners: tf.Tensor; losers: tf.Tensor }
  | { kind: "rankings"; items: tf.Tensor };

export interface TrainRewardModelOptions {
  epochs?: number;
  batchSize?: number;
  learningRate?: number;
  /** Seed (or Rng) for the minibatch order. Default 0. */
  seed?: number | Rng;
  /** Weight decay (l2/2)·Σφ² added to the mean negative log-likelihood. Default 0. */
  l2?: number;
  /** Held-out data evaluated after every epoch. */
  validation?: PreferenceData;
  onEpoch?: (stats: RewardEpochStats) => void;
  /** Print one line per epoch on stderr. Default false. */
  progress?: boolean;
}

export interface RewardEpochStats {
  epoch: number;
  /** Mean training NLL per comparison/ranking over the epoch's minibatches (before each update). */
  loss: number;
  validationLoss?: number;
  validationAccuracy?: number;
}

export interface RewardEvaluation {
  /** Mean negative BT / PL log-likelihood per comparison or ranking. */
  loss: number;
  /** Fraction of ordered pairs (within each ranking) the model scores in the right order (ties count ½). */
  accuracy: number;
}

function dataSize(where: string, data: PreferenceData): number {
  if (data.kind === "pairs") {
    const { winners, losers } = data;
    if (winners.rank < 1 || winners.shape.some((d, i) => d !== losers.shape[i]) || winners.rank !== losers.rank) {
      throw new Error(
        `${where}: winners [${winners.shape}] and losers [${losers.shape}] must have the same shape [n, ...]`,
      );
    }
    return winners.shape[0];
  }
  if (data.items.rank < 2 || (data.items.shape[1] ?? 0) < 2) {
    throw new Error(`${where}: rankings items must be [n, N >= 2, ...features], got [${data.items.shape}]`);
  }
  return data.items.shape[0];
}

/** Scores of a minibatch as [b, N] (N = 2 for pairs: winner, loser). */
function batchScores(model: RewardModel, data: PreferenceData, idx: tf.Tensor1D): tf.Tensor2D {
  const flat = (t: tf.Tensor) => tf.reshape(model.score(t), [-1]);
  if (data.kind === "pairs") {
    return tf.stack([flat(tf.gather(data.winners, idx)), flat(tf.gather(data.losers, idx))], 1) as tf.Tensor2D;
  }
  const items = tf.gather(data.items, idx);
  const [b, n] = items.shape;
  const s = flat(tf.reshape(items, [b * n, ...items.shape.slice(2)]));
  return tf.reshape(s, [b, n]) as tf.Tensor2D;
}

/**
 * Fits r_φ by maximum likelihood: minimise the mean of −log σ(r_φ(x_w) − r_φ(x_l)) (Bradley–Terry 1952) or
 * of the Plackett–Luce NLL −Σ_k [r_k − log Σ_{j≥k} exp r_j] (rankings), plus (l2/2)‖φ‖², with Adam on
 * minibatches shuffled by a seeded Rng. Updates model.variables in place; leaks no tensors.
 */
export function trainRewardModel(
  model: RewardModel,
  data: PreferenceData,
  options: TrainRewardModelOptions = {},
): RewardEpochStats[] {
  const where = "trainRewardModel (src/rewardModels/parametric.ts)";
  const { epochs = 20, batchSize = 64, learningRate = 0.01, l2 = 0, progress = false } = options;
  const n = dataSize(where, data);
  if (n === 0) throw new Error(`${where}: no training examples`);
  if (options.validation) dataSize(`${where} validation`, options.validation);
  if (!(Number.isInteger(batchSize) && batchSize > 0))
    throw new Error(`${where}: batchSize must be a positive integer, got ${batchSize}`);
  if (model.variables.length === 0) throw new Error(`${where}: model.variables is empty`);
  const rng = makeRng(options.seed ?? 0).fork("trainRewardModel");
  const optimizer = tf.train.adam(learningRate);
  const history: RewardEpochStats[] = [];
  try {
    for (let epoch = 1; epoch <= epochs; epoch++) {
      const order = rng.shuffle(Array.from({ length: n }, (_, i) => i));
      let total = 0;
      for (let start = 0; start < n; start += batchSize) {
        const ids = order.slice(start, start + batchSize);
        const value = tf.tidy(() => {
          const idx = tf.tensor1d(ids, "int32");
          const lossT = optimizer.minimize(
            () => {
              const nll = tf.mean(plackettLuceNll(batchScores(model, data, idx)));
              if (l2 === 0) return nll as tf.Scalar;
              const penalty = tf.addN(model.variables.map((v) => tf.sum(tf.square(v))));
              return tf.add(nll, tf.mul(0.5 * l2, penalty)) as tf.Scalar;
            },
            true,
            model.variables,
          );
          return lossT!.dataSync()[0];
        });
        total += value * ids.length;
      }
      const stats: RewardEpochStats = { epoch, loss: total / n };
      if (options.validation) {
        const v = evaluateRewardModel(model, options.validation, Math.max(batchSize, 256));
        stats.validationLoss = v.loss;
        stats.validationAccuracy = v.accuracy;
      }
      history.push(stats);
      options.onEpoch?.(stats);
      if (progress) {
        const val =
          stats.validationLoss === undefined
            ? ""
            : `  val loss ${stats.validationLoss.toFixed(4)}  val acc ${stats.validationAccuracy!.toFixed(3)}`;
        process.stderr.write(`reward model epoch ${epoch}/${epochs}  loss ${stats.loss.toFixed(4)}${val}\n`);
      }
    }
  } finally {
    optimizer.dispose();
  }
  return history;
}

/** Mean NLL and pairwise ordering accuracy of r_φ on preference data (no gradient, no leaks). */
export function evaluateRewardModel(model: RewardModel, data: PreferenceData, batchSize = 256): RewardEvaluation {
  const n = dataSize("evaluateRewardModel (src/rewardModels/parametric.ts)", data);
  let loss = 0;
  let correct = 0;
  let pairs = 0;
  for (let start = 0; start < n; start += batchSize) {
    const ids = Array.from({ length: Math.min(batchSize, n - start) }, (_, i) => start + i);
    const s = tf.tidy(() => batchScores(model, data, tf.tensor1d(ids, "int32")));
    const nllT = tf.tidy(() => tf.sum(plackettLuceNll(s)));
    const nll = nllT.dataSync()[0];
    const scores = s.dataSync();
    const width = s.shape[1];
    tf.dispose([s, nllT]);
    loss += nll;
    for (let b = 0; b < ids.length; b++) {
      for (let k = 0; k < width; k++) {
        for (let j = k + 1; j < width; j++) {
          const d = scores[b * width + k] - scores[b * width + j];
          correct += d > 0 ? 1 : d === 0 ? 0.5 : 0;
          pairs++;
        }
      }
    }
  }
  return { loss: loss / n, accuracy: correct / pairs };
}

/** r_φ(x) = x·w for float features x [m, d] (no bias: BT / PL likelihoods ignore a shift of all scores). */
export function linearRewardModel(
  nFeatures: number,
  options: { seed?: number | Rng; initScale?: number } = {},
): RewardModel {
  const rng = makeRng(options.seed ?? 0).fork("linearRewardModel");
  const scale = options.initScale ?? 0;
  const init = tf.tensor2d(
    Array.from({ length: nFeatures }, () => scale * rng.normal()),
    [nFeatures, 1],
  );
  const w = tf.variable(init, true);
  init.dispose(); // tf.variable copies its initial value
  return {
    score: (x: tf.Tensor) => tf.reshape(tf.matMul(x as tf.Tensor2D, w), [-1]),
    variables: [w],
  };
}
