// One Figure-2 run: (method, knob, seed) → checkpoint rows. The policy starts as a clone of the SFT
// reference, trains with its method, and is evaluated at `checkpoints` evenly spaced steps (PPO and RLOO:
// iterations) on the test prefixes; each evaluation is one point (KL, reward) of the method's checkpoint envelope.
// An offline run takes `offline.epochs` passes over its training units (offlineSteps).
//
// Methods and their knob (the grids of Rafailov et al. 2023 §6.1 where the paper has one):
//   dpo          β (the paper's 0.05, 0.1, 1 and 0.01) offline on the 6 pairs per prefix
//   cdpo         β, with label smoothing ε (conservative DPO, Mitchell 2023; TRL label_smoothing)
//   ipo          τ                              (Azar et al. 2023)
//   kto          β, unpaired labels from the same samples (Ethayarajh et al. 2024)
//   listwise     β, the K = 4 samples ranked by the ground truth (Plackett–Luce DPO)
//   preferred-ft no knob (0): maximum likelihood on the chosen completions (the loss registry's `sft`)
//   unlikelihood α, the weight of the unlikelihood term on the rejected completions (registry)
//   ppo          target KL: PPO as the paper ran it (value head, GAE, per-token KL penalty; src/lm/ppo.ts)
//                on the learned reward model, β held at the target by the PI controller
//   ppo-gt       target KL: the same PPO on the ground-truth classifier
//   rloo         target KL: RLOO (leave-one-out baseline, no critic; Ahmadian et al. 2024; src/lm/rloo.ts)
//                on the learned reward model, Ziegler's adaptive β (this project's "PPO" until 2026-12)
//   rloo-gt      target KL: RLOO on the ground-truth classifier
//   best-of-n    max N (64): N ∈ {1, 4, 16, 64} from the SFT model, selected by the learned RM
//                (rows for best-of-n-gt, selected by the ground truth, come from the same samples)
//   sft          none: the reference itself (step 0), one row per seed
// and the online and group methods of issue 28 (GRPO, Dr. GRPO, online / iterative DPO, TR-DPO, DPOP: knob
// β), listed in src/fig2/runOnline.ts and trained there (DPOP on the offline path here).
import { Rng } from "../random";
import { trainPreference, type PreferenceMethod } from "../lm/preferenceTrainer";
import { trainPpo } from "../lm/ppo";
import { trainRloo } from "../lm/rloo";
import { sampleGroups } from "../lm/sampling";
import type { PpoLog } from "../lm/ppoMath";
import type { Transformer } from "../lm/transformer";
import type { RlaifData } from "../lm/rlaif";
import { bestOfNForPrompt, bestOfNGrid, bestOfNKl } from "./bestOfN";
import { evaluateCheckpoint, vader01, type CheckpointEval, type EvalSettings, type Fig2Context } from "./evaluation";
import { meanOfClusters } from "./stats";
import { ONLINE_STUDY_METHODS, onlineSection, onlineStudySteps, trainOnlineStudy } from "./runOnline";
import type { Fig2OnlineSettings } from "./onlinePresets";

export const FIG2_METHODS = [
  "dpo",
  "cdpo",
  "ipo",
  "kto",
  "listwise",
  "preferred-ft",
  "unlikelihood",
  "ppo",
  "ppo-gt",
  "rloo",
  "rloo-gt",
  "best-of-n",
  "sft",
  ...ONLINE_STUDY_METHODS,
] as const;
export type Fig2Method = (typeof FIG2_METHODS)[number];
/** Methods trained online against a reward, knob = target KL: PPO and RLOO, on the learned RM or the ground truth. */
export const ONLINE_METHODS: readonly Fig2Method[] = ["ppo", "ppo-gt", "rloo", "rloo-gt"];
/** Methods trained offline on the preference data, and the loss registry's name for each (TRL loss_type names). */
export const OFFLINE_METHODS: Partial<Record<Fig2Method, string>> = {
  dpo: "dpo",
  cdpo: "dpo",
  ipo: "ipo",
  kto: "kto",
  listwise: "listwise",
  "preferred-ft": "sft",
  unlikelihood: "unlikelihood",
  dpop: "dpop",
};

