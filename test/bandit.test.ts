// The bandit track's reproduced facts (IPO §5.3.1 and §5.4, DPO = π*, policy gradient → π*), the Float64
// loss gradients against finite differences, and the closed-form optima against hand derivations.
import { describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { Rng } from "../src/random";
import { ipoNeverWinsDataset, ipoTotalOrderDataset, pairsToRankings, twoActionDataset } from "../src/bandit/datasets";
import {
  getLoss,
  resolveLossOptions,
  type PairLossEntry,
  type RankingLossEntry,
  type UnpairedLossEntry,
} from "../src/losses/index";
import { ipoEmpiricalOptimum, ipoTwoActionOptimum, solveLinear } from "../src/bandit/optima";
import { klObjectiveTable, trainPolicyGradient } from "../src/bandit/policyGradient";
import { sampleBanditPairs, sampleBanditRankings } from "../src/bandit/sampling";
import { maxAbsDifference, meanPolicy, optimalPolicyTable, softmaxRow, uniformPolicy } from "../src/bandit/index";
import { trainBandit } from "../src/bandit/trainer";

const SEEDS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
const PAPER = { steps: 18000, batchSize: 9, learningRate: 0.01, seeds: SEEDS }; // Azar et al. 2023 §5.4
const REWARDS = [
  [1, 0, -1, 0.5],
  [0, 2, 0, -1],
  [0.3, 0.2, 0.1, 0],
];

function close(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} vs ${expected} (tol ${tol})`);
}

describe("the losses' float64 twins the js engine uses (src/losses/entries)", () => {
  const pair = (type: string, o: Record<string, unknown>, h: number) =>
    (getLoss(type) as PairLossEntry).twin(
      {
        policyChosen: Float64Array.of(h),
        policyRejected: Float64Array.of(0),
        refChosen: Float64Array.of(0),
        refRejected: Float64Array.of(0),
        chosenLengths: Float64Array.of(1),
        rejectedLengths: Float64Array.of(1),
      },
      resolveLossOptions(type, o),
    );
  const kto = (h: number, desirable: boolean, z0: number, o: Record<string, unknown>) =>
    (getLoss("kto") as UnpairedLossEntry).twin(
      { policy: Float64Array.of(h), ref: Float64Array.of(0), desirable: [desirable], z0 },
      resolveLossOptions("kto", o),
    );
  const listwise = (u: number[], beta: number) =>
    (getLoss("listwise") as RankingLossEntry).twin(
      { policy: Float64Array.from(u), ref: new Float64Array(u.length), n: u.length },
      resolveLossOptions("listwise", { beta }),
    );
  test("hand values: DPO at h=0 is log 2 with slope −β/2; IPO at its target is 0; KTO at h=z0 is λ/2", () => {
    close(pair("dpo", { beta: 1 }, 0).losses[0], Math.LN2, 1e-12, "−log σ(0)");
    close(pair("dpo", { beta: 1 }, 0).dChosen[0], -0.5, 1e-12, "slope −β/2");
    close(pair("ipo", { beta: 0.25 }, 2).losses[0], 0, 1e-12, "IPO at h = 1/(2τ)");
    close(pair("ipo", { beta: 0.25 }, 2).dChosen[0], 0, 1e-12, "IPO slope at its target");
    close(kto(0.3, true, 0.3, { beta: 2, desirableWeight: 4 }).losses[0], 2, 1e-12, "λ_D(1 − σ(0))");
  });
  test("KTO and listwise twins match central differences; listwise at N = 2 equals pairwise DPO", () => {
    const fd = (f: (h: number) => number, h: number) => (f(h + 1e-5) - f(h - 1e-5)) / 2e-5;
    for (const h of [-3, -0.4, 0, 0.7, 5]) {
      for (const des of [true, false]) {
        const o = { beta: 0.7, desirableWeight: 1.3, undesirableWeight: 0.8 };
        close(
          kto(h, des, 0.2, o).dPolicy[0],
          fd((v) => kto(v, des, 0.2, o).losses[0], h),
          1e-6,
          `kto ${des} at ${h}`,
        );
      }
    }
    const u = [0.3, -1.2, 0.8, 0.1];
    const g = listwise(u, 0.7).dPolicy;
    for (let j = 0; j < 4; j++)
      close(
        g[j],
        fd(
          (d) =>
            listwise(
              u.map((v, i) => (i === j ? v + d : v)),
              0.7,
            ).losses[0],
          0,
        ),
        1e-6,
        `d/du_${j}`,
      );
    close(listwise([0.4, -0.5], 1.3).losses[0], pair("dpo", { beta: 1.3 }, 0.9).losses[0], 1e-12, "N=2 loss");
    close(listwise([0.4, -0.5], 1.3).dPolicy[0], pair("dpo", { beta: 1.3 }, 0.9).dChosen[0], 1e-12, "N=2 slope");
  });
});

describe("closed-form optima", () => {
  test("IPO on D1 = softmax(2/(3τ), 1/(3τ), 0); on the never-wins set = softmax(1/(2τ), 1/(2τ), 0)", () => {
    for (const tau of [0.1, 0.5, 1, 3]) {
      const d1 = ipoEmpiricalOptimum(ipoTotalOrderDataset(), tau, uniformPolicy(1, 3))[0];
      softmaxRow([2 / (3 * tau), 1 / (3 * tau), 0]).forEach((p, y) => close(d1[y], p, 1e-12, `D1 τ=${tau} y=${y}`));
      const nw = ipoEmpiricalOptimum(ipoNeverWinsDataset(), tau, uniformPolicy(1, 3))[0];
      softmaxRow([1 / (2 * tau), 1 / (2 * tau), 0]).forEach((p, y) =>
        close(nw[y], p, 1e-12, `never-wins τ=${tau} y=${y}`),
      );
    }
  });
  test("two actions: σ(0.5/τ); the empirical optimum agrees", () => {
    close(ipoTwoActionOptimum(0.5), 1 / (1 + Math.exp(-1)), 1e-15, "σ(1)");
    close(
      ipoEmpiricalOptimum(twoActionDataset(), 0.2, uniformPolicy(1, 2))[0][0],
      ipoTwoActionOptimum(0.2),
      1e-12,
      "τ=0.2",
    );
  });
  test("solveLinear solves a 3×3 system and reports singular ones", () => {
    const x = solveLinear(
      [
        [2, 1, 0],
        [1, 3, 1],
        [0, 1, 4],
      ],
      [3, 7, 13],
    )!;
    [1, 1, 3].forEach((v, i) => close(x[i], v, 1e-12, `x${i}`));
    assert.equal(
      solveLinear(
        [
          [1, 2],
          [2, 4],
        ],
        [1, 2],
      ),
      null,
    );
  });
  test("π* maximises J: the objective at π* beats nearby policies and equals β·mean log Z", () => {
    const ref = uniformPolicy(3, 4);
    const star = optimalPolicyTable(REWARDS, ref, 0.5);
    const jStar = klObjectiveTable(star, REWARDS, ref, 0.5);
    const logZ = REWARDS.map((row) => Math.log(row.reduce((s, r) => s + 0.25 * Math.exp(r / 0.5), 0)));
    close(jStar, (0.5 * logZ.reduce((a, b) => a + b, 0)) / 3, 1e-12, "J(π*) = β E log Z");
    const rng = new Rng(3);
    for (let i = 0; i < 20; i++) {
      const other = star.map((row) => softmaxRow(row.map((p) => Math.log(p) + 0.1 * rng.normal())));
      assert.ok(klObjectiveTable(other, REWARDS, ref, 0.5) < jStar);
    }
  });
});

describe("IPO paper reproductions (Azar et al. 2023)", () => {
  test("§5.3.1: IPO's policy reaches σ(0.5/τ); DPO's goes to 1 for every τ", () => {
    for (const tau of [0.1, 0.5, 1, 5]) {
      const ipo = trainBandit({
        method: "ipo",
        lossOptions: { beta: tau },
        dataset: twoActionDataset(),
        steps: 3000,
        batchSize: 1,
        learningRate: 0.01,
        seeds: [0],
      });
      close(ipo.finalPolicies[0][0][0], ipoTwoActionOptimum(tau), 1e-4, `IPO π(y1), τ=${tau}`);
      // DPO's loss −log σ(τh) only vanishes as h → ∞: π(y1) keeps rising (slowest for large τ).
      const dpo = trainBandit({
        method: "dpo",
        lossOptions: { beta: tau },
        dataset: twoActionDataset(),
        steps: 18000,
        batchSize: 1,
        learningRate: 0.01,
        seeds: [0],
        recordEvery: 3000,
      });
      const path = dpo.curves.policies.map((p) => p[0][0][0]);
      assert.ok(
        path.every((v, i) => i === 0 || v >= path[i - 1]),
        `DPO π(y1) not increasing at τ=${tau}: ${path}`,
      );
      assert.ok(path[path.length - 1] > 0.95, `DPO π(y1) = ${path[path.length - 1]} at τ=${tau}`);
    }
  });
  for (const [name, dataset] of [
    ["D1", ipoTotalOrderDataset()],
    ["never-wins", ipoNeverWinsDataset()],
  ] as const) {
    test(`§5.4 ${name}: IPO's 10-seed mean reaches its derived optimum (paper setup: Adam 0.01, batch 9, 18k steps)`, () => {
      for (const tau of [0.1, 0.5, 1]) {
        const r = trainBandit({ method: "ipo", lossOptions: { beta: tau }, dataset, ...PAPER });
        const target = ipoEmpiricalOptimum(dataset, tau, uniformPolicy(1, 3));
        const diff = maxAbsDifference(meanPolicy(r.finalPolicies), target);
        assert.ok(diff < 0.02, `τ=${tau}: |mean π − optimum| = ${diff}`);
      }
    });
  }
  test("§5.4: DPO puts > 0.95 of the mass on a on D1 and sends the never-winning c to ~0, for every τ and seed", () => {
    for (const tau of [0.1, 0.5, 1, 2]) {
      const d1 = trainBandit({ method: "dpo", lossOptions: { beta: tau }, dataset: ipoTotalOrderDataset(), ...PAPER });
      for (const p of d1.finalPolicies) assert.ok(p[0][0] > 0.95, `D1 τ=${tau}: π(a) = ${p[0][0]}`);
      const nw = trainBandit({ method: "dpo", lossOptions: { beta: tau }, dataset: ipoNeverWinsDataset(), ...PAPER });
      for (const p of nw.finalPolicies) assert.ok(p[0][2] < 0.01, `never-wins τ=${tau}: π(c) = ${p[0][2]}`);
    }
  });
});

