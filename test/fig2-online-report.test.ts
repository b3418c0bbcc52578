// Notebook 12's figures and tables (src/fig2/onlineReport.ts) on the committed online CI rows and on hand-built
// rows: ≤ 8 traces a panel, reference methods as envelopes only, panels of absent methods left out, a value
// over training averaged over seeds, completions drawn per method by hand, and the verify / results helpers
// that give the notebook a subset re-run and per-run wall seconds.
import { describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { readFig2Results, runSecondsOf } from "../src/experiments/fig2-reproduce";
import { runsOfMethods } from "../src/experiments/fig2-verify";
import {
  ONLINE_FAMILIES,
  computeRows,
  frontierPanels,
  matchedKlRow,
  overTraining,
  samplesDrawn,
} from "../src/fig2/onlineReport";
import { FIG2_RUN_PRESETS } from "../src/fig2/runPresets";
import { checkpointRow } from "./fixtures";
import { summariseFig2 } from "../src/fig2/summary";
import type { RunSpec } from "../src/sweep/plan";

const CI = readFig2Results("data/fig2/fig2-online-ci.json");
type Trace = Record<string, unknown>;

describe("frontierPanels: the frontier as small multiples", () => {
  const S = summariseFig2(CI.rows);
  const fig = frontierPanels(S);
  const traces = fig.data as Trace[];
  const byAxis = new Map<string, Trace[]>();
  for (const t of traces) byAxis.set(String(t.xaxis), [...(byAxis.get(String(t.xaxis)) ?? []), t]);

  test("one panel per family whose methods ran, each with ≤ 8 traces on its own axes", () => {
    assert.equal(byAxis.size, ONLINE_FAMILIES.length, "the CI preset runs a method of every family");
    for (const [x, ts] of byAxis) {
      assert.ok(ts.length <= 8, `${x}: ${ts.length} traces`);
      assert.ok(
        ts.every((t) => String(t.yaxis) === x.replace("x", "y")),
        `${x}: traces on the matching y axis`,
      );
    }
    assert.ok((fig.layout as Record<string, unknown>).xaxis6, "six panels: six x axes");
  });

  test("references are envelopes only (dashed); the panel's methods keep their checkpoint markers", () => {
    const second = byAxis.get("x2") as Trace[];
    const clouds = second.filter((t) => String(t.name).endsWith("(checkpoints)")).map((t) => t.legendgroup);
    assert.deepEqual(clouds, ["online-dpo-gt", "iterative-dpo-gt"]);
    const dpoLine = second.find((t) => t.legendgroup === "dpo") as Trace;
    assert.equal((dpoLine.line as { dash: string }).dash, "dash");
    const oaif = second.find((t) => t.legendgroup === "online-dpo-gt" && t.mode === "lines+markers") as Trace;
    assert.equal((oaif.line as { dash?: string }).dash, "solid");
    // Each legend entry once over the figure.
    const legend = traces.filter((t) => t.showlegend !== false).map((t) => t.legendgroup);
    assert.equal(new Set(legend).size, legend.length);
  });

  test("a family without its methods is left out; a panel over 8 traces is refused", () => {
    const one = frontierPanels(S, [{ title: "only DPOP", methods: ["dpop", "not-a-method"], references: ["dpo"] }]);
    assert.ok((one.data as Trace[]).some((t) => t.legendgroup === "dpop" && t.xaxis === "x"));
    const crowded = [{ title: "crowded", references: [], methods: ["dpo", "dpop", "tr-dpo", "tr-dpo-hard"] }];
    assert.throws(() => frontierPanels(S, crowded), /has 9 traces \(> 8\)/);
  });
});

const row = checkpointRow;

describe("overTraining: a value per step, two methods, a panel per knob", () => {
  test("seeds are averaged at each step; knobs only one method ran are left out", () => {
    const rows = [
      row("grpo-gt", 0.1, 0, 2, { meanLength: 6 }),
      row("grpo-gt", 0.1, 1, 2, { meanLength: 8 }),
      row("grpo-gt", 0.1, 0, 4, { meanLength: 5 }),
      row("dr-grpo-gt", 0.1, 0, 2, { meanLength: 7 }),
      row("dr-grpo-gt", 0.1, 0, 4, { meanLength: 7.5 }),
      row("grpo-gt", 0.4, 0, 2, { meanLength: 1 }),
    ];
    const fig = overTraining(rows, "grpo-gt", "dr-grpo-gt", (r) => r.meanLength, {
      yTitle: "tokens",
      title: "t",
      knobLabel: "β",
    });
    const data = fig.data as Trace[];
    assert.equal(data.length, 2, "one knob both ran: one panel of 2 traces");
    assert.deepEqual(data[0].x, [2, 4]);
    assert.deepEqual(data[0].y, [7, 5]);
    assert.deepEqual(data[1].y, [7, 7.5]);
    assert.throws(() => overTraining(rows, "grpo-gt", "dpo", (r) => r.meanLength, fig.layout as never), /no knob/);
  });
});

describe("compute per method", () => {
  const ci = FIG2_RUN_PRESETS.ci;
  test("completions drawn: the log's count, PPO's and RLOO's from the preset, 0 offline", () => {
    assert.equal(samplesDrawn(row("grpo-gt", 0.04, 0, 4, { log: { "online/samples": 64 } }), ci), 64);
    assert.equal(samplesDrawn(row("ppo-gt", 3, 0, 4), ci), 4 * 16);
    assert.equal(samplesDrawn(row("rloo-gt", 3, 0, 4), ci), 4 * 4 * 2);
    assert.equal(samplesDrawn(row("dpop", 0.1, 0, 8), ci), 0);
    assert.throws(() => samplesDrawn(row("online-dpo-gt", 0.1, 0, 8, { log: {} }), ci), /no online\/samples/);
  });
  test("per method: runs, mean last step, samples and median seconds per run (NaN when a run's time is unknown)", () => {
    const rows = [
      row("sft", 0, 0, 0),
      row("ppo-gt", 3, 0, 2),
      row("ppo-gt", 3, 0, 4),
      row("ppo-gt", 6, 0, 4),
      row("ppo-gt", 12, 0, 4),
      row("dpo", 0.1, 0, 8),
    ];
    // One run was paused (1,000 s): the median of 10, 20, 1000 is 20 (the mean would be 343).
    const secs = new Map([
      ["ppo-gt|3|0", 10],
      ["ppo-gt|6|0", 20],
      ["ppo-gt|12|0", 1000],
    ]);
    assert.deepEqual(
      computeRows(rows, ci, secs).map((r) => [r.method, r.runs, r.steps, r.samplesPerRun, r.secondsPerRun]),
      [
        ["dpo", 1, 8, 0, NaN],
        ["ppo-gt", 3, 4, 64, 20],
      ],
    );
    secs.delete("ppo-gt|12|0");
    assert.equal(computeRows(rows.slice(0, 4), ci, secs)[0].secondsPerRun, 15, "an even count: the middle two's mean");
  });
  test("the committed online CI rows: every method's count is computable", () => {
    const out = computeRows(CI.rows, ci);
    assert.equal(out.find((r) => r.method === "online-dpo-gt")?.samplesPerRun, 128);
    assert.equal(out.find((r) => r.method === "tr-dpo")?.samplesPerRun, 0);
    assert.equal(out.length, 12);
  });
  test("matchedKlRow: no common range says so", () => {
    assert.equal(matchedKlRow("dpop", "dpo", undefined)["common KL range (nats)"], "none");
  });
});

describe("subset re-runs and run seconds", () => {
  const spec = (method: string, seed = 0) =>
    ({ id: `${method}-${seed}`, config: { method }, seed }) as unknown as RunSpec;
  test("runsOfMethods keeps the named methods' runs and refuses a method the subset lacks", () => {
    const runs = [spec("sft"), spec("dpo"), spec("dpo", 1), spec("grpo-gt")];
    assert.equal(runsOfMethods(runs).length, 4);
    assert.deepEqual(
      runsOfMethods(runs, ["dpo"]).map((r) => r.id),
      ["dpo-0", "dpo-1"],
    );
    assert.throws(() => runsOfMethods(runs, ["dpo", "ppo"]), /no run of ppo in the subset/);
  });
  test("runSecondsOf: ms to seconds per run; a record without a valid ms is an error naming it", () => {
    const recs = [{ id: "a", config: { method: "dpo", knob: 0.1 }, seed: 1, ms: 1234.4 }];
    assert.deepEqual(runSecondsOf(recs), [{ method: "dpo", knob: 0.1, seed: 1, seconds: 1.234 }]);
    assert.throws(() => runSecondsOf([{ ...recs[0], ms: NaN }]), /run a has no valid ms/);
  });
});

test("the committed full online run: every planned run over 3 seeds, from the sweep file in the repository, its verdicts recomputed from its rows", async () => {
  const fs = await import("fs");
  const { createHash } = await import("crypto");
  const full = readFig2Results("data/fig2/fig2-online.json");
  assert.equal(full.completedRuns, full.sweep.plannedRuns);
  assert.equal(full.missingRuns.length, 0);
  assert.deepEqual(full.sweep.seeds, [0, 1, 2]);
  assert.deepEqual([...new Set(full.rows.map((r) => r.seed))].sort(), [0, 1, 2]);
  assert.equal(
    createHash("sha256").update(fs.readFileSync(full.sweep.file)).digest("hex"),
    full.sweep.sha256,
    "scripts/sweeps/fig2-online.yaml changed since the committed run",
  );
  assert.match(full.code.commit, /^[0-9a-f]{40}$/);
  assert.equal(full.code.dirty, false);
  const again = summariseFig2(full.rows);
  assert.deepEqual(
    again.verdicts.map((v) => [v.claim, v.reproduced]),
    full.verdicts.map((v) => [v.claim, v.reproduced]),
  );
});