/**
 * The loss options of an offline run: the knob is β (IPO: τ; Unlikelihood: α); cDPO adds label smoothing ε;
 * IPO uses the summed log-ratio form (lengthNormalize: false), as the committed full run did.
 */
export function lossOptionsFor(
  s: Pick<Fig2RunSettings, "method" | "knob" | "offline" | "dpop">,
): Record<string, unknown> {
  switch (s.method) {
    case "dpop":
      if (!s.dpop) throw new Error("fig2 dpop: the run's settings have no dpop section");
      return { beta: s.knob, dpopLambda: s.dpop.lambda };
    case "preferred-ft":
      return {};
    case "unlikelihood":
      return { unlikelihoodAlpha: s.knob };
    case "cdpo":
      return { beta: s.knob, labelSmoothing: s.offline.cdpoEpsilon };
    case "ipo":
      return { beta: s.knob, lengthNormalize: false };
    default:
      return { beta: s.knob };
  }
}

/** A run's settings; the sections of issue 28's methods (Fig2OnlineSettings) are present only for those methods. */
export interface Fig2RunSettings extends Partial<Fig2OnlineSettings> {
  method: Fig2Method;
  knob: number;
  seed: number;
  /**
   * epochs: passes over the run's training units (pairs; KTO: unpaired examples; listwise: rankings);
   * units: how many of each kind the run draws, a seeded random subset (0: all).
   */
  offline: { epochs: number; units: number; batchSize: number; learningRate: number; cdpoEpsilon: number };
  /** PPO (src/lm/ppo.ts): rollouts of `batchSize` samples, `ppoEpochs` passes in minibatches, PI controller. */
  ppo: {
    iterations: number;
    batchSize: number;
    miniBatchSize: number;
    ppoEpochs: number;
    learningRate: number;
    initialBeta: number;
  };
  /** RLOO (src/lm/rloo.ts): `k` samples of `promptsPerIteration` prompts, Ziegler's controller (horizon). */
  rloo: {
    iterations: number;
    promptsPerIteration: number;
    k: number;
    learningRate: number;
    initialBeta: number;
    klHorizon: number;
  };
  bestOfN: { samplesPerPrompt: number };
  /** Evaluations per run, evenly spaced over the steps / PPO iterations (the last one included). */
  checkpoints: number;
  evaluation: EvalSettings;
}

export interface CheckpointRow extends CheckpointEval {
  method: string;
  knob: number;
  seed: number;
  step: number;
  /** Training seconds up to this checkpoint (wall time; informational, not part of the results' identity). */
  trainSeconds?: number;
  /** Last training-log values (TRL names) at this checkpoint. */
  log?: Record<string, number>;
}

/** The training units an offline method uses: KTO the unpaired examples, listwise the rankings, the rest pairs. */
export function offlineUnits(method: Fig2Method, data: RlaifData): number {
  return method === "kto" ? data.unpaired.length : method === "listwise" ? data.rankings.length : data.pairs.length;
}

/** Steps of an offline run: ceil(epochs · units / batchSize), at least 1 (the trainer reshuffles each pass). */
export function offlineSteps(s: Pick<Fig2RunSettings, "method" | "offline">, data: RlaifData): number {
  const n = offlineUnits(s.method, data);
  if (n === 0) throw new Error(`fig2 ${s.method}: the run's data has no training units`);
  return Math.max(1, Math.ceil((s.offline.epochs * n) / s.offline.batchSize));
}

/** `count` evaluation steps evenly spaced over 1..total, the last one included: round(total·i/count). */
export function checkpointSteps(total: number, count: number): number[] {
  if (!(Number.isInteger(count) && count >= 1))
    throw new Error(`checkpointSteps: checkpoints must be an integer ≥ 1, got ${count}`);
  const out = Array.from({ length: count }, (_, i) => Math.max(1, Math.round((total * (i + 1)) / count)));
  return out.filter((s, i) => i === 0 || s !== out[i - 1]);
}

/** The evaluation seed of a run seed: shared by every method and checkpoint (common random numbers). */
export const evalSeed = (seed: number): number => 1_000_003 * (seed + 1);

