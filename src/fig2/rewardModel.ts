// PPO's LEARNED reward in the Figure 2 reproduction: a Bradley–Terry reward model (Christiano et al. 2017;
// Ouyang et al. 2022, eq. 1) = the SFT transformer with a scalar head on the final hidden state of the last
// scored token, trained on exactly the pairs DPO trains on:
//
//   r_φ(x, y) = w · h_L(x, y)_last + b,    L(φ) = −E_(x, y_w, y_l) log σ(r_φ(x, y_w) − r_φ(x, y_l)).
//
// "Last token" is the final token of <bos> prompt completion [<eos>]. Held-out pair accuracy is reported.
// The scorer is batched, `(prompts, completions) → Float64Array`, the same shape as the classifier's reward,
// so PPO can take either (PPO with a learned RM vs PPO-GT).
import type * as tf from "@tensorflow/tfjs";
import type { Sequence } from "../lm/batching";
import type { PreferencePair } from "../lm/rlaif";
import type { Transformer } from "../lm/transformer";
import type { WordTokenizer } from "../lm/tokenizer";
import type { Principle } from "../lm/judges";
import type { RewardFn } from "./pairs";

export interface RewardModelTrainOptions {
  steps: number;
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
  /** Wilson 95 % interval. */
  ci95: [number, number];
  /** Mean −log σ(r_w − r_l). */
  loss: number;
}

export interface RewardModelTrainResult {
  logs: RewardModelLog[];
  heldOut: Array<{ step: number } & PairAccuracy>;
  train: PairAccuracy;
  seconds: number;
}

/** The Bradley–Terry reward model: a transformer body (cloned from SFT) plus a scalar head. */
export class LearnedRewardModel {
  readonly body: Transformer;
  readonly headWeight: tf.Variable;
  readonly headBias: tf.Variable;
  constructor(sft: Transformer, seed = 0) {
    void sft; void seed;
    throw new Error("not implemented yet");
  }
  /** Every trainable variable (body and head). */
  get variables(): tf.Variable[] {
    throw new Error("not implemented yet");
  }
  /** r_φ per sequence, (B), differentiable (use inside tf.tidy / variableGrads). */
  rewardsTensor(seqs: readonly Sequence[]): tf.Tensor1D {
    void seqs;
    throw new Error("not implemented yet");
  }
  /** r_φ per sequence, batched, no gradients. */
  scoreSequences(seqs: readonly Sequence[], batchSize?: number): Float64Array {
    void seqs; void batchSize;
    throw new Error("not implemented yet");
  }
  /** The batched scorer PPO takes: texts in tokenizer spacing; completions end with <eos> if `ended`. */
  scorer(tokenizer: WordTokenizer, ended?: boolean): RewardFn {
    void tokenizer; void ended;
    throw new Error("not implemented yet");
  }
  dispose(): void {
    throw new Error("not implemented yet");
  }
}

/** Bradley–Terry loss per pair: −log σ(r_w − r_l) (Ouyang et al. 2022, eq. 1) → (B). */
export function bradleyTerryRewardLoss(rChosen: tf.Tensor1D, rRejected: tf.Tensor1D): tf.Tensor1D {
  void rChosen; void rRejected;
  throw new Error("not implemented yet");
}

/** Train `rm` in place on preference pairs; held-out pair accuracy along the way. */
export function trainLearnedRewardModel(rm: LearnedRewardModel, train: readonly PreferencePair[], heldOut: readonly PreferencePair[], opts: RewardModelTrainOptions): RewardModelTrainResult {
  void rm; void train; void heldOut; void opts;
  throw new Error("not implemented yet");
}

/** Pair accuracy of `rm` on pairs: how often r(chosen) > r(rejected), with a Wilson CI. */
export function pairAccuracy(rm: LearnedRewardModel, pairs: readonly PreferencePair[]): PairAccuracy {
  void rm; void pairs;
  throw new Error("not implemented yet");
}

/**
 * Split pairs into train / held-out BY PROMPT (all pairs of a prompt on one side), seeded: the reward
 * model's held-out accuracy then measures generalisation to new prompts.
 */
export function splitPairsByPrompt(pairs: readonly PreferencePair[], heldOutFraction: number, seed = 0): { train: PreferencePair[]; heldOut: PreferencePair[] } {
  void pairs; void heldOutFraction; void seed;
  throw new Error("not implemented yet");
}

/**
 * A `Principle` whose judge is a batched reward called one text at a time (for `trainPpo`/`judge`, which
 * score per completion); memoised per (prompt, completion). Slower than calling the RewardFn in batches.
 */
export function rewardPrinciple(name: string, reward: RewardFn): Principle {
  void name; void reward;
  throw new Error("not implemented yet");
}
