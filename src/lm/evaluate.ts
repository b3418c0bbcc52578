// Evaluation on held-out prompts: mean judge reward and the sequence-level KL divergence
//   KL(π ‖ π_ref) = E_{x, y∼π(·|x)} [log π(y|x) − log π_ref(y|x)],
// estimated by Monte Carlo from samples of π at temperature 1 (the unbiased estimator; it needs samples
// from π itself, so no top-k here). π and π_ref are scored exactly as they are sampled: softmax over the
// tokens the model may emit (<pad> and <bos> excluded, NON_EMITTED), so the estimator is unbiased for the
// KL of the sampled policies. One caveat remains: a sample cut at the token budget (no <eos>) contributes
// only the log-ratio of its first maxNewTokens tokens, so when many samples hit the budget the estimate
// understates the KL of full sequences (`truncatedFraction` reports how many did).
// One (KL, reward) point per trained policy gives the reward–KL frontier of the DPO paper
// (Rafailov et al. 2023, Figure 2, left).
import { Rng } from "../random";
import { judge, type Principle } from "./judges";
import { sampleGroups } from "./sampling";
import { sequenceLogps } from "./preferenceTrainer";
import type { Transformer } from "./transformer";
import type { WordTokenizer } from "./tokenizer";

export interface EvalOptions {
  samplesPerPrompt: number;
  maxNewTokens: number;
  /** Same seed for every policy → common random numbers across the compared methods. */
  seed?: number;
}

export interface EvalSample {
  prompt: string;
  completion: string;
  reward: number;
  logRatio: number;
}

export interface EvalResult {
  reward: number;
  rewardStdErr: number;
  kl: number;
  klStdErr: number;
  /** Mean completion length in tokens (incl. <eos> when emitted). */
  meanLength: number;
  /** Fraction of samples that hit the token budget without <eos>: their KL terms cover a prefix only. */
  truncatedFraction: number;
  samples: EvalSample[];
}

function meanAndStdErr(xs: number[]): [number, number] {
  const n = xs.length;
  const m = xs.reduce((a, b) => a + b, 0) / n;
  const v = n > 1 ? xs.reduce((a, b) => a + (b - m) ** 2, 0) / (n - 1) : 0;
  return [m, Math.sqrt(v / n)];
}

/** Reward and KL(π‖π_ref) of `policy` on `prompts`, from `samplesPerPrompt` samples each. */
export function evaluatePolicy(
  policy: Transformer,
  reference: Transformer,
  tokenizer: WordTokenizer,
  prompts: readonly string[],
  constitution: readonly Principle[],
  opts: EvalOptions,
): EvalResult {
  const rng = new Rng(opts.seed ?? 12345).fork("evaluate");
  const ids = prompts.map((p) => tokenizer.encode(p));
  const groups = sampleGroups(policy, ids, opts.samplesPerPrompt, rng, {
    maxNewTokens: opts.maxNewTokens,
    temperature: 1,
    topK: 0,
  });
  const seqs = groups.flat();
  const lp = sequenceLogps(policy, seqs);
  const lr = sequenceLogps(reference, seqs);
  const samples: EvalSample[] = seqs.map((s, i) => {
    const prompt = prompts[Math.floor(i / opts.samplesPerPrompt)];
    const completion = tokenizer.decode(s.completion);
    return { prompt, completion, reward: judge(constitution, prompt, completion).total, logRatio: lp[i] - lr[i] };
  });
  const [reward, rewardStdErr] = meanAndStdErr(samples.map((s) => s.reward));
  const [kl, klStdErr] = meanAndStdErr(samples.map((s) => s.logRatio));
  const meanLength = seqs.reduce((a, s) => a + s.completion.length + (s.ended ? 1 : 0), 0) / seqs.length;
  const truncatedFraction = seqs.filter((s) => !s.ended).length / seqs.length;
  return { reward, rewardStdErr, kl, klStdErr, meanLength, truncatedFraction, samples };
}
