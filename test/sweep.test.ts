// The ablation runner's pieces, in process: statistics, sweep-file validation, grid expansion and run
// ids, sharding, the JSONL store's torn-line recovery, merge bookkeeping, summaries and the bandit kind.
import { before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { initBackend } from "../src/backend";
import { canonicalJson, loadSweepFile, parseSweepSpec, SweepConfigError } from "../src/sweep/config";
import { mergeShards } from "../src/sweep/merge";
import { computedConfig, expandSweep, parseShard, runId, shardRuns } from "../src/sweep/plan";
import { errorBarValue, factorFigure, reportHtml } from "../src/sweep/report";
import { runSweep } from "../src/sweep/runner";
import { readResults, ResultsStore, type RunRecord } from "../src/sweep/store";
import { seedStats, studentTCdf, studentTQuantile } from "../src/stats";
import { summarise, summaryCsv, summaryFrame, summaryRow } from "../src/sweep/summary";
import { banditKind } from "../src/experiments/bandit-kind";
import { inlineComplainer } from "../src/sweep/kinds";
import { syntheticKind } from "../src/experiments/synthetic-kind";
import "../src/experiments";
import { syntheticRecord } from "./fixtures";

const tmp = (name: string): string => fs.mkdtempSync(path.join(os.tmpdir(), `prefopt-sweep-${name}-`));

function writeFile(dir: string, name: string, text: string): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, text);
  return f;
}

