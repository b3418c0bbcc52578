// The KL-regularised objective: the closed-form optimum beats every perturbation, the implied reward inverts
// it, DPO's population minimiser on a Bradley–Terry bandit IS that optimum, and the synthetic samplers
// match their distributions.
import { before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend";
import { expectedReward, impliedReward, kl, klRegularisedObjective, klRegularisedOptimum } from "../src/klObjective";
import { dpoLoss } from "../src/losses/dpo";
import {
  bradleyTerryProbability,
  sampleBradleyTerryPairs,
  samplePlackettLuceRanking,
  sampleBradleyTerryPromptPairs,
} from "../src/synthetic";
import { Rng } from "../src/random";

const R = [1, 0.5, -0.2, 0.3];
const REF = [0.1, 0.2, 0.3, 0.4];
const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>) =>
  Math.max(...Array.from(a, (x, i) => Math.abs(x - b[i])));
const softmax = (l: number[]) => {
  const m = Math.max(...l);
  const e = l.map((v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
};

before(async () => {
  await initBackend();
});

describe("KL-regularised objective (Rafailov et al. 2023, Eq. 3-5)", () => {
  test("hand-computed expected reward and KL", () => {
    assert.equal(expectedReward([0.5, 0.5], [1, 3]), 2);
    const want = 0.5 * Math.log(2) + 0.5 * Math.log(2 / 3); // KL([½, ½] ‖ [¼, ¾]) = 0.143841
    assert.ok(Math.abs(kl([0.5, 0.5], [0.25, 0.75]) - want) < 1e-15);
    assert.ok(Math.abs(want - 0.143841) < 1e-6);
    assert.equal(kl([1, 0], [0.5, 0.5]), Math.log(2), "0 log 0 = 0");
    assert.ok(Math.abs(klRegularisedObjective([0.5, 0.5], [1, 3], [0.25, 0.75], 2) - (2 - 2 * want)) < 1e-15);
  });

  test("the optimum beats 2000 random perturbations, and J(π*) = β log Z", () => {
    const rng = new Rng(1);
    for (const beta of [0.1, 0.5, 2]) {
      const { policy, logZ } = klRegularisedOptimum(R, REF, beta);
      assert.ok(Math.abs(policy.reduce((a, b) => a + b, 0) - 1) < 1e-12);
      const best = klRegularisedObjective(policy, R, REF, beta);
      assert.ok(Math.abs(best - beta * logZ) < 1e-12, "J(π*) = β log Z");
      for (let k = 0; k < 2000; k++) {
        const scale = [1e-3, 0.1, 3][k % 3];
        const other = softmax(policy.map((p) => Math.log(p) + scale * rng.normal()));
        assert.ok(klRegularisedObjective(other, R, REF, beta) < best, `β=${beta}: perturbation ${other} beats π*`);
      }
    }
  });

  test("impliedReward inverts the optimum: β log(π*/π_ref) + β log Z = r", () => {
    const { policy, logZ } = klRegularisedOptimum(R, REF, 0.3);
    assert.ok(maxAbsDiff(impliedReward(policy, REF, 0.3, logZ), R) < 1e-12);
    const shifted = impliedReward(policy, REF, 0.3);
    assert.ok(
      maxAbsDiff(
        shifted.map((v) => v + 0.3 * logZ),
        R,
      ) < 1e-12,
      "without logZ: r − β log Z",
    );
  });

  test("tensor forms (responses on the last axis) agree with the array forms, with finite gradients at π = 0", () => {
    const r2 = [R, R.map((v) => -2 * v)];
    const t = tf.tidy(() => {
      const r = tf.tensor2d(r2);
      const ref = tf.tensor2d([REF, REF]);
      const opt = klRegularisedOptimum(r, ref, 0.5);
      return {
        policy: Array.from(opt.policy.dataSync()),
        logZ: Array.from(opt.logZ.dataSync()),
        j: Array.from(klRegularisedObjective(opt.policy, r, ref, 0.5).dataSync()),
        implied: Array.from(impliedReward(opt.policy, ref, 0.5, opt.logZ).dataSync()),
      };
    });
    r2.forEach((r, s) => {
      const a = klRegularisedOptimum(r, REF, 0.5);
      assert.ok(maxAbsDiff(t.policy.slice(4 * s, 4 * s + 4), a.policy) < 1e-6);
      assert.ok(Math.abs(t.logZ[s] - a.logZ) < 1e-5);
      assert.ok(Math.abs(t.j[s] - klRegularisedObjective(a.policy, r, REF, 0.5)) < 1e-5);
      assert.ok(maxAbsDiff(t.implied.slice(4 * s, 4 * s + 4), r) < 1e-4);
    });
    const g = tf.tidy(() =>
      Array.from(
        tf
          .grad((p: tf.Tensor) => kl(p, tf.tensor1d(REF)))(tf.tensor1d([0, 0.5, 0.5, 0]))
          .dataSync(),
      ),
    );
    assert.ok(g.every(Number.isFinite), `KL gradient at π = 0: ${g}`);
  });
});

describe("DPO's population minimiser on a Bradley–Terry bandit is klRegularisedOptimum(r, π_ref, β)", () => {
  // One prompt, 4 responses, every ordered pair (i, j) weighted by P(i ≻ j) = σ((r_i − r_j)/T). Setting the
  // derivative of E[−log σ(β h)] to zero gives σ(β h_ij) = P(i ≻ j), i.e. β log π/π_ref = r/T + const, so
  // the minimiser is π*(r/T) (T = 1: the usual statement).
  const pairs: Array<[number, number]> = [];
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) if (i !== j) pairs.push([i, j]);
  const expectedLoss = (logits: tf.Tensor, beta: number, temperature: number): tf.Scalar =>
    tf.tidy(() => {
      const logp = tf.logSoftmax(logits);
      const logRef = tf.log(tf.tensor1d(REF));
      const wi = tf.tensor1d(
        pairs.map(([i]) => i),
        "int32",
      );
      const li = tf.tensor1d(
        pairs.map(([, j]) => j),
        "int32",
      );
      const p = tf.tensor1d(pairs.map(([i, j]) => bradleyTerryProbability(R[i], R[j], temperature)));
      const { losses } = dpoLoss(
        tf.gather(logp, wi),
        tf.gather(logp, li),
        tf.gather(logRef, wi),
        tf.gather(logRef, li),
        { beta },
      );
      return tf.sum(tf.mul(p, losses)) as tf.Scalar;
    });

  test("Adam on the exact expected loss converges to π* within 1e-3 (β = 0.5, T = 1)", () => {
    const beta = 0.5;
    const theta = tf.variable(tf.zeros([4]));
    const opt = tf.train.adam(0.05);
    for (let step = 0; step < 1500; step++) opt.minimize(() => expectedLoss(theta, beta, 1));
    const pi = tf.tidy(() => Array.from(tf.softmax(theta).dataSync()));
    opt.dispose();
    theta.dispose();
    const { policy } = klRegularisedOptimum(R, REF, beta);
    assert.ok(maxAbsDiff(pi, policy) < 1e-3, `trained ${pi} vs π* ${policy}`);
    assert.ok(maxAbsDiff(pi, REF) > 0.1, "the optimum is far from the reference, so the test can fail");
  });

  test("the expected-loss gradient vanishes at π*(r/T) and not at π*(r) when T ≠ 1", () => {
    const beta = 0.8;
    const temperature = 2;
    const gradAt = (policy: number[]) =>
      tf.tidy(() =>
        Array.from(
          tf
            .grad((l: tf.Tensor) => expectedLoss(l, beta, temperature))(tf.log(tf.tensor1d(policy)))
            .dataSync(),
        ),
      );
    const right = gradAt(
      klRegularisedOptimum(
        R.map((r) => r / temperature),
        REF,
        beta,
      ).policy,
    );
    const wrong = gradAt(klRegularisedOptimum(R, REF, beta).policy);
    assert.ok(Math.max(...right.map(Math.abs)) < 1e-5, `gradient at π*(r/T): ${right}`);
    assert.ok(Math.max(...wrong.map(Math.abs)) > 1e-2, `gradient at π*(r): ${wrong}`);
  });
});

describe("synthetic samplers", () => {
  test("BT pairs: uniform over distinct pairs, winners with P = σ((r_i − r_j)/T), seeded", () => {
    const rewards = [1, 0, -1];
    const n = 30000;
    const pairs = sampleBradleyTerryPairs(rewards, n, { temperature: 0.5, rng: new Rng(7) });
    assert.deepEqual(pairs.slice(0, 20), sampleBradleyTerryPairs(rewards, 20, { temperature: 0.5, rng: new Rng(7) }));
    assert.ok(pairs.every(([w, l]) => w !== l));
    const count = (a: number, b: number) =>
      pairs.filter(([w, l]) => (w === a && l === b) || (w === b && l === a)).length;
    const wins01 = pairs.filter(([w, l]) => w === 0 && l === 1).length;
    for (const [a, b] of [
      [0, 1],
      [0, 2],
      [1, 2],
    ]) {
      const c = count(a, b);
      assert.ok(Math.abs(c / n - 1 / 3) < 4 * Math.sqrt(((1 / 3) * (2 / 3)) / n), `pair {${a},${b}} drawn ${c} times`);
    }
    const p = 1 / (1 + Math.exp(-2)); // σ((1 − 0)/0.5)
    const c01 = count(0, 1);
    assert.ok(Math.abs(wins01 / c01 - p) < 4 * Math.sqrt((p * (1 - p)) / c01), `P(0 ≻ 1) ≈ ${wins01 / c01} vs ${p}`);
    const multi = sampleBradleyTerryPromptPairs([rewards, [0, 5]], 100, { rng: new Rng(2) });
    assert.ok(multi.every((q) => q.prompt === 0 || q.winner !== q.loser));
    assert.ok(multi.some((q) => q.prompt === 1) && multi.some((q) => q.prompt === 0));
  });

  test("PL rankings (Gumbel-max): first choice ∝ exp(r/T), second choice from the rest, seeded", () => {
    const rewards = [0.5, 0, -1, 1];
    const temperature = 0.7;
    const rng = new Rng(8);
    const n = 20000;
    const first = new Array(4).fill(0);
    let secondGivenFirst3 = 0;
    let first3 = 0;
    for (let k = 0; k < n; k++) {
      const r = samplePlackettLuceRanking(rewards, { temperature, rng });
      assert.equal(new Set(r).size, 4);
      first[r[0]]++;
      if (r[0] === 3) {
        first3++;
        if (r[1] === 0) secondGivenFirst3++;
      }
    }
    const p = softmax(rewards.map((v) => v / temperature));
    p.forEach((pi, i) =>
      assert.ok(
        Math.abs(first[i] / n - pi) < 4 * Math.sqrt((pi * (1 - pi)) / n),
        `first = ${i}: ${first[i] / n} vs ${pi}`,
      ),
    );
    const q = softmax([0.5, 0, -1].map((v) => v / temperature))[0];
    assert.ok(Math.abs(secondGivenFirst3 / first3 - q) < 4 * Math.sqrt((q * (1 - q)) / first3));
    assert.deepEqual(
      samplePlackettLuceRanking(rewards, { rng: new Rng(3), length: 2 }),
      samplePlackettLuceRanking(rewards, { rng: new Rng(3), length: 2 }),
    );
    assert.equal(samplePlackettLuceRanking(rewards, { rng: new Rng(3), length: 2 }).length, 2);
    assert.throws(() => samplePlackettLuceRanking([1, NaN], { rng: new Rng(1) }), /rewards\[1\]/);
  });
});
