// Per-prompt maximum-likelihood rewards (src/bandit/mleRewards.ts): closed forms on two responses, a
// vanishing likelihood gradient on rankings of three, the prompt named where no MLE exists, and the fact
// notebook 03 relies on: full-batch DPO on a tabular policy lands on π_ref·exp(r̂_BT/β)/Z.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { btRewardsPerPrompt, plRewardsPerPrompt } from "../src/bandit/mleRewards";
import type { BanditPair, PairDataset, RankingDataset } from "../src/bandit/datasets";
import { maxAbsDifference, optimalPolicyTable, uniformPolicy } from "../src/bandit/tabular";
import { trainBandit } from "../src/bandit/trainer";

const pairsOf = (K: number, M: number, pairs: Array<[number, number, number]>): PairDataset => ({
  kind: "pairs",
  nPrompts: K,
  nResponses: M,
  pairs: pairs.map(([prompt, chosen, rejected]): BanditPair => ({ prompt, chosen, rejected })),
});
const repeat = <T>(n: number, v: T): T[] => Array.from({ length: n }, () => v);

test("BT on two responses: r̂0 − r̂1 = log(wins0 / wins1) per prompt, centred", () => {
  // Prompt 0: y0 beats y1 3 times, loses once; prompt 1: 1 win to 2.
  const data = pairsOf(2, 2, [
    ...repeat(3, [0, 0, 1] as [number, number, number]),
    [0, 1, 0],
    [1, 0, 1],
    ...repeat(2, [1, 1, 0] as [number, number, number]),
  ]);
  const r = btRewardsPerPrompt(data);
  const want = [Math.log(3) / 2, Math.log(1 / 2) / 2];
  r.forEach((row, x) => {
    assert.ok(Math.abs(row[0] - want[x]) < 1e-8, `prompt ${x}: r̂0 = ${row[0]}, want ${want[x]}`);
    assert.ok(Math.abs(row[1] + want[x]) < 1e-8, `prompt ${x}: r̂1 = ${row[1]}, want ${-want[x]}`);
  });
});

test("no MLE on one prompt: the error names that prompt and the responses", () => {
  // Prompt 1: y0 never loses.
  const data = pairsOf(2, 2, [
    [0, 0, 1],
    [0, 1, 0],
    [1, 0, 1],
  ]);
  assert.throws(() => btRewardsPerPrompt(data), /btRewardsPerPrompt: prompt 1: .*does not exist.*never lose: 0/);
  const rk: RankingDataset = {
    kind: "rankings",
    nPrompts: 2,
    nResponses: 3,
    rankings: [
      { prompt: 0, order: [0, 1, 2] },
      { prompt: 0, order: [2, 1, 0] },
      { prompt: 1, order: [0, 1, 2] },
    ],
  };
  assert.throws(() => plRewardsPerPrompt(rk), /plRewardsPerPrompt: prompt 1: .*does not exist/);
});

test("PL on rankings of three: the log-likelihood's gradient vanishes at r̂ (central differences)", () => {
  const orders = [
    [0, 1, 2],
    [1, 0, 2],
    [2, 0, 1],
    [0, 2, 1],
    [1, 2, 0],
    [0, 1, 2],
  ];
  const rk: RankingDataset = {
    kind: "rankings",
    nPrompts: 1,
    nResponses: 3,
    rankings: orders.map((order) => ({ prompt: 0, order })),
  };
  const r = plRewardsPerPrompt(rk)[0];
  // log Π_k exp(r_{y_k}) / Σ_{j ≥ k} exp(r_{y_j}), summed over the rankings.
  const ll = (u: number[]) =>
    orders.reduce(
      (s, o) =>
        s + [0, 1].reduce((t, k) => t + u[o[k]] - Math.log(o.slice(k).reduce((a, y) => a + Math.exp(u[y]), 0)), 0),
      0,
    );
  const h = 1e-6;
  for (let i = 0; i < 3; i++) {
    const up = r.map((v, j) => (j === i ? v + h : v));
    const down = r.map((v, j) => (j === i ? v - h : v));
    const g = (ll(up) - ll(down)) / (2 * h);
    assert.ok(Math.abs(g) < 1e-6, `∂ log L / ∂r̂${i} = ${g}`);
  }
  // y0 wins most often, so it gets the largest reward (the gradient alone would pass a wrong stationary point).
  assert.ok(r[0] > r[1] && r[0] > r[2], `r̂ = ${r}`);
});

test("full-batch DPO on a tabular policy lands on π_ref·exp(r̂_BT/β)/Z (and not on π_ref)", () => {
  const data = pairsOf(2, 3, [
    [0, 0, 1],
    [0, 0, 1],
    [0, 1, 2],
    [0, 2, 0],
    [0, 0, 2],
    [1, 2, 1],
    [1, 1, 0],
    [1, 0, 2],
    [1, 2, 0],
  ]);
  const ref = [
    [0.5, 0.3, 0.2],
    [1 / 3, 1 / 3, 1 / 3],
  ];
  const beta = 0.5;
  const target = optimalPolicyTable(btRewardsPerPrompt(data), ref, beta);
  const res = trainBandit({
    method: "dpo",
    lossOptions: { beta },
    dataset: data,
    steps: 4000,
    batchSize: 1,
    fullBatch: true,
    learningRate: 0.02,
    seeds: [0],
    refPolicy: ref,
  });
  const gap = maxAbsDifference(res.finalPolicies[0], target);
  assert.ok(gap < 1e-4, `DPO ends ${gap} from π_ref·exp(r̂/β)/Z`);
  assert.ok(maxAbsDifference(target, ref) > 0.05, "the minimiser is not π_ref itself");
  assert.ok(maxAbsDifference(target, uniformPolicy(2, 3)) > 0.05, "nor uniform");
});
