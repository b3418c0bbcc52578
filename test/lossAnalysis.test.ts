// The loss zoo's analysis tools (src/lossAnalysis): gradient weights vs hand-derived values and finite
// differences, population optima vs closed forms, the tabular trainer vs the bandit trainer.
import { describe, test } from "node:test";
import * as assert from "node:assert/strict";
import * as la from "../src/lossAnalysis/index";
import { trainBandit } from "../src/bandit/trainer";
import { ipoTotalOrderDataset, ipoNeverWinsDataset, type PairDataset } from "../src/bandit/datasets";
import { meanTotalVariation, optimalPolicyTable, uniformPolicy } from "../src/bandit/tabular";
import { listLossTypes } from "../src/losses/registry";
import { pairLossAt } from "../src/losses/preferenceLoss";

const sig = (x: number) => 1 / (1 + Math.exp(-x));
const close = (a: number, b: number, tol: number, what: string) =>
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b} (tol ${tol})`);
const HS = [-6, -2.5, -0.3, 0, 0.7, 3, 8];
const REWARDS = [
  [1.15, -1.15, 0.26, -1.07],
  [0.77, -0.04, 0.78, -1.05],
];
const REF = uniformPolicy(2, 4);

describe("marginWeights", () => {
  test("DPO: both weights are βσ(−βh) (DPO paper §4), hand values at h = 0: β/2", () => {
    const w = la.marginWeights({ lossType: "sigmoid", options: { beta: 0.5 } }, HS);
    HS.forEach((h, i) => {
      close(w.chosen[i], 0.5 * sig(-0.5 * h), 1e-14, `w_w at ${h}`);
      close(w.rejected[i], 0.5 * sig(-0.5 * h), 1e-14, `w_l at ${h}`);
      close(w.loss[i], -Math.log(sig(0.5 * h)), 1e-12, `loss at ${h}`);
    });
    assert.equal(w.chosen[HS.indexOf(0)], 0.25);
  });
  test("IPO pulls linearly towards h = 1/(2τ) and back beyond it; naive pushes with β at every margin", () => {
    const ipo = la.marginWeights({ lossType: "ipo", options: { beta: 0.25 } }, HS);
    HS.forEach((h, i) => close(ipo.chosen[i], 2 * (2 - h), 1e-12, `ipo at ${h}`));
    const naive = la.marginWeights({ lossType: "naive", options: { beta: 0.3 } }, HS);
    assert.deepEqual(
      naive.chosen,
      HS.map(() => 0.3),
    );
    assert.deepEqual(
      naive.rejected,
      HS.map(() => 0.3),
    );
  });
  test("sft pushes only the chosen response, with weight 1; unlikelihood's rejected weight is π/(1−π) = e^{−h}", () => {
    const sft = la.marginWeights({ lossType: "sft" }, HS);
    assert.deepEqual(
      sft.chosen,
      HS.map(() => 1),
    );
    assert.deepEqual(
      sft.rejected,
      HS.map(() => 0),
    );
    const ul = la.marginWeights({ lossType: "unlikelihood" }, HS);
    HS.forEach((h, i) => close(ul.rejected[i], Math.exp(-h), 1e-9 * Math.exp(-h), `unlikelihood at ${h}`));
  });
  test("KTO on split pairs with z0 = 0 is APO-zero, weight for weight", () => {
    const a = la.marginWeights({ lossType: "apo_zero", options: { beta: 0.7 } }, HS);
    const k = la.marginWeights({ lossType: "kto", options: { beta: 0.7 } }, HS);
    HS.forEach((_, i) => {
      close(a.loss[i], k.loss[i], 1e-14, "loss");
      close(a.chosen[i], k.chosen[i], 1e-14, "w_w");
      close(a.rejected[i], k.rejected[i], 1e-14, "w_l");
    });
  });
  test("every zoo member's twin derivative agrees with finite differences (a wrong derivative would err by O(1))", () => {
    const hs = Array.from({ length: 41 }, (_, i) => -10 + i * 0.5 + 0.01);
    for (const m of la.lossZoo(0.5)) {
      const err = la.maxWeightError(la.marginWeights(m, hs), la.finiteDifferenceWeights(m, hs));
      assert.ok(err < 1e-4, `${m.label}: ${err}`);
    }
  });
  test("maxWeightError sees a wrong derivative", () => {
    const w = la.marginWeights({ lossType: "sigmoid", options: { beta: 0.5 } }, HS);
    const bad = { ...w, chosen: w.chosen.map((v) => 2 * v) };
    assert.ok(la.maxWeightError(bad, w) > 0.1);
  });
});

describe("lossZoo", () => {
  test("one member per registered pair loss (dpo aside), plus cDPO, robust with ε, three f-divergences, KTO and naive; labels unique", () => {
    const zoo = la.lossZoo(0.5);
    const names = new Set(zoo.map((m) => m.lossType));
    for (const info of listLossTypes({ data: "pairs" }))
      if (info.name !== "dpo") assert.ok(names.has(info.name), info.name);
    assert.equal(new Set(zoo.map((m) => m.label)).size, zoo.length);
    assert.ok(zoo.some((m) => m.label === "robust ε=0.1" && m.options.labelSmoothing === 0.1));
    assert.equal(zoo.filter((m) => m.options.fDivergence !== undefined).length, 3);
  });
});

describe("population optima", () => {
  test("btPopulation: weights sum to 1 per population, each unordered pair split p : 1 − p, flips move p to ε + (1 − 2ε)p", () => {
    const pop = la.btPopulation(REWARDS, REF, 0.2);
    close(
      pop.pairs.weight.reduce((s, w) => s + w, 0),
      1,
      1e-12,
      "total",
    );
    const p = sig(1.15 - -1.15);
    close(pop.pairs.weight[0], (1 / 6 / 2) * (0.2 + 0.6 * p), 1e-15, "first ordered pair");
    close(pop.pairs.weight[1], (1 / 6 / 2) * (1 - 0.2 - 0.6 * p), 1e-15, "its reverse");
    assert.throws(() => la.btPopulation(REWARDS, REF, 0.5), /flip/);
  });
  test("DPO's population minimiser is π* (DPO paper Eq. 4); the same for sigmoid_norm on one-token responses", () => {
    const pop = la.btPopulation(REWARDS, REF);
    const star = optimalPolicyTable(REWARDS, REF, 0.5);
    for (const lossType of ["sigmoid", "sigmoid_norm"]) {
      const o = la.minimisePopulation({ lossType, options: { beta: 0.5 } }, pop, REF);
      assert.equal(o.status, "minimiser");
      assert.ok(meanTotalVariation(o.policy, star) < 1e-8, lossType);
    }
  });
  test("IPO: minimiser = normal equations = π_ref·exp(p(y≻μ)/τ)/Z, and it is not π*", () => {
    const pop = la.btPopulation(REWARDS, REF);
    const o = la.minimisePopulation({ lossType: "ipo", options: { beta: 0.5 } }, pop, REF);
    const closed = la.ipoPopulationOptimum(pop, REF, 0.5);
    assert.ok(meanTotalVariation(o.policy, closed) < 1e-8);
    assert.ok(meanTotalVariation(closed, la.ipoPreferenceOptimum(REWARDS, REF, 0.5)) < 1e-12);
    assert.ok(meanTotalVariation(closed, optimalPolicyTable(REWARDS, REF, 0.5)) > 0.1);
  });
  test("fDivergenceOptimum: reverse KL is π*; forward KL and JS match the numerical minimisers", () => {
    const pop = la.btPopulation(REWARDS, REF);
    assert.ok(
      meanTotalVariation(
        la.fDivergenceOptimum(REWARDS, REF, 0.5, "reverse_kl"),
        optimalPolicyTable(REWARDS, REF, 0.5),
      ) < 1e-10,
    );
    for (const f of ["forward_kl", "js_divergence"] as const) {
      const o = la.minimisePopulation({ lossType: "sigmoid", options: { beta: 0.5, fDivergence: f } }, pop, REF);
      assert.ok(meanTotalVariation(o.policy, la.fDivergenceOptimum(REWARDS, REF, 0.5, f)) < 1e-6, f);
    }
  });
  test("robust DPO with ε on labels flipped at ε finds π*; Preferred-FT finds the winners' frequencies", () => {
    const noisy = la.btPopulation(REWARDS, REF, 0.25);
    const o = la.minimisePopulation({ lossType: "robust", options: { beta: 0.5, labelSmoothing: 0.25 } }, noisy, REF);
    assert.ok(meanTotalVariation(o.policy, optimalPolicyTable(REWARDS, REF, 0.5)) < 1e-7);
    const sft = la.minimisePopulation({ lossType: "sft" }, noisy, REF);
    assert.ok(meanTotalVariation(sft.policy, la.winnerFrequencies(noisy)) < 1e-8);
  });
  test("two responses: numerical margins equal twoResponseOptimalMargin; robust with ε ≥ 1 − p goes to the boundary", () => {
    for (const p of [0.6, 0.8]) {
      const two = la.btPopulation([[Math.log(p / (1 - p)), 0]], [[0.5, 0.5]]);
      for (const [lossType, eps] of [
        ["sigmoid", 0],
        ["sigmoid", 0.1],
        ["robust", 0.1],
        ["exo_pair", 0.01],
        ["ipo", 0],
      ] as const) {
        const options = lossType === "ipo" ? { beta: 0.5 } : { beta: 0.5, labelSmoothing: eps };
        const o = la.minimisePopulation({ lossType, options }, two, [[0.5, 0.5]]);
        close(
          Math.log(o.policy[0][0] / o.policy[0][1]),
          la.twoResponseOptimalMargin(lossType, p, 0.5, eps),
          1e-6,
          `${lossType} ε=${eps} p=${p}`,
        );
      }
    }
    const edge = la.btPopulation([[Math.log(9), 0]], [[0.5, 0.5]]);
    assert.equal(la.twoResponseOptimalMargin("robust", 0.9, 0.5, 0.1), Infinity);
    assert.equal(
      la.minimisePopulation({ lossType: "robust", options: { beta: 0.5, labelSmoothing: 0.1 } }, edge, [[0.5, 0.5]])
        .status,
      "to the boundary",
    );
    assert.throws(() => la.twoResponseOptimalMargin("discopop", 0.7, 0.5), /no closed form/);
  });
  test("the naive objective has no minimiser; AOT has no weighted form", () => {
    const pop = la.btPopulation(REWARDS, REF);
    assert.equal(
      la.minimisePopulation({ lossType: "naive", options: { beta: 0.5 } }, pop, REF).status,
      "to the boundary",
    );
    assert.throws(
      () => la.minimisePopulation({ lossType: "aot", options: { beta: 0.5 } }, pop, REF),
      /sorts the batch/,
    );
  });
});

describe("trainTabular", () => {
  test("takes exactly the bandit trainer's steps for a registered loss (same minibatches, same Adam)", () => {
    const data = ipoTotalOrderDataset();
    for (const lossType of ["sigmoid", "bco_pair", "ipo"]) {
      const ours = la.trainTabular({
        objective: { lossType, options: { beta: 0.5 } },
        dataset: data,
        ref: uniformPolicy(1, 3),
        steps: 200,
        batchSize: 4,
        lr: 0.05,
        seed: 3,
      });
      const theirs = trainBandit({
        method: lossType,
        lossOptions: { beta: 0.5 },
        dataset: data,
        steps: 200,
        batchSize: 4,
        learningRate: 0.05,
        seeds: [3],
      });
      ours.policy[0].forEach((p, y) => close(p, theirs.finalPolicies[0][0][y], 1e-12, `${lossType} π(${y})`));
    }
  });
  test("same config, same numbers; the naive objective collapses onto the response with the most net wins (a in D1)", () => {
    const c = {
      objective: { lossType: "naive", options: { beta: 0.5 } },
      dataset: ipoTotalOrderDataset(),
      ref: uniformPolicy(1, 3),
      steps: 800,
      batchSize: 4,
      lr: 0.05,
      seed: 1,
    };
    const a = la.trainTabular(c);
    assert.deepEqual(a.policy, la.trainTabular(c).policy);
    assert.ok(a.policy[0][0] > 0.99 && a.policy[0][2] < 1e-6, `π = ${a.policy[0]}`);
  });
  test("flipLabels: rate 0 keeps every label, rate 1 swaps every label, a seed gives the same flips", () => {
    const d: PairDataset = ipoNeverWinsDataset();
    assert.deepEqual(la.flipLabels(d, 0, 5).pairs, d.pairs);
    assert.deepEqual(
      la.flipLabels(d, 1, 5).pairs,
      d.pairs.map((p) => ({ prompt: p.prompt, chosen: p.rejected, rejected: p.chosen })),
    );
    assert.deepEqual(la.flipLabels(d, 0.5, 9).pairs, la.flipLabels(d, 0.5, 9).pairs);
    assert.throws(() => la.flipLabels(d, 1.5, 0), /rate/);
  });
});

describe("dpoWeightShares", () => {
  test("hand example: one pair ordered by h = log 4, one mis-ordered by h = −log 4", () => {
    const data: PairDataset = {
      kind: "pairs",
      nPrompts: 1,
      nResponses: 2,
      pairs: [
        { prompt: 0, chosen: 0, rejected: 1 },
        { prompt: 0, chosen: 1, rejected: 0 },
      ],
    };
    const s = la.dpoWeightShares([[0.8, 0.2]], [[0.5, 0.5]], data, 1);
    // h = log(0.8/0.2) = log 4: weights σ(−log 4) = 1/5 and σ(log 4) = 4/5.
    close(s.meanWeightOrdered, 0.2, 1e-12, "ordered");
    close(s.meanWeightMisordered, 0.8, 1e-12, "mis-ordered");
    assert.equal(s.countShare, 0.5);
    close(s.weightShare, 0.8, 1e-12, "share");
  });
});

describe("agreement with the registry's pairLossAt", () => {
  test("marginWeights equals pairLossAt's derivatives at the two-response points, for every pair loss without batch state", () => {
    for (const m of la.lossZoo(0.5).filter((z) => !["kto", "naive", "bco_pair"].includes(z.lossType))) {
      const w = la.marginWeights(m, HS);
      HS.forEach((h, i) => {
        const p = la.twoResponsePoint(h);
        const at = pairLossAt(m.lossType, m.options, {
          policyChosen: p.logp[0],
          policyRejected: p.logp[1],
          refChosen: p.logRef[0],
          refRejected: p.logRef[1],
        });
        close(w.loss[i], at.loss, 1e-12, `${m.label} loss at ${h}`);
        close(w.chosen[i], -at.dChosen, 1e-12, `${m.label} w_w at ${h}`);
        close(w.rejected[i], at.dRejected, 1e-12, `${m.label} w_l at ${h}`);
      });
    }
  });
});
