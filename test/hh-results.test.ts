// Notebook 11's reader of the committed real-human-preference results (src/experiments/hh-results.ts):
// both formats (v1's se recovered from its normal interval, turning points recomputed under the rise-then-
// fall rule), errors that name the file and field, the partial-file fallback, and the summaries against
// hand counts (accuracy table, "both fall", accuracy lost from its peak without the untrained step 0).
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
  accuracyOf,
  accuracyTable,
  bothFall,
  dropFromPeak,
  gaoVerdict,
  goldJudge,
  meanTrajectory,
  parseHhResults,
  readHhResults,
} from "../src/experiments/hh-results";
import type { SeedResult } from "../src/experiments/hh-study";

const acc = (accuracy: number, half = 0.1, se = 0.04) => ({
  accuracy,
  n: 100,
  clusters: 20,
  se,
  ci95: [accuracy - half, accuracy + half],
});
const traj = (...pts: Array<[number, number, number, number]>) =>
  pts.map(([step, accuracy, chosenShift, rejectedShift]) => ({ step, accuracy, chosenShift, rejectedShift }));

function run(dataset: string, seed: number, dpo: number, ipo: number): Record<string, unknown> {
  const method = (label: string, a: number) => ({
    label,
    loss: label.toLowerCase(),
    heldOut: acc(a),
    prefersLonger: 0.4,
    trajectory: traj([0, 0, 0, 0], [10, a + 0.05, -2, -3], [20, a, -4, -6]),
    finalLog: {},
    seconds: 1,
  });
  return {
    dataset,
    seed,
    reference: acc(0.5),
    rewardModel: { ...acc(0.7), seconds: 2 },
    length: acc(0.6),
    methods: [method("DPO", dpo), method("IPO", ipo)],
  };
}

const curve = {
  label: "best-of-N (proxy)",
  // Gold highest at N = 1 and only falls: stored by the v1 rule as over-optimised, not so under the current one.
  points: [
    { step: 0, n: 1, kl: 0, gold: 0, goldSe: 0.01, proxy: -0.7 },
    { step: 0, n: 4, kl: 0.64, gold: -0.25, goldSe: 0.01, proxy: -0.07 },
  ],
  turning: { peakIndex: 0, peakKl: 0, overoptimised: true, fallIndex: 1 },
};

function file(format: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    format,
    config: { file: "scripts/sweeps/hh.json", sha256: "ab", body: { datasets: [], seeds: [1], methods: [] } },
    code: { commit: "c".repeat(40), dirty: false },
    seconds: 60,
    createdAt: "2026-12-07T00:00:00Z",
    runs: [run("hh", 1, 0.6, 0.5), run("hh", 2, 0.7, 0.55), run("ukp", 1, 0.4, 0.45)],
    ...extra,
  };
}

test("v2 file: read as written; turning points recomputed under the rise-then-fall rule", () => {
  const r = parseHhResults(JSON.stringify(file("prefopt-hh-results-v2", { overopt: [{ curves: [curve] }] })), "x.json");
  assert.equal(r.format, "prefopt-hh-results-v2");
  assert.equal(r.runs[0].methods[0].heldOut.se, 0.04);
  assert.deepEqual(r.notes, []);
  assert.deepEqual(r.overopt[0].curves[0].turning, {
    peakIndex: 0,
    peakKl: 0,
    rose: false,
    overoptimised: false,
    fallIndex: -1,
  });
});

test("v1 file: se recovered as the normal interval's half-width / 1.96, no overopt list read as empty", () => {
  const raw = file("prefopt-hh-results-v1");
  for (const r of raw.runs as Array<Record<string, Record<string, unknown>>>) delete r.length.se;
  const r = parseHhResults(JSON.stringify(raw), "old.json");
  assert.ok(Math.abs(r.runs[0].length.se - 0.1 / 1.96) < 1e-15);
  assert.ok(Math.abs(r.runs[0].methods[1].heldOut.se - 0.1 / 1.96) < 1e-15);
  assert.deepEqual(r.overopt, []);
  assert.equal(r.notes.length, 2);
});

test("a malformed file is an error naming the file and the field", () => {
  assert.throws(() => parseHhResults("{", "bad.json"), /bad\.json: not valid JSON/);
  assert.throws(
    () => parseHhResults(JSON.stringify(file("prefopt-hh-results-v3")), "f.json"),
    /f\.json: field format is "prefopt-hh-results-v3"/,
  );
  const noSe = file("prefopt-hh-results-v2", { overopt: [] });
  delete (noSe.runs as Array<{ methods: Array<{ heldOut: Record<string, unknown> }> }>)[1].methods[0].heldOut.se;
  assert.throws(
    () => parseHhResults(JSON.stringify(noSe), "g.json"),
    /g\.json: runs\[1\]\.methods\[0\]\.heldOut: field se is missing/,
  );
  assert.throws(
    () => parseHhResults(JSON.stringify(file("prefopt-hh-results-v2")), "h.json"),
    /h\.json: field overopt is missing/,
  );
  const noCommit = file("prefopt-hh-results-v2", { overopt: [], code: {} });
  assert.throws(() => parseHhResults(JSON.stringify(noCommit), "i.json"), /i\.json: field code\.commit is missing/);
});

