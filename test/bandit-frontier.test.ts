// The reward–KL frontier and the matched-KL reading of reward–KL curves (src/bandit/frontier.ts), against
// hand-computed values: a two-response closed form, linear interpolation by hand, the frontier's
// monotonicity and concavity (notebook 02), and the edges (outside the range, greedy end, bad input).
import { describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { frontierRewardAt, klRewardFrontier, rewardAtKl } from "../src/bandit/frontier";
import { meanExpectedReward, meanKl, optimalPolicyTable, softmaxRow } from "../src/bandit/tabular";
import { Rng } from "../src/random";

const REWARDS = [
  [1, 0, -1, 0.5],
  [0, 2, 0, -1],
  [0.3, 0.2, 0.1, 0],
];
const REF = [
  [0.25, 0.25, 0.25, 0.25],
  [0.1, 0.2, 0.3, 0.4],
  [0.4, 0.3, 0.2, 0.1],
];

describe("klRewardFrontier", () => {
  test("two responses with rewards 1 and 0, uniform π_ref: π*(y1) = σ(1/β), E[r] = π*(y1), KL by hand", () => {
    for (const beta of [0.3, 1, 4]) {
      const p = 1 / (1 + Math.exp(-1 / beta));
      const kl = p * Math.log(2 * p) + (1 - p) * Math.log(2 * (1 - p));
      const [pt] = klRewardFrontier([[1, 0]], [[0.5, 0.5]], [beta]);
      assert.equal(pt.beta, beta);
      assert.ok(Math.abs(pt.reward - p) < 1e-15, `β ${beta}: reward ${pt.reward} vs ${p}`);
      assert.ok(Math.abs(pt.kl - kl) < 1e-15, `β ${beta}: KL ${pt.kl} vs ${kl}`);
    }
  });

  test("sorted by KL, and both KL and reward rise as β falls (notebook 02), whatever order β is given in", () => {
    const betas = [2, 0.05, 0.5, 0.1, 1, 0.2];
    const f = klRewardFrontier(REWARDS, REF, betas);
    assert.deepEqual(
      f.map((p) => p.beta),
      [2, 1, 0.5, 0.2, 0.1, 0.05],
    );
    f.forEach((p, i) => {
      if (i > 0) assert.ok(p.kl > f[i - 1].kl && p.reward > f[i - 1].reward, `point ${i}`);
    });
  });

  test("a bad β is named", () => {
    assert.throws(() => klRewardFrontier(REWARDS, REF, [0.5, 0]), /β must be finite and > 0, got 0/);
    assert.throws(() => klRewardFrontier(REWARDS, REF, [Infinity]), /got Infinity/);
    assert.throws(() => klRewardFrontier(REWARDS, REF, []), /no β values/);
  });
});

describe("rewardAtKl and frontierRewardAt", () => {
  const line = [
    { kl: 2, reward: 1 },
    { kl: 0, reward: 0 },
    { kl: 3, reward: 3 },
  ];

  test("linear interpolation between the two points around the KL, in any input order", () => {
    assert.equal(rewardAtKl(line, 0.5), 0.25);
    assert.equal(rewardAtKl(line, 2.5), 2);
    assert.equal(rewardAtKl(line, 0), 0);
    assert.equal(rewardAtKl(line, 2), 1);
    assert.equal(rewardAtKl(line, 3), 3);
    assert.equal(rewardAtKl([{ kl: 1, reward: 7 }], 1), 7);
  });

  test("NaN outside the curve's KL range (no extrapolation) and for a NaN KL", () => {
    assert.ok(Number.isNaN(rewardAtKl(line, -0.1)));
    assert.ok(Number.isNaN(rewardAtKl(line, 3.1)));
    assert.ok(Number.isNaN(rewardAtKl(line, NaN)));
  });

  test("bad curves are named", () => {
    assert.throws(() => rewardAtKl([], 1), /no points/);
    assert.throws(
      () =>
        rewardAtKl(
          [
            { kl: 0, reward: 0 },
            { kl: NaN, reward: 1 },
          ],
          0,
        ),
      /point 1 is not finite/,
    );
    assert.throws(() => frontierRewardAt([], 1), /no points/);
  });

  test("frontierRewardAt: the greedy end's reward beyond the largest KL, NaN below the smallest", () => {
    assert.equal(frontierRewardAt(line, 10), 3);
    assert.equal(frontierRewardAt(line, 0.5), 0.25);
    assert.ok(Number.isNaN(frontierRewardAt(line, -1)));
  });

  test("the frontier is concave in KL, so the interpolated curve is below π*_β and within 1e-3 of it", () => {
    const grid = Array.from({ length: 161 }, (_, i) => 10 ** (-2.5 + (5 * i) / 160));
    const f = klRewardFrontier(REWARDS, REF, grid);
    const rng = new Rng(5);
    for (let i = 0; i < 50; i++) {
      const beta = 10 ** (-2 + 3.5 * rng.uniform()); // off the grid
      const p = optimalPolicyTable(REWARDS, REF, beta);
      const exact = meanExpectedReward(p, REWARDS);
      const read = frontierRewardAt(f, meanKl(p, REF));
      assert.ok(read <= exact + 1e-12 && exact - read < 1e-3, `β ${beta}: read ${read}, exact ${exact}`);
    }
  });

  test("no random policy lies above the frontier (read at its KL)", () => {
    const grid = Array.from({ length: 161 }, (_, i) => 10 ** (-2.5 + (5 * i) / 160));
    const f = klRewardFrontier(REWARDS, REF, grid);
    const rng = new Rng(6);
    for (let i = 0; i < 200; i++) {
      const p = REF.map((row) => softmaxRow(row.map((q) => Math.log(q) + 2 * rng.normal())));
      const kl = meanKl(p, REF);
      if (kl < f[0].kl) continue;
      assert.ok(meanExpectedReward(p, REWARDS) < frontierRewardAt(f, kl), `policy ${i}`);
    }
  });
});
