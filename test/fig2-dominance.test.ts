// Union-range dominance (src/fig2/dominance.ts) on constructed frontiers: full dominance is yes, a corner
// that escapes makes it fail, a corner beyond the dominating method's KL range is "not covered" (never yes),
// one seed with an escaping corner spoils a pooled yes; each method's best point and convergence note.
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { compareFrontiers, type FrontierPoint } from "../src/fig2/envelope";
import { bestPoints, checkCorners, convergenceNote, dominanceOverUnion, describeUnion } from "../src/fig2/dominance";
import { summariseFig2 } from "../src/fig2/summary";
import type { CheckpointRow } from "../src/fig2/run";

// Per-prompt rewards with shared prompt-level noise, so paired differences have tight CIs.
const P = 20;
const noise = Array.from({ length: P }, (_, i) => Math.sin(i * 1.7) * 0.2);
const point = (method: string, kl: number, reward: number, step = 0, knob = 0): FrontierPoint => {
  const perPromptReward = noise.map((n) => reward + n);
  return {
    method,
    knob,
    step,
    kl,
    reward: perPromptReward.reduce((a, b) => a + b, 0) / P,
    perPromptReward,
  };
};
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const frontier = (method: string, corners: Array<[number, number]>) =>
  corners.map(([kl, r], i) => point(method, kl, r, i + 1));
const union = (a: FrontierPoint[], b: FrontierPoint[], seeds: Array<[FrontierPoint[], FrontierPoint[]]> = []) =>
  dominanceOverUnion(a, b, seeds, compareFrontiers(a, b, "dominates", 25, seeds));

