// `bandit`: one bandit preference-learning run (src/bandit's trainBandit) as a sweep experiment kind.
//
// The environment is a known reward table r[x][y] ~ N(0, rewardScale²) drawn from `dataset.rewardSeed`
// (fixed across seeds), or one of the IPO paper's §5.4 sets. On bt-pairs each run's seed draws its own
// dataset (Bradley–Terry pairs at temperature T, then each label flipped with probability flipRate) and its
// own minibatches, so the spread over seeds is the spread a practitioner would see; the fixed sets (ipo-d1,
// ipo-never-wins, two-actions) are the same for every seed, so there only the label flips (if any), KTO's
// subsampling and the minibatches vary. The pairs feed every
// method: pair losses directly, KTO after splitting into desirable/undesirable judgements (optionally keeping
// only a fraction of either), listwise DPO as 2-rankings.
//
// config (defaults in resolve below):
//   method: any registered loss (src/losses/registry.ts: dpo, sigmoid, ipo, simpo, …, kto, listwise)
//   lossOptions: that loss's options, checked and defaulted by its registry entry (KTO's desirableWeight
//                may also be "balanced": λ_D·n_D = λ_U·n_U on the run's data)
//   dataset: {type: bt-pairs | ipo-d1 | ipo-never-wins | two-actions, nPrompts, nResponses, nPairs,
//             rewardScale, rewardSeed, temperature, flipRate, keepDesirable, keepUndesirable}
//   steps, batchSize, learningRate, fullBatch, engine: js | tfjs
// The fixed §5.4 sets ignore the sampling knobs (nPrompts … temperature), so one base can serve both kinds
// of dataset; knobs a *method* ignores (an option its loss does not take, keepDesirable for a pair loss)
// are errors.
import type { JsonObject } from "../sweep/config";
import { ConfigReader, registerExperimentKind, type ExperimentKind, type Metrics } from "../sweep/kinds";
import { initBackend } from "../backend";
import { Rng } from "../random";
import {
  countDesirable,
  ipoNeverWinsDataset,
  ipoTotalOrderDataset,
  ktoClassWeights,
  pairsToRankings,
  pairsToUnpaired,
  twoActionDataset,
  type BanditDataset,
  type PairDataset,
} from "../bandit/datasets";
import { sampleBanditPairs } from "../bandit/sampling";
import { getLoss } from "../losses/registry";
import {
  klPerPrompt,
  meanExpectedReward,
  meanTotalVariation,
  optimalPolicyTable,
  uniformPolicy,
  type PolicyTable,
} from "../bandit/tabular";
import { trainBandit } from "../bandit/trainer";
import type { LossOptions } from "../losses/registry";
import { checkRenamed, readMethod } from "./loss-config";

const DATASETS = ["bt-pairs", "ipo-d1", "ipo-never-wins", "two-actions"] as const;

interface BanditRunConfig {
  /** A registered loss name. */
  method: string;
  /** Its options, resolved by the registry (desirableWeight may be "balanced"). */
  lossOptions: LossOptions;
  dataset: {
    type: (typeof DATASETS)[number];
    nPrompts: number;
    nResponses: number;
    nPairs: number;
    rewardScale: number;
    rewardSeed: number;
    temperature: number;
    flipRate: number;
    keepDesirable: number;
    keepUndesirable: number;
  };
  steps: number;
  batchSize: number;
  learningRate: number;
  fullBatch: boolean;
  engine: "js" | "tfjs";
}

/** The environment's reward table (bt-pairs only): r[x][y] ~ N(0, scale²) from its own seed. */
export function banditRewards(d: BanditRunConfig["dataset"]): number[][] {
  const rng = new Rng(d.rewardSeed).fork("rewards");
  return Array.from({ length: d.nPrompts }, () =>
    Array.from({ length: d.nResponses }, () => d.rewardScale * rng.normal()),
  );
}

