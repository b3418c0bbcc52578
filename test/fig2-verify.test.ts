// `npm run fig2 -- verify` (src/experiments/fig2-verify.ts): the row comparison finds a tampered committed
// row, a row on one side only, and nothing when the rows agree; the stated subsets pick the runs they say;
// results from another sweep file are refused before anything runs.
import { describe, test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import "../src/experiments";
import { compareRows, formatVerifyReport, verifyFig2, VERIFY_SUBSETS } from "../src/experiments/fig2-verify";
import { readFig2Results } from "../src/experiments/fig2-reproduce";
import { loadSweepFile } from "../src/sweep/config";
import { expandSweep } from "../src/sweep/plan";
import type { CheckpointRow } from "../src/fig2/run";

const committed = readFig2Results("data/fig2/dpo-fig2-ci.json");
const copy = (rows: readonly CheckpointRow[]) => JSON.parse(JSON.stringify(rows)) as CheckpointRow[];

describe("fig2 verify", () => {
  test("identical rows agree", () => {
    assert.deepEqual(compareRows(committed.rows, copy(committed.rows), 1e-6), []);
  });
  test("a tampered committed row is a difference, named by run, step and field", () => {
    const tampered = copy(committed.rows);
    const i = tampered.findIndex((r) => r.method === "dpo");
    tampered[i].reward = Number(tampered[i].reward) + 1e-3;
    tampered[i].perPromptKl[1] += 1e-3;
    const d = compareRows(tampered, committed.rows, 1e-6);
    const r = tampered[i];
    assert.deepEqual(
      d.map((x) => [x.key, x.field]),
      [
        [`dpo knob ${r.knob} seed ${r.seed} step ${r.step}`, "reward"],
        [`dpo knob ${r.knob} seed ${r.seed} step ${r.step}`, "perPromptKl[1]"],
      ],
    );
    // Within a stated tolerance the same rows pass.
    assert.deepEqual(compareRows(tampered, committed.rows, 2e-3), []);
    const text = formatVerifyReport({
      resultsFile: "x.json",
      subset: "s",
      runs: ["a"],
      rows: committed.rows.length,
      tolerance: 1e-6,
      differences: d,
      seconds: 1,
    });
    assert.match(text, /2 differences:\n {2}dpo knob .* reward committed [0-9.]+, re-run [0-9.]+/);
  });
  test("a row on one side only is a difference", () => {
    const first = committed.rows.find((r) => r.method === "dpo")!;
    const fewer = copy(committed.rows).filter((r) => !(r.method === "dpo" && r.step === first.step));
    const d = compareRows(fewer, committed.rows, 1e-6);
    assert.ok(d.length > 0 && d.every((x) => x.field === "(row)" && x.committed === "missing"));
    const d2 = compareRows(committed.rows, fewer, 1e-6);
    assert.ok(d2.length > 0 && d2.every((x) => x.field === "(row)" && x.live === "missing"));
  });
  test("the full subset is seed 0 of SFT, DPO β = 0.1 and PPO at its smallest target", () => {
    const runs = VERIFY_SUBSETS.full.pick(expandSweep(loadSweepFile("scripts/sweeps/dpo-fig2.yaml")).runs);
    const picked = runs.map((r) => `${r.config.method}:${r.config.knob}:${r.seed}`).sort();
    const ppoKnobs = expandSweep(loadSweepFile("scripts/sweeps/dpo-fig2.yaml"))
      .runs.filter((r) => r.config.method === "ppo")
      .map((r) => Number(r.config.knob));
    assert.deepEqual(picked, [`dpo:0.1:0`, `ppo:${Math.min(...ppoKnobs)}:0`, "sft:0:0"]);
  });
  test("results from another sweep file are refused before anything runs", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fig2-verify-"));
    try {
      const file = path.join(dir, "r.json");
      fs.writeFileSync(file, JSON.stringify({ ...committed, sweep: { ...committed.sweep, sha256: "0".repeat(64) } }));
      await assert.rejects(
        verifyFig2({ sweep: "ci", resultsFile: file, quiet: true }),
        /changed since .*r\.json was made .*npm run fig2 -- ci/,
      );
      await assert.rejects(verifyFig2({ sweep: "nope", quiet: true }), /sweep must be one of full, ci/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
