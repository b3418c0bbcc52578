// Figure-2 experiment: prompt-clustered CIs, checkpoint envelopes and the dominance check (hand examples,
// including checks that must fail), Best-of-N (hand selections, analytic KL), the adaptive KL controller,
// PPO with a batched reward, runs of every method on a tiny synthetic context (checkpoint rows, no tensor
// leaks, determinism), and the fig2 sweep kind's config validation.
import { before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend";
import { clusteredMean, clusterMeans } from "../src/fig2/stats";
import {
  upperEnvelope,
  envelopeAt,
  compareFrontiers,
  aggregateCheckpoints,
  type FrontierPoint,
} from "../src/fig2/envelope";
import { bestOfNIndices, bestOfNKl, bestOfNForPrompt, bestOfNGrid } from "../src/fig2/bestOfN";
import { describeComparison } from "../src/fig2/summary";
import { checkpointSteps, offlineSteps, offlineUnits, runFig2, type Fig2RunSettings } from "../src/fig2/run";
import { FIG2_RUN_PRESETS } from "../src/fig2/runPresets";
import { perPromptMeans, vader01, type Fig2Context } from "../src/fig2/evaluation";
import { runData, subset } from "../src/fig2/run";
import { adaptiveKlUpdate } from "../src/lm/ppoMath";
import { trainRloo } from "../src/lm/rloo";
import { Rng } from "../src/random";
import { generateReviewCorpus } from "../src/lm/corpus";
import { setupCorpus, trainReference, lmPreset } from "../src/lm/pipeline";
import { afinnSentiment } from "../src/lm/judges";
import { generateRlaifData } from "../src/lm/rlaif";
import type { Transformer } from "../src/lm/transformer";
import { trainPreference, sequenceLogps } from "../src/lm/preferenceTrainer";
import { packSequences, type Sequence } from "../src/lm/batching";
import { modelTokenLogProbs } from "../src/lm/logprobs";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { fig2Kind } from "../src/experiments/fig2-kind";
import { inlineComplainer } from "../src/sweep/kinds";
import { SweepConfigError, canonicalJson, type JsonObject } from "../src/sweep/config";
import { locateDataFile } from "../src/data/registry";
import { FIG2_DATA_PRESETS, fig2CacheDir } from "../src/fig2/shared";
import { readFig2Results, reproduceFig2 } from "../src/experiments/fig2-reproduce";
import "../src/experiments";

before(async () => {
  await initBackend();
});

describe("prompt-clustered confidence intervals", () => {
  test("hand example: two clusters of two (CR1 equals the t interval on cluster means)", () => {
    const c = clusteredMean([1, 2, 3, 4], ["a", "a", "b", "b"]);
    assert.equal(c.mean, 2.5);
    // S_a = 3, S_b = 7, ȳ = 2.5: Σ(S_g − 2ȳ)² = 8; Var = 2/1 · 8 / 16 = 1.
    assert.ok(Math.abs(c.stdErr - 1) < 1e-12, `se ${c.stdErr}`);
    assert.ok(Math.abs(c.halfWidth - 12.7062047) < 1e-5, `t_{1,.975}·se = ${c.halfWidth}`);
    assert.equal(c.clusters, 2);
    // Treating the 4 samples as independent would give a much narrower interval (se 0.645).
    const iid = clusteredMean([1, 2, 3, 4], [0, 1, 2, 3]);
    assert.ok(Math.abs(iid.stdErr - Math.sqrt(5 / 3 / 4)) < 1e-12);
    assert.ok(c.halfWidth > iid.halfWidth);
  });
  test("unequal cluster sizes: CR1 formula by hand", () => {
    const c = clusteredMean([0, 0, 0, 6], ["a", "a", "a", "b"]);
    // ȳ = 1.5; S_a − 3ȳ = −4.5, S_b − ȳ = 4.5; Var = 2 · 40.5 / 16 = 5.0625.
    assert.ok(Math.abs(c.stdErr - Math.sqrt(5.0625)) < 1e-12);
  });
  test("one cluster has no interval; bad input is refused", () => {
    assert.ok(Number.isNaN(clusteredMean([1, 2], ["a", "a"]).halfWidth));
    assert.throws(() => clusteredMean([1], ["a", "b"]), /1 values but 2 cluster ids/);
    assert.throws(() => clusteredMean([NaN, 1], ["a", "b"]), /not finite/);
    assert.deepEqual(clusterMeans([1, 3, 5], ["x", "y", "x"]), { ids: ["x", "y"], means: [3, 3] });
    assert.deepEqual(perPromptMeans([1, 3, 5, 7], 2), [2, 6]);
    assert.throws(() => perPromptMeans([1, 2, 3], 2), /not 2 per prompt/);
  });
});

const pt = (method: string, kl: number, reward: number, extra: Partial<FrontierPoint> = {}): FrontierPoint => ({
  method,
  knob: 0,
  step: 0,
  kl,
  reward,
  ...extra,
});

describe("checkpoint envelopes", () => {
  test("hand example: the Pareto corners and E(k)", () => {
    const pts = [pt("a", 1, 0.5), pt("a", 2, 0.4), pt("a", 3, 0.7), pt("a", 0.5, 0.3), pt("a", 3, 0.6)];
    const env = upperEnvelope(pts);
    assert.deepEqual(
      env.map((p) => [p.kl, p.reward]),
      [
        [0.5, 0.3],
        [1, 0.5],
        [3, 0.7],
      ],
    );
    assert.equal(envelopeAt(env, 2.5)!.reward, 0.5);
    assert.equal(envelopeAt(env, 3)!.reward, 0.7);
    assert.equal(envelopeAt(env, 0.4), undefined);
  });

  // Per-prompt rewards: B is A minus a shift, with prompt-level noise shared by both (paired).
  const prompts = 20;
  const noise = Array.from({ length: prompts }, (_, i) => Math.sin(i * 1.7) * 0.2);
  const frontier = (method: string, shift: number, kls: number[], slope = 0.05) =>
    kls.map((kl) => {
      const perPromptReward = noise.map((n) => 0.5 + slope * kl + shift + n);
      return pt(method, kl, perPromptReward.reduce((a, b) => a + b, 0) / prompts, { perPromptReward });
    });

  test("dominance: a frontier higher everywhere with paired CIs is 'yes'; swapped it is 'no'", () => {
    // Staircases: B reaches 0.8 at KL 6; A is at 0.75 + 0.3 from KL 4 and 0.95 + 0.3 from 8, so d(k) > 0 on
    // the common range [1.5, 8] (B's point at KL 10 lies beyond A's largest KL and is not compared).
    const a = frontier("a", 0.3, [1, 2, 4, 8]);
    const b = frontier("b", 0, [1.5, 3, 6, 10]);
    const ab = compareFrontiers(a, b);
    assert.equal(ab.lo, 1.5);
    assert.equal(ab.hi, 8);
    assert.equal(ab.verdict, "yes", JSON.stringify(ab.diffs.map((d) => d.mean)));
    assert.equal(compareFrontiers(b, a).verdict, "no");
  });
  test("crossing frontiers are 'partly' or 'no', never 'yes'; disjoint ranges compare staircases; no points is 'n/a'", () => {
    const a = frontier("a", 0, [1, 2, 3, 4, 5, 6, 7, 8], 0.1);
    const b = frontier("b", 0.3, [1, 2, 3, 4, 5, 6, 7, 8], 0.02);
    const c = compareFrontiers(a, b);
    assert.notEqual(c.verdict, "yes");
    assert.ok(c.positive > 0 && c.positive < c.budgets.length);
    // A stops at KL 2, B starts at 5: no common KL range, so neither is credited ("n/a", said so).
    const disjoint = compareFrontiers(frontier("a", 0, [1, 2]), frontier("b", 0, [5, 6]));
    assert.deepEqual([disjoint.lo, disjoint.hi, disjoint.verdict], [5, 2, "n/a"]);
    assert.match(describeComparison(disjoint), /no common KL range/);
    assert.equal(compareFrontiers(frontier("b", 0, [5, 6]), frontier("a", 0, [1, 2])).verdict, "n/a");
    assert.equal(compareFrontiers([], frontier("b", 0, [5, 6])).verdict, "n/a");
    assert.match(describeComparison(compareFrontiers([], frontier("b", 0, [5, 6]))), /has no points/);
  });
  test("dominance needs every training seed: pooled 'yes', but one seed behind makes it 'partly'", () => {
    // Pooled, A is 0.3 above B everywhere (significant). Seed by seed: seeds 0 and 1 have A 0.4 ahead,
    // seed 2 has A 0.05 behind; the pooled CI (over prompts) cannot see that.
    const a = frontier("a", 0.3, [1, 2, 4, 8]);
    const b = frontier("b", 0, [1, 2, 4, 8]);
    const seedsOk: Array<[FrontierPoint[], FrontierPoint[]]> = [0.4, 0.4, 0.1].map((d) => [
      frontier("a", d, [1, 2, 4, 8]),
      b,
    ]);
    const ok = compareFrontiers(a, b, "dominates", 25, seedsOk);
    assert.equal(ok.verdict, "yes");
    assert.equal(ok.seedDiffs.length, 3);
    const seedsMixed: Array<[FrontierPoint[], FrontierPoint[]]> = [0.4, 0.4, -0.05].map((d) => [
      frontier("a", d, [1, 2, 4, 8]),
      b,
    ]);
    const mixed = compareFrontiers(a, b, "dominates", 25, seedsMixed);
    assert.equal(mixed.verdict, "partly");
    assert.ok(Math.abs(mixed.seedDiffs[2] + 0.05) < 1e-9, String(mixed.seedDiffs));
    assert.match(describeComparison(mixed), /ahead in 2\/3 seeds/);
  });
  test("'at least': equal frontiers pass, a significantly lower one fails", () => {
    const a = frontier("a", 0, [1, 2, 4]);
    assert.equal(compareFrontiers(a, frontier("b", 0, [1, 2, 4]), "atLeast").verdict, "yes");
    assert.equal(compareFrontiers(a, frontier("b", 0.1, [1, 2, 4]), "atLeast").verdict, "no");
    // Without per-prompt data the difference's CI comes from the two points' half-widths.
    const u = [pt("u", 1, 0.5, { rewardHalfWidth: 0.01 }), pt("u", 3, 0.6, { rewardHalfWidth: 0.01 })];
    const v = [pt("v", 1, 0.4, { rewardHalfWidth: 0.01 }), pt("v", 3, 0.5, { rewardHalfWidth: 0.01 })];
    assert.equal(compareFrontiers(u, v).verdict, "yes");
  });
  test("aggregation over seeds: per-prompt means, then a prompt-clustered CI", () => {
    const rows = [
      { method: "dpo", knob: 0.1, step: 10, seed: 0, perPromptReward: [0.2, 0.4], perPromptKl: [1, 3] },
      { method: "dpo", knob: 0.1, step: 10, seed: 1, perPromptReward: [0.4, 0.6], perPromptKl: [3, 5] },
      { method: "dpo", knob: 0.1, step: 20, seed: 0, perPromptReward: [0.5, 0.5], perPromptKl: [2, 2] },
    ];
    const pts = aggregateCheckpoints(rows);
    assert.equal(pts.length, 2);
    assert.deepEqual(
      pts[0].perPromptReward!.map((x) => +x.toFixed(12)),
      [0.3, 0.5],
    );
    assert.ok(Math.abs(pts[0].reward - 0.4) < 1e-12 && Math.abs(pts[0].kl - 3) < 1e-12);
    assert.equal(pts[0].seeds, 2);
    assert.throws(
      () => aggregateCheckpoints([...rows, { ...rows[0], seed: 2, perPromptReward: [1] }]),
      /has 1 prompts, expected 2/,
    );
  });
});

describe("Best-of-N", () => {
  test("hand selections: disjoint blocks, ties keep the earliest", () => {
    assert.deepEqual(bestOfNIndices([0.1, 0.9, 0.5, 0.2, 0.3, 0.3, 0.1, 0], 4), [1, 4]);
    assert.deepEqual(bestOfNIndices([3, 1, 2], 1), [0, 1, 2]);
    assert.throws(() => bestOfNIndices([1, 2, 3], 2), /do not split into blocks of 2/);
    const r = bestOfNForPrompt([0, 1, 5, 2], [10, 20, 30, 40], 2, [[1, 2, 3, 4]]);
    assert.deepEqual(r.selected, [1, 2]);
    assert.equal(r.reward, 25);
    assert.deepEqual(r.extras, [2.5]);
    assert.deepEqual(bestOfNGrid(64), [1, 4, 16, 64]);
  });
  test("analytic KL log N − (N−1)/N", () => {
    assert.equal(bestOfNKl(1), 0);
    assert.ok(Math.abs(bestOfNKl(4) - (Math.log(4) - 0.75)) < 1e-15);
    assert.throws(() => bestOfNKl(0), /positive integer/);
  });
  test("selecting by the measured reward itself raises it with N (expected max of N uniforms = N/(N+1))", () => {
    const rng = new Rng(3);
    const xs = Array.from({ length: 64 * 400 }, () => rng.uniform());
    for (const n of [1, 4, 16]) {
      const r = bestOfNForPrompt(xs, xs, n).reward;
      assert.ok(Math.abs(r - n / (n + 1)) < 0.02, `N=${n}: ${r}`);
    }
  });
});

describe("PPO with a batched reward and adaptive KL", () => {
  test("adaptive KL controller: clipped proportional error, hand values", () => {
    assert.ok(Math.abs(adaptiveKlUpdate(0.1, 12, 6, 64, 100) - 0.1 * (1 + 0.2 * 0.64)) < 1e-15);
    assert.ok(Math.abs(adaptiveKlUpdate(0.1, 3, 6, 64, 100) - 0.1 * (1 - 0.2 * 0.64)) < 1e-15);
    assert.ok(Math.abs(adaptiveKlUpdate(0.1, 6.6, 6, 10, 100) - 0.1 * (1 + 0.1 * 0.1)) < 1e-15);
    assert.throws(() => adaptiveKlUpdate(0.1, 1, 0, 1, 1), /targetKl must be > 0/);
  });
});

// ---- a tiny synthetic context: generated reviews, AFINN as "ground truth", VADER-free RM stand-in ----
function tinyContext(): Fig2Context {
  const preset = {
    ...lmPreset("quick"),
    corpusSize: 300,
    model: { contextLength: 20, dModel: 16, nHeads: 2, nLayers: 1 },
    sft: { steps: 20, batchSize: 16, learningRate: 3e-3 },
    maxVocab: 300,
    evaluation: { prompts: 4, samplesPerPrompt: 2 },
  };
  const setup = setupCorpus(generateReviewCorpus(preset.corpusSize, 0), preset);
  const { model } = trainReference(setup, preset, false);
  const gt = (ps: readonly string[], cs: readonly string[]) => ps.map((p, i) => (afinnSentiment(p, cs[i]) + 1) / 2);
  const data = generateRlaifData(
    model,
    setup.tokenizer,
    setup.trainPrompts.slice(0, 24),
    [{ name: "gt", text: "", weight: 1, judge: (p, c) => gt([p], [c])[0] }],
    { k: 4, maxNewTokens: 8, seed: 1 },
  );
  return {
    tokenizer: setup.tokenizer,
    reference: model,
    trainPrompts: setup.trainPrompts,
    evalPrompts: setup.evalPrompts,
    data,
    groundTruth: gt,
    learnedReward: (ps, cs) => gt(ps, cs).map((x) => 4 * x - 2),
  };
}

const tinySettings = (method: Fig2RunSettings["method"], knob: number, seed = 0): Fig2RunSettings => ({
  method,
  knob,
  seed,
  offline: { epochs: 1, units: 16, batchSize: 4, learningRate: 1e-2, cdpoEpsilon: 0.1 },
  ppo: { iterations: 2, batchSize: 4, miniBatchSize: 2, ppoEpochs: 2, learningRate: 1e-2, initialBeta: 0.1 },
  rloo: { iterations: 2, promptsPerIteration: 2, k: 2, learningRate: 1e-2, initialBeta: 0.05, klHorizon: 10 },
  bestOfN: { samplesPerPrompt: 16 },
  checkpoints: 2,
  evaluation: { prompts: 4, samplesPerPrompt: 2, maxNewTokens: 6 },
});

describe("Figure-2 runs on a tiny synthetic context", () => {
  let ctx: Fig2Context;
  before(() => {
    ctx = tinyContext();
  });

  test("checkpoint steps: evenly spaced, the last included, no repeats", () => {
    assert.deepEqual(checkpointSteps(64, 3), [21, 43, 64]);
    assert.deepEqual(checkpointSteps(18, 3), [6, 12, 18]);
    assert.deepEqual(checkpointSteps(2, 4), [1, 2]);
    assert.throws(() => checkpointSteps(10, 0), /checkpoints must be/);
  });

  test("sft: one step-0 row; the reference has KL 0 to itself", () => {
    const [row] = runFig2(ctx, tinySettings("sft", 0));
    assert.equal(row.step, 0);
    assert.equal(row.kl, 0);
    assert.equal(row.perPromptReward.length, 4);
    assert.ok(row.reward >= 0 && row.reward <= 1);
    assert.ok(row.vader >= 0 && row.vader <= 1);
  });

  for (const [method, knob] of [
    ["dpo", 0.1],
    ["cdpo", 0.1],
    ["ipo", 0.5],
    ["kto", 0.1],
    ["listwise", 0.1],
    ["preferred-ft", 0],
    ["unlikelihood", 1],
    ["ppo", 2],
    ["ppo-gt", 2],
    ["rloo", 2],
    ["rloo-gt", 2],
  ] as const) {
    test(`${method}: rows at the checkpoint steps, finite, no tensor leaks, deterministic`, () => {
      const before = tf.memory().numTensors;
      const settings = tinySettings(method, knob);
      // As the sweep kind does: the run sees a seeded subset of `units` training units of each kind.
      const runCtx = { ...ctx, data: runData(ctx.data, settings.offline.units, 0) };
      const rows = runFig2(runCtx, settings);
      assert.equal(tf.memory().numTensors, before, "tensors leaked");
      assert.deepEqual(
        rows.map((r) => r.step),
        method.startsWith("ppo") || method.startsWith("rloo")
          ? [1, 2]
          : checkpointSteps(offlineSteps(settings, runCtx.data), 2),
      );
      for (const r of rows)
        for (const k of ["reward", "kl", "vader", "rm"] as const) assert.ok(Number.isFinite(r[k]), `${k} = ${r[k]}`);
      const again = runFig2(runCtx, settings);
      assert.deepEqual(
        again.map((r) => [r.reward, r.kl]),
        rows.map((r) => [r.reward, r.kl]),
      );
    });
  }

  test("best-of-n: one row per N per selector, analytic KL, GT selection is never worse on average", () => {
    const rows = runFig2(ctx, tinySettings("best-of-n", 16));
    assert.deepEqual(
      rows.map((r) => `${r.method}:${r.knob}`),
      ["best-of-n:1", "best-of-n:4", "best-of-n:16", "best-of-n-gt:1", "best-of-n-gt:4", "best-of-n-gt:16"],
    );
    assert.equal(rows[2].kl, bestOfNKl(16));
    // N = 1 is the same draws for both selectors; with GT selection reward rises with N.
    assert.equal(rows[0].reward, rows[3].reward);
    assert.ok(rows[5].reward >= rows[4].reward - 1e-12 && rows[4].reward >= rows[3].reward - 1e-12);
  });

  test("RLOO takes a batched reward; a wrong-length reward is refused", () => {
    const policy: Transformer = ctx.reference.clone();
    try {
      const r = trainRloo(policy, ctx.reference, ctx.tokenizer, ctx.trainPrompts, ctx.groundTruth, {
        beta: 0.05,
        targetKl: 1,
        klHorizon: 4,
        iterations: 2,
        promptsPerIteration: 2,
        k: 2,
        maxNewTokens: 6,
        verbose: false,
      });
      assert.equal(r.logs[0]["objective/kl_coef"], 0.05);
      // KL starts at ≈ 0 < target 1: the controller lowers β by the clipped error 0.2 · n/H = 0.2 · 4/4.
      assert.ok(Math.abs(r.logs[1]["objective/kl_coef"] - 0.05 * 0.8) < 1e-12, `${r.logs[1]["objective/kl_coef"]}`);
      assert.throws(
        () =>
          trainRloo(policy, ctx.reference, ctx.tokenizer, ctx.trainPrompts, () => [1], {
            beta: 0.05,
            iterations: 1,
            promptsPerIteration: 2,
            k: 2,
            maxNewTokens: 4,
            verbose: false,
          }),
        /returned 1 scores for 4 samples/,
      );
    } finally {
      policy.dispose();
    }
  });

  test("Preferred-FT (sft) and Unlikelihood through the LM trainer: first-step losses by hand, chosen log-prob rises", () => {
    const pair = ctx.data.pairs[0];
    const one = { ...ctx.data, pairs: [pair] };
    const [lw, ll] = sequenceLogps(ctx.reference, [pair.chosenSeq, pair.rejectedSeq]);
    const lenW = pair.chosenSeq.completion.length + (pair.chosenSeq.ended ? 1 : 0);
    const tokenTerm = tokenUnlikelihood(ctx.reference, pair.rejectedSeq);
    const sequenceTerm = Math.log(-Math.expm1(ll));
    assert.ok(tokenTerm < sequenceTerm - 1e-3, `token-level term ${tokenTerm} vs the sequence-level ${sequenceTerm}`);
    for (const [method, lossOptions, expected] of [
      ["sft", {}, -lw / lenW],
      // Token-level unlikelihood (Welleck et al. Eq. 4): Σ_t log(1 − π(y_l,t)) over the rejected completion's
      // scored tokens, not log(1 − π(y_l)) of the whole sequence (whose gradient vanishes at π(y_l) ≈ e^{ll}).
      ["unlikelihood", { unlikelihoodAlpha: 0.5 }, -lw - 0.5 * tokenUnlikelihood(ctx.reference, pair.rejectedSeq)],
    ] as const) {
      const policy = ctx.reference.clone();
      const before = tf.memory().numTensors;
      const r = trainPreference(policy, ctx.reference, one, {
        method,
        steps: 5,
        batchSize: 1,
        learningRate: 1e-2,
        lossOptions,
        logEvery: 1,
        verbose: false,
      });
      assert.equal(tf.memory().numTensors, before, `${method}: tensors leaked`);
      assert.ok(
        Math.abs(r.logs[0].loss - expected) < 1e-4 * Math.max(1, Math.abs(expected)),
        `${method}: first loss ${r.logs[0].loss}, by hand ${expected}`,
      );
      assert.ok(
        r.logs[r.logs.length - 1]["logps/chosen"] > r.logs[0]["logps/chosen"],
        `${method}: log π(y_w) ${r.logs[0]["logps/chosen"]} → ${r.logs[r.logs.length - 1]["logps/chosen"]}`,
      );
      policy.dispose();
    }
  });

  test("offline steps: ceil(epochs · units / batch), each method counting its own units", () => {
    const data = {
      ...ctx.data,
      pairs: ctx.data.pairs.slice(0, 10),
      unpaired: ctx.data.unpaired.slice(0, 6),
      rankings: ctx.data.rankings.slice(0, 3),
    };
    const at = (method: Fig2RunSettings["method"], epochs: number, batchSize: number) =>
      offlineSteps({ method, offline: { epochs, units: 0, batchSize, learningRate: 1, cdpoEpsilon: 0 } }, data);
    assert.equal(data.pairs.length, 10);
    assert.equal(at("dpo", 2, 4), 5); // 20 pair draws in batches of 4
    assert.equal(at("dpo", 3, 4), 8); // 30 / 4 = 7.5, rounded up
    assert.equal(at("kto", 2, 4), Math.ceil((2 * data.unpaired.length) / 4));
    assert.equal(at("listwise", 1, 2), Math.ceil(data.rankings.length / 2));
    assert.equal(offlineUnits("ipo", data), 10);
    assert.throws(
      () =>
        offlineSteps(
          { method: "dpo", offline: { epochs: 1, units: 0, batchSize: 4, learningRate: 1, cdpoEpsilon: 0 } },
          { ...data, pairs: [] },
        ),
      /no training units/,
    );
  });

  test("run data: a seeded subset of at most `units` of each kind", () => {
    const d = runData(ctx.data, 5, 0);
    assert.equal(d.pairs.length, Math.min(5, ctx.data.pairs.length));
    assert.deepEqual(
      runData(ctx.data, 5, 0).pairs.map((p) => p.chosen),
      d.pairs.map((p) => p.chosen),
    );
    assert.equal(new Set(subset([1, 2, 3, 4], 10, new Rng(1))).size, 4);
    assert.ok(vader01("great", "") > 0.5 && vader01("awful", "") < 0.5);
  });
});

describe("the fig2 sweep kind", () => {
  const resolve = (config: JsonObject): JsonObject => fig2Kind.resolve(config, inlineComplainer("fig2.yaml"));
  test("resolve fills every setting from the preset and is idempotent", () => {
    const r = resolve({ preset: "full", method: "dpo", knob: 0.1 });
    assert.equal((r.offline as JsonObject).epochs, FIG2_RUN_PRESETS.full.offline.epochs);
    assert.equal((r.offline as JsonObject).units, 0); // the full run trains on all the pairs
    assert.ok(FIG2_RUN_PRESETS.full.offline.epochs >= 2 && FIG2_RUN_PRESETS.full.checkpoints >= 8);
    assert.equal(r.checkpoints, FIG2_RUN_PRESETS.full.checkpoints);
    assert.equal((r.offline as JsonObject).learningRate, FIG2_RUN_PRESETS.full.offline.learningRate);
    assert.equal(canonicalJson(resolve(r)), canonicalJson(r));
    assert.equal(resolve({ preset: "ci", method: "sft" }).knob, 0);
    // Unlikelihood's runs name their (token-level) form, so ids from the old sequence-level form differ.
    const ul = resolve({ preset: "ci", method: "unlikelihood", knob: 1 });
    assert.equal(ul.unlikelihoodTerm, "token-level");
    assert.equal(canonicalJson(resolve(ul)), canonicalJson(ul));
    assert.equal(resolve({ preset: "ci", method: "dpo", knob: 1 }).unlikelihoodTerm, undefined);
  });
  const bad: Array<[JsonObject, RegExp]> = [
    [{ method: "dpo", knob: 0.1 }, /preset: must be one of full, ci/],
    [{ preset: "ci", method: "rlhf", knob: 1 }, /method: must be one of/],
    [{ preset: "ci", method: "dpo" }, /knob: required/],
    [{ preset: "ci", method: "dpo", knob: 0 }, /knob \(β, τ or target KL\) must be > 0/],
    [{ preset: "ci", method: "preferred-ft", knob: 1 }, /preferred-ft has no knob/],
    [{ preset: "ci", method: "best-of-n", knob: 8 }, /power of 4/],
    [{ preset: "ci", method: "dpo", knob: 1, unlikelihoodTerm: "token-level" }, /unlikelihoodTerm/],
    [{ preset: "ci", method: "unlikelihood", knob: 1, unlikelihoodTerm: "sequence" }, /unlikelihoodTerm/],
    [{ preset: "ci", method: "best-of-n", knob: 64 }, /samplesPerPrompt: must be a multiple of N = 64/],
    [{ preset: "ci", method: "ppo", knob: 3, offline: { epochs: 5 } }, /offline: only the offline methods/],
    [{ preset: "ci", method: "dpo", knob: 1, offline: { epochs: 0 } }, /offline\.epochs: must be >= 1/],
    [{ preset: "ci", method: "dpo", knob: 1, ppo: { iterations: 9 } }, /ppo: only ppo and ppo-gt/],
    [{ preset: "ci", method: "dpo", knob: 1, offline: { cdpoEpsilon: 0.2 } }, /only cdpo uses cdpoEpsilon/],
    [{ preset: "ci", method: "dpo", knob: 1, offline: { stpes: 5 } }, /offline\.stpes: unknown field/],
    [{ preset: "ci", method: "dpo", knob: 1, evaluation: { prompts: 1 } }, /evaluation\.prompts: must be >= 2/],
  ];
  for (const [config, expected] of bad) {
    test(`refuses ${JSON.stringify(config)}`, () => {
      assert.throws(
        () => resolve(config),
        (e: unknown) => e instanceof SweepConfigError && expected.test(e.message),
      );
    });
  }
});

// The CI preset, twice, against the committed results: needs rt-polarity or the cached shared stages.
const ciAvailable =
  locateDataFile("rt-polarity/rt-polarity.pos") !== null || fs.existsSync(fig2CacheDir(FIG2_DATA_PRESETS.ci, 0));
describe(
  "the CI preset",
  { skip: ciAvailable ? false : "needs rt-polarity (npm run data -- fetch rt-polarity)" },
  () => {
    test("is deterministic and reproduces data/fig2/dpo-fig2-ci.json", async () => {
      const committed = readFig2Results("data/fig2/dpo-fig2-ci.json");
      const runs = [];
      for (let i = 0; i < 2; i++) {
        const out = fs.mkdtempSync(path.join(os.tmpdir(), "fig2-ci-"));
        try {
          runs.push(await reproduceFig2({ sweep: "ci", workers: 0, out, resultsFile: null, quiet: true }));
          if (i === 0) {
            // Re-summarising what is stored keeps the run's wall time; it does not put its own in its place.
            const target = path.join(out, "committed.json");
            fs.writeFileSync(target, JSON.stringify({ ...runs[0], seconds: { ...runs[0].seconds, wall: 12345 } }));
            const again = await reproduceFig2({
              sweep: "ci",
              out,
              summariseOnly: true,
              resultsFile: target,
              quiet: true,
            });
            assert.deepEqual([again.seconds.wall, again.seconds.source], [12345, "kept"]);
            assert.deepEqual(again.rows, runs[0].rows);
            assert.equal(readFig2Results(target).seconds.wall, 12345);
            // A results file of other runs (another run count) is not kept from: the runs' span, shared unknown.
            fs.writeFileSync(
              target,
              JSON.stringify({ ...runs[0], completedRuns: 1, seconds: { ...runs[0].seconds, wall: 12345 } }),
            );
            const span = await reproduceFig2({
              sweep: "ci",
              out,
              summariseOnly: true,
              resultsFile: target,
              quiet: true,
            });
            assert.deepEqual(
              [span.seconds.source, span.seconds.shared, span.seconds.wall],
              ["span", null, span.seconds.runsSpan],
            );
          }
        } finally {
          fs.rmSync(out, { recursive: true, force: true });
        }
      }
      assert.deepEqual(runs[1].rows, runs[0].rows, "two runs of the CI preset differ");
      assert.equal(
        runs[0].sweep.sha256,
        committed.sweep.sha256,
        "the CI sweep file changed since the committed results: re-create them with npm run fig2 -- ci",
      );
      assert.deepEqual(runs[0].rows, committed.rows);
      assert.deepEqual(runs[0].verdicts, committed.verdicts);
    });
  },
);

describe("verdict reasons come from the counts that grade them", () => {
  test("no budget significantly below and a negative mean: 'no detectable difference', never 'significantly below'", async () => {
    const { atLeastWhy } = await import("../src/fig2/summary");
    const c = {
      verdict: "partly" as const,
      lo: 1,
      hi: 2,
      budgets: [1, 2],
      diffs: [
        { mean: -0.01, halfWidth: 0.05 },
        { mean: -0.002, halfWidth: 0.05 },
      ],
      positive: 0,
      significant: 0,
      significantlyNegative: 0,
      meanDiff: -0.006,
    };
    const text = atLeastWhy("IPO", "DPO")(c as never);
    assert.match(text, /never significantly below DPO/);
    assert.match(text, /no detectable difference/);
    assert.doesNotMatch(text, /is significantly below/);
    const worse = atLeastWhy("KTO", "DPO")({ ...c, verdict: "no", significantlyNegative: 2 } as never);
    assert.equal(worse, "KTO is significantly below DPO at 2 of 2 matched KL budgets");
  });
});

/** Σ_t log(1 − π(y_t | x, y_<t)) over a sequence's scored completion tokens, in float64 from the model's log-probs. */
function tokenUnlikelihood(model: Transformer, seq: Sequence): number {
  const packed = packSequences([seq], model.config.contextLength);
  const [lp, mask] = tf.tidy(() => [modelTokenLogProbs(model, packed.ids).arraySync(), packed.mask.arraySync()]);
  tf.dispose([packed.ids, packed.mask]);
  let total = 0;
  (lp as number[][])[0].forEach((x, t) => {
    if ((mask as number[][])[0][t] > 0) total += Math.log(-Math.expm1(x));
  });
  return total;
}
