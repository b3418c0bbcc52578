// PPO's LEARNED reward in the Figure 2 reproduction: a Bradley–Terry reward model (Christiano et al. 2017;
// Stiennon et al. 2020; Ouyang et al. 2022, eq. 1) = the SFT transformer with a scalar head on the final
// hidden state of the last token, trained on exactly the pairs DPO trains on:
//
//   r_φ(x, y) = w · h_L(x, y)_last + b,    L(φ) = −E_(x, y_w, y_l) log σ(r_φ(x, y_w) − r_φ(x, y_l)).
//
// "Last token" is the final token of <bos> prompt completion [<eos>] (causal attention: it has read the
// whole text; right padding never reaches it). The bias b cancels in every difference, so it receives no
// gradient and stays 0: r_φ is identified only up to a constant, as Bradley–Terry rewards are.
// Training follows the DPO paper's App. C: a number of epochs over the training pairs (3 there), evaluated on
// held-out prompts' pairs along the way, keeping the checkpoint with the lowest held-out loss. Held-out pair
// accuracy is reported with a 95% interval clustered by prompt (the pairs of one prefix share its samples,
// so they are not independent; src/fig2/stats.ts), the Wilson interval beside it. The scorer is batched, `(prompts, completions) → Float64Array`, the
// same shape as the classifier's reward, so PPO can take either (PPO with a learned RM vs PPO-GT).
//
// This file depends on src/lm only through its public API (Transformer.clone / hiddenStates, packSequences,
// adamStep), not on src/lm/pipeline.ts, so notebook 06 can use it beside its own pipeline.
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../random";
import { throwIfInterrupted } from "../interrupt";
import { packSequences, disposeBatch, sequenceTokens, type Sequence } from "../lm/batching";
import { adamStep, makeAdam, progress } from "../lm/optim";
import { ownedVariable, type Transformer } from "../lm/transformer";
import type { TokenizedPair as PreferencePair } from "../lm/rlaif";
import type { WordTokenizer } from "../lm/tokenizer";
import type { Principle } from "../lm/judges";
import { wilsonInterval } from "./classifier";
import type { RewardFn } from "./pairs";
import { textToSequence } from "../lm/trlFiles";
import { clusteredMean } from "./stats";

export interface RewardModelTrainOptions {
  /** Gradient steps; or give `epochs` instead (steps = ⌈epochs · pairs / batchSize⌉). */
  steps?: number;
  /** Passes over the training pairs (the DPO paper's App. C: 3). */
  epochs?: number;
  /** Restore the evaluated checkpoint with the lowest held-out loss at the end (needs held-out pairs). */
  keepBest?: boolean;
  /** Pairs per step (default 32). */
  batchSize?: number;
  learningRate?: number;
  clipNorm?: number;
  seed?: number;
  /** Evaluate held-out pair accuracy every this many steps (0 = only at the end). */
  evalEvery?: number;
  verbose?: boolean;
}

export interface RewardModelLog {
  step: number;
  loss: number;
  /** Fraction of the batch's pairs with r(chosen) > r(rejected). */
  accuracy: number;
  gradNorm: number;
}

export interface PairAccuracy {
  n: number;
  accuracy: number;
  /** 95 % interval clustered by prompt (CR1 t interval over the prompts; NaN with one prompt). */
  ci95: [number, number];
  /** Distinct prompts (the clusters of ci95). */
  prompts: number;
  /** Wilson 95 % interval, treating the pairs as independent (narrower when a prompt's pairs agree). */
  wilson95: [number, number];
  /** Mean −log σ(r_w − r_l). */
  loss: number;
}

export interface RewardModelTrainResult {
  logs: RewardModelLog[];
  heldOut: Array<{ step: number } & PairAccuracy>;
  /** The held-out evaluation of the weights the model ends with (the best one with keepBest, else the last);
   *  undefined without held-out pairs. */
  kept?: { step: number } & PairAccuracy;
  train: PairAccuracy;
  seconds: number;
}

/** The Bradley–Terry reward model: a transformer body (cloned from SFT) plus a scalar head. */
export class LearnedRewardModel {
  readonly body: Transformer;
  readonly headWeight: tf.Variable;
  readonly headBias: tf.Variable;