function close(a: number, b: number, tol: number, what: string): void {
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b} (tol ${tol})`);
}

before(async () => {
  await initBackend();
});

describe("statistics over seeds", () => {
  test("Student t quantiles match published tables", () => {
    // t_{0.975, ν} from standard tables.
    const table: Array<[number, number]> = [
      [1, 12.7062047],
      [2, 4.30265273],
      [4, 2.77644511],
      [9, 2.26215716],
      [30, 2.04227246],
    ];
    for (const [nu, t] of table) close(studentTQuantile(0.975, nu), t, 1e-6, `t(0.975, ${nu})`);
    close(studentTQuantile(0.975, 1e7), 1.959964, 1e-5, "large ν → normal");
    close(studentTQuantile(0.025, 4), -2.77644511, 1e-6, "lower tail by symmetry");
    close(studentTCdf(0, 3), 0.5, 1e-12, "CDF at 0");
    close(studentTCdf(1, 1), 0.75, 1e-10, "Cauchy CDF at 1 = 1/2 + atan(1)/π");
  });

  test("mean, sd and CI of a small sample by hand; one seed has no interval; non-finite values are counted", () => {
    const s = seedStats([1, 2, 3, 4, 5]);
    close(s.mean, 3, 1e-12, "mean");
    close(s.sd, Math.sqrt(2.5), 1e-12, "sd (n−1)");
    close(s.ciHalf, (2.77644511 * Math.sqrt(2.5)) / Math.sqrt(5), 1e-6, "half-width");
    const one = seedStats([7]);
    assert.equal(one.mean, 7);
    assert.ok(Number.isNaN(one.ciHalf));
    const bad = seedStats([1, NaN, 3, Infinity]);
    assert.equal(bad.n, 2);
    assert.equal(bad.nonFinite, 2);
    close(bad.mean, 2, 1e-12, "mean of finite values");
  });

  test("the CI narrows like t/√n as seeds grow (synthetic kind, known noise)", async () => {
    const widths: number[] = [];
    for (const count of [3, 10, 40]) {
      const spec = parseSweepSpec({
        name: "ci",
        kind: "synthetic",
        seeds: count,
        base: { noise: 2 },
        grid: { x: [1] },
      });
      const r = await runSweep({ spec, out: tmp("ci"), workers: 0, quiet: true, report: false });
      const row = r.summary.rows.find((x) => x.metric === "score")!;
      assert.equal(row.n, count);
      widths.push(row.ciHalf);
      // The half-width is t·sd/√n with sd ≈ 2: check it is within a factor of 2 of the population value.
      const expected = (studentTQuantile(0.975, count - 1) * 2) / Math.sqrt(count);
      assert.ok(row.ciHalf > expected / 2 && row.ciHalf < expected * 2, `half-width ${row.ciHalf} vs ≈${expected}`);
    }
    assert.ok(widths[0] > widths[1] && widths[1] > widths[2], `CI half-widths should shrink: ${widths.join(", ")}`);
  });
});

describe("sweep files", () => {
  test("errors name the file, the line and the field path", () => {
    const dir = tmp("cfg");
    const bad = writeFile(
      dir,
      "bad.yaml",
      "name: bad\nkind: bandit\nseeds: 2\ngrid:\n  method: [dpo]\n  lossOptions.beta: [0.1, -1]\n",
    );
    assert.throws(
      () => expandSweep(loadSweepFile(bad)),
      (e: Error) => {
        assert.ok(e instanceof SweepConfigError);
        assert.match(
          e.message,
          /bad\.yaml:6 grid\["lossOptions\.beta"\]: config field lossOptions\.beta .*must be > 0, got -1/,
        );
        return true;
      },
    );
    const typo = writeFile(
      dir,
      "typo.yaml",
      "name: t\nkind: bandit\nseeds: 2\nbase:\n  method: dpo\n  lossOption: {beta: 1}\ngrid: {steps: [10]}\n",
    );
    assert.throws(
      () => expandSweep(loadSweepFile(typo)),
      /typo\.yaml:6 base\.lossOption: config field lossOption .*unknown field/,
    );
    const seeds = writeFile(dir, "seeds.yaml", "name: s\nkind: synthetic\nseeds: [0, 1, 1]\ngrid: {x: [1]}\n");
    assert.throws(() => loadSweepFile(seeds), /seeds\.yaml:3 seeds: lists a seed twice/);
    const top = writeFile(dir, "top.json", JSON.stringify({ name: "j", kind: "synthetic", seeds: 1, grid: { x: [] } }));
    assert.throws(() => loadSweepFile(top), /top\.json grid\.x: an empty list/);
    const kind = writeFile(dir, "kind.yaml", "name: k\nkind: nope\nseeds: 1\ngrid: {x: [1]}\n");
    assert.throws(() => expandSweep(loadSweepFile(kind)), /unknown experiment kind "nope"/);
    const unknownTop = writeFile(dir, "u.yaml", "name: u\nkind: synthetic\nseed: 1\ngrid: {x: [1]}\n");
    assert.throws(() => loadSweepFile(unknownTop), /u\.yaml:3 seed: unknown key/);
  });

  test("every example sweep in scripts/sweeps validates and expands", () => {
    const dir = path.join(__dirname, "..", "scripts", "sweeps");
    // hh.json and hh-overopt.json are the configs of `npm run hh` (scripts/hh.ts), not sweep files.
    const notSweeps = ["hh.json", "hh-overopt.json"];
    const hhScript = fs.readFileSync(path.join(__dirname, "..", "scripts", "hh.ts"), "utf8");
    for (const f of notSweeps) assert.ok(hhScript.includes(`"scripts/sweeps/${f}"`), `${f} is read by scripts/hh.ts`);
    const files = fs.readdirSync(dir).filter((f) => /\.(ya?ml|json)$/.test(f) && !notSweeps.includes(f));
    assert.ok(files.length >= 3);
    for (const f of files) {
      const plan = expandSweep(loadSweepFile(path.join(dir, f)));
      assert.ok(plan.runs.length > 0, f);
      assert.ok(plan.factors.length > 0, `${f} sweeps at least one factor`);
    }
  });
});

describe("grid expansion and run ids", () => {
  const spec = parseSweepSpec({
    name: "g",
    kind: "synthetic",
    seeds: [0, 5],
    base: { noise: 0.5 },
    grid: [
      { x: [0, 1, 2], slope: [1, -1] },
      { label: "ref", x: 9 },
      { x: 0, slope: 1, noise: 0.5 },
    ],
  });

  test("blocks are concatenated cartesian products; duplicates run once; factors are what varies", () => {
    const plan = expandSweep(spec);
    assert.equal(plan.points, 3 * 2 + 1);
    assert.equal(plan.duplicatePoints, 1, "the third block repeats (x=0, slope=1) with the default noise written out");
    assert.equal(plan.runs.length, 7 * 2);
    assert.deepEqual(plan.factors, ["x", "slope", "label"]);
    assert.deepEqual(plan.runs[0].factors, { x: 0, slope: 1, label: null });
    assert.deepEqual(plan.runs[plan.runs.length - 1].factors, { x: 9, slope: 1, label: "ref" });
    assert.deepEqual(
      plan.runs.map((r) => r.index),
      plan.runs.map((_, i) => i),
    );
    assert.equal(new Set(plan.runs.map((r) => r.id)).size, plan.runs.length);
    // Dotted keys reach nested fields.
    const nested = expandSweep(
      parseSweepSpec({
        name: "n",
        kind: "bandit",
        seeds: 1,
        base: { method: "dpo" },
        grid: { "lossOptions.beta": [0.1, 1], "dataset.nPairs": [5] },
      }),
    );
    assert.equal((nested.runs[1].config.lossOptions as { beta: number }).beta, 1);
    assert.equal((nested.runs[1].config.dataset as { nPairs: number }).nPairs, 5);
  });

  test("ids hash canonical JSON: key order and written-out defaults do not matter, seeds and values do", () => {
    const a = runId("synthetic", 1, { x: 1, noise: 0.5 }, 3);
    assert.equal(a, runId("synthetic", 1, { noise: 0.5, x: 1 }, 3));
    assert.notEqual(a, runId("synthetic", 1, { noise: 0.5, x: 1 }, 4));
    assert.notEqual(a, runId("synthetic", 1, { noise: 0.5, x: 1.0001 }, 3));
    assert.notEqual(a, runId("synthetic", 2, { noise: 0.5, x: 1 }, 3));
    assert.equal(canonicalJson({ b: [1, { d: 2, c: 3 }], a: "x" }), '{"a":"x","b":[1,{"c":3,"d":2}]}');
    const reordered = parseSweepSpec({
      name: "g",
      grid: [{ slope: [1, -1], x: [0, 1, 2] }],
      seeds: [0, 5],
      kind: "synthetic",
      base: { noise: 0.5, center: 0 },
    });
    const ids1 = new Set(expandSweep(spec).runs.map((r) => r.id));
    for (const r of expandSweep(reordered).runs) assert.ok(ids1.has(r.id), "same runs, same ids");
    // Pinned: an accidental change to hashing or canonical JSON would silently orphan stored results.
    assert.equal(
      expandSweep(spec).runs[0].id,
      runId(
        "synthetic",
        syntheticKind.version,
        { center: 0, slope: 1, x: 0, noise: 0.5, delayMs: 0, spin: false, note: "", failSeed: -1 },
        0,
      ),
    );
    // = sha256('{"config":{"a":1},"kind":"synthetic","seed":0,"version":1}'), computed with sha256sum.
    assert.equal(runId("synthetic", 1, { a: 1 }, 0), "72608f6c312ea04f");
  });

  test("a label is cosmetic: not in the id, renaming it keeps every id; pinned hash unchanged", () => {
    const cfg = { center: 0, slope: 1, x: 0, noise: 0.5, delayMs: 0, spin: false, note: "", failSeed: -1 };
    assert.equal(runId("synthetic", 2, { ...cfg, label: "anything" }, 0), runId("synthetic", 2, cfg, 0));
    assert.deepEqual(computedConfig({ ...cfg, label: "x" }), cfg);
    // = sha256('{"config":{"a":1},"kind":"synthetic","seed":0,"version":1}'): labels never reach the hash.
    assert.equal(runId("synthetic", 1, { a: 1, label: "L" }, 0), "72608f6c312ea04f");
    const relabel = (label: string) =>
      parseSweepSpec({
        name: "r",
        kind: "synthetic",
        seeds: 2,
        grid: [
          { label, x: [1, 2] },
          { label: "other", x: 3 },
        ],
      });
    const a = expandSweep(relabel("before"));
    const b = expandSweep(relabel("after"));
    assert.deepEqual(
      a.runs.map((r) => r.id),
      b.runs.map((r) => r.id),
    );
    assert.equal(a.runs[0].config.label, "before", "the label stays in the config and factors of records");
    assert.equal(b.runs[0].factors.label, "after");
  });

  test("one config under two labels is an error naming both grid blocks and their lines", () => {
    const dir = tmp("labels");
    const file = writeFile(
      dir,
      "two-labels.yaml",
      "name: two\nkind: synthetic\nseeds: 2\ngrid:\n  - label: plain\n    x: [0, 1]\n  - label: renamed copy\n    x: 1\n    noise: 1\n",
    );
    assert.throws(
      () => expandSweep(loadSweepFile(file)),
      (e: Error) => {
        assert.ok(e instanceof SweepConfigError);
        assert.match(
          e.message,
          /two-labels\.yaml:7 grid\[1\]\.label: grid point x=1, noise=1 \(label "renamed copy"\) resolves to the same config as grid point x=1 of grid\[0\]\.label \(line 5\) \(label "plain"\)/,
        );
        assert.match(e.message, /not part of a run's id/);
        return true;
      },
    );
    // A label list in one block over the same config: also an error.
    assert.throws(
      () => expandSweep(parseSweepSpec({ name: "l", kind: "synthetic", seeds: 1, grid: { label: ["a", "b"], x: 1 } })),
      /label "b"\) resolves to the same config as grid point x=1/,
    );
    // The same config with the same label (or none) is still a harmless duplicate, run once.
    const same = expandSweep(
      parseSweepSpec({
        name: "s",
        kind: "synthetic",
        seeds: 1,
        grid: [
          { label: "a", x: 1 },
          { label: "a", x: 1, noise: 1 },
        ],
      }),
    );
    assert.equal(same.points, 1);
    assert.equal(same.duplicatePoints, 1);
  });

  test("the experiment never sees the label; a renamed label re-runs nothing; merge carries the new label", async () => {
    // The synthetic kind hashes its whole config into its noise, so a label reaching run() would change the score.
    const spec = (label?: string) =>
      parseSweepSpec({ name: "lab", kind: "synthetic", seeds: 3, grid: { ...(label ? { label } : {}), x: [0, 1] } });
    const dir = tmp("relabel");
    const first = await runSweep({ spec: spec("first"), out: dir, workers: 0, quiet: true, report: false });
    assert.equal(first.ran, 6);
    const plain = await runSweep({ spec: spec(), out: tmp("plain"), workers: 0, quiet: true, report: false });
    const scores = (file: string) =>
      readResults(file)
        .records.map((r) => `${r.id}:${r.metrics.score}`)
        .sort();
    assert.deepEqual(
      scores(first.files.results),
      scores(plain.files.results),
      "labelled and unlabelled runs: same ids, same numbers",
    );
    const renamed = await runSweep({ spec: spec("second"), out: dir, workers: 0, quiet: true, report: false });
    assert.equal(renamed.ran, 0);
    assert.equal(renamed.alreadyDone, 6);
    const merged = mergeShards({ spec: spec("second"), inputs: [dir], out: tmp("relabel-merge"), report: false });
    assert.equal(merged.missing.length, 0);
    assert.ok(readResults(merged.files.results).records.every((r) => r.config.label === "second"));
  });

  test("stored results from an older plan (other ids) are reported, never reused or summarised", async () => {
    const spec = parseSweepSpec({ name: "old", kind: "synthetic", seeds: 2, grid: { x: [0, 1] } });
    const dir = tmp("foreign");
    const foreign: RunRecord = {
      id: "0123456789abcdef",
      kind: "synthetic",
      seed: 0,
      index: 0,
      config: { x: 0, label: "old" },
      factors: { x: 0 },
      metrics: { score: 1e6 },
      ms: 1,
      finishedAt: "2024-01-01T00:00:00Z",
    };
    fs.writeFileSync(path.join(dir, "results.jsonl"), JSON.stringify(foreign) + "\n");
    let log = "";
    const sink = { write: (t: string) => ((log += t), true) } as unknown as NodeJS.WritableStream;
    const r = await runSweep({ spec, out: dir, workers: 0, log: sink, report: false });
    assert.match(log, /holds 1 result\(s\) whose id is not in this plan/);
    assert.equal(r.ran, 4);
    assert.deepEqual(
      r.summary.extra.map((x) => x.id),
      [foreign.id],
    );
    assert.ok(
      r.summary.rows.filter((x) => x.metric === "score").every((x) => x.mean < 100),
      "the foreign score is not averaged in",
    );
  });

  test("shards partition the plan exactly once, in balanced sizes", () => {
    const runs = expandSweep(spec).runs;
    for (let n = 1; n <= 5; n++) {
      const parts = Array.from({ length: n }, (_, i) => shardRuns(runs, { index: i, count: n }));
      const ids = parts
        .flat()
        .map((r) => r.id)
        .sort();
      assert.deepEqual(ids, runs.map((r) => r.id).sort(), `n=${n}: union is the plan, nothing twice`);
      const sizes = parts.map((p) => p.length);
      assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1, `n=${n}: sizes ${sizes}`);
    }
    assert.deepEqual(parseShard("2/4"), { index: 2, count: 4 });
    assert.throws(() => parseShard("4/4"), /0 <= i < n/);
    assert.throws(() => parseShard("1-4"), /i\/n/);
  });
});

describe("results store", () => {
  const rec = syntheticRecord;

  test("a torn last line is ignored, truncated on open, and appends continue cleanly", () => {
    const dir = tmp("store");
    const file = path.join(dir, "results.jsonl");
    const s = ResultsStore.open(file);
    s.append(rec("a", 1));
    s.append(rec("b", 2));
    s.close();
    fs.appendFileSync(file, '{"id":"c","kind":"synth'); // a kill in the middle of a write
    const read = readResults(file);
    assert.deepEqual(
      read.records.map((r) => r.id),
      ["a", "b"],
    );
    assert.equal(read.tornBytes, 23);
    const s2 = ResultsStore.open(file);
    assert.equal(s2.repairedBytes, 23);
    assert.ok(s2.has("b") && !s2.has("c"));
    s2.append(rec("c", 3));
    s2.close();
    const again = readResults(file);
    assert.deepEqual(
      again.records.map((r) => r.id),
      ["a", "b", "c"],
    );
    assert.equal(again.tornBytes, 0);
    assert.ok(!fs.existsSync(`${file}.lock`), "lock released on close");
  });

  test("a damaged line that is not the last is an error naming file and line", () => {
    const dir = tmp("store2");
    const file = writeFile(
      dir,
      "results.jsonl",
      `${JSON.stringify(rec("a", 1))}\n{oops\n${JSON.stringify(rec("b", 1))}\n`,
    );
    assert.throws(() => readResults(file), /results\.jsonl:2: unreadable result line/);
    const noId = writeFile(dir, "r2.jsonl", `{"seed":1,"metrics":{},"config":{}}\n`);
    assert.throws(() => readResults(noId), /r2\.jsonl:1: field id/);
  });

  test("a second writer on the same file is refused while the first holds it", () => {
    const file = path.join(tmp("lock"), "results.jsonl");
    const s = ResultsStore.open(file);
    fs.writeFileSync(`${file}.lock`, `${process.ppid} ${os.hostname()}`); // pretend a live sweep holds it
    assert.throws(() => ResultsStore.open(file), /being written by another process \(pid \d+.*results\.jsonl\.lock/);
    s.close();
  });
});

describe("merge", () => {
  test("detects gaps, harmless duplicates and conflicting duplicates; a complete merge equals the full run", async () => {
    const spec = parseSweepSpec({ name: "m", kind: "synthetic", seeds: 3, grid: { x: [0, 1, 2, 3] } });
    const dir = tmp("merge");
    for (let i = 0; i < 3; i++)
      await runSweep({ spec, out: dir, workers: 0, shard: { index: i, count: 3 }, quiet: true, report: false });
    const full = await runSweep({ spec, out: tmp("full"), workers: 0, quiet: true, report: false });
    const ok = mergeShards({ spec, inputs: [dir], out: tmp("merged"), report: false });
    assert.equal(ok.inputFiles.length, 3);
    assert.equal(ok.missing.length, 0);
    assert.equal(ok.duplicates.length, 0);
    assert.equal(ok.merged, 12);
    assert.equal(summaryCsv(ok.summary), summaryCsv(full.summary));

    // Damage: drop one run from shard 1, copy one run of shard 0 into shard 2, alter one copy of another.
    const shard = (i: number): string => path.join(dir, `results-shard-${i}-of-3.jsonl`);
    const lines1 = fs.readFileSync(shard(1), "utf8").trim().split("\n");
    const dropped = JSON.parse(lines1[0]) as RunRecord;
    fs.writeFileSync(shard(1), lines1.slice(1).join("\n") + "\n");
    const lines0 = fs.readFileSync(shard(0), "utf8").trim().split("\n");
    const altered = JSON.parse(lines0[1]) as RunRecord;
    altered.metrics.score = 999;
    fs.appendFileSync(shard(2), lines0[0] + "\n" + JSON.stringify(altered) + "\n");
    const bad = mergeShards({ spec, inputs: [shard(0), shard(1), shard(2)], out: tmp("merged2"), report: false });
    assert.deepEqual(
      bad.missing.map((r) => r.id),
      [dropped.id],
    );
    assert.equal(bad.duplicates.length, 2);
    assert.deepEqual(
      bad.duplicates.filter((d) => d.conflict).map((d) => d.id),
      [altered.id],
    );
    assert.equal(bad.merged, 11);
    assert.equal(bad.summary.missing.length, 1);
  });
});

describe("extra experiment kinds", () => {
  test("a module named in the sweep file registers a kind, in this thread and in every worker", async () => {
    const dir = tmp("module");
    const kinds = JSON.stringify(path.join(__dirname, "..", "src", "sweep", "kinds"));
    writeFile(
      dir,
      "square-kind.ts",
      `import { ConfigReader, registerExperimentKind } from ${kinds};
registerExperimentKind({
  name: "square", description: "x² + seed", version: 1, usesBackend: false,
  resolve(config, complain) { const r = ConfigReader.root(config, complain); const out = { x: r.number("x", undefined) }; r.done(); return out; },
  run(config, seed) { const x = config.x as number; return { y: x * x + seed }; },
});\n`,
    );
    const file = writeFile(
      dir,
      "square.yaml",
      "name: square\nkind: square\nmodules: [./square-kind.ts]\nseeds: [0, 10]\ngrid: {x: [2, 3]}\n",
    );
    const r = await runSweep({ file, out: path.join(dir, "out"), workers: 2, quiet: true, report: false });
    assert.equal(r.failed.length, 0, r.failed[0]?.error);
    const ys = readResults(r.files.results)
      .records.map((x) => x.metrics.y)
      .sort((a, b) => (a as number) - (b as number));
    assert.deepEqual(ys, [4, 9, 14, 19]);
  });
});

describe("failed runs", () => {
  test("a run that throws is reported, not stored, and retried by the next invocation (worker and in-thread)", async () => {
    const spec = parseSweepSpec({ name: "f", kind: "synthetic", seeds: 3, grid: { x: [0, 1], failSeed: 1 } });
    for (const workers of [0, 1]) {
      const out = tmp("fail");
      const r = await runSweep({ spec, out, workers, quiet: true, report: false });
      assert.equal(r.ran, 4);
      assert.equal(r.failed.length, 2);
      assert.match(r.failed[0].error, /synthetic run asked to fail on seed 1/);
      assert.equal(r.summary.missing.length, 2);
      assert.equal(readResults(r.files.results).records.length, 4);
      assert.equal(fs.readFileSync(r.files.failures!, "utf8").trim().split("\n").length, 2);
      const again = await runSweep({ spec, out, workers, quiet: true, report: false });
      assert.deepEqual([again.alreadyDone, again.ran, again.failed.length], [4, 0, 2]);
    }
  });
});

describe("summary", () => {
  test("groups by factors in plan order; DataFrame and CSV carry every statistic; missing runs are visible", async () => {
    const spec = parseSweepSpec({
      name: "s",
      kind: "synthetic",
      seeds: 4,
      base: { noise: 0 },
      grid: { x: [1, 2], note: ['a,"b"'] },
    });
    const r = await runSweep({ spec, out: tmp("sum"), workers: 0, quiet: true, report: false });
    const score = r.summary.rows.filter((x) => x.metric === "score");
    assert.deepEqual(
      score.map((x) => [x.factors.x, x.mean, x.sd, x.n]),
      [
        [1, 1, 0, 4],
        [2, 2, 0, 4],
      ],
    );
    const df = summaryFrame(r.summary, "score");
    assert.deepEqual(df.columns, [
      "x",
      "metric",
      "n",
      "nonFinite",
      "expected",
      "mean",
      "sd",
      "ci95Low",
      "ci95High",
      "ci95Half",
    ]);
    assert.equal(df.shape[0], 2);
    assert.match(summaryCsv(r.summary), /^x,metric,n,/);
    const partial = summarise(r.runs, r.plan.factors, readResults(r.files.results).records.slice(1));
    assert.equal(partial.missing.length, 1);
    assert.equal(partial.rows.find((x) => x.metric === "score")!.n, 3);
  });
});

describe("report", () => {
  test("summaryRow finds the one row for a metric and factor values, and names what it could not find", async () => {
    const spec = parseSweepSpec({ name: "rows", kind: "synthetic", seeds: 2, grid: { x: [0, 1], noise: [0, 0.5] } });
    const r = await runSweep({ spec, out: tmp("rows"), workers: 0, quiet: true, report: false });
    const row = summaryRow(r.summary, "score", { x: 1, noise: 0 });
    assert.equal(row.factors.x, 1);
    assert.equal(row.factors.noise, 0);
    assert.equal(row.mean, 1, "score = center + slope·x with no noise");
    assert.throws(() => summaryRow(r.summary, "score", { x: 2, noise: 0 }), /no summary row for score at x=2, noise=0/);
    assert.throws(
      () => summaryRow(r.summary, "score", { x: 1 }),
      /2 summary rows match score at x=1; name more factors/,
    );
    assert.throws(() => summaryRow(r.summary, "nope", { x: 1, noise: 0 }), /no summary row for nope/);
  });
  test("factorFigure takes words for its axes, title and legend instead of config keys", async () => {
    const spec = parseSweepSpec({ name: "words", kind: "synthetic", seeds: 2, grid: { x: [0, 1], noise: [0, 0.5] } });
    const r = await runSweep({ spec, out: tmp("words"), workers: 0, quiet: true, report: false });
    const plain = factorFigure(r.summary, "score", "x");
    assert.equal((plain.layout!.xaxis as { title: { text: string } }).title.text, "x");
    const fig = factorFigure(r.summary, "score", "x", false, undefined, {
      title: "score against the knob",
      x: "the knob (units)",
      y: "score (points)",
      series: (f) => `noise ${f.noise}`,
    });
    const layout = fig.layout as Record<string, { title?: { text: string }; text?: string }>;
    assert.equal(layout.title.text, "score against the knob");
    assert.equal(layout.xaxis.title!.text, "the knob (units)");
    assert.equal(layout.yaxis.title!.text, "score (points) (mean ± 95% CI)");
    assert.deepEqual(
      fig.data.map((d) => d.name),
      ["noise 0", "noise 0.5"],
    );
  });
  test("a group with fewer than 2 finite seeds gets no error bar (not a zero-width one), a hover note and a warning", async () => {
    const spec = parseSweepSpec({ name: "ci", kind: "synthetic", seeds: 3, grid: { x: [0, 1] } });
    const r = await runSweep({ spec, out: tmp("noci"), workers: 0, quiet: true, report: false });
    const recs = readResults(r.files.results).records.filter((x) => !(x.factors.x === 0 && x.seed > 0)); // x=0 keeps one seed
    const summary = summarise(r.runs, r.plan.factors, recs);
    const fig = factorFigure(summary, "score", "x");
    // What plotly sees after JSON (errorbars/compute_error.js reads +array[i]; a non-number omits the bar).
    const trace = JSON.parse(JSON.stringify(fig.data))[0] as {
      x: number[];
      error_y: { array: unknown[] };
      customdata: string[];
    };
    const at = (x: number) => trace.x.indexOf(x);
    assert.ok(
      Number.isNaN(+(trace.error_y.array[at(0)] as number)),
      `one seed: error value ${JSON.stringify(trace.error_y.array[at(0)])} must read as NaN`,
    );
    const half = summary.rows.find((x) => x.metric === "score" && x.factors.x === 1)!.ciHalf;
    assert.equal(+(trace.error_y.array[at(1)] as number), half, "three seeds: the CI half-width");
    assert.match(trace.customdata[at(0)], /no CI: fewer than 2 finite seeds \(n = 1\)/);
    assert.match(trace.customdata[at(1)], /95% CI, n = 3/);
    assert.equal(errorBarValue(NaN), "NaN");
    assert.equal(
      +JSON.parse(JSON.stringify([null]))[0],
      0,
      "why not null: plotly would read it as a zero-width interval",
    );
    const html = reportHtml({ spec, summary, planned: r.plan.runs.length });
    assert.match(
      html,
      /no CI: fewer than 2 finite seeds in \d+ row\(s\), drawn without error bars: score at x=0 \(n = 1\)/,
    );
    assert.match(html, /no CI \(n &lt; 2\)/);
    const full = reportHtml({ spec, summary: r.summary, planned: r.plan.runs.length });
    assert.doesNotMatch(full, /no CI: fewer than 2/);
  });
});

describe("bandit experiment kind", () => {
  test("a run is a pure function of (config, seed); seeds differ; defaults are filled in", async () => {
    const cfg = banditKind.resolve({ method: "dpo", steps: 200, lossOptions: { beta: 0.5 } }, inlineComplainer());
    assert.equal((cfg.dataset as { type: string }).type, "bt-pairs");
    const a = await banditKind.run(cfg, 1);
    const b = await banditKind.run(structuredClone(cfg), 1);
    const c = await banditKind.run(cfg, 2);
    assert.deepEqual(a, b, "metrics hold no timings: a run is a pure function of (config, seed)");
    assert.notEqual(a.expectedReward, c.expectedReward);
    assert.throws(
      () => banditKind.resolve({ method: "ppo" }, inlineComplainer("x.yaml")),
      /x\.yaml method: must be one of dpo, .*sigmoid, robust, hinge, ipo, .*kto, listwise/,
    );
    assert.throws(
      () => banditKind.resolve({ method: "ipo", lossOptions: { labelSmoothing: 0.1 } }, inlineComplainer()),
      /lossOptions\.labelSmoothing: is not an option of loss "ipo"; it takes beta, lengthNormalize/,
    );
    assert.throws(
      () => banditKind.resolve({ method: "dpo", lr: 0.1 }, inlineComplainer()),
      /lr: was renamed learningRate/,
    );
  });

  test("any registered loss runs; aliases are stored under the registered name; options get the entry's defaults", async () => {
    const lw = banditKind.resolve({ method: "listwise-dpo", steps: 5 }, inlineComplainer());
    assert.equal(lw.method, "listwise");
    const simpo = banditKind.resolve({ method: "simpo", steps: 50, lossOptions: { beta: 2 } }, inlineComplainer());
    assert.deepEqual(simpo.lossOptions, { beta: 2, simpoGamma: 0.5, labelSmoothing: 0, rpoAlpha: 0 });
    const m = await banditKind.run(simpo, 0);
    assert.ok(Number.isFinite(m.finalLoss as number) && Number.isFinite(m.tvToKlOptimum as number));
    const sft = await banditKind.run(banditKind.resolve({ method: "sft", steps: 20 }, inlineComplainer()), 0);
    assert.equal(sft.tvToKlOptimum, undefined, "no β, no KL-regularised target");
  });

  test("on IPO's never-wins set, DPO drives π(c) to ~0 while IPO keeps it (Azar et al. 2023 §5.4)", async () => {
    const res: Record<string, number> = {};
    for (const method of ["dpo", "ipo"]) {
      const cfg = banditKind.resolve(
        {
          method,
          steps: 2000,
          batchSize: 8,
          learningRate: 0.05,
          lossOptions: { beta: 0.5 },
          dataset: { type: "ipo-never-wins" },
        },
        inlineComplainer(),
      );
      res[method] = (await banditKind.run(cfg, 0)).prob2 as number;
    }
    assert.ok(res.dpo < 1e-4, `DPO π(c) = ${res.dpo}`);
    assert.ok(res.ipo > 0.1, `IPO π(c) = ${res.ipo}`);
  });

  test("label flips and KTO subsampling do what they say", async () => {
    const flips = banditKind.resolve(
      { method: "dpo", steps: 1, dataset: { nPairs: 2000, flipRate: 0.3 } },
      inlineComplainer(),
    );
    close((await banditKind.run(flips, 0)).flippedShare as number, 0.3, 0.03, "flipped share");
    const kto = banditKind.resolve(
      {
        method: "kto",
        steps: 1,
        dataset: { nPairs: 100, keepDesirable: 0.25 },
        lossOptions: { desirableWeight: "balanced" },
      },
      inlineComplainer(),
    );
    const m = await banditKind.run(kto, 0);
    close(m.desirableShare as number, 25 / 125, 1e-12, "desirable share");
    close(m.desirableWeight as number, 4, 1e-12, "balanced λ_D = n_U/n_D");
  });
});
