// Online DPO with AI feedback (Guo et al. 2024, "Direct Language Model Alignment from Online AI Feedback",
// OAIF, Alg. 1) and iterative DPO (Xiong et al. 2024, "Iterative Preference Learning from Human Feedback",
// online iterative RLHF with the initial model as the fixed KL reference; Xu et al. 2023, "Some things are
// more CRINGE than others"), one trainer for both. A round:
//
//   1. draw `promptsPerRound` prompts, sample two completions of each from the current policy (T = 1);
//   2. the AI judge (any batched reward: the Figure-2 classifier, a learned reward model, the constitution
//      judges) scores both; the higher is chosen (groupMath.ts labelPairs; an exact tie gives no pair);
//   3. `epochs` passes of the DPO loss (Rafailov et al. 2023, Eq. 7) over the round's pairs in minibatches of
//      `batchSize`, π_ref the frozen SFT model: ceil(epochs · promptsPerRound / batchSize) Adam steps.
//
// OAIF is one round per step: promptsPerRound = batchSize, epochs = 1 (each update sees fresh on-policy
// samples). Iterative DPO is a few long rounds (offline DPO on each round's samples). The steps per round
// are fixed in advance so the checkpoints can be placed; if ties leave fewer pairs, the minibatches cycle
// over the ones left (a round whose pairs all tie takes no step and says so in its log).
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../random";
import { throwIfInterrupted } from "../interrupt";
import { packSequences, disposeBatch, type Sequence } from "./batching";
import { modelTokenLogProbs, maskedSequenceSum } from "./logprobs";
import { adamStep, makeAdam, progress } from "./optim";
import { dpoLoss } from "../losses/dpo";
import { labelPairs } from "./groupMath";
import { sampleAndScore } from "./rollouts";
import { sequenceLogps } from "./preferenceTrainer";
import type { BatchReward } from "./ppoMath";
import type { Transformer } from "./transformer";
import type { WordTokenizer } from "./tokenizer";

/** One DPO Adam step on pairs whose reference log-probs are given; returns the loss and the mean margin. */
export function dpoPairStep(
  policy: Transformer,
  optimizer: tf.Optimizer,
  chosen: readonly Sequence[],
  rejected: readonly Sequence[],
  refChosen: ArrayLike<number>,
  refRejected: ArrayLike<number>,
  beta: number,
  clipNorm: number,
): { loss: number; gradNorm: number; accuracy: number } {
  const B = chosen.length;
  if (B === 0 || rejected.length !== B || refChosen.length !== B || refRejected.length !== B)
    throw new Error(
      `dpoPairStep: ${B} chosen, ${rejected.length} rejected, ${refChosen.length}/${refRejected.length} reference log-probs`,
    );
  const batch = packSequences([...chosen, ...rejected], policy.config.contextLength);
  const rc = tf.tensor1d(Float32Array.from(refChosen));
  const rr = tf.tensor1d(Float32Array.from(refRejected));
  let accuracy = 0;
  try {
    const r = adamStep(
      optimizer,
      policy.variables,
      () =>
        tf.tidy(() => {
          const lp = maskedSequenceSum(modelTokenLogProbs(policy, batch.ids, batch.mask), batch.mask);
          const out = dpoLoss(tf.slice(lp, [0], [B]), tf.slice(lp, [B], [B]), rc, rr, { beta });
          accuracy = tf.mean(tf.cast(tf.greater(out.chosenRewards, out.rejectedRewards), "float32")).dataSync()[0];
          return tf.mean(out.losses) as tf.Scalar;
        }),
      clipNorm,
    );
    return { ...r, accuracy };
  } finally {
    tf.dispose([rc, rr]);
    disposeBatch(batch);
  }
}

export interface OnlineDpoOptions {
  beta: number;
  rounds: number;
  promptsPerRound: number;
  /** Passes over each round's pairs (OAIF: 1). */
  epochs: number;
  /** Pairs per Adam step (OAIF: promptsPerRound). */
  batchSize: number;
  learningRate?: number;
  clipNorm?: number;
  maxNewTokens: number;
  seed?: number;
  verbose?: boolean;
  /** After every step (the policy holds the new weights). */
  onStep?: (step: number, log: OnlineDpoLog) => void;
}

/** TRL-style names; `online/samples` counts every completion drawn so far (the method's sampling compute). */
export type OnlineDpoLog = {
  step: number;
  round: number;
  loss: number;
  grad_norm: number;
  "rewards/accuracies": number;
  "objective/scores": number;
  "online/tie_fraction": number;
  "online/samples": number;
};

