// GRPO (Shao et al. 2024, "DeepSeekMath", §4.1, Eq. 3) and Dr. GRPO (Liu et al. 2025, "Understanding
// R1-Zero-Like Training: A Critical Perspective", §3.1): group-relative policy optimisation, no critic.
// One iteration:
//
//   1. `promptsPerIteration` prompts, a group of G = `groupSize` completions each from π_old (T = 1);
//   2. outcome rewards R_i (the judge, learned reward model or classifier) → one advantage per completion,
//      at every one of its tokens: GRPO (R − mean)/(std + 1e−4) over the group, Dr. GRPO R − mean
//      (groupMath.ts groupAdvantages);
//   3. `epochs` Adam steps (μ in the paper) on −J, the clipped surrogate minus β times the per-token k3 KL
//      estimate against π_ref, averaged per completion over its tokens (GRPO) or summed and divided by the
//      constant L_max = maxNewTokens + 1 (Dr. GRPO, which removes the length normalisation); then the mean
//      over completions (groupMath.ts groupPolicyLoss).
//
// The KL is in the loss, not in the reward (unlike PPO / RLOO), and β is fixed (the knob). Each iteration
// logs its completions' mean length (`completion/mean_length`, tokens incl. <eos>): Dr. GRPO's claim is that
// GRPO's 1/|o_i| lets wrong (negative-advantage) answers grow long.
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../random";
import { throwIfInterrupted } from "../interrupt";
import { packSequences, disposeBatch } from "./batching";
import { modelTokenLogProbs } from "./logprobs";
import { adamStep, makeAdam, progress } from "./optim";
import { groupAdvantages, groupPolicyLoss, type GroupVariant } from "./groupMath";
import { sampleAndScore } from "./rollouts";
import type { BatchReward, PpoLog } from "./ppoMath";
import type { Transformer } from "./transformer";
import type { WordTokenizer } from "./tokenizer";

export interface GrpoOptions {
  variant: GroupVariant;
  /** Weight β of the k3 KL term (fixed). */
  beta: number;
  iterations: number;
  promptsPerIteration: number;
  /** G: completions per prompt (≥ 2). */
  groupSize: number;
  /** Adam steps per rollout (μ; default 1, the paper's). */
  epochs?: number;
  clipRange?: number;
  learningRate?: number;
  clipNorm?: number;
  maxNewTokens: number;
  seed?: number;
  verbose?: boolean;
  onIteration?: (iteration: number, log: GrpoLog) => void;
}

/** PPO's metric names ("objective/kl": the rollout's mean sequence KL, Σ_t log π_old − log π_ref) plus GRPO's. */
export type GrpoLog = PpoLog & {
  "completion/mean_length": number;
  /** Mean per-token k3 KL of the last step. */
  "objective/k3_kl": number;
  "online/samples": number;
};

/** Train `policy` in place by GRPO or Dr. GRPO against `reward`, with the k3 KL term towards `reference`. */
export function trainGrpo(
  policy: Transformer,
  reference: Transformer,
  tokenizer: WordTokenizer,
  prompts: readonly string[],
  reward: BatchReward,
  opts: GrpoOptions,
): { logs: GrpoLog[]; seconds: number } {
  const G = opts.groupSize;
  if (!(Number.isInteger(G) && G >= 2)) throw new Error(`trainGrpo: groupSize must be an integer ≥ 2, got ${G}`);
  if (!(opts.beta >= 0)) throw new Error(`trainGrpo: beta must be ≥ 0, got ${opts.beta}`);
  const settings = {
    variant: opts.variant,
    eps: opts.clipRange ?? 0.2,
    beta: opts.beta,
    maxTokens: opts.maxNewTokens + 1,
  };
  const t0 = Date.now();
  const rng = new Rng(opts.seed ?? 0).fork("grpo");
  const optimizer = makeAdam(opts.learningRate ?? 5e-4);
  const ids = prompts.map((p) => tokenizer.encode(p));
  const logs: GrpoLog[] = [];
  let samples = 0;
  try {
    for (let it = 1; it <= opts.iterations; it++) {
      throwIfInterrupted();
      const { seqs, scores } = sampleAndScore(policy, tokenizer, prompts, ids, rng, reward, {
        who: "trainGrpo",
        prompts: opts.promptsPerIteration,
        groupSize: G,
        maxNewTokens: opts.maxNewTokens,
        scorer: "reward",
      });
      samples += seqs.length;
      const adv = groupAdvantages(scores, G, opts.variant);
      const batch = packSequences(seqs, policy.config.contextLength);
      const [oldLp, refLp] = tf.tidy(() => [
        modelTokenLogProbs(policy, batch.ids, batch.mask),
        modelTokenLogProbs(reference, batch.ids, batch.mask),
      ]);
      const advT = tf.tensor1d(adv);
      let seqKl = 0;
      tf.tidy(() => (seqKl = tf.sum(tf.mul(tf.sub(oldLp, refLp), batch.mask)).dataSync()[0] / seqs.length));
      let loss = 0;
      let clipfrac = 0;
      let k3kl = 0;
      const epochs = opts.epochs ?? 1;
      try {
        for (let e = 0; e < epochs; e++) {
          throwIfInterrupted();
          const r = adamStep(
            optimizer,
            policy.variables,
            () =>
              tf.tidy(() => {
                const lp = modelTokenLogProbs(policy, batch.ids, batch.mask);
                const out = groupPolicyLoss(lp, oldLp, refLp, advT, batch.mask, settings);
                clipfrac = out.clipfrac.dataSync()[0];
                k3kl = out.kl.dataSync()[0];
                return out.loss;
              }),
            opts.clipNorm ?? 1,
          );
          loss += r.loss / epochs;
        }
      } finally {
        tf.dispose([oldLp, refLp, advT]);
        disposeBatch(batch);
      }
      const meanScore = scores.reduce((a, b) => a + b, 0) / scores.length;
      const meanLength = seqs.reduce((a, s) => a + s.completion.length + (s.ended ? 1 : 0), 0) / seqs.length;
      const log: GrpoLog = {
        iteration: it,
        "objective/scores": meanScore,
        "objective/kl": seqKl,
        "objective/rlhf_reward": meanScore - opts.beta * seqKl,
        "policy/clipfrac_avg": clipfrac,
        "loss/policy_avg": loss,
        "objective/kl_coef": opts.beta,
        "completion/mean_length": meanLength,
        "objective/k3_kl": k3kl,
        "online/samples": samples,
      };
      logs.push(log);
      if (opts.verbose !== false)
        progress(
          opts.variant === "grpo" ? "GRPO" : "Dr. GRPO",
          it,
          opts.iterations,
          `score ${meanScore.toFixed(3)} kl ${seqKl.toFixed(3)} len ${meanLength.toFixed(1)}`,
          5,
        );
      opts.onIteration?.(it, log);
    }
  } finally {
    optimizer.dispose();
  }
  return { logs, seconds: (Date.now() - t0) / 1000 };
}
