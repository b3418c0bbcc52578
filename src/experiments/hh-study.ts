// The real-human-preference study on the language-model track (notebook 11; `npm run hh` writes
// data/hh/hh.json): per dataset and seed, SFT on the chosen responses, then every method of the
// config through the loss registry (DPO, IPO, KTO, KTO with half the desirable examples, SimPO, cDPO,
// Preferred-FT), a Bradley–Terry reward model on the same transformer and the length-only baseline, all
// scored by held-out preference accuracy of the reward each one's loss uses (implicitRewards), with the
// chosen/rejected log-prob trajectories on held-out pairs. The over-optimisation study (Gao et al. 2023) is
// in hh-overopt.ts.
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../random";
import { Transformer } from "../lm/transformer";
import { trainSft } from "../lm/sft";
import { sequenceTokens } from "../lm/batching";
import { sequenceLogps, trainPreference } from "../lm/preferenceTrainer";
import { LearnedRewardModel, trainLearnedRewardModel } from "../fig2/rewardModel";
import type { TokenizedPair } from "../lm/rlaif";
import type { BpeTokenizer } from "../lm/bpe";
import { canonicalLossName, resolveLossOptions } from "../losses/index";
import {
  lengthRewards,
  loadRealPairs,
  prepareData,
  preferenceAccuracy,
  preferenceData,
  splitByGroup,
  splitLeaks,
  type AccuracyResult,
  type GroupedPair,
  type PreparedData,
  type RealDataset,
} from "./hh-data";

export interface HhMethod {
  label: string;
  loss: string;
  lossOptions?: Record<string, unknown>;
  /** KTO only: share of the desirable examples kept (default 1). */
  keepDesirable?: number;
}

export interface HhModelConfig {
  contextLength: number;
  dModel: number;
  nHeads: number;
  nLayers: number;
}

export interface HhDatasetConfig {
  dataset: RealDataset;
  heldOutFraction: number;
  /** Use at most this many training / test pairs (seeded choice after the split); all if unset. */
  maxTrainPairs?: number;
  maxTestPairs?: number;
}

export interface HhStudyConfig {
  name: string;
  datasets: HhDatasetConfig[];
  seeds: number[];
  vocabSize: number;
  model: HhModelConfig;
  maxCompletionTokens: number;
  sft: { steps: number; batchSize: number; learningRate: number };
  preference: { steps: number; batchSize: number; learningRate: number; evalEvery: number };
  methods: HhMethod[];
  rewardModel: { steps: number; batchSize: number; learningRate: number };
}

export interface TrajectoryPoint {
  step: number;
  /** Mean over held-out pairs of log π(y) − log π_ref(y), chosen and rejected. */
  chosenShift: number;
  rejectedShift: number;
  accuracy: number;
}

export interface MethodResult {
  label: string;
  loss: string;
  heldOut: AccuracyResult;
  /** Share of held-out pairs on which the method prefers the longer response (characters). */
  prefersLonger: number;
  trajectory: TrajectoryPoint[];
  /** Final training-batch metrics (TRL names). */
  finalLog: Record<string, number>;
  seconds: number;
}

export interface SeedResult {
  dataset: RealDataset;
  seed: number;
  split: { trainPairs: number; testPairs: number; testGroups: number; leaks: ReturnType<typeof splitLeaks> };
  bpe: PreparedData["bpe"] & { vocabSize: number; tokensPerWord: number };
  truncation: PreparedData["truncation"];
  sft: { heldOutPerplexity: number; seconds: number };
  /** The SFT model's own log-likelihood as a reward (no training on preferences). */
  reference: AccuracyResult;
  rewardModel: AccuracyResult & { seconds: number };
  length: AccuracyResult;
  methods: MethodResult[];
}

/**
 * The reward a method is scored by on held-out pairs: the one its own loss (and TRL's rewards/accuracies
 * for it) is built on, up to the factor β > 0, which does not change an ordering:
 *   DPO, cDPO ("sigmoid", "dpo"), KTO:   log π(y) − log π_ref(y), summed over tokens (Rafailov et al. 2023 §5);
 *   IPO ("ipo", lengthNormalize, the default as in TRL): (log π(y) − log π_ref(y)) / |y|, per-token average
 *     (TRL divides the log-probs by the completion length for loss_type="ipo" before forming the rewards);
 *     with lengthNormalize: false, summed (Azar et al. 2023 Eq. 17 as written);
 *   SimPO: log π(y) / |y|, no reference (Meng et al. 2024 Eq. 4);
 *   Preferred-FT ("sft"): its loss has no reward; scored by the summed log-ratio, as TRL logs for it.
 * Options are resolved through the registry (unknown options are errors); other losses are refused.
 */
