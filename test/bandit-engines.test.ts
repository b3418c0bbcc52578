// The fast Float64 "js" engine of trainBandit against the "tfjs" engine (the core library's losses under tf
// autodiff with tf.train.adam on one [S, K, M] variable): same seeds, same minibatches, same policies.
import { before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend";
import { Rng } from "../src/random";
import {
  maxAbsDifference,
  pairsToUnpaired,
  sampleBanditPairs,
  sampleBanditRankings,
  trainBandit,
  ktoClassWeights,
  countDesirable,
  type BanditDataset,
  type BanditMethod,
  type BanditLossOptions,
} from "../src/bandit/index";

before(async () => {
  await initBackend();
});

const REWARDS = [
  [1, 0, -1, 0.5],
  [0, 2, 0, -1],
];
const pairs = sampleBanditPairs(REWARDS, 40, { rng: new Rng(1) });
const unpaired = pairsToUnpaired(pairs, { keepDesirable: 0.5, rng: new Rng(2) });
const rankings = sampleBanditRankings(REWARDS, 30, { rng: new Rng(3) });
const CASES: Array<[BanditMethod, BanditDataset, BanditLossOptions]> = [
  ["dpo", pairs, { beta: 0.5 }],
  ["dpo", pairs, { beta: 1, labelSmoothing: 0.1 }],
  ["dpo", pairs, { beta: 1, labelSmoothing: 0.1, variant: "robust" }],
  ["dpo", pairs, { beta: 2, variant: "hinge" }],
  ["ipo", pairs, { beta: 0.3 }],
  ["kto", unpaired, { beta: 0.5, ...ktoClassWeights(countDesirable(unpaired)) }],
  ["listwise", rankings, { beta: 0.7 }],
  // Registry losses beyond the original four: batch-coupled (aot, bco_pair's running mean, sft's token
  // mean), f-divergences, policy-only (simpo, orpo, unlikelihood).
  ["sigmoid", pairs, { beta: 0.5, fDivergence: "js_divergence" }],
  ["aot", pairs, { beta: 0.5 }],
  ["bco_pair", pairs, { beta: 0.5 }],
  ["apo_down", pairs, { beta: 0.5 }],
  ["simpo", pairs, { beta: 2, simpoGamma: 0.5 }],
  ["orpo", pairs, { beta: 0.5 }],
  ["unlikelihood", pairs, { unlikelihoodAlpha: 0.5 }],
];

describe("js engine = tfjs engine (core losses + autodiff + tf.train.adam)", () => {
  for (const [method, dataset, lossOptions] of CASES) {
    test(`${method} ${JSON.stringify(lossOptions)}`, () => {
      const cfg = {
        method,
        dataset,
        lossOptions,
        steps: 60,
        batchSize: 5,
        learningRate: 0.05,
        seeds: [0, 1, 2],
        recordEvery: 20,
      };
      const js = trainBandit(cfg);
      const before = tf.memory().numTensors;
      const tfr = trainBandit({ ...cfg, engine: "tfjs" });
      // tf.train.adam itself keeps one tensor after dispose() (tfjs 4.22); nothing may grow with the steps.
      assert.ok(
        tf.memory().numTensors - before <= 1,
        `the tfjs engine leaked ${tf.memory().numTensors - before} tensors`,
      );
      assert.equal(tfr.engine, "tfjs");
      assert.deepEqual(tfr.curves.steps, js.curves.steps);
      // hinge: float32 vs float64 can land on different sides of the kink at βh = 1 near convergence.
      const tol = lossOptions.variant === "hinge" ? 5e-3 : 2e-4;
      js.finalPolicies.forEach((p, s) => {
        const diff = maxAbsDifference(p, tfr.finalPolicies[s]);
        assert.ok(diff < tol, `seed ${s}: max |π_js − π_tfjs| = ${diff}`);
      });
      js.curves.losses.forEach((row, t) =>
        row.forEach((l, s) =>
          assert.ok(
            Math.abs(l - tfr.curves.losses[t][s]) < 5 * tol * Math.max(1, Math.abs(l)),
            `loss t=${t} s=${s}: ${l} vs ${tfr.curves.losses[t][s]}`,
          ),
        ),
      );
      assert.notDeepEqual(js.finalPolicies[0], js.finalPolicies[1], "seeds draw different minibatches");
    });
  }
});