/** The run's pairs: sampled (bt-pairs) or fixed (§5.4 sets), then each label flipped with probability flipRate. */
export function banditPairs(d: BanditRunConfig["dataset"], seed: number): { pairs: PairDataset; flipped: number } {
  const rng = new Rng(seed).fork("dataset");
  let pairs: PairDataset;
  if (d.type === "bt-pairs")
    pairs = sampleBanditPairs(banditRewards(d), d.nPairs, { rng: rng.fork("pairs"), temperature: d.temperature });
  else
    pairs =
      d.type === "ipo-d1"
        ? ipoTotalOrderDataset()
        : d.type === "ipo-never-wins"
          ? ipoNeverWinsDataset()
          : twoActionDataset();
  let flipped = 0;
  if (d.flipRate > 0) {
    const flip = rng.fork("flips");
    pairs = {
      ...pairs,
      description: `${pairs.description ?? "pairs"}, labels flipped with probability ${d.flipRate}`,
      pairs: pairs.pairs.map((p) => {
        if (!(flip.uniform() < d.flipRate)) return p;
        flipped++;
        return { prompt: p.prompt, chosen: p.rejected, rejected: p.chosen };
      }),
    };
  }
  return { pairs, flipped };
}

function entropy(policy: PolicyTable): number {
  return policy.reduce((s, row) => s - row.reduce((t, p) => (p > 0 ? t + p * Math.log(p) : t), 0), 0) / policy.length;
}

/** Fraction of response pairs (within each prompt, distinct true rewards) that π orders as r does. */
function rankAgreement(policy: PolicyTable, rewards: number[][]): number {
  let agree = 0;
  let total = 0;
  rewards.forEach((row, x) => {
    for (let i = 0; i < row.length; i++) {
      for (let j = i + 1; j < row.length; j++) {
        if (row[i] === row[j]) continue;
        total++;
        if ((row[i] - row[j]) * (policy[x][i] - policy[x][j]) > 0) agree++;
      }
    }
  });
  return total === 0 ? NaN : agree / total;
}

// Part of every run id: bump it when a run's metrics change (test/kind-versions.test.ts checks that).
// 2: method is any registered loss, lossOptions resolved by its registry entry, lr renamed learningRate.
const VERSION = 2;

