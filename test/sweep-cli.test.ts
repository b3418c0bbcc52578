// The ablation runner end to end through the real CLI (scripts/sweep.ts) and worker threads: SIGKILL in
// the middle of a sweep and resume, shards + merge, the HTML report in headless Chromium (figures render,
// no page errors, an injected <script> stays text), --help and a bad sweep file.
import { after, before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import type { Browser } from "playwright-core";
import { checkHtmlFile, launchChromium } from "../scripts/browser-check";
import "../src/experiments";
import { loadSweepFile } from "../src/sweep/config";
import { expandSweep } from "../src/sweep/plan";
import { readResults, type RunRecord } from "../src/sweep/store";
import { reportHtml } from "../src/sweep/report";
import { summarise } from "../src/sweep/summary";

const root = path.resolve(__dirname, "..");
const cli = path.join(root, "scripts", "sweep.ts");
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "prefopt-sweep-cli-"));
const INJECTED = "<script>window.__pwned=1</script>";

// 4 grid points × 8 seeds, 25 ms per run: long enough to kill mid-way, short enough for a unit test.
const sweepFile = path.join(dir, "kill.yaml");
fs.writeFileSync(
  sweepFile,
  `name: kill-test
description: "</script><script>window.__pwned2=1</script> description stays text"
kind: synthetic
seeds: 8
base: {noise: 1, delayMs: 25}
grid:
  x: [0, 1]
  note: [plain, ${JSON.stringify(INJECTED)}]
report: {metrics: [score, eps]}
`,
);