describe("DPO recovers π* = π_ref exp(r/β)/Z (Rafailov et al. 2023)", () => {
  const ref = uniformPolicy(3, 4);
  const beta = 0.5;
  const star = optimalPolicyTable(REWARDS, ref, beta);
  test("pairwise DPO on 20,000 Bradley–Terry pairs matches π* within 0.03", () => {
    const data = sampleBanditPairs(REWARDS, 20000, { rng: new Rng(11) });
    const r = trainBandit({
      method: "dpo",
      lossOptions: { beta },
      dataset: data,
      steps: 400,
      batchSize: 1,
      fullBatch: true,
      learningRate: 0.05,
      seeds: [0],
    });
    const diff = maxAbsDifference(r.finalPolicies[0], star);
    assert.ok(diff < 0.03, `max |π_DPO − π*| = ${diff}`);
  });
  test("listwise DPO on 5,000 Plackett–Luce rankings matches π* within 0.03; on 2-rankings it equals pairwise DPO", () => {
    const data = sampleBanditRankings(REWARDS, 5000, { rng: new Rng(12) });
    const r = trainBandit({
      method: "listwise",
      lossOptions: { beta },
      dataset: data,
      steps: 400,
      batchSize: 1,
      fullBatch: true,
      learningRate: 0.05,
      seeds: [0],
    });
    const diff = maxAbsDifference(r.finalPolicies[0], star);
    assert.ok(diff < 0.03, `max |π_listwise − π*| = ${diff}`);
    const pairs = sampleBanditPairs(REWARDS, 50, { rng: new Rng(13) });
    const cfg = { lossOptions: { beta }, steps: 50, batchSize: 4, learningRate: 0.05, seeds: [1, 2] };
    const a = trainBandit({ method: "dpo", dataset: pairs, ...cfg });
    const b = trainBandit({ method: "listwise", dataset: pairsToRankings(pairs), ...cfg });
    a.finalPolicies.forEach((p, s) => assert.ok(maxAbsDifference(p, b.finalPolicies[s]) < 1e-12));
  });
});

