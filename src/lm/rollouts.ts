// One online iteration's rollouts, shared by the trainers that sample their own completions (RLOO, GRPO,
// online DPO): draw prompts with the run's rng, sample `groupSize` completions of each with the current
// policy (temperature 1), and score them with the reward / judge. The rng is used in this order (prompt
// picks, then sampling), so a trainer gets the same samples as when it did this inline.
import type { Rng } from "../random";
import type { Sequence } from "./batching";
import type { BatchReward } from "./ppoMath";
import { sampleGroups } from "./sampling";
import type { WordTokenizer } from "./tokenizer";
import type { Transformer } from "./transformer";

export interface Rollouts {
  /** Index into `prompts` of each drawn prompt. */
  pick: number[];
  /** The samples, prompt by prompt (`groupSize` each), flattened. */
  seqs: Sequence[];
  /** One score per sample. */
  scores: number[];
}

export interface RolloutOptions {
  /** The trainer's name, for errors. */
  who: string;
  prompts: number;
  groupSize: number;
  maxNewTokens: number;
  /** "reward" (refuses non-finite scores) or "judge" (labels pairs; only the count is checked). */
  scorer: "reward" | "judge";
}

/** Sample and score one iteration's rollouts; a scorer returning the wrong count (or, as a reward, a
 * non-finite score) is an error naming the trainer. */
export function sampleAndScore(
  policy: Transformer,
  tokenizer: WordTokenizer,
  prompts: readonly string[],
  promptIds: readonly number[][],
  rng: Rng,
  score: BatchReward,
  o: RolloutOptions,
): Rollouts {
  const pick = Array.from({ length: o.prompts }, () => rng.int(prompts.length));
  const seqs = sampleGroups(
    policy,
    pick.map((i) => promptIds[i]),
    o.groupSize,
    rng,
    { maxNewTokens: o.maxNewTokens, temperature: 1 },
  ).flat();
  const scores = Array.from(
    score(
      seqs.map((_, r) => prompts[pick[Math.floor(r / o.groupSize)]]),
      seqs.map((s) => tokenizer.decode(s.completion)),
      seqs,
    ),
  );
  const finite = scores.every(Number.isFinite);
  if (scores.length !== seqs.length || (o.scorer === "reward" && !finite))
    throw new Error(
      `${o.who}: the ${o.scorer} returned ${scores.length} scores for ${seqs.length} samples` +
        (o.scorer === "reward" && !finite ? " (some not finite)" : ""),
    );
  return { pick, seqs, scores };
}