export function implicitRewards(
  loss: string,
  policy: ArrayLike<number>,
  ref: ArrayLike<number>,
  lengths: readonly number[],
  lossOptions: Record<string, unknown> = {},
): Float64Array {
  const name = canonicalLossName(loss);
  const o = resolveLossOptions(name, lossOptions);
  let kind: "logratio" | "averageLogratio" | "averagePolicy";
  if (name === "ipo") kind = o.lengthNormalize ? "averageLogratio" : "logratio";
  else if (name === "simpo") kind = "averagePolicy";
  else if (["sigmoid", "dpo", "kto", "sft"].includes(name)) kind = "logratio";
  else
    throw new Error(
      `implicitRewards: loss "${loss}" has no held-out reward defined here (defined for sigmoid, dpo, ipo, kto, simpo, sft)`,
    );
  return Float64Array.from(policy, (lp, i) => {
    const len = Math.max(1, lengths[i]);
    return kind === "averagePolicy" ? lp / len : kind === "averageLogratio" ? (lp - ref[i]) / len : lp - ref[i];
  });
}

const completionLength = (s: TokenizedPair["chosenSeq"]) => s.completion.length + (s.ended ? 1 : 0);

/** Seeded subsample of at most n items (order kept). */
function subsample<T>(xs: readonly T[], n: number | undefined, seed: number, label: string): T[] {
  if (n === undefined || xs.length <= n) return [...xs];
  const keep = new Set(new Rng(seed).fork(label).shuffle(Array.from(xs.keys())).slice(0, n));
  return xs.filter((_, i) => keep.has(i));
}

/** Split, tokenise and fit one dataset for one seed (the split is seeded too: each seed is a new split). */
export async function prepareSeed(
  cfg: HhStudyConfig,
  d: HhDatasetConfig,
  seed: number,
  loaded?: GroupedPair[],
): Promise<{ data: PreparedData; split: SeedResult["split"] }> {
  const pairs = loaded ?? (await loadRealPairs(d.dataset)).pairs;
  const s = splitByGroup(pairs, d.heldOutFraction, seed);
  const train = subsample(s.train, d.maxTrainPairs, seed, "train-subsample");
  const test = subsample(s.test, d.maxTestPairs, seed, "test-subsample");
  // UKP prompts name the debate and stance: a held-out debate's prompts never occur in training.
  const leaks = splitLeaks(s.train, s.test);
  const data = prepareData(train, test, {
    vocabSize: cfg.vocabSize,
    contextLength: cfg.model.contextLength,
    maxCompletionTokens: cfg.maxCompletionTokens,
  });
  return {
    data,
    split: { trainPairs: data.train.length, testPairs: data.test.length, testGroups: s.testGroups.length, leaks },
  };
}

/** Held-out log-probs of chosen and rejected under a model. */
function heldOutLogps(model: Transformer, test: readonly TokenizedPair[]): { c: Float32Array; r: Float32Array } {
  return {
    c: sequenceLogps(
      model,
      test.map((p) => p.chosenSeq),
    ),
    r: sequenceLogps(
      model,
      test.map((p) => p.rejectedSeq),
    ),
  };
}

const mean = (xs: ArrayLike<number>) => Array.from(xs).reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

