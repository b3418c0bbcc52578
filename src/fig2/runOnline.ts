// The online and group methods of issue 28 as Figure-2 runs: how many steps a run takes (where its
// checkpoints fall) and its training, step by step, for src/fig2/run.ts's runFig2 to evaluate. DPOP is a
// registered loss and trains on run.ts's offline path; the rest train here:
//
//   grpo / grpo-gt          β of the k3 KL term: GRPO (src/lm/grpo.ts) on the learned RM / the classifier
//   dr-grpo / dr-grpo-gt    β: Dr. GRPO, the same without the std and the length normalisation
//   online-dpo / -gt        β: OAIF, the learned RM / the classifier as the AI judge (src/lm/onlineDpo.ts)
//   iterative-dpo / -gt     β: rounds of sample → label → offline DPO epochs (src/lm/onlineDpo.ts)
//   tr-dpo / tr-dpo-hard    β: TR-DPO on the offline pairs, soft (α < 1) / hard (α = 1) reference updates
//                           every τ steps (src/lm/trDpo.ts)
//   dpop                    β: DPOP (src/losses/entries/dpop.ts) with λ, offline on the pairs
//
// The knob is β throughout, so each method's frontier is traced over β and checkpoints as DPO's is. Every
// log row carries `online/samples` (completions drawn so far) where the method samples: its compute.
import { trainGrpo } from "../lm/grpo";
import { onlineDpoStepsPerRound, trainOnlineDpo } from "../lm/onlineDpo";
import { trainTrDpo } from "../lm/trDpo";
import type { Transformer } from "../lm/transformer";
import type { Fig2Context } from "./evaluation";
import type { Fig2OnlineSettings } from "./onlinePresets";

/** The methods of issue 28 (after the DPO paper's in FIG2_METHODS; dpop trains on the offline path). */
export const ONLINE_STUDY_METHODS = [
  "grpo",
  "grpo-gt",
  "dr-grpo",
  "dr-grpo-gt",
  "online-dpo",
  "online-dpo-gt",
  "iterative-dpo",
  "iterative-dpo-gt",
  "tr-dpo",
  "tr-dpo-hard",
  "dpop",
] as const;
export type OnlineStudyMethod = (typeof ONLINE_STUDY_METHODS)[number];

/** The settings section each method reads (beside `checkpoints` and `evaluation`; tr-dpo and dpop also `offline`). */
export function onlineSection(method: string): keyof Fig2OnlineSettings | undefined {
  if (method.startsWith("grpo") || method.startsWith("dr-grpo")) return "grpo";
  if (method.startsWith("online-dpo")) return "onlineDpo";
  if (method.startsWith("iterative-dpo")) return "iterativeDpo";
  if (method === "tr-dpo") return "trDpo";
  if (method === "tr-dpo-hard") return "trDpoHard";
  if (method === "dpop") return "dpop";
  return undefined;
}

/** What these trainers read of a run's settings (src/fig2/run.ts's Fig2RunSettings has it; declared here so
 * this module does not import run.ts, which imports it). */
type Settings = {
  method: string;
  knob: number;
  seed: number;
  offline: { epochs: number; batchSize: number; learningRate: number };
  evaluation: { maxNewTokens: number };
} & Partial<Fig2OnlineSettings>;

function need<K extends keyof Fig2OnlineSettings>(s: Settings, key: K): Fig2OnlineSettings[K] {
  const v = s[key];
  if (!v) throw new Error(`fig2 ${s.method}: the run's settings have no ${key} section`);
  return v as Fig2OnlineSettings[K];
}

/** Steps (iterations, rounds' steps or minibatch steps) of a run of one of the methods trained here. */
export function onlineStudySteps(s: Settings, pairs: number): number {
  const section = onlineSection(s.method);
  if (section === "grpo") return need(s, "grpo").iterations;
  if (section === "onlineDpo" || section === "iterativeDpo") {
    const o = need(s, section);
    return o.rounds * onlineDpoStepsPerRound(o);
  }
  if (section === "trDpo" || section === "trDpoHard") {
    if (pairs === 0) throw new Error(`fig2 ${s.method}: the run's data has no pairs`);
    return Math.max(1, Math.ceil((s.offline.epochs * pairs) / s.offline.batchSize));
  }
  throw new Error(`fig2: ${s.method} is not trained by src/fig2/runOnline.ts`);
}

/** Train `policy` in place by the run's method; `onStep(step, log)` after each step (the runner evaluates). */
export function trainOnlineStudy(
  ctx: Fig2Context,
  s: Settings,
  policy: Transformer,
  onStep: (step: number, log: Record<string, number>) => void,
  verbose = false,
): void {
  const section = onlineSection(s.method);
  const reward = s.method.endsWith("-gt") ? ctx.groundTruth : ctx.learnedReward;
  const common = { maxNewTokens: s.evaluation.maxNewTokens, seed: s.seed + 2, verbose };
  const strip = (log: object): Record<string, number> =>
    Object.fromEntries(Object.entries(log).filter(([k]) => k !== "step" && k !== "iteration"));
  if (section === "grpo") {
    const g = need(s, "grpo");
    trainGrpo(policy, ctx.reference, ctx.tokenizer, ctx.trainPrompts, reward, {
      ...common,
      variant: s.method.startsWith("dr-") ? "dr-grpo" : "grpo",
      beta: s.knob,
      iterations: g.iterations,
      promptsPerIteration: g.promptsPerIteration,
      groupSize: g.groupSize,
      epochs: g.epochs,
      learningRate: g.learningRate,
      onIteration: (it, log) => onStep(it, strip(log)),
    });
    return;
  }
  if (section === "onlineDpo" || section === "iterativeDpo") {
    const o = need(s, section);
    trainOnlineDpo(policy, ctx.reference, ctx.tokenizer, ctx.trainPrompts, reward, {
      ...common,
      beta: s.knob,
      ...o,
      onStep: (step, log) => onStep(step, strip(log)),
    });
    return;
  }
  if (section === "trDpo" || section === "trDpoHard") {
    const t = need(s, section);
    trainTrDpo(policy, ctx.reference, ctx.data.pairs, {
      beta: s.knob,
      alpha: t.alpha,
      tau: t.tau,
      steps: onlineStudySteps(s, ctx.data.pairs.length),
      batchSize: s.offline.batchSize,
      learningRate: s.offline.learningRate,
      seed: s.seed + 3,
      verbose,
      onStep: (step, log) => onStep(step, strip(log)),
    });
    return;
  }
  throw new Error(`fig2: ${s.method} is not trained by src/fig2/runOnline.ts`);
}
