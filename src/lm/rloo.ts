// RLOO: REINFORCE Leave-One-Out with PPO's clipped surrogate (Ahmadian et al. 2024, "Back to Basics:
// Revisiting REINFORCE Style Optimization for Learning from Human Feedback in LLMs"; TRL's RLOOTrainer).
// No value network: the baseline of a sample is the mean return of the other K − 1 samples of its prompt.
// Until 2026-12 this was prefopt's `trainPpo`; PPO with a value head and GAE, as the DPO paper ran it, is
// src/lm/ppo.ts.
//
//   1. sample K completions per prompt from the current policy π_old;
//   2. reward: judge score R(x, y) at the end, per-token KL penalty −β (log π_old(y_t|·) − log π_ref(y_t|·));
//   3. return-to-go G_t = R − β Σ_{s≥t} kl_s; advantage A_t = G_t − b, where b is the mean of the other
//      K − 1 samples' returns for the same prompt (leave-one-out, unbiased);
//   4. a few epochs of the clipped surrogate  −E_t[min(ρ_t A_t, clip(ρ_t, 1 ± ε) A_t)],  ρ_t = π/π_old.
//
// The reward is either a constitution of judges (notebook 06) or any batched reward function (a learned
// reward model, a trained classifier: RLOO and RLOO-GT in the Figure-2 reproduction). With `targetKl` set, β
// follows the adaptive KL controller of Ziegler et al. (2019, §2.2), as TRL's AdaptiveKLController does:
//   e_t = clip(KL_t / KL_target − 1, −0.2, 0.2),   β_{t+1} = β_t · (1 + e_t · n_t / H),
// with KL_t the batch's mean sequence-level KL(π_old‖π_ref) estimate, n_t the batch's sample count and H
// the horizon (TRL's default 10,000; short CPU runs need a much smaller H for β to move at all).
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../random";
import { throwIfInterrupted } from "../interrupt";
import { packSequences, disposeBatch } from "./batching";
import { modelTokenLogProbs } from "./logprobs";
import { adamStep, makeAdam, progress } from "./optim";
import { judge, type Principle } from "./judges";
import { sampleAndScore } from "./rollouts";
import { adaptiveKlUpdate, type BatchReward, type PpoLog } from "./ppoMath";
import type { Transformer } from "./transformer";
import type { WordTokenizer } from "./tokenizer";

export interface RlooOptions {
  /** KL coefficient β (with `targetKl`: its initial value). */
  beta: number;
  /** Adapt β so the batch's sequence-level KL approaches this many nats (Ziegler et al. 2019); off if unset. */
  targetKl?: number;
  /** The adaptive controller's horizon H (default 10,000, TRL's). */
  klHorizon?: number;
  iterations: number;
  promptsPerIteration: number;
  /** Samples per prompt (≥ 2 for the leave-one-out baseline). */
  k: number;
  epochs?: number;
  clipRange?: number;
  learningRate?: number;
  clipNorm?: number;
  maxNewTokens: number;
  seed?: number;
  verbose?: boolean;
  /** Called after each iteration's update (the policy holds the new weights): checkpoint evaluation. */
  onIteration?: (iteration: number, log: PpoLog) => void;
}

/**
 * Train `policy` in place online against `reward` (a constitution of judges, or a batched reward
 * function), regularised towards `reference`.
 */