describe("dominance over the union of the KL ranges", () => {
  const b = frontier("b", [
    [1, 0.5],
    [4, 0.6],
    [8, 0.7],
  ]);

  test("A above every corner of B, at lower or equal KL, in every seed: yes", () => {
    const a = frontier("a", [
      [0.5, 0.55],
      [3, 0.65],
      [7, 0.8],
      [9, 0.85],
    ]);
    const u = union(a, b, [
      [a, b],
      [a, b],
    ]);
    assert.equal(u.verdict, "yes", describeUnion(u));
    assert.deepEqual(
      u.corners.map((c) => c.status),
      ["dominated", "dominated", "dominated"],
    );
    assert.match(describeUnion(u), /3\/3 Pareto corners dominated/);
  });

  test("a corner of B that A misses inside A's KL range escapes: not yes", () => {
    // A is above B everywhere except around KL 4–7, where B's corner at (4, 0.6) beats A's best 0.52.
    const a = frontier("a", [
      [0.5, 0.52],
      [7, 0.8],
      [9, 0.85],
    ]);
    const u = union(a, b);
    assert.deepEqual(
      u.corners.map((c) => c.status),
      ["dominated", "escapes", "dominated"],
    );
    assert.notEqual(u.verdict, "yes");
    assert.notEqual(u.verdict, "not covered");
    assert.match(describeUnion(u), /1 escape \(at KL 4\.00: 0\.60\d vs 0\.52\d\)/);
  });

  test("a corner of B beyond A's largest KL is 'not covered', never yes, and its range is named", () => {
    // A dominates B up to KL 8 but stops there; B reaches 0.9 at KL 20.
    const a = frontier("a", [
      [0.5, 0.55],
      [3, 0.65],
      [7, 0.8],
    ]);
    const b2 = [...b, point("b", 20, 0.9, 9)];
    const u = union(a, b2);
    assert.equal(u.verdict, "not covered", describeUnion(u));
    assert.deepEqual(u.uncovered, [[20, 20]]);
    assert.match(
      describeUnion(u),
      /1 not covered \(KL 20\.00, outside the dominating method's KL range \[0\.50, 7\.00\]\)/,
    );
    // Below A's smallest KL, A has no point at KL ≤ the corner's: not covered either.
    const low = union(frontier("a", [[2, 0.9]]), frontier("b", [[0.5, 0.55]]));
    assert.equal(low.verdict, "not covered");
    assert.equal(low.corners[0].by, undefined);
  });

  test("a corner beyond A's range that A's best point still beats (lower KL, higher reward) is dominated", () => {
    const u = union(frontier("a", [[3, 0.95]]), frontier("b", [[20, 0.9]]));
    assert.equal(u.verdict, "yes");
  });

  test("pooled yes, but a corner escapes in one training seed: not yes", () => {
    const a = frontier("a", [
      [0.5, 0.55],
      [3, 0.65],
      [7, 0.8],
    ]);
    const weakSeed = frontier("a", [
      [0.5, 0.4],
      [3, 0.45],
      [7, 0.8],
    ]);
    const u = union(a, b, [
      [a, b],
      [weakSeed, b],
    ]);
    assert.equal(
      checkCorners(a, b).every((c) => c.status === "dominated"),
      true,
    );
    assert.deepEqual(u.seeds[1], { corners: 3, escapes: 2, notCovered: 0 });
    assert.notEqual(u.verdict, "yes");
  });

  test("a difference within the paired CI counts as weakly dominated; a significant one does not", () => {
    const a = frontier("a", [[1, 0.5]]);
    const bClose: FrontierPoint = {
      ...point("b", 1, 0.5),
      perPromptReward: noise.map((n, i) => 0.5 + n + (i % 2 ? 0.02 : -0.01)),
    };
    bClose.reward = bClose.perPromptReward!.reduce((s, x) => s + x, 0) / P;
    assert.equal(checkCorners(a, [bClose])[0].status, "dominated");
    assert.equal(checkCorners(a, [point("b", 1, 0.6)])[0].status, "escapes");
  });

  test("no points is n/a", () => {
    assert.equal(union([], b).verdict, "n/a");
  });
});

describe("best points and convergence notes", () => {
  test("best reward, its KL and the point count; ties go to the lower KL", () => {
    const ps = [point("a", 1, 0.5), point("a", 3, 0.7), point("a", 2, 0.7), point("b", 1, 0.6)];
    const best = bestPoints(ps);
    assert.deepEqual(
      best.map((b) => [b.method, Number((b.reward - mean(noise)).toFixed(6)), b.kl, b.points]),
      [
        ["a", 0.7, 2, 3],
        ["b", 0.6, 1, 1],
      ],
    );
  });
  test("plateaued / still climbing / KL ≥ 25 / no training", () => {
    const run = (rs: number[], kls = rs.map((_, i) => i + 1)) => rs.map((r, i) => point("m", kls[i], r, i + 1, 0.1));
    assert.equal(convergenceNote(run([0.5, 0.6, 0.7, 0.705])), "plateaued");
    assert.equal(convergenceNote(run([0.5, 0.6, 0.7, 0.75])), "still climbing");
    assert.equal(convergenceNote(run([0.5, 0.6], [10, 26])), "reached KL ≥ 25");
    assert.equal(convergenceNote([point("bon", 1, 0.5, 0, 4), point("bon", 2, 0.6, 0, 16)]), "no training");
    // The best knob decides: a second knob that is still climbing does not matter.
    const two = [...run([0.5, 0.8, 0.805]), ...[0.4, 0.5, 0.6].map((r, i) => point("m", i + 1, r, i + 1, 1))];
    assert.equal(convergenceNote(two), "plateaued");
  });
});

describe("the summary grades the paper's dominance claims over the union range", () => {
  const row = (method: string, knob: number, step: number, seed: number, kl: number, r: number): CheckpointRow =>
    ({
      method,
      knob,
      step,
      seed,
      reward: r,
      kl,
      rewardHalfWidth: 0,
      klHalfWidth: 0,
      vader: 0,
      rm: 0,
      meanLength: 0,
      truncatedFraction: 0,
      perPromptReward: noise.map((n) => r + n),
      perPromptKl: noise.map(() => kl),
      examples: [],
    }) as unknown as CheckpointRow;
  test("PPO with a corner beyond DPO's largest KL: 'not covered', and the best table names both", () => {
    const rows: CheckpointRow[] = [];
    for (const seed of [0, 1]) {
      rows.push(row("dpo", 0.1, 1, seed, 1, 0.6), row("dpo", 0.1, 2, seed, 5, 0.75), row("dpo", 0.1, 3, seed, 9, 0.78));
      rows.push(row("ppo", 3, 1, seed, 2, 0.55), row("ppo", 3, 2, seed, 6, 0.7), row("ppo", 3, 3, seed, 30, 0.9));
    }
    const s = summariseFig2(rows);
    const v = s.verdicts.find((x) => x.claim.startsWith("DPO's reward–KL frontier dominates PPO"))!;
    assert.equal(v.reproduced, "not covered", v.measured);
    assert.match(v.measured, /not covered \(KL 30\.00/);
    assert.match(v.measured, /Common KL range \(support\)/);
    const best = Object.fromEntries(s.best.map((b) => [b.method, b]));
    assert.equal(best.ppo.kl, 30);
    assert.equal(best.ppo.convergence, "reached KL ≥ 25");
    assert.equal(best.dpo.convergence, "still climbing");
  });
});