function sweep(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ["--import", "tsx", cli, ...args], {
    cwd: root,
    encoding: "utf8",
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The outcome of each run, keyed by id (timings excluded), and a check that no id is stored twice. */
function outcomes(file: string): Map<string, string> {
  const recs = readResults(file).records;
  const map = new Map<string, string>();
  for (const r of recs) {
    assert.ok(!map.has(r.id), `run ${r.id} stored twice in ${file}`);
    map.set(r.id, JSON.stringify({ seed: r.seed, config: r.config, metrics: r.metrics }));
  }
  return map;
}

function lineCount(file: string): number {
  if (!fs.existsSync(file)) return 0;
  return fs
    .readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l.trim() !== "").length;
}

/** Start the CLI, wait until `atLeast` results are stored, SIGKILL it; returns how many were stored. */
async function startAndKill(out: string, atLeast: number): Promise<number> {
  const results = path.join(out, "results.jsonl");
  const child = spawn(
    process.execPath,
    ["--import", "tsx", cli, sweepFile, "--out", out, "--workers", "2", "--no-report"],
    { cwd: root, stdio: "ignore" },
  );
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  const t0 = Date.now();
  while (lineCount(results) < atLeast) {
    if (child.exitCode !== null) throw new Error("the sweep finished before it could be killed");
    if (Date.now() - t0 > 60_000) throw new Error("sweep made no progress in 60 s");
    await new Promise((r) => setTimeout(r, 10));
  }
  child.kill("SIGKILL");
  await exited;
  return lineCount(results);
}

describe("sweep CLI", () => {
  const plan = expandSweep(loadSweepFile(sweepFile));
  let reference: Map<string, string>;
  let browser: Browser | undefined;

  before(() => {
    // The uninterrupted run: one worker, same seeds.
    const r = sweep([sweepFile, "--out", path.join(dir, "reference"), "--workers", "1"]);
    assert.equal(r.status, 0, r.stderr);
    reference = outcomes(path.join(dir, "reference", "results.jsonl"));
  });

  after(async () => {
    await browser?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("the reference run stored every planned run once", () => {
    assert.equal(plan.runs.length, 32);
    assert.deepEqual([...reference.keys()].sort(), plan.runs.map((r) => r.id).sort());
  });

  test("SIGKILL mid-sweep (twice, plus a torn line) loses nothing; the resumed file equals the uninterrupted run", async () => {
    const out = path.join(dir, "killed");
    const results = path.join(out, "results.jsonl");
    const first = await startAndKill(out, 4);
    assert.ok(first >= 4 && first < 32, `killed after ${first} runs`);
    const second = await startAndKill(out, first + 4);
    assert.ok(second > first && second < 32, `second kill after ${second} runs`);
    // Every stored line parses and belongs to the plan; then simulate a kill inside a write.
    const partial = outcomes(results);
    for (const [id, o] of partial) assert.equal(o, reference.get(id), `run ${id} differs from the reference`);
    const before = readResults(results).records.length;
    fs.appendFileSync(results, JSON.stringify(readResults(results).records[0]).slice(0, 37));

    const r = sweep([sweepFile, "--out", out, "--workers", "2"]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /removed a torn last line \(37 bytes\)/);
    assert.match(r.stderr, new RegExp(`${before} already done, ${32 - before} to run`));
    const final = outcomes(results);
    assert.equal(final.size, 32);
    assert.deepEqual(new Map([...final].sort()), new Map([...reference].sort()));

    // A further re-run has nothing to do and changes nothing.
    const again = sweep([sweepFile, "--out", out, "--workers", "2", "--no-report"]);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stderr, /32 already done, 0 to run/);
    assert.equal(lineCount(results), 32);
  });

  test("shards run by separate processes merge to the full sweep; merge reports a gap and a duplicate", () => {
    const out = path.join(dir, "shards");
    for (let i = 0; i < 3; i++) {
      const r = sweep([sweepFile, "--out", out, "--workers", "1", "--shard", `${i}/3`, "--no-report"]);
      assert.equal(r.status, 0, r.stderr);
    }
    const merged = path.join(dir, "merged");
    const m = sweep(["merge", sweepFile, out, "--out", merged, "--no-report"]);
    assert.equal(m.status, 0, m.stdout + m.stderr);
    assert.match(m.stdout, /32\/32 planned runs present/);
    assert.deepEqual(new Map([...outcomes(path.join(merged, "results.jsonl"))].sort()), new Map([...reference].sort()));
    assert.equal(
      fs.readFileSync(path.join(merged, "summary.csv"), "utf8"),
      fs.readFileSync(path.join(dir, "reference", "summary.csv"), "utf8"),
    );

    // Drop a line from shard 0 and duplicate one of shard 1 into shard 2.
    const shard = (i: number): string => path.join(out, `results-shard-${i}-of-3.jsonl`);
    const l0 = fs.readFileSync(shard(0), "utf8").trim().split("\n");
    const gone = (JSON.parse(l0[2]) as RunRecord).id;
    fs.writeFileSync(shard(0), [...l0.slice(0, 2), ...l0.slice(3)].join("\n") + "\n");
    fs.appendFileSync(shard(2), fs.readFileSync(shard(1), "utf8").split("\n")[0] + "\n");
    const bad = sweep(["merge", sweepFile, out, "--out", path.join(dir, "merged-bad"), "--no-report"]);
    assert.equal(bad.status, 1, "a gap fails the merge");
    assert.match(bad.stdout, new RegExp(`missing: 1 \\(first: ${gone}`));
    assert.match(bad.stdout, /duplicates: 1 \(0 with differing results\)/);
    const allowed = sweep([
      "merge",
      sweepFile,
      out,
      "--out",
      path.join(dir, "merged-bad"),
      "--allow-missing",
      "--no-report",
    ]);
    assert.equal(allowed.status, 0);
  });

  test("the report renders offline in Chromium with every figure, no page errors, and injected scripts as text", async () => {
    const report = path.join(dir, "reference", "report.html");
    const html = fs.readFileSync(report, "utf8");
    assert.ok(!html.includes(INJECTED), "the raw <script> string must not appear unescaped");
    assert.ok(!/src=["']https?:/.test(html), "no network resources");
    browser = await launchChromium();
    const check = await checkHtmlFile(browser, report);
    // 2 metrics × 2 factors.
    assert.equal(check.figures, 4);
    assert.equal(check.rendered, 4);
    assert.deepEqual(check.errors, []);
    const page = await browser.newPage();
    try {
      await page.goto("file://" + report);
      // A string expression: this file is compiled without the DOM lib.
      const state = (await page.evaluate(
        "({ pwned: window.__pwned, pwned2: window.__pwned2, text: document.body.innerText })",
      )) as { pwned?: number; pwned2?: number; text: string };
      assert.equal(state.pwned, undefined);
      assert.equal(state.pwned2, undefined);
      assert.ok(state.text.includes(INJECTED), "the injected string shows as text in the tables");
      assert.ok(state.text.includes("</script><script>window.__pwned2=1</script> description stays text"));
    } finally {
      await page.close();
    }
  });

  test("in Chromium, a one-seed point draws no error bar while the others do", async () => {
    // The reference results, with only one seed kept for x=0 (note "plain"): that group has no CI.
    const records = readResults(path.join(dir, "reference", "results.jsonl")).records.filter(
      (r) => !(r.factors.x === 0 && r.factors.note === "plain" && r.seed > 0),
    );
    const summary = summarise(plan.runs, plan.factors, records);
    const file = path.join(dir, "one-seed.html");
    fs.writeFileSync(file, reportHtml({ spec: loadSweepFile(sweepFile), summary, planned: plan.runs.length }));
    browser ??= await launchChromium();
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    try {
      await page.goto("file://" + file);
      await page.waitForFunction("document.querySelectorAll('.js-plotly-plot g.errorbar').length > 0", undefined, {
        timeout: 30_000,
      });
      // The first figure: score vs x, one trace per note; the "plain" trace's x=0 point has n = 1.
      const bars = (await page.evaluate(
        "Array.from(document.querySelectorAll('.js-plotly-plot')[0].querySelectorAll('g.trace.scatter')).map((t) => Array.from(t.querySelectorAll('g.errorbar')).map((g) => g.querySelectorAll('path.yerror').length))",
      )) as number[][];
      assert.deepEqual(
        bars,
        [
          [0, 1],
          [1, 1],
        ],
        "x=0 of the 'plain' trace has one seed: no error bar at all",
      );
      assert.deepEqual(errors, []);
    } finally {
      await page.close();
    }
  });

  test("--help, and a bad sweep file exits 2 naming the file, line and field (the README's example too)", () => {
    const help = sweep(["--help"]);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /--workers N/);
    assert.match(help.stdout, /--shard i\/n/);
    assert.match(help.stdout, /merge <sweep/);
    const bad = path.join(dir, "bad.yaml");
    fs.writeFileSync(bad, "name: bad\nkind: synthetic\nseeds: 2\ngrid:\n  x: [1]\n  noise: [-1]\n");
    const r = sweep([bad]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /bad\.yaml:6 grid\.noise: config field noise .*must be >= 0, got -1/);
    // The example error the README quotes is the one the CLI prints.
    const beta = path.join(dir, "beta.yaml");
    fs.writeFileSync(beta, "name: beta\nkind: bandit\nseeds: 3\nbase:\n  method: dpo\ngrid:\n  lossOptions.beta: []\n");
    const empty = sweep([beta]);
    assert.equal(empty.status, 2);
    const expected =
      'beta.yaml:7 grid["lossOptions.beta"]: an empty list would make an empty grid; give at least one value';
    assert.ok(empty.stderr.includes(`${dir}/${expected}`), empty.stderr);
    assert.ok(
      fs.readFileSync(path.join(root, "README.md"), "utf8").includes(`e.g. \`${expected}\``),
      "README quotes the real message",
    );
    // One config under two labels: exit 2, naming both blocks and lines.
    const twice = path.join(dir, "twice.yaml");
    fs.writeFileSync(
      twice,
      "name: twice\nkind: synthetic\nseeds: 2\ngrid:\n  - {label: a, x: 1}\n  - {label: b, x: 1}\n",
    );
    const dup = sweep([twice]);
    assert.equal(dup.status, 2);
    assert.match(
      dup.stderr,
      /twice\.yaml:6 grid\[1\]\.label: grid point x=1 \(label "b"\) resolves to the same config as grid point x=1 of grid\[0\]\.label \(line 5\) \(label "a"\)/,
    );
    const flag = sweep([sweepFile, "--wrokers", "2"]);
    assert.equal(flag.status, 2);
    assert.match(flag.stderr, /unknown option --wrokers/);
  });
});