/** Run one (method, knob, seed) and return its checkpoint rows. */
export function runFig2(ctx: Fig2Context, s: Fig2RunSettings, verbose = false): CheckpointRow[] {
  const row = (step: number, ev: CheckpointEval, extra: Partial<CheckpointRow> = {}): CheckpointRow => ({
    method: s.method,
    knob: s.knob,
    seed: s.seed,
    step,
    ...ev,
    ...extra,
  });
  if (s.method === "sft") return [row(0, evaluateCheckpoint(ctx.reference, ctx, s.evaluation, evalSeed(s.seed)))];
  if (s.method === "best-of-n") return runBestOfN(ctx, s);
  const policy: Transformer = ctx.reference.clone();
  const rows: CheckpointRow[] = [];
  const t0 = Date.now();
  try {
    if (ONLINE_METHODS.includes(s.method)) {
      const rloo = s.method.startsWith("rloo");
      const iterations = rloo ? s.rloo.iterations : s.ppo.iterations;
      const at = new Set(checkpointSteps(iterations, s.checkpoints));
      const reward = s.method.endsWith("-gt") ? ctx.groundTruth : ctx.learnedReward;
      const onIteration = (it: number, log: PpoLog) => {
        if (!at.has(it)) return;
        const { iteration: _i, ...rest } = log;
        rows.push(
          row(it, evaluateCheckpoint(policy, ctx, s.evaluation, evalSeed(s.seed)), {
            trainSeconds: (Date.now() - t0) / 1000,
            log: rest as Record<string, number>,
          }),
        );
      };
      const common = { targetKl: s.knob, maxNewTokens: s.evaluation.maxNewTokens, seed: s.seed + 2, verbose };
      if (rloo)
        trainRloo(policy, ctx.reference, ctx.tokenizer, ctx.trainPrompts, reward, {
          ...common,
          beta: s.rloo.initialBeta,
          klHorizon: s.rloo.klHorizon,
          iterations,
          promptsPerIteration: s.rloo.promptsPerIteration,
          k: s.rloo.k,
          learningRate: s.rloo.learningRate,
          onIteration,
        });
      else
        trainPpo(policy, ctx.reference, ctx.tokenizer, ctx.trainPrompts, reward, {
          ...common,
          beta: s.ppo.initialBeta,
          iterations,
          batchSize: s.ppo.batchSize,
          miniBatchSize: s.ppo.miniBatchSize,
          ppoEpochs: s.ppo.ppoEpochs,
          learningRate: s.ppo.learningRate,
          onIteration,
        });
      return rows;
    }
    const section = onlineSection(s.method);
    if (section && section !== "dpop") {
      const at = new Set(checkpointSteps(onlineStudySteps(s, ctx.data.pairs.length), s.checkpoints));
      trainOnlineStudy(
        ctx,
        s,
        policy,
        (step, log) => {
          if (at.has(step))
            rows.push(
              row(step, evaluateCheckpoint(policy, ctx, s.evaluation, evalSeed(s.seed)), {
                trainSeconds: (Date.now() - t0) / 1000,
                log,
              }),
            );
        },
        verbose,
      );
      return rows;
    }
    const trainerMethod = OFFLINE_METHODS[s.method];
    if (!trainerMethod) throw new Error(`runFig2: unknown method "${s.method}"`);
    const steps = offlineSteps(s, ctx.data);
    const at = new Set(checkpointSteps(steps, s.checkpoints));
    const r = trainPreference(policy, ctx.reference, ctx.data, {
      method: trainerMethod as PreferenceMethod,
      lossOptions: lossOptionsFor(s),
      steps,
      batchSize: s.offline.batchSize,
      learningRate: s.offline.learningRate,
      seed: s.seed + 3,
      verbose,
      logEvery: 1,
      onStep: (step: number) => {
        if (at.has(step))
          rows.push(
            row(step, evaluateCheckpoint(policy, ctx, s.evaluation, evalSeed(s.seed)), {
              trainSeconds: (Date.now() - t0) / 1000,
            }),
          );
      },
    });
    // Attach each checkpoint's training log row (logged at the same steps).
    for (const cp of rows) {
      const log = r.logs.find((l) => l.step === cp.step);
      if (log)
        cp.log = Object.fromEntries(
          Object.entries(log).filter(([k, v]) => k !== "step" && typeof v === "number" && Number.isFinite(v)),
        ) as Record<string, number>;
    }
    return rows;
  } finally {
    policy.dispose();
  }
}