/** One seed of one dataset: SFT, the reward model, every method. */
export async function runSeed(
  cfg: HhStudyConfig,
  d: HhDatasetConfig,
  seed: number,
  loaded?: GroupedPair[],
  log: (msg: string) => void = () => {},
): Promise<SeedResult> {
  const { data, split } = await prepareSeed(cfg, d, seed, loaded);
  const { tokenizer, train, test, testGroups } = data;
  const model = new Transformer({ ...cfg.model, vocabSize: tokenizer.size }, seed);
  const rows = (ps: readonly TokenizedPair[]) => ps.map((p) => sequenceTokens(p.chosenSeq).slice(1));
  const sft = trainSft(model, rows(train), rows(test), { ...cfg.sft, seed, verbose: false });
  log(
    `${d.dataset} seed ${seed}: SFT ${sft.seconds.toFixed(0)} s, held-out perplexity ${sft.finalHeldOutPerplexity.toFixed(1)}`,
  );
  const ref = heldOutLogps(model, test);
  const lenC = test.map((p) => completionLength(p.chosenSeq));
  const lenR = test.map((p) => completionLength(p.rejectedSeq));
  const reference = preferenceAccuracy(ref.c, ref.r, testGroups);

  const rm = new LearnedRewardModel(model, seed);
  let rewardModel: SeedResult["rewardModel"];
  try {
    const r = trainLearnedRewardModel(rm, train, [], { ...cfg.rewardModel, seed, verbose: false });
    const rc = rm.scoreSequences(test.map((p) => p.chosenSeq));
    const rr = rm.scoreSequences(test.map((p) => p.rejectedSeq));
    rewardModel = { ...preferenceAccuracy(rc, rr, testGroups), seconds: r.seconds };
  } finally {
    rm.dispose();
  }
  log(
    `${d.dataset} seed ${seed}: reward model ${rewardModel.accuracy.toFixed(3)} (${rewardModel.seconds.toFixed(0)} s)`,
  );
  const len = lengthRewards(test);
  const length = preferenceAccuracy(len.chosen, len.rejected, testGroups);

  const methods: MethodResult[] = [];
  for (const m of cfg.methods) {
    const policy = model.clone(true);
    const reference = model.clone(false);
    try {
      const trajectory: TrajectoryPoint[] = [];
      const evaluate = (step: number) => {
        const lp = heldOutLogps(policy, test);
        const rc = implicitRewards(m.loss, lp.c, ref.c, lenC, m.lossOptions);
        const rr = implicitRewards(m.loss, lp.r, ref.r, lenR, m.lossOptions);
        trajectory.push({
          step,
          chosenShift: mean(lp.c.map((v, i) => v - ref.c[i])),
          rejectedShift: mean(lp.r.map((v, i) => v - ref.r[i])),
          accuracy: preferenceAccuracy(rc, rr, testGroups).accuracy,
        });
        return { rc, rr };
      };
      evaluate(0);
      const res = trainPreference(policy, reference, preferenceData(train, m.keepDesirable ?? 1, seed), {
        method: m.loss,
        lossOptions: m.lossOptions,
        ...cfg.preference,
        seed,
        verbose: false,
        logEvery: cfg.preference.steps,
        onStep: (step) => {
          if (step % cfg.preference.evalEvery === 0 && step !== cfg.preference.steps) evaluate(step);
        },
      });
      const { rc, rr } = evaluate(cfg.preference.steps);
      const longer = test.map((p) => Math.sign(p.chosen.length - p.rejected.length));
      const prefersLonger = mean(longer.map((s, i) => (s === 0 ? 0.5 : Math.sign(rc[i] - rr[i]) === s ? 1 : 0)));
      const finalLog = res.logs[res.logs.length - 1] as Record<string, number>;
      methods.push({
        label: m.label,
        loss: m.loss,
        heldOut: preferenceAccuracy(rc, rr, testGroups),
        prefersLonger,
        trajectory,
        finalLog,
        seconds: res.seconds,
      });
      log(
        `${d.dataset} seed ${seed}: ${m.label} ${methods[methods.length - 1].heldOut.accuracy.toFixed(3)} (${res.seconds.toFixed(0)} s)`,
      );
    } finally {
      policy.dispose();
      reference.dispose();
    }
  }
  model.dispose();
  return {
    dataset: d.dataset,
    seed,
    split,
    bpe: { ...data.bpe, vocabSize: tokenizer.size, tokensPerWord: tokensPerWord(tokenizer, test) },
    truncation: data.truncation,
    sft: { heldOutPerplexity: sft.finalHeldOutPerplexity, seconds: sft.seconds },
    reference,
    rewardModel,
    length,
    methods,
  };
}

function tokensPerWord(tokenizer: BpeTokenizer, pairs: readonly TokenizedPair[]): number {
  return tokenizer.tokensPerWord(pairs.slice(0, 300).flatMap((p) => [p.chosen, p.rejected]));
}

/** Numbers of tensors alive, for the leak check around a seed (tests). */
export function liveTensors(): number {
  return tf.memory().numTensors;
}
