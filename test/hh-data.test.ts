// The real-preference track's data handling (src/lm/truncate.ts, src/experiments/hh-data.ts): truncation
// accounting against hand counts (prompts cut from the left at turn boundaries, completions from the right,
// identical-after-cut pairs dropped and counted), the group splits (no dialogue/debate/prompt leak), the
// held-out preference accuracy against a hand count with its cluster-robust interval, and KTO's unpairing.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { splitTurns, truncatePairs, truncatePrompt, type Encoder } from "../src/lm/truncate";
import {
  lengthRewards,
  preferenceAccuracy,
  preferenceData,
  splitByGroup,
  splitLeaks,
  type GroupedPair,
} from "../src/experiments/hh-data";
import { implicitRewards } from "../src/experiments/hh-study";
import type { TokenizedPair } from "../src/lm/rlaif";

/** One token per whitespace-separated word (ids 10, 11, … in order of first sight): easy to count by hand. */
function wordEncoder(): Encoder {
  const ids = new Map<string, number>();
  return {
    encode: (t) =>
      t
        .split(/\s+/)
        .filter(Boolean)
        .map((w) => ids.get(w) ?? (ids.set(w, 10 + ids.size), 10 + ids.size - 1)),
  };
}

const DIALOGUE = "\n\nHuman: a b c\n\nAssistant: d e\n\nHuman: f";

test("truncate: turns split before each Human/Assistant marker and concatenate back", () => {
  assert.deepEqual(splitTurns(DIALOGUE), ["\n\nHuman: a b c", "\n\nAssistant: d e", "\n\nHuman: f"]);
  assert.equal(splitTurns(DIALOGUE).join(""), DIALOGUE);
  assert.deepEqual(splitTurns("no markers here"), ["no markers here"]);
});

test("truncate: prompts keep their last whole turns; a single over-long turn is cut inside, from the left", () => {
  const enc = wordEncoder();
  // Turns are 4, 3 and 2 tokens (the marker is a word): 9 in all.
  const whole = truncatePrompt(enc, DIALOGUE, 9);
  assert.deepEqual([whole.ids.length, whole.total, whole.cutAtTurns, whole.cutInsideTurn], [9, 9, false, false]);
  const two = truncatePrompt(enc, DIALOGUE, 6); // 2 + 3 = 5 fit, + 4 = 9 does not
  assert.deepEqual([two.ids.length, two.cutAtTurns, two.cutInsideTurn], [5, true, false]);
  assert.deepEqual(two.ids, whole.ids.slice(4), "the last two turns, unchanged");
  const inside = truncatePrompt(enc, DIALOGUE, 1); // even the last turn (2 tokens) does not fit
  assert.deepEqual([inside.ids, inside.cutAtTurns, inside.cutInsideTurn], [whole.ids.slice(8), true, true]);
});

test("truncate: pairs fit the context, every cut counted, identical-after-cut pairs dropped and counted", () => {
  const enc = wordEncoder();
  const pairs = [
    // chosen 6 words → cut to 4 (no <eos>); rejected 2 words kept with <eos>; prompt budget 12 − 2 − 4 = 6.
    { prompt: DIALOGUE, chosen: "g h i j k l", rejected: "m n" },
    // both 5 words, equal in the first 4: identical after the cut → dropped.
    { prompt: "\n\nHuman: q", chosen: "x y z w v", rejected: "x y z w u" },
    // everything fits.
    { prompt: "\n\nHuman: q", chosen: "o", rejected: "p" },
  ];
  const { pairs: out, stats } = truncatePairs(enc, pairs, { contextLength: 12, maxCompletionTokens: 4 });
  assert.deepEqual(stats, {
    pairs: 3,
    kept: 2,
    promptsCutAtTurns: 1,
    promptsCutInsideTurn: 0,
    chosenCut: 1,
    rejectedCut: 0,
    droppedIdentical: 1,
    promptTokensKept: 5 + 2,
    promptTokensTotal: 9 + 2,
  });
  assert.deepEqual(
    out.map((p) => p.index),
    [0, 2],
  );
  const [first] = out;
  assert.equal(first.chosenSeq.completion.length, 4);
  assert.equal(first.chosenSeq.ended, false, "a cut completion has no <eos>");
  assert.equal(first.rejectedSeq.ended, true);
  assert.deepEqual(first.chosenSeq.prompt, first.rejectedSeq.prompt, "one prompt for both rows");
  for (const p of out)
    for (const s of [p.chosenSeq, p.rejectedSeq])
      assert.ok(1 + s.prompt.length + s.completion.length + (s.ended ? 1 : 0) <= 12, "fits the context");
  assert.throws(
    () =>
      truncatePairs(enc, [{ prompt: "a", chosen: ["x"], rejected: "y" }], {
        contextLength: 12,
        maxCompletionTokens: 4,
      }),
    /pair 0: field "chosen" must be a string/,
  );
  assert.throws(() => truncatePairs(enc, pairs, { contextLength: 12, maxCompletionTokens: 10 }), /maxCompletionTokens/);
});

