// The real-preference track's data handling (src/lm/truncate.ts, src/experiments/hh-data.ts): truncation
// accounting against hand counts (prompts cut from the left at turn boundaries, completions from the right,
// identical-after-cut pairs dropped and counted), the group splits (no dialogue/debate/prompt leak), the
// held-out preference accuracy against a hand count with its cluster-robust interval, and KTO's unpairing.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { splitTurns, truncatePairs, truncatePrompt, type Encoder } from "../src/lm/truncate";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend";
import {
  lengthRewards,
  noWorseThan,
  preferenceAccuracy,
  preferenceData,
  splitByGroup,
  splitLeaks,
  type GroupedPair,
} from "../src/experiments/hh-data";
import { implicitRewards } from "../src/experiments/hh-study";
import type { TokenizedPair } from "../src/lm/rlaif";
import { getLoss, resolveLossOptions } from "../src/losses/index";

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

// Student-t quantiles t_{0.975, ν} from a printed table (Abramowitz & Stegun Table 26.10), not from our code.
const T975 = { 2: 4.302652729911275, 3: 3.182446305284263 } as const;

test("accuracy: share of pairs with r(chosen) > r(rejected), ties count 0 (TRL), against a hand count and hand t-interval", () => {
  // Scores 1, 0 (a tie: TRL's rewards/accuracies is the mean of chosen > rejected, strict), 0, 1 → 0.5.
  // Clusters a (1, 0), b (0), c (1): sums 1, 0, 1 with n 2, 1, 1, mean 0.5; Σ(S − n·m)² = 0 + 0.25 + 0.25 = 0.5;
  // se = √(3/2 · 0.5)/4; G = 3, so the interval is 0.5 ± t_{0.975, 2}·se.
  const a = preferenceAccuracy([1, 2, 3, 0], [0, 2, 5, -1], ["a", "a", "b", "c"]);
  assert.equal(a.accuracy, 0.5);
  assert.deepEqual([a.n, a.clusters], [4, 3]);
  const se = Math.sqrt(1.5 * 0.5) / 4;
  assert.ok(Math.abs(a.se - se) < 1e-12);
  assert.ok(Math.abs(a.ci95[0] - (0.5 - T975[2] * se)) < 1e-9, `${a.ci95[0]}`);
  assert.ok(Math.abs(a.ci95[1] - (0.5 + T975[2] * se)) < 1e-9, `${a.ci95[1]}`);
  assert.throws(() => preferenceAccuracy([1, NaN], [0, 0], ["a", "b"]), /pair 1 is not finite/);
  assert.throws(() => preferenceAccuracy([1], [0, 0], ["a"]), /1 chosen, 2 rejected/);
  assert.throws(() => preferenceAccuracy([1, 2], [0, 0], ["a", "a"]), /2 clusters/);
  // The length-only baseline: the longer (characters) is preferred; equal lengths are a tie, counted 0.
  const len = lengthRewards([
    { chosen: "long one", rejected: "short" },
    { chosen: "s", rejected: "longer" },
    { chosen: "same", rejected: "size" },
  ]);
  assert.equal(preferenceAccuracy(len.chosen, len.rejected, ["a", "b", "c"]).accuracy, 1 / 3);
});

test("accuracy: with G = 4 clusters (UKP's 4 held-out debates) the 95% interval uses t with 3 degrees of freedom", () => {
  // Scores 1, 1 | 1, 0 | 0 | 1 in clusters a | b | c | d: S = 2, 1, 0, 1; n = 2, 2, 1, 1; N = 6, mean 2/3.
  // S − n·m = 2/3, −1/3, −2/3, 1/3; Σ² = 10/9; Var = G/(G−1)·Σ²/N² = 4/3 · 10/9 / 36 = 10/243.
  const a = preferenceAccuracy([1, 1, 1, 0, 0, 1], [0, 0, 0, 1, 1, 0], ["a", "a", "b", "b", "c", "d"]);
  const se = Math.sqrt(10 / 243);
  assert.equal(a.clusters, 4);
  assert.ok(Math.abs(a.accuracy - 2 / 3) < 1e-15);
  const half = T975[3] * se; // 0.6456: the normal 1.96 would give 0.3976, 38% too narrow
  assert.ok(Math.abs(a.ci95[1] - a.ci95[0] - 2 * half) < 1e-9, `half-width ${(a.ci95[1] - a.ci95[0]) / 2} vs ${half}`);
  assert.ok(Math.abs(a.ci95[0] - (2 / 3 - half)) < 1e-9);
  assert.ok(Math.abs(a.se - se) < 1e-12);
});