export const banditKind: ExperimentKind = {
  name: "bandit",
  description:
    "Tabular softmax policy trained by any registered preference loss on bandit preference data (src/bandit)",
  version: VERSION,
  usesBackend: false, // the default js engine is plain Float64; engine "tfjs" initialises the backend itself
  resolve(config, complain) {
    const r = ConfigReader.root(config, complain);
    checkRenamed(r, { lr: "learningRate" });
    const { method, entry, lossOptions } = readMethod(r, {
      data: ["pairs", "unpaired", "rankings"],
      allow: { desirableWeight: "balanced" },
    });
    const d = r.child("dataset");
    const type = d.oneOf("type", DATASETS, "bt-pairs");
    const dataset = {
      type,
      nPrompts: d.number("nPrompts", 4, { min: 1, integer: true }),
      nResponses: d.number("nResponses", 5, { min: 2, integer: true }),
      nPairs: d.number("nPairs", 200, { min: 1, integer: true }),
      rewardScale: d.number("rewardScale", 1, { min: 0 }),
      rewardSeed: d.number("rewardSeed", 0, { min: 0, integer: true }),
      temperature: d.number("temperature", 1, { min: 0, exclusiveMin: true }),
      flipRate: d.number("flipRate", 0, { min: 0, max: 1 }),
      keepDesirable: d.number("keepDesirable", 1, { min: 0, max: 1, exclusiveMin: true }),
      keepUndesirable: d.number("keepUndesirable", 1, { min: 0, max: 1, exclusiveMin: true }),
    };
    d.done();
    const out: BanditRunConfig = {
      method,
      lossOptions,
      dataset,
      steps: r.number("steps", 1000, { min: 1, integer: true }),
      batchSize: r.number("batchSize", 32, { min: 1, integer: true }),
      learningRate: r.number("learningRate", 0.01, { min: 0, exclusiveMin: true }),
      fullBatch: r.boolean("fullBatch", false),
      engine: r.oneOf("engine", ["js", "tfjs"] as const, "js"),
    };
    r.done();
    // A knob the method ignores would make distinct ids compute the same thing: refuse it (use grid blocks).
    // Loss options are checked by the registry above; the KTO subsampling knobs only apply to unpaired data.
    for (const key of ["keepDesirable", "keepUndesirable"] as const) {
      if (entry!.data !== "unpaired" && dataset[key] !== 1)
        complain(["dataset", key], `only losses on unpaired data (kto) use ${key}; this run's method is ${method}`);
    }
    return out as unknown as JsonObject;
  },
  async run(config, seed) {
    const c = config as unknown as BanditRunConfig;
    if (c.engine === "tfjs") await initBackend();
    const { pairs, flipped } = banditPairs(c.dataset, seed);
    const lossOptions: Record<string, unknown> = { ...c.lossOptions };
    let dataset: BanditDataset = pairs;
    const extra: Metrics = { nExamples: pairs.pairs.length, flippedShare: flipped / pairs.pairs.length };
    const data = getLoss(c.method).data;
    if (data === "rankings") dataset = pairsToRankings(pairs);
    if (data === "unpaired") {
      const needRng = c.dataset.keepDesirable < 1 || c.dataset.keepUndesirable < 1;
      const unpaired = pairsToUnpaired(pairs, {
        keepDesirable: c.dataset.keepDesirable,
        keepUndesirable: c.dataset.keepUndesirable,
        rng: needRng ? new Rng(seed).fork("kto-subsample") : undefined,
      });
      const counts = countDesirable(unpaired);
      if (lossOptions.desirableWeight === "balanced") Object.assign(lossOptions, ktoClassWeights(counts));
      dataset = unpaired;
      extra.nExamples = unpaired.examples.length;
      extra.desirableShare = counts.desirable / unpaired.examples.length;
      extra.desirableWeight = lossOptions.desirableWeight as number;
    }
    const result = trainBandit({
      method: c.method,
      lossOptions,
      dataset,
      steps: c.steps,
      batchSize: c.batchSize,
      learningRate: c.learningRate,
      seeds: [seed],
      fullBatch: c.fullBatch,
      engine: c.engine,
      recordEvery: c.steps,
    });
    const policy = result.finalPolicies[0];
    const { nPrompts: K, nResponses: M } = pairs;
    const ref = uniformPolicy(K, M);
    const losses = result.curves.losses;
    const metrics: Metrics = {
      kl: klPerPrompt(policy, ref).reduce((a, b) => a + b, 0) / K,
      entropy: entropy(policy),
      minProb: Math.min(...policy.flat()),
      finalLoss: losses[losses.length - 1][0],
      ...extra,
    };
    if (c.dataset.type === "bt-pairs") {
      const rewards = banditRewards(c.dataset);
      const beta = typeof c.lossOptions.beta === "number" ? c.lossOptions.beta : undefined;
      const best = rewards.reduce((s, row) => s + Math.max(...row), 0) / K;
      const expected = meanExpectedReward(policy, rewards);
      // The KL-regularised optimum for the BT reward the labels follow (r/T) at this β (Rafailov et al. eq. 4);
      // losses without a β (sft, unlikelihood) have none.
      const target =
        beta === undefined
          ? undefined
          : optimalPolicyTable(
              rewards.map((row) => row.map((v) => v / c.dataset.temperature)),
              ref,
              beta,
            );
      Object.assign(metrics, {
        expectedReward: expected,
        regret: best - expected,
        bestResponseProb: policy.reduce((s, row, x) => s + row[rewards[x].indexOf(Math.max(...rewards[x]))], 0) / K,
        rankAgreement: rankAgreement(policy, rewards),
        ...(target ? { tvToKlOptimum: meanTotalVariation(policy, target) } : {}),
      });
    }
    if (K === 1) policy[0].forEach((p, y) => (metrics[`prob${y}`] = p));
    return metrics;
  },
};

registerExperimentKind(banditKind);