/** Steps per round: ceil(epochs · promptsPerRound / batchSize). */
export function onlineDpoStepsPerRound(o: Pick<OnlineDpoOptions, "epochs" | "promptsPerRound" | "batchSize">): number {
  return Math.ceil((o.epochs * o.promptsPerRound) / o.batchSize);
}

/** Train `policy` in place by online / iterative DPO against the judge `reward`; `reference` stays frozen. */
export function trainOnlineDpo(
  policy: Transformer,
  reference: Transformer,
  tokenizer: WordTokenizer,
  prompts: readonly string[],
  reward: BatchReward,
  opts: OnlineDpoOptions,
): { logs: OnlineDpoLog[]; seconds: number; samples: number } {
  for (const k of ["rounds", "promptsPerRound", "epochs", "batchSize"] as const)
    if (!(Number.isInteger(opts[k]) && opts[k] >= 1))
      throw new Error(`trainOnlineDpo: ${k} must be an integer ≥ 1, got ${opts[k]}`);
  if (!(opts.beta > 0)) throw new Error(`trainOnlineDpo: beta must be > 0, got ${opts.beta}`);
  const t0 = Date.now();
  const rng = new Rng(opts.seed ?? 0).fork("online-dpo");
  const optimizer = makeAdam(opts.learningRate ?? 5e-4);
  const ids = prompts.map((p) => tokenizer.encode(p));
  const perRound = onlineDpoStepsPerRound(opts);
  const logs: OnlineDpoLog[] = [];
  let samples = 0;
  let step = 0;
  try {
    for (let round = 1; round <= opts.rounds; round++) {
      throwIfInterrupted();
      const { seqs, scores } = sampleAndScore(policy, tokenizer, prompts, ids, rng, reward, {
        who: "trainOnlineDpo",
        prompts: opts.promptsPerRound,
        groupSize: 2,
        maxNewTokens: opts.maxNewTokens,
        scorer: "judge",
      });
      samples += seqs.length;
      const labels = labelPairs(scores);
      const pairs = labels.filter((l): l is { chosen: number; rejected: number } => l !== null);
      const meanScore = scores.reduce((a, b) => a + b, 0) / scores.length;
      const tieFraction = 1 - pairs.length / labels.length;
      if (pairs.length === 0) {
        // Every pair tied: the round's steps take no update, logged with loss NaN (checkpoints still fire).
        for (let s = 0; s < perRound; s++) {
          const log: OnlineDpoLog = {
            step: ++step,
            round,
            loss: NaN,
            grad_norm: 0,
            "rewards/accuracies": NaN,
            "objective/scores": meanScore,
            "online/tie_fraction": 1,
            "online/samples": samples,
          };
          logs.push(log);
          opts.onStep?.(step, log);
        }
        continue;
      }
      const chosen = pairs.map((p) => seqs[p.chosen]);
      const rejected = pairs.map((p) => seqs[p.rejected]);
      const refC = sequenceLogps(reference, chosen);
      const refR = sequenceLogps(reference, rejected);
      let order: number[] = [];
      for (let s = 0; s < perRound; s++) {
        throwIfInterrupted();
        const rows: number[] = [];
        while (rows.length < Math.min(opts.batchSize, pairs.length)) {
          if (order.length === 0) order = rng.shuffle(Array.from(pairs.keys()));
          rows.push(order.shift() as number);
        }
        const r = dpoPairStep(
          policy,
          optimizer,
          rows.map((i) => chosen[i]),
          rows.map((i) => rejected[i]),
          rows.map((i) => refC[i]),
          rows.map((i) => refR[i]),
          opts.beta,
          opts.clipNorm ?? 1,
        );
        step++;
        const log: OnlineDpoLog = {
          step,
          round,
          loss: r.loss,
          grad_norm: r.gradNorm,
          "rewards/accuracies": r.accuracy,
          "objective/scores": meanScore,
          "online/tie_fraction": tieFraction,
          "online/samples": samples,
        };
        logs.push(log);
        opts.onStep?.(step, log);
      }
      if (opts.verbose !== false)
        progress("online DPO", round, opts.rounds, `score ${meanScore.toFixed(3)} ties ${tieFraction.toFixed(2)}`, 5);
    }
  } finally {
    optimizer.dispose();
  }
  return { logs, seconds: (Date.now() - t0) / 1000, samples };
}