test("implicit rewards: log π − log π_ref, and SimPO's length-normalised log π", () => {
  const policy = Float32Array.from([-4, -9]);
  const ref = Float32Array.from([-5, -6]);
  assert.deepEqual(Array.from(implicitRewards("sigmoid", policy, ref, [2, 3])), [1, -3]);
  assert.deepEqual(Array.from(implicitRewards("simpo", policy, ref, [2, 3])), [-2, -3]);
});

test("implicit rewards: each method is scored by the reward its own loss uses (IPO per-token average, TRL)", () => {
  // Chosen: log-ratio +3 over 10 tokens (0.3 per token); rejected: +2 over 2 tokens (1 per token).
  // Summed, chosen wins; per token (TRL's IPO, whose rewards/accuracies use the averaged log-probs), rejected wins.
  const policy = Float32Array.from([-7, -4]);
  const ref = Float32Array.from([-10, -6]);
  const lengths = [10, 2];
  const r = (loss: string, o?: Record<string, unknown>) => Array.from(implicitRewards(loss, policy, ref, lengths, o));
  assert.deepEqual(r("ipo"), [0.3, 1]);
  assert.deepEqual(r("ipo", { beta: 0.1 }), [0.3, 1]);
  assert.deepEqual(r("ipo", { lengthNormalize: false }), [3, 2], "summed when the loss is configured so");
  for (const loss of ["sigmoid", "dpo", "kto", "sft"]) assert.deepEqual(r(loss), [3, 2], loss);
  assert.deepEqual(r("sigmoid", { beta: 0.1, labelSmoothing: 0.1 }), [3, 2], "cDPO");
  assert.deepEqual(r("simpo", { beta: 2, simpoGamma: 1 }), [-0.7, -2]);
  assert.throws(() => r("ipo", { bogus: 1 }), /bogus/);
  assert.throws(() => r("orpo"), /orpo.*no held-out reward/);
  // The same ordering as the registry's own rewards (β·reward, what TRL logs), for the pair losses.
  for (const [loss, o] of [
    ["ipo", { beta: 0.1 }],
    ["sigmoid", { beta: 0.1 }],
    ["simpo", { beta: 2, simpoGamma: 1 }],
  ] as const) {
    const out = tf.tidy(() => {
      const t = (xs: number[]) => tf.tensor1d(xs);
      const res = getLoss(loss).loss(
        {
          policyChosen: t([policy[0]]),
          policyRejected: t([policy[1]]),
          refChosen: t([ref[0]]),
          refRejected: t([ref[1]]),
          chosenLengths: t([lengths[0]]),
          rejectedLengths: t([lengths[1]]),
        } as never,
        resolveLossOptions(loss, o) as never,
      );
      return [res.chosenRewards.dataSync()[0], res.rejectedRewards.dataSync()[0]];
    });
    const mine = r(loss, o);
    assert.ok(
      Math.abs(out[0] - o.beta * mine[0]) < 1e-5 && Math.abs(out[1] - o.beta * mine[1]) < 1e-5,
      `${loss}: ${out}`,
    );
  }
});