const grouped = (n: number, perGroup: number): GroupedPair[] =>
  Array.from({ length: n }, (_, i) => ({
    group: `g${Math.floor(i / perGroup)}`,
    prompt: `prompt of g${Math.floor(i / perGroup)}`,
    chosen: `chosen ${i}`,
    rejected: `rejected ${i}`,
  }));

test("splits: by group, nothing lost, no group or prompt on both sides, seeded", () => {
  const pairs = grouped(100, 4); // 25 groups of 4
  const s = splitByGroup(pairs, 0.2, 7);
  assert.equal(s.testGroups.length, 5);
  assert.equal(s.train.length + s.test.length, 100);
  assert.equal(s.test.length, 20);
  assert.deepEqual(splitLeaks(s.train, s.test), { groups: [], prompts: [], responses: [] });
  assert.deepEqual(splitByGroup(pairs, 0.2, 7), s, "same seed, same split");
  assert.notDeepEqual(splitByGroup(pairs, 0.2, 8).testGroups, s.testGroups, "another seed, another split");
  // The leak check is able to fail: a split by pair (not by group) puts groups on both sides.
  const leaky = splitLeaks(
    pairs.filter((_, i) => i % 2 === 0),
    pairs.filter((_, i) => i % 2 === 1),
  );
  assert.equal(leaky.groups.length, 25);
  assert.equal(leaky.prompts.length, 25);
  const shared = { ...pairs[1], group: "other", prompt: "other", chosen: pairs[0].chosen };
  assert.deepEqual(splitLeaks([pairs[0]], [shared]).responses, ["chosen 0"]);
  assert.throws(() => splitByGroup(pairs, 1, 0), /heldOutFraction/);
  assert.throws(() => splitByGroup(grouped(3, 3), 0.5, 0), /1 group/);
});

test("accuracy: share of pairs with r(chosen) > r(rejected), ties ½, against a hand count and hand CI", () => {
  // Scores 1, ½, 0, 1 → 0.625. Clusters a (1, ½), b (0), c (1): sums 1.5, 0, 1 with n 2, 1, 1, mean 0.625;
  // Σ(S − n·m)² = 0.0625 + 0.390625 + 0.140625 = 0.59375; se = √(3/2 · 0.59375)/4 = 0.2359359.
  const a = preferenceAccuracy([1, 2, 3, 0], [0, 2, 5, -1], ["a", "a", "b", "c"]);
  assert.equal(a.accuracy, 0.625);
  assert.deepEqual([a.n, a.clusters], [4, 3]);
  const se = Math.sqrt(1.5 * 0.59375) / 4;
  assert.ok(Math.abs(a.ci95[0] - (0.625 - 1.96 * se)) < 1e-12 && Math.abs(a.ci95[1] - (0.625 + 1.96 * se)) < 1e-12);
  assert.throws(() => preferenceAccuracy([1, NaN], [0, 0], ["a", "b"]), /pair 1 is not finite/);
  assert.throws(() => preferenceAccuracy([1], [0, 0], ["a"]), /1 chosen, 2 rejected/);
  // The length-only baseline: the longer (characters) is preferred.
  const len = lengthRewards([
    { chosen: "long one", rejected: "short" },
    { chosen: "s", rejected: "longer" },
  ]);
  assert.equal(preferenceAccuracy(len.chosen, len.rejected, ["a", "b"]).accuracy, 0.5);
});