  /** Clone `sft` (the original is untouched) and add a head w ~ N(0, 1/d), b = 0, seeded. */
  constructor(sft: Transformer, seed = 0) {
    const d = sft.config.dModel;
    this.body = sft.clone(true);
    this.headWeight = ownedVariable(
      tf.randomNormal([d, 1], 0, 1 / Math.sqrt(d), "float32", new Rng(seed).fork("reward-head").tfSeed()),
    );
    this.headBias = ownedVariable(tf.zeros([1]));
  }

  /** Every trainable variable (body and head). */
  get variables(): tf.Variable[] {
    return [...this.body.variables, this.headWeight, this.headBias];
  }

  get contextLength(): number {
    return this.body.config.contextLength;
  }

  /** r_φ per sequence, (B), differentiable (use inside tf.tidy / variableGrads). */
  rewardsTensor(seqs: readonly Sequence[]): tf.Tensor1D {
    const batch = packSequences(seqs, this.contextLength);
    try {
      const [B, T] = batch.ids.shape;
      const d = this.body.config.dModel;
      const last = seqs.map((s, b) => b * T + sequenceTokens(s).length - 1);
      return tf.tidy(() => {
        const h = this.body.hiddenStates(batch.ids).reshape([B * T, d]);
        const picked = tf.gather(h, tf.tensor1d(last, "int32")) as tf.Tensor2D; // (B, d)
        return tf.add(tf.matMul(picked, this.headWeight as tf.Tensor2D), this.headBias).reshape([B]) as tf.Tensor1D;
      });
    } finally {
      disposeBatch(batch);
    }
  }

  /** r_φ per sequence, batched, no gradients. */
  scoreSequences(seqs: readonly Sequence[], batchSize = 128): Float64Array {
    const out = new Float64Array(seqs.length);
    for (let s = 0; s < seqs.length; s += batchSize) {
      const r = this.rewardsTensor(seqs.slice(s, s + batchSize));
      out.set(r.dataSync(), s);
      r.dispose();
    }
    return out;
  }

  /**
   * The batched scorer PPO takes: texts in tokenizer spacing (as tokenizer.decode writes them; "<unk>" maps
   * back to UNK); completions end with <eos> when `ended` (default true). Holding token Sequences,
   * scoreSequences is exact and faster.
   */
  scorer(tokenizer: WordTokenizer, ended = true): RewardFn {
    return (prompts, completions) => {
      if (prompts.length !== completions.length)
        throw new Error(`LearnedRewardModel.scorer: ${prompts.length} prompts but ${completions.length} completions`);
      return this.scoreSequences(
        prompts.map((p, i) => textToSequence(tokenizer, p, completions[i], this.contextLength, ended).seq),
      );
    };
  }

  dispose(): void {
    this.body.dispose();
    this.headWeight.dispose();
    this.headBias.dispose();
  }
}

/** Bradley–Terry loss per pair: −log σ(r_w − r_l) = softplus(−(r_w − r_l)) (Ouyang et al. 2022, eq. 1) → (B). */
export function bradleyTerryRewardLoss(rChosen: tf.Tensor1D, rRejected: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => tf.softplus(tf.neg(tf.sub(rChosen, rRejected))) as tf.Tensor1D);
}

/** Pair accuracy of `rm` on pairs: how often r(chosen) > r(rejected), with a Wilson CI, and the mean loss. */
export function pairAccuracy(rm: LearnedRewardModel, pairs: readonly PreferencePair[]): PairAccuracy {
  if (pairs.length === 0) throw new Error("pairAccuracy: no pairs");
  const rc = rm.scoreSequences(pairs.map((p) => p.chosenSeq));
  const rr = rm.scoreSequences(pairs.map((p) => p.rejectedSeq));
  let k = 0;
  let loss = 0;
  const correct: number[] = [];
  for (let i = 0; i < pairs.length; i++) {
    const m = rc[i] - rr[i];
    if (m > 0) k++;
    correct.push(m > 0 ? 1 : 0);
    loss += m > 0 ? Math.log1p(Math.exp(-m)) : -m + Math.log1p(Math.exp(m));
  }
  const c = clusteredMean(
    correct,
    pairs.map((p) => p.prompt),
  );
  return {
    n: pairs.length,
    accuracy: k / pairs.length,
    ci95: [c.mean - c.halfWidth, c.mean + c.halfWidth],
    prompts: c.clusters,
    wilson95: wilsonInterval(k, pairs.length),
    loss: loss / pairs.length,
  };
}

