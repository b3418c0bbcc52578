// The reward–KL frontier's reading rules (src/lm/frontier.ts): flagged samples (log π/π_ref > 10 nats), the
// reward without them, and the exclusion of a point whose flagged share exceeds the threshold from "best"
// and from dominance, so a verdict cannot be won by a reward-hacked policy. Hand-built points, no model.
import { describe, test } from "node:test";
import * as assert from "node:assert/strict";
import {
  MAX_FLAGGED_SHARE,
  OFF_SUPPORT_LOG_RATIO,
  bestTrustedPoint,
  flaggedShare,
  frontierDominates,
  isTrusted,
  rewardWithoutFlagged,
  type FrontierSampledPoint,
} from "../src/lm/frontier";

/** A point from [reward, logRatio] samples; its reward and KL are the sample means. */
function point(method: string, beta: number, samples: Array<[number, number]>): FrontierSampledPoint {
  const s = samples.map(([reward, logRatio]) => ({ reward, logRatio }));
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  return { method, beta, reward: mean(s.map((x) => x.reward)), kl: mean(s.map((x) => x.logRatio)), samples: s };
}

// 4 samples each: "hacked" has 3 of 4 (75 %) above 10 nats, a high reward and a large KL.
const hacked = point("ipo", 0.2, [
  [2, 30],
  [2, 40],
  [2, 50],
  [1.8, 1],
]);
const honest = point("dpo", 0.2, [
  [1, 2],
  [0.8, 3],
  [0.7, 11],
  [1.2, 12],
]); // 2 of 4 flagged: exactly 50 %
const ppo = point("rloo", 0.2, [
  [0.9, 1],
  [0.9, 1],
  [0.9, 1],
  [0.9, 1],
]);

describe("lm frontier: flagged samples", () => {
  test("flagged share and the reward without flagged samples, by hand", () => {
    assert.equal(OFF_SUPPORT_LOG_RATIO, 10);
    assert.equal(flaggedShare(hacked), 0.75);
    assert.equal(flaggedShare(honest), 0.5);
    assert.equal(rewardWithoutFlagged(hacked), 1.8);
    assert.ok(Math.abs(rewardWithoutFlagged(honest) - 0.9) < 1e-12); // (1 + 0.8) / 2
    // A log-ratio exactly at the limit is not flagged (strictly greater).
    assert.equal(
      flaggedShare(
        point("x", 1, [
          [0, 10],
          [0, 10.000001],
        ]),
      ),
      0.5,
    );
    assert.ok(Number.isNaN(rewardWithoutFlagged(point("x", 1, [[1, 11]]))));
  });
  test("bad input is refused with the point and field named", () => {
    assert.throws(() => flaggedShare(point("dpo", 0.1, [])), /flaggedShare: point dpo β=0.1 has no samples/);
    assert.throws(() => flaggedShare(point("dpo", 0.1, [[1, NaN]])), /samples\[0\] has a non-finite/);
    assert.throws(() => isTrusted(honest, { maxShare: 1.5 }), /options.maxShare must be in \[0, 1\], got 1.5/);
    assert.throws(() => isTrusted(honest, { maxShare: NaN }), /options.maxShare/);
  });
});

describe("lm frontier: a point whose flagged share exceeds the threshold is excluded", () => {
  test("the threshold is 50 %: at it a point is kept, above it excluded", () => {
    assert.equal(MAX_FLAGGED_SHARE, 0.5);
    assert.equal(isTrusted(honest), true);
    assert.equal(isTrusted(hacked), false);
    assert.equal(isTrusted(hacked, { maxShare: 0.75 }), true);
  });
  test("excluded from best: the highest-reward point is not picked when it is flagged", () => {
    assert.ok(hacked.reward > honest.reward);
    assert.equal(bestTrustedPoint([ppo, hacked, honest]), honest);
    assert.equal(bestTrustedPoint([hacked]), undefined);
    assert.equal(bestTrustedPoint([ppo, hacked, honest], { maxShare: 1 }), hacked);
  });
  test("excluded from dominance, on both sides", () => {
    // With the hacked IPO point, IPO would "dominate" nothing it should: its only trusted point is gone.
    const ipoLow = point("ipo", 1, [
      [0.5, 1],
      [0.5, 1],
      [0.5, 1],
      [0.5, 1],
    ]);
    assert.equal(frontierDominates([ipoLow, hacked], [honest]), false);
    // On the dominated side: a hacked DPO point need not be matched, so RLOO dominates the rest of DPO.
    const dpoLow = point("dpo", 1, [
      [0.8, 0.5],
      [0.8, 0.5],
      [0.8, 0.5],
      [0.8, 0.5],
    ]);
    const dpoHacked = point("dpo", 0.05, [
      [3, 30],
      [3, 30],
      [3, 30],
      [0, 0],
    ]);
    const rloo = [
      point("rloo", 1, [
        [0.85, 0.4],
        [0.85, 0.4],
        [0.85, 0.4],
        [0.85, 0.4],
      ]),
    ];
    assert.equal(frontierDominates(rloo, [dpoLow, dpoHacked]), true);
    assert.equal(frontierDominates(rloo, [dpoLow, dpoHacked], { maxShare: 1 }), false);
    // Nothing trusted on either side: no dominance claimed.
    assert.equal(frontierDominates(rloo, [dpoHacked]), false);
    assert.equal(frontierDominates([dpoHacked], rloo), false);
  });
});