describe("policy gradient converges to π*", () => {
  const ref = uniformPolicy(3, 4);
  for (const algorithm of ["reinforce", "ppo"] as const) {
    test(`${algorithm} with a KL-shaped reward reaches π_ref exp(r/β)/Z (β = 0.5, 2 seeds)`, () => {
      const r = trainPolicyGradient({
        algorithm,
        rewards: REWARDS,
        beta: 0.5,
        steps: 1500,
        samplesPerPrompt: 32,
        learningRate: 0.05,
        seeds: [0, 1],
        learningRateSchedule: "linear",
      });
      const star = optimalPolicyTable(REWARDS, ref, 0.5);
      for (const p of r.finalPolicies) {
        const diff = maxAbsDifference(p, star);
        assert.ok(diff < 0.02, `max |π − π*| = ${diff}`);
      }
      const jEnd = r.curves.objective[r.curves.objective.length - 1][0];
      assert.ok(jEnd > r.curves.objective[0][0], "the objective improved");
    });
  }
});

describe("trainer contract", () => {
  test("same config → identical numbers; different seeds → different minibatches", () => {
    const cfg = {
      method: "ipo" as const,
      lossOptions: { beta: 0.5 },
      dataset: ipoTotalOrderDataset(),
      steps: 300,
      batchSize: 9,
      learningRate: 0.01,
      seeds: [4, 5],
    };
    const a = trainBandit(cfg);
    const b = trainBandit(cfg);
    assert.deepEqual(a.finalPolicies, b.finalPolicies);
    assert.notDeepEqual(a.finalPolicies[0], a.finalPolicies[1]);
    assert.equal(a.curves.steps[0], 0);
    assert.equal(a.curves.steps[a.curves.steps.length - 1], 300);
    assert.equal(a.curves.policies[0].length, 2);
  });
  test("bad configs fail with a message naming the field", () => {
    const base = {
      method: "dpo" as const,
      lossOptions: { beta: 0.5 },
      dataset: ipoTotalOrderDataset(),
      steps: 10,
      batchSize: 2,
      learningRate: 0.01,
      seeds: [0],
    };
    assert.throws(() => trainBandit({ ...base, method: "kto" }), /needs a "unpaired" dataset/);
    assert.throws(() => trainBandit({ ...base, steps: 0 }), /steps must be a positive integer/);
    assert.throws(() => trainBandit({ ...base, lossOptions: { beta: 0 } }), /beta must be > 0/);
    assert.throws(() => trainBandit({ ...base, refPolicy: uniformPolicy(1, 2) }), /refPolicy must be \[1\]\[3\]/);
  });
});