test("readHhResults: the complete file first, else the partial one (flagged), else an error saying how to make it", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hh-results-"));
  try {
    assert.throws(() => readHhResults(dir, "hh"), /hh\.json is missing: run `npm run hh`/);
    const v2 = (seconds: number) => JSON.stringify(file("prefopt-hh-results-v2", { overopt: [], seconds }));
    fs.writeFileSync(path.join(dir, "hh.partial.json"), v2(1));
    const p = readHhResults(dir, "hh");
    assert.deepEqual([p.partial, p.seconds, p.file], [true, 1, `${dir}/hh.partial.json`]);
    fs.writeFileSync(path.join(dir, "hh.json"), v2(2));
    const c = readHhResults(dir, "hh");
    assert.deepEqual([c.partial, c.seconds], [false, 2]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("accuracy table: baselines then methods per dataset, means over seeds by hand", () => {
  const runs = parseHhResults(JSON.stringify(file("prefopt-hh-results-v2", { overopt: [] })), "x").runs;
  const rows = accuracyTable(runs);
  assert.deepEqual(
    rows.map((r) => `${r.dataset}/${r.model}`),
    ["hh", "ukp"].flatMap((d) =>
      ["Bradley–Terry RM", "length only", "SFT log-likelihood", "DPO", "IPO"].map((m) => `${d}/${m}`),
    ),
  );
  const dpoHh = rows.find((r) => r.dataset === "hh" && r.model === "DPO")!;
  assert.ok(Math.abs(dpoHh.mean - 0.65) < 1e-12);
  assert.deepEqual(
    dpoHh.perSeed.map((a) => a.accuracy),
    [0.6, 0.7],
  );
  assert.equal(rows.find((r) => r.dataset === "ukp" && r.model === "IPO")!.mean, 0.45);
  assert.throws(() => accuracyOf(runs[0], "PPO"), /no model "PPO" in the hh seed 1 run/);
});

test("both fall: the chosen log-prob falls and the rejected one falls further", () => {
  const p = (chosenShift: number, rejectedShift: number) => ({ step: 1, accuracy: 0, chosenShift, rejectedShift });
  assert.equal(bothFall(p(-1, -2)), true);
  assert.equal(bothFall(p(-2, -1)), false); // the chosen one fell more
  assert.equal(bothFall(p(0.5, -1)), false); // the chosen one rose
  assert.equal(bothFall(p(-1, -1)), false);
});

test("accuracy lost from its peak counts only trained checkpoints (v1's step 0 is a tie at ½)", () => {
  // v1: every pair ties at step 0 (all log-ratios 0), scored ½; the best trained checkpoint is 0.47.
  const t = traj([0, 0.5, 0, 0], [10, 0.45, -1, -2], [20, 0.47, -1, -2], [40, 0.44, -2, -3]);
  assert.ok(Math.abs(dropFromPeak(t) - 0.03) < 1e-12);
  assert.equal(dropFromPeak(traj([0, 0, 0, 0], [10, 0.6, -1, -2])), 0);
  assert.throws(() => dropFromPeak(traj([0, 0.5, 0, 0])), /no checkpoint after step 0/);
});

test("mean trajectory over seeds, step by step; runs with other checkpoints are refused", () => {
  const runs = parseHhResults(JSON.stringify(file("prefopt-hh-results-v2", { overopt: [] })), "x").runs;
  const m = meanTrajectory(
    runs.filter((r) => r.dataset === "hh"),
    "DPO",
  );
  assert.deepEqual(
    m.map((p) => p.step),
    [0, 10, 20],
  );
  assert.ok(Math.abs(m[1].accuracy - 0.7) < 1e-12 && m[2].rejectedShift === -6);
  const odd = structuredClone(runs) as SeedResult[];
  odd[1].methods[0].trajectory[1].step = 11;
  assert.throws(() => meanTrajectory(odd.slice(0, 2), "DPO"), /different checkpoint steps/);
});

test("the committed results in data/hh/ read cleanly, every run with every method", () => {
  const study = readHhResults("data/hh", "hh");
  const over = readHhResults("data/hh", "hh-overopt");
  const labels = study.config.body.methods.map((m) => m.label);
  assert.equal(study.runs.length, study.config.body.datasets.length * study.config.body.seeds.length);
  for (const r of study.runs)
    assert.deepEqual(
      r.methods.map((m) => m.label),
      labels,
    );
  assert.ok(over.overopt.length >= 1 && over.overopt.every((o) => o.curves.length >= 2));
});

test("gold judge: the clustered interval's lower end; Gao's verdict graded only where gold is above chance", () => {
  const pt = (kl: number, gold: number, proxy: number) => ({ step: kl, kl, gold, goldSe: 0.01, proxy });
  const turns = { label: "A", points: [pt(0, 0, 0), pt(1, 0.5, 1), pt(2, 0.1, 2)] }; // rises, then falls
  const flat = { label: "B", points: [pt(0, 0, 0), pt(1, 0.01, 1)] }; // never rises significantly
  const risesOnly = { label: "C", points: [pt(0, 0, 0), pt(1, 0.5, 1)] }; // rises, no fall yet
  const heldOut = (accuracy: number, lo: number) => ({ accuracy, n: 200, clusters: 4, se: 0.05, ci95: [lo, 1] });
  const run = (dataset: string, goldAccuracy: number, lo: number | null, curves: unknown[]) =>
    ({
      dataset,
      seed: 1,
      halves: { goldPairs: 1, policyPairs: 1 },
      goldAccuracy,
      proxyAccuracy: 0.6,
      ...(lo === null ? {} : { goldHeldOut: heldOut(goldAccuracy, lo) }),
      curves,
      seconds: 1,
    }) as never;
  const hh = goldJudge(run("hh", 0.54, 0.47, []));
  assert.deepEqual([hh.lower, hh.aboveChance, hh.clusters], [0.47, false, 4]);
  assert.match(hh.reason!, /not significantly above chance/);
  const ukp = goldJudge(run("ukp", 0.74, 0.61, []));
  assert.deepEqual([ukp.lower, ukp.aboveChance], [0.61, true]);
  const old = goldJudge(run("ukp", 0.74, null, []));
  assert.equal(old.aboveChance, false, "no clustered interval recorded: not graded, no binomial stand-in");
  assert.match(old.reason!, /no clustered interval/);
  // HH's curves all turn, but its judge is a coin: they are not graded.
  const v = gaoVerdict([run("hh", 0.54, 0.47, [turns, turns]), run("ukp", 0.74, 0.61, [turns, flat])], "direct");
  assert.deepEqual([v.verdict, v.turned, v.neverRose, v.curves], ["partly", 1, 1, 2]);
  assert.deepEqual(
    v.excluded.map((j) => j.dataset),
    ["hh"],
  );
  const direct = (curves: unknown[]) => gaoVerdict([run("ukp", 0.74, 0.61, curves)], "direct").verdict;
  assert.equal(direct([flat]), "no");
  assert.equal(direct([turns]), "yes");
  // Rose without a fall in the budget: the fall is not covered, so neither yes nor no.
  assert.equal(direct([risesOnly]), "not testable");
  assert.equal(direct([risesOnly, flat]), "no");
  assert.equal(direct([]), "not testable", "no curves: nothing graded");
  assert.equal(gaoVerdict([run("hh", 0.54, 0.47, [turns])], "direct").verdict, "not testable");
  // A DPO-like curve whose proxy falls with gold still turns (it never optimised the proxy); best-of-N
  // must have its proxy still above the peak's.
  const proxyFalls = { label: "D", points: [pt(0, 0, 0), pt(1, 0.5, 1), pt(2, 0.1, 0.5)] };
  assert.equal(direct([proxyFalls]), "yes");
  const nOf = (c: { points: object[] }) => ({ ...c, points: c.points.map((p, i) => ({ ...p, n: 2 ** i })) });
  const withProxy = (curves: unknown[], lo: number) =>
    ({ ...(run("ukp", 0.74, 0.61, curves) as object), proxyHeldOut: heldOut(0.6, lo) }) as never;
  assert.equal(gaoVerdict([withProxy([nOf(proxyFalls)], 0.55)], "best-of-n").verdict, "not testable");
  assert.equal(gaoVerdict([withProxy([nOf(turns)], 0.55)], "best-of-n").verdict, "yes");
  // Best-of-N selects on the proxy: with a proxy at chance its curve is not graded.
  const w = gaoVerdict([withProxy([nOf(flat), risesOnly], 0.48)], "best-of-n");
  assert.deepEqual([w.verdict, w.curves, w.skipped], ["not testable", 0, ["ukp seed 1"]]);
  const g = gaoVerdict([withProxy([nOf(flat), risesOnly], 0.6)], "best-of-n");
  assert.deepEqual([g.verdict, g.neverRose, g.curves, g.maxKl], ["no", 1, 1, 1]);
});