test("implicit rewards: log π − log π_ref, and SimPO's length-normalised log π", () => {
  const policy = Float32Array.from([-4, -9]);
  const ref = Float32Array.from([-5, -6]);
  assert.deepEqual(Array.from(implicitRewards("sigmoid", policy, ref, [2, 3])), [1, -3]);
  assert.deepEqual(Array.from(implicitRewards("simpo", policy, ref, [2, 3])), [-2, -3]);
});

test("KTO's unpaired data: chosen desirable, rejected undesirable; keepDesirable drops only desirable ones", () => {
  const seq = { prompt: [1], completion: [5], ended: true };
  const pairs: TokenizedPair[] = Array.from({ length: 400 }, (_, i) => ({
    prompt: `p${i}`,
    chosen: `c${i}`,
    rejected: `r${i}`,
    chosenSeq: seq,
    rejectedSeq: seq,
    scoreChosen: 1,
    scoreRejected: 0,
  }));
  const all = preferenceData(pairs);
  assert.equal(all.pairs.length, 400);
  assert.deepEqual(
    [all.unpaired.filter((u) => u.label).length, all.unpaired.filter((u) => !u.label).length],
    [400, 400],
  );
  assert.ok(all.unpaired.filter((u) => u.label).every((u) => u.completion.startsWith("c")));
  const half = preferenceData(pairs, 0.5, 3);
  const kept = half.unpaired.filter((u) => u.label).length;
  assert.equal(half.unpaired.filter((u) => !u.label).length, 400);
  assert.ok(kept > 160 && kept < 240, `about half the desirable examples kept: ${kept}`);
  assert.deepEqual(preferenceData(pairs, 0.5, 3), half, "seeded");
});

test("over-optimisation turning point: gold peaks, then falls beyond 2 se while proxy rises; a rising curve has none", async () => {
  const { turningPoint } = await import("../src/experiments/hh-overopt");
  const pt = (kl: number, gold: number, proxy: number, goldSe = 0.01) => ({ step: 0, kl, gold, goldSe, proxy });
  const turns = turningPoint([pt(0, 0, 0), pt(1, 0.2, 0.5), pt(2, 0.1, 0.9), pt(3, 0.05, 1.2)]);
  assert.deepEqual(turns, { peakIndex: 1, peakKl: 1, overoptimised: true, fallIndex: 2 });
  // The same fall within the noise (se 0.05: 2·√2·0.05 = 0.141 > 0.1) is not a turn; nor is a fall with proxy falling too.
  assert.equal(turningPoint([pt(0, 0, 0, 0.05), pt(1, 0.2, 0.5, 0.05), pt(2, 0.1, 0.9, 0.05)]).overoptimised, false);
  assert.equal(turningPoint([pt(0, 0, 0), pt(1, 0.2, 0.5), pt(2, 0.1, 0.4)]).overoptimised, false);
  assert.deepEqual(turningPoint([pt(0, 0, 0), pt(1, 0.1, 1), pt(2, 0.2, 2)]), {
    peakIndex: 2,
    peakKl: 2,
    overoptimised: false,
    fallIndex: -1,
  });
});

test("committed results (data/hh/) carry the sha256 of the config files in the repository and a complete run", async () => {
  const fs = await import("fs");
  const { createHash } = await import("crypto");
  for (const [name, field] of [
    ["hh", "runs"],
    ["hh-overopt", "overopt"],
  ] as const) {
    const r = JSON.parse(fs.readFileSync(`data/hh/${name}.json`, "utf8"));
    const cfg = fs.readFileSync(r.config.file);
    assert.equal(r.config.file, `scripts/sweeps/${name}.json`);
    assert.equal(
      r.config.sha256,
      createHash("sha256").update(cfg).digest("hex"),
      `${name}: config changed since the run`,
    );
    assert.deepEqual(r.config.body, JSON.parse(cfg.toString("utf8")));
    assert.equal(r[field].length, r.config.body.datasets.length * r.config.body.seeds.length, `${name}: every run`);
    assert.match(r.code.commit, /^[0-9a-f]{40}$/);
    assert.equal(r.code.dirty, false);
  }
});