/** Train `rm` in place on preference pairs (chosen and rejected of a batch in one forward pass). */
export function trainLearnedRewardModel(
  rm: LearnedRewardModel,
  train: readonly PreferencePair[],
  heldOut: readonly PreferencePair[],
  opts: RewardModelTrainOptions,
): RewardModelTrainResult {
  if (train.length === 0) throw new Error("trainLearnedRewardModel: no training pairs");
  const t0 = Date.now();
  const rng = new Rng(opts.seed ?? 0).fork("reward-model");
  const optimizer = makeAdam(opts.learningRate ?? 3e-4);
  const bs = opts.batchSize ?? 32;
  if ((opts.steps === undefined) === (opts.epochs === undefined))
    throw new Error(
      `trainLearnedRewardModel: give exactly one of steps and epochs (got steps ${opts.steps}, epochs ${opts.epochs})`,
    );
  const steps = opts.steps ?? Math.ceil(((opts.epochs as number) * train.length) / Math.min(bs, train.length));
  if (!(Number.isInteger(steps) && steps >= 1)) throw new Error(`trainLearnedRewardModel: ${steps} steps`);
  if (opts.keepBest && heldOut.length === 0)
    throw new Error("trainLearnedRewardModel: keepBest needs held-out pairs to choose the checkpoint");
  const logs: RewardModelLog[] = [];
  const held: RewardModelTrainResult["heldOut"] = [];
  let best: { eval: { step: number } & PairAccuracy; weights: tf.Tensor[] } | undefined;
  const evaluate = (step: number) => {
    const ev = { step, ...pairAccuracy(rm, heldOut) };
    held.push(ev);
    if (opts.keepBest && (!best || ev.loss < best.eval.loss)) {
      if (best) tf.dispose(best.weights);
      best = { eval: ev, weights: rm.variables.map((v) => tf.clone(v)) };
    }
  };
  let order: number[] = [];
  try {
    for (let step = 1; step <= steps; step++) {
      throwIfInterrupted(); // the finally below frees the optimizer and the kept checkpoint
      if (order.length < bs) order = order.concat(rng.shuffle(Array.from(train.keys())));
      const idx = order.splice(0, Math.min(bs, train.length));
      const B = idx.length;
      const seqs = [...idx.map((i) => train[i].chosenSeq), ...idx.map((i) => train[i].rejectedSeq)];
      let acc = 0;
      const r = adamStep(
        optimizer,
        rm.variables,
        () =>
          tf.tidy(() => {
            const rewards = rm.rewardsTensor(seqs);
            const rc = tf.slice(rewards, [0], [B]) as tf.Tensor1D;
            const rr = tf.slice(rewards, [B], [B]) as tf.Tensor1D;
            acc = tf.mean(tf.cast(tf.greater(rc, rr), "float32")).dataSync()[0];
            return tf.mean(bradleyTerryRewardLoss(rc, rr)) as tf.Scalar;
          }),
        opts.clipNorm ?? 1,
      );
      logs.push({ step, loss: r.loss, accuracy: acc, gradNorm: r.gradNorm });
      if (heldOut.length && opts.evalEvery && step % opts.evalEvery === 0 && step !== steps) evaluate(step);
      if (opts.verbose !== false)
        progress("reward model", step, steps, `loss ${r.loss.toFixed(3)} acc ${acc.toFixed(2)}`, 20);
    }
    if (heldOut.length) evaluate(steps);
    if (best && best.eval.step !== steps) {
      const w = best.weights;
      rm.variables.forEach((v, i) => v.assign(w[i]));
    }
  } finally {
    optimizer.dispose();
    if (best) tf.dispose(best.weights);
  }
  const last = held[held.length - 1];
  return {
    logs,
    heldOut: held,
    kept: best?.eval ?? last,
    train: pairAccuracy(rm, train.slice(0, Math.min(train.length, 2000))),
    seconds: (Date.now() - t0) / 1000,
  };
}