export function trainRloo(
  policy: Transformer,
  reference: Transformer,
  tokenizer: WordTokenizer,
  prompts: readonly string[],
  reward: readonly Principle[] | BatchReward,
  opts: RlooOptions,
): { logs: PpoLog[]; seconds: number } {
  if (opts.k < 2) throw new Error(`trainRloo: k must be ≥ 2 for the leave-one-out baseline, got ${opts.k}`);
  const scoreBatch: BatchReward =
    typeof reward === "function" ? reward : (ps, cs) => ps.map((p, i) => judge(reward, p, cs[i]).total);
  let beta = opts.beta;
  if (!(beta >= 0)) throw new Error(`trainRloo: beta must be ≥ 0, got ${beta}`);
  const t0 = Date.now();
  const rng = new Rng(opts.seed ?? 0).fork("ppo"); // its name before the rename: the same samples as then
  const optimizer = makeAdam(opts.learningRate ?? 5e-4);
  const eps = opts.clipRange ?? 0.2;
  const logs: PpoLog[] = [];
  const ids = prompts.map((p) => tokenizer.encode(p));
  try {
    for (let it = 1; it <= opts.iterations; it++) {
      throwIfInterrupted();
      const { seqs, scores } = sampleAndScore(policy, tokenizer, prompts, ids, rng, scoreBatch, {
        who: "trainRloo",
        prompts: opts.promptsPerIteration,
        groupSize: opts.k,
        maxNewTokens: opts.maxNewTokens,
        scorer: "reward",
      });
      const batch = packSequences(seqs, policy.config.contextLength);
      const [B, Tm1] = batch.mask.shape;
      const [oldLp, refLp, mask] = tf.tidy(() => [
        modelTokenLogProbs(policy, batch.ids, batch.mask).dataSync(),
        modelTokenLogProbs(reference, batch.ids, batch.mask).dataSync(),
        batch.mask.dataSync(),
      ]);
      // Per-token KL, returns-to-go and leave-one-out advantages (plain JS: B·T numbers).
      const adv = new Float32Array(B * Tm1);
      const seqReturn = new Float64Array(B);
      const seqKl = new Float64Array(B);
      for (let b = 0; b < B; b++) {
        let kl = 0;
        for (let t = 0; t < Tm1; t++) if (mask[b * Tm1 + t]) kl += oldLp[b * Tm1 + t] - refLp[b * Tm1 + t];
        seqKl[b] = kl;
        seqReturn[b] = scores[b] - beta * kl;
      }
      for (let b = 0; b < B; b++) {
        const g0 = Math.floor(b / opts.k) * opts.k;
        let others = 0;
        for (let j = g0; j < g0 + opts.k; j++) if (j !== b) others += seqReturn[j];
        const baseline = others / (opts.k - 1);
        let tail = 0; // Σ_{s≥t} kl_s, accumulated backwards
        for (let t = Tm1 - 1; t >= 0; t--) {
          const i = b * Tm1 + t;
          if (!mask[i]) continue;
          tail += oldLp[i] - refLp[i];
          adv[i] = scores[b] - beta * tail - baseline;
        }
      }
      const oldT = tf.tensor2d(oldLp as Float32Array, [B, Tm1]);
      const advT = tf.tensor2d(adv, [B, Tm1]);
      let nTok = 0;
      for (let i = 0; i < mask.length; i++) nTok += mask[i];
      let clipfrac = 0;
      let lossSum = 0;
      const epochs = opts.epochs ?? 2;
      for (let e = 0; e < epochs; e++) {
        let frac = 0;
        const r = adamStep(
          optimizer,
          policy.variables,
          () =>
            tf.tidy(() => {
              const lp = modelTokenLogProbs(policy, batch.ids, batch.mask);
              const ratio = tf.exp(tf.sub(lp, oldT));
              const unclipped = tf.mul(ratio, advT);
              const clipped = tf.mul(tf.clipByValue(ratio, 1 - eps, 1 + eps), advT);
              const surrogate = tf.mul(tf.minimum(unclipped, clipped), batch.mask);
              frac =
                tf
                  .sum(tf.mul(tf.cast(tf.greater(tf.abs(tf.sub(ratio, 1)), eps), "float32"), batch.mask))
                  .dataSync()[0] / nTok;
              return tf.neg(tf.div(tf.sum(surrogate), nTok)) as tf.Scalar;
            }),
          opts.clipNorm ?? 1,
        );
        clipfrac += frac / epochs;
        lossSum += r.loss / epochs;
      }
      tf.dispose([oldT, advT]);
      disposeBatch(batch);
      const meanScore = scores.reduce((a, b) => a + b, 0) / B;
      const meanKl = seqKl.reduce((a, b) => a + b, 0) / B;
      const log: PpoLog = {
        iteration: it,
        "objective/scores": meanScore,
        "objective/kl": meanKl,
        "objective/rlhf_reward": meanScore - beta * meanKl,
        "policy/clipfrac_avg": clipfrac,
        "loss/policy_avg": lossSum,
        "objective/kl_coef": beta,
      };
      logs.push(log);
      if (opts.targetKl !== undefined) beta = adaptiveKlUpdate(beta, meanKl, opts.targetKl, B, opts.klHorizon ?? 10000);
      if (opts.verbose !== false)
        progress(
          "RLOO",
          it,
          opts.iterations,
          `score ${meanScore.toFixed(3)} kl ${meanKl.toFixed(3)} β ${log["objective/kl_coef"].toPrecision(3)}`,
          5,
        );
      opts.onIteration?.(it, log);
    }
  } finally {
    optimizer.dispose();
  }
  return { logs, seconds: (Date.now() - t0) / 1000 };
}