/**
 * Best-of-N from `bestOfN.samplesPerPrompt` SFT samples per test prefix (the run's evaluation seed), for
 * N ∈ {1, 4, …} up to the knob: one row per N for selection by the learned RM ("best-of-n") and one by
 * the ground truth ("best-of-n-gt"). KL is the analytic log N − (N−1)/N, an upper bound on the true KL
 * (Beirami et al. 2024), so Best-of-N's points sit at or to the right of their true KL.
 */
export function runBestOfN(ctx: Fig2Context, s: Fig2RunSettings): CheckpointRow[] {
  const total = s.bestOfN.samplesPerPrompt;
  const grid = bestOfNGrid(s.knob);
  for (const n of grid)
    if (total % n !== 0) throw new Error(`best-of-n: samplesPerPrompt ${total} is not a multiple of N = ${n}`);
  const P = s.evaluation.prompts;
  const promptList = ctx.evalPrompts.slice(0, P);
  const rng = new Rng(evalSeed(s.seed)).fork("fig2-best-of-n");
  const groups = sampleGroups(
    ctx.reference,
    promptList.map((p) => ctx.tokenizer.encode(p)),
    total,
    rng,
    { maxNewTokens: s.evaluation.maxNewTokens, temperature: 1, topK: 0 },
  );
  const seqs = groups.flat();
  const prompts = seqs.map((_, i) => promptList[Math.floor(i / total)]);
  const texts = seqs.map((q) => ctx.tokenizer.decode(q.completion));
  const gt = Array.from(ctx.groundTruth(prompts, texts, seqs));
  const rm = Array.from(ctx.learnedReward(prompts, texts, seqs));
  const vd = prompts.map((p, i) => vader01(p, texts[i]));
  const rows: CheckpointRow[] = [];
  for (const [method, selector] of [
    ["best-of-n", rm],
    ["best-of-n-gt", gt],
  ] as const) {
    for (const n of grid) {
      const per = promptList.map((_, p) => {
        const sl = (xs: number[]) => xs.slice(p * total, (p + 1) * total);
        return bestOfNForPrompt(sl(selector), sl(gt), n, [sl(vd), sl(rm)]);
      });
      const perPromptReward = per.map((r) => r.reward);
      const r = meanOfClusters(perPromptReward);
      const kl = bestOfNKl(n);
      const first = per.slice(0, 6).map((r, p) => ({
        prompt: promptList[p],
        completion: texts[p * total + r.selected[0]],
        reward: gt[p * total + r.selected[0]],
      }));
      const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
      rows.push({
        method,
        knob: n,
        seed: s.seed,
        step: 0,
        reward: r.mean,
        rewardHalfWidth: r.halfWidth,
        kl,
        klHalfWidth: 0,
        vader: mean(per.map((x) => x.extras[0])),
        rm: mean(per.map((x) => x.extras[1])),
        meanLength: NaN,
        truncatedFraction: NaN,
        perPromptReward,
        perPromptKl: perPromptReward.map(() => kl),
        perPromptVader: per.map((x) => x.extras[0]),
        perPromptRm: per.map((x) => x.extras[1]),
        examples: first,
      });
    }
  }
  return rows;
}

// ---- the run's share of the preference data ----
// Each offline run draws `offline.units` units of each kind (0: all), a seeded random subset; it then trains
// `epochs` passes over them. A random subset gives the trainer's own shuffle the same distribution of
// minibatches as the full set, and the reference log-probs it caches up front cover only units it uses.
// (KTO's mismatched partners are drawn by the trainer after its own seeded shuffle, as TRL's are.)

/** A seeded subset of at most `n` items (order random). */
export function subset<T>(xs: readonly T[], n: number, rng: Rng): T[] {
  const idx = rng.shuffle(Array.from(xs.keys()));
  return idx.slice(0, Math.min(n, xs.length)).map((i) => xs[i]);
}

/** The run's view of the preference data: a seeded subset of `units` of each kind. */
export function runData(data: RlaifData, units: number, seed: number): RlaifData {
  const rng = new Rng(seed).fork("fig2-units");
  return {
    ...data,
    pairs: subset(data.pairs, units, rng.fork("pairs")),
    unpaired: subset(data.unpaired, units, rng.fork("unpaired")),
    rankings: subset(data.rankings, units, rng.fork("rankings")),
  };
}
