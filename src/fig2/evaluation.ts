// One checkpoint's evaluation for Figure 2: sample M completions for each of the P test prefixes from the
// policy (temperature 1, no top-k: the KL estimate needs samples from π itself), and score every sample
//   - by the ground truth (the trained sentiment classifier, p(positive) ∈ [0, 1]): the figure's y axis;
//   - by the learned reward model (the proxy PPO optimises): for the over-optimisation plot;
//   - by an independent judge, VADER (Hutto & Gilbert 2014), mapped to [0, 1] as (compound + 1)/2;
//   - by the log-ratio log π(y|x) − log π_ref(y|x), whose mean is the sequence-level KL(π‖π_ref).
// Per-prompt means are kept (the prompt is the unit of independence: CIs cluster by it, and two policies
// evaluated on the same prompts are compared prompt by prompt).
import { Rng } from "../random";
import { sampleGroups } from "../lm/sampling";
import { sequenceLogps } from "../lm/preferenceTrainer";
import { vaderSentiment } from "../lm/judges";
import type { Sequence } from "../lm/batching";
import type { Transformer } from "../lm/transformer";
import type { WordTokenizer } from "../lm/tokenizer";
import type { RlaifData } from "../lm/rlaif";
import { meanOfClusters } from "./stats";

import type { BatchReward } from "../lm/ppoMath";

/** What every Figure-2 run needs, built once per data seed (src/fig2/index.ts's shared stages). */
export interface Fig2Context {
  tokenizer: WordTokenizer;
  /** The SFT model: π_ref, and the initial policy of every method. */
  reference: Transformer;
  /** Training prefixes (preference data and PPO draw from these only). */
  trainPrompts: readonly string[];
  /** Test prefixes: disjoint from everything training sees. */
  evalPrompts: readonly string[];
  /** Pairs / rankings / unpaired labels, as read back from the TRL-format files. */
  data: RlaifData;
  /** Ground-truth reward: the classifier's p(positive) of prompt + completion. */
  groundTruth: BatchReward;
  /** The learned Bradley–Terry reward model's score. */
  learnedReward: BatchReward;
}

export interface EvalSettings {
  prompts: number;
  samplesPerPrompt: number;
  maxNewTokens: number;
}

export interface CheckpointEval {
  reward: number;
  rewardHalfWidth: number;
  kl: number;
  klHalfWidth: number;
  vader: number;
  rm: number;
  meanLength: number;
  truncatedFraction: number;
  perPromptReward: number[];
  perPromptKl: number[];
  perPromptVader: number[];
  perPromptRm: number[];
  /** The first sample of each of the first few prompts (completions at matched KL). */
  examples: Array<{ prompt: string; completion: string; reward: number }>;
}

/** VADER compound score on the classifier's [0, 1] scale. */
export function vader01(prompt: string, completion: string): number {
  return (vaderSentiment(prompt, completion) + 1) / 2;
}

/** Per-prompt means of a flat, prompt-major array with `m` samples per prompt. */
export function perPromptMeans(values: ArrayLike<number>, m: number): number[] {
  if (values.length % m !== 0) throw new Error(`perPromptMeans: ${values.length} values are not ${m} per prompt`);
  return Array.from({ length: values.length / m }, (_, p) => {
    let s = 0;
    for (let j = 0; j < m; j++) s += values[p * m + j];
    return s / m;
  });
}

/** Summarise per-sample scores of P·M prompt-major samples into a CheckpointEval. */
export function summariseSamples(
  prompts: readonly string[],
  texts: readonly string[],
  seqs: readonly Sequence[],
  scores: { reward: number[]; logRatio: ArrayLike<number>; vader: number[]; rm: number[] },
  m: number,
  examples = 6,
): CheckpointEval {
  const perPromptReward = perPromptMeans(scores.reward, m);
  const perPromptKl = perPromptMeans(scores.logRatio, m);
  const perPromptVader = perPromptMeans(scores.vader, m);
  const perPromptRm = perPromptMeans(scores.rm, m);
  const r = meanOfClusters(perPromptReward);
  const k = meanOfClusters(perPromptKl);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return {
    reward: r.mean,
    rewardHalfWidth: r.halfWidth,
    kl: k.mean,
    klHalfWidth: k.halfWidth,
    vader: mean(perPromptVader),
    rm: mean(perPromptRm),
    meanLength: seqs.reduce((a, s) => a + s.completion.length + (s.ended ? 1 : 0), 0) / seqs.length,
    truncatedFraction: seqs.filter((s) => !s.ended).length / seqs.length,
    perPromptReward,
    perPromptKl,
    perPromptVader,
    perPromptRm,
    examples: Array.from({ length: Math.min(examples, prompts.length / m) }, (_, p) => ({
      prompt: prompts[p * m],
      completion: texts[p * m],
      reward: scores.reward[p * m],
    })),
  };
}

/** Evaluate `policy` on the first `settings.prompts` test prefixes with the run's evaluation seed. */
export function evaluateCheckpoint(
  policy: Transformer,
  ctx: Fig2Context,
  settings: EvalSettings,
  seed: number,
): CheckpointEval {
  if (ctx.evalPrompts.length < settings.prompts)
    throw new Error(
      `evaluateCheckpoint: ${ctx.evalPrompts.length} test prefixes, the settings ask for ${settings.prompts}`,
    );
  const promptList = ctx.evalPrompts.slice(0, settings.prompts);
  const m = settings.samplesPerPrompt;
  // Same seed for every method and checkpoint of a run seed: common random numbers (paired comparisons).
  const rng = new Rng(seed).fork("fig2-eval");
  const groups = sampleGroups(
    policy,
    promptList.map((p) => ctx.tokenizer.encode(p)),
    m,
    rng,
    { maxNewTokens: settings.maxNewTokens, temperature: 1, topK: 0 },
  );
  const seqs = groups.flat();
  const prompts = seqs.map((_, i) => promptList[Math.floor(i / m)]);
  const texts = seqs.map((s) => ctx.tokenizer.decode(s.completion));
  const lp = sequenceLogps(policy, seqs);
  const lr = policy === ctx.reference ? lp : sequenceLogps(ctx.reference, seqs);
  const logRatio = lp.map((v, i) => v - lr[i]);
  const reward = Array.from(ctx.groundTruth(prompts, texts, seqs));
  const rm = Array.from(ctx.learnedReward(prompts, texts, seqs));
  const vader = prompts.map((p, i) => vader01(p, texts[i]));
  return summariseSamples(prompts, texts, seqs, { reward, logRatio, vader, rm }, m);
}