test("seed-by-seed comparison: every seed's method must reach the reference minus that seed's CI half-width", () => {
  const acc = (accuracy: number, half: number) => ({
    accuracy,
    n: 100,
    clusters: 4,
    se: half / 2,
    ci95: [accuracy - half, accuracy + half] as [number, number],
  });
  // Means: method 0.6, reference 0.65, mean half-width 0.06: "within" by the mean rule (0.6 ≥ 0.59),
  // but seed 2 misses by far (0.45 < 0.70 − 0.02): not every seed agrees.
  const method = [acc(0.75, 0.1), acc(0.45, 0.1)];
  const ref = [acc(0.6, 0.1), acc(0.7, 0.02)];
  assert.equal(noWorseThan(method, ref), false);
  assert.equal(noWorseThan([acc(0.62, 0.1), acc(0.69, 0.1)], ref), true);
  assert.equal(noWorseThan([acc(0.5, 0.1), acc(0.69, 0.1)], ref), true, "0.5 ≥ 0.6 − 0.1");
  assert.equal(noWorseThan([acc(0.49, 0.1), acc(0.69, 0.1)], ref), false);
  assert.throws(() => noWorseThan([acc(0.5, 0.1)], ref), /1 .* 2/);
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

test("over-optimisation turning point: gold rises, peaks, then falls beyond z_K se while proxy rises; a rising curve has none", async () => {
  const { turningPoint } = await import("../src/experiments/hh-overopt");
  const pt = (kl: number, gold: number, proxy: number, goldSe = 0.01) => ({ step: 0, kl, gold, goldSe, proxy });
  const turns = turningPoint([pt(0, 0, 0), pt(1, 0.2, 0.5), pt(2, 0.1, 0.9), pt(3, 0.05, 1.2)]);
  assert.deepEqual(turns, { peakIndex: 1, peakKl: 1, rose: true, overoptimised: true, fallIndex: 2 });
  // The same fall within the noise (se 0.05, one point after the peak: z_1·√2·0.05 = 0.139 > 0.1) is not a turn;
  // nor is a fall with proxy falling too.
  assert.equal(turningPoint([pt(0, 0, 0, 0.05), pt(1, 0.2, 0.5, 0.05), pt(2, 0.1, 0.9, 0.05)]).overoptimised, false);
  assert.equal(turningPoint([pt(0, 0, 0), pt(1, 0.2, 0.5), pt(2, 0.1, 0.4)]).overoptimised, false);
  // Without the proxy condition (DPO, IPO, KTO never see the proxy) a fall with the proxy falling is a turn.
  assert.equal(turningPoint([pt(0, 0, 0), pt(1, 0.2, 0.5), pt(2, 0.1, 0.4)], false).overoptimised, true);
  // A later checkpoint whose KL came back below the peak's: gold lower, but not as KL grows (no turn).
  assert.equal(turningPoint([pt(0, 0, 0), pt(5, 0.2, 0.5), pt(2.3, 0.05, 0.9)]).overoptimised, false);
  assert.deepEqual(turningPoint([pt(0, 0, 0), pt(1, 0.1, 1), pt(2, 0.2, 2)]), {
    peakIndex: 2,
    peakKl: 2,
    rose: true,
    overoptimised: false,
    fallIndex: -1,
  });
});

test("over-optimisation turning point: a curve that only falls from its first point has no turn (no rise first)", async () => {
  const { turningPoint } = await import("../src/experiments/hh-overopt");
  const pt = (kl: number, gold: number, proxy: number, goldSe = 0.01) => ({ step: 0, kl, gold, goldSe, proxy });
  // Best-of-N in the committed run: gold highest at N = 1 (KL 0), then lower while the proxy rises. Gao et
  // al.'s over-optimisation is a rise then a fall; a curve that never rises says the proxy does not track gold.
  const falling = turningPoint([pt(0, 0, -0.7), pt(0.19, -0.14, -0.3), pt(0.64, -0.25, -0.07), pt(1.2, -0.14, 0.14)]);
  assert.deepEqual(falling, { peakIndex: 0, peakKl: 0, rose: false, overoptimised: false, fallIndex: -1 });
  // A rise within the noise (0.1 < z_2·√2·0.05 = 0.158) followed by a large fall: still no significant rise.
  const noisy = turningPoint([pt(0, 0, 0, 0.05), pt(1, 0.1, 0.5, 0.05), pt(2, -0.5, 0.9, 0.05)]);
  assert.deepEqual([noisy.peakIndex, noisy.rose, noisy.overoptimised], [1, false, false]);
  // The same shape with a significant rise (0.3 > 0.158) is a turn.
  const real = turningPoint([pt(0, 0, 0, 0.05), pt(1, 0.3, 0.5, 0.05), pt(2, -0.5, 0.9, 0.05)]);
  assert.deepEqual([real.peakIndex, real.rose, real.overoptimised, real.fallIndex], [1, true, true, 2]);
});

test("turning point on flat curves: the Bonferroni-corrected rule says 'rose' at most ~2.5% of the time; 2 se said it ~1 in 6", async () => {
  const { turningPoint, normalQuantile } = await import("../src/experiments/hh-overopt");
  const { Rng } = await import("../src/random");
  // Φ⁻¹ from an independent implementation (Python statistics.NormalDist): 0.975 → 1.959964, 1 − 0.025/12 → 2.865260.
  assert.ok(Math.abs(normalQuantile(0.975) - 1.959964) < 1e-5);
  assert.ok(Math.abs(normalQuantile(1 - 0.025 / 12) - 2.86526) < 1e-5);
  // 13 checkpoints of a policy whose gold never changes: gold_k ~ N(0, se²), proxy rising.
  const rng = new Rng(11);
  const sims = 4000;
  let rose = 0;
  let turned = 0;
  let roseAt2se = 0;
  for (let s = 0; s < sims; s++) {
    const pts = Array.from({ length: 13 }, (_, k) => ({
      step: k,
      kl: k,
      gold: 0.1 * rng.normal(),
      goldSe: 0.1,
      proxy: k,
    }));
    const t = turningPoint(pts);
    rose += t.rose ? 1 : 0;
    turned += t.overoptimised ? 1 : 0;
    roseAt2se += t.peakIndex > 0 && pts[t.peakIndex].gold - pts[0].gold > 2 * Math.hypot(0.1, 0.1) ? 1 : 0;
  }
  assert.ok(rose / sims <= 0.035, `flat curves that "rose": ${rose / sims}`);
  assert.ok(turned / sims <= 0.035, `flat curves that "turned": ${turned / sims}`);
  assert.ok(roseAt2se / sims > 0.1, `the uncorrected rule's rate, for contrast: ${roseAt2se / sims}`);
});

test("cyclePrompts and promptMeanSe: samples cycle over the prompts; the prompts-fixed mean and se by hand", async () => {
  const { cyclePrompts, promptMeanSe } = await import("../src/experiments/hh-overopt");
  assert.deepEqual(cyclePrompts(["a", "b", "c"], 6), {
    prompts: ["a", "b", "c", "a", "b", "c"],
    cluster: [0, 1, 2, 0, 1, 2],
  });
  assert.deepEqual(cyclePrompts(["a", "b"]).cluster, [0, 1], "default: one per prompt");
  assert.throws(() => cyclePrompts(["a", "b", "c"], 10), /multiple of the 3 distinct/);
  assert.throws(() => cyclePrompts(["a"]), /at least 2/);
  assert.throws(() => cyclePrompts([], 4), /no held-out prompts/);
  // Prompt 0: 1, 3 (mean 2, s² 2); prompt 1: 10, 14 (mean 12, s² 8). mean = (2 + 12)/2 = 7;
  // se = √(2/2 + 8/2) / 2 = √5 / 2 = 1.118034. The prompts' difference (2 vs 12) is not noise here.
  const m = promptMeanSe([1, 10, 3, 14], [0, 1, 0, 1]);
  assert.ok(Math.abs(m.mean - 7) < 1e-12 && Math.abs(m.se - Math.sqrt(5) / 2) < 1e-12, JSON.stringify(m));
  // One sample per prompt: the plain mean and se over samples (sd of 1, 3, 5 is 2 → se 2/√3).
  const one = promptMeanSe([1, 3, 5], [0, 1, 2]);
  assert.ok(Math.abs(one.mean - 3) < 1e-12 && Math.abs(one.se - 2 / Math.sqrt(3)) < 1e-9, JSON.stringify(one));
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

test("over-optimisation study, tiny end to end: samples cycle over the few held-out prompts, gold's se clustered by prompt", async () => {
  const { runOveropt } = await import("../src/experiments/hh-overopt");
  await initBackend();
  // 12 debates of 6 pairs; 25% of the debates held out → 3 distinct held-out prompts.
  const words = ["good", "fine", "strong", "weak", "poor", "clear", "vague", "long", "short"];
  const pairs = Array.from({ length: 72 }, (_, i) => ({
    group: `g${Math.floor(i / 6)}`,
    prompt: `debate ${Math.floor(i / 6)} topic ${words[Math.floor(i / 6) % words.length]}`,
    chosen: `a ${words[i % 9]} and ${words[(i + 2) % 9]} argument`,
    rejected: `a ${words[(i + 4) % 9]} one`,
  }));
  const cfg = {
    name: "tiny",
    datasets: [{ dataset: "tiny", heldOutFraction: 0.25, maxTrainPairs: 60, maxTestPairs: 18 }],
    seeds: [1],
    vocabSize: 300,
    model: { contextLength: 24, dModel: 16, nHeads: 2, nLayers: 1 },
    maxCompletionTokens: 10,
    sft: { steps: 2, batchSize: 8, learningRate: 0.003 },
    preference: { steps: 2, batchSize: 8, learningRate: 0.002, evalEvery: 1 },
    methods: [],
    rewardModel: { steps: 2, batchSize: 8, learningRate: 0.001 },
  };
  const o = {
    goldModel: { dModel: 16, nHeads: 2, nLayers: 1 },
    goldSft: { steps: 2, batchSize: 8, learningRate: 0.003 },
    goldRewardModel: { steps: 2, batchSize: 8, learningRate: 0.001 },
    methods: [{ label: "DPO", loss: "sigmoid", lossOptions: { beta: 0.1 } }],
    preference: { steps: 2, batchSize: 8, learningRate: 0.002, evalEvery: 1 },
    bestOfN: [1, 2],
    prompts: 64,
    maxNewTokens: 6,
    samples: 9,
  };
  const before = tf.memory().numTensors;
  const r = await runOveropt(cfg as never, o as never, cfg.datasets[0] as never, 1, pairs);
  assert.equal(tf.memory().numTensors, before, "no tensors left behind");
  assert.equal(r.heldOutPrompts, 3, "3 held-out debates, one prompt each");
  assert.equal(r.samples, 9);
  assert.deepEqual(
    r.curves.map((c) => [c.label, c.points.length]),
    [
      ["best-of-N (proxy)", 2],
      ["DPO", 3],
    ],
  );
  for (const c of r.curves)
    for (const p of c.points) assert.ok(Number.isFinite(p.gold) && p.goldSe > 0 && Number.isFinite(p.kl), c.label);
  assert.equal(r.goldHeldOut?.accuracy, r.goldAccuracy, "the clustered held-out accuracy is recorded");
  assert.ok(r.goldHeldOut!.clusters >= 2);
  assert.equal(r.curves[0].points[0].kl, 0, "best-of-1 is the SFT policy");
  // Without `samples`: one completion per distinct prompt, as before.
  const one = await runOveropt(cfg as never, { ...o, samples: undefined } as never, cfg.datasets[0] as never, 1, pairs);
  assert.equal(one.samples, 3);
});