/**
 * Split pairs into train / held-out BY PROMPT (all pairs of a prompt on one side), seeded: the reward
 * model's held-out accuracy then measures generalisation to new prompts.
 */
export function splitPairsByPrompt(
  pairs: readonly PreferencePair[],
  heldOutFraction: number,
  seed = 0,
): { train: PreferencePair[]; heldOut: PreferencePair[] } {
  if (!(heldOutFraction > 0 && heldOutFraction < 1))
    throw new Error(`splitPairsByPrompt: heldOutFraction must be in (0, 1), got ${heldOutFraction}`);
  const prompts = [...new Set(pairs.map((p) => p.prompt))].sort();
  if (prompts.length < 2) throw new Error(`splitPairsByPrompt: ${prompts.length} distinct prompt(s); need at least 2`);
  const n = Math.min(prompts.length - 1, Math.max(1, Math.round(prompts.length * heldOutFraction)));
  const held = new Set(new Rng(seed).fork("reward-model-split").shuffle(prompts).slice(0, n));
  return { train: pairs.filter((p) => !held.has(p.prompt)), heldOut: pairs.filter((p) => held.has(p.prompt)) };
}

/**
 * A `Principle` whose judge is a batched reward called one text at a time (for `trainPpo`/`judge`, which
 * score per completion); memoised per (prompt, completion). Slower than calling the RewardFn in batches.
 */
export function rewardPrinciple(
  name: string,
  reward: RewardFn,
  text = `Prefer what the learned reward model "${name}" scores higher.`,
): Principle {
  const memo = new Map<string, number>();
  return {
    name,
    text,
    weight: 1,
    judge: (prompt, completion) => {
      const key = `${prompt}\u0000${completion}`;
      let v = memo.get(key);
      if (v === undefined) {
        v = reward([prompt], [completion])[0];
        if (memo.size > 100_000) memo.clear();
        memo.set(key, v);
      }
      return v;
    },
  };
}

export interface LearnedRewardFromPairsOptions extends RewardModelTrainOptions {
  /** Fraction of the prompts whose pairs are held out for the accuracy (default 0.2). */
  heldOutFraction?: number;
}

/**
 * One call from an SFT reference and preference pairs (any `RlaifData.pairs`, e.g. notebook 06's
 * `makeRlaifData`) to a trained Bradley–Terry reward model and its held-out pair accuracy: split the pairs
 * by prompt, clone the reference, add the head, train. `batchReward` has the shape trainPpo's generic reward
 * takes, `(prompts, completions, seqs) → r`, scoring the token sequences PPO sampled. Independent of
 * src/lm/pipeline.ts (RL-CAI's "AI labels → preference model → RL" path for any pipeline).
 */
export function learnedRewardFromPairs(
  reference: Transformer,
  pairs: readonly PreferencePair[],
  opts: LearnedRewardFromPairsOptions,
): {
  rewardModel: LearnedRewardModel;
  result: RewardModelTrainResult;
  trainPairs: PreferencePair[];
  heldOutPairs: PreferencePair[];
  batchReward: (prompts: readonly string[], completions: readonly string[], seqs: readonly Sequence[]) => Float64Array;
} {
  const { train, heldOut } = splitPairsByPrompt(pairs, opts.heldOutFraction ?? 0.2, opts.seed ?? 0);
  const rewardModel = new LearnedRewardModel(reference, opts.seed ?? 0);
  try {
    const result = trainLearnedRewardModel(rewardModel, train, heldOut, opts);
    return {
      rewardModel,
      result,
      trainPairs: train,
      heldOutPairs: heldOut,
      batchReward: (_p, _c, seqs) => rewardModel.scoreSequences(seqs),
    };
  } catch (err) {
    rewardModel.dispose();
    throw err;
  }
}
