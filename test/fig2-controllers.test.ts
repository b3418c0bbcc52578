// The KL-controller table (src/fig2/controllers.ts) on constructed checkpoint rows: final batch KL, its
// ratio to the target, within ±25% or not, the first checkpoint from which it stays within, a run without
// a logged batch KL, and summariseFig2 carrying the table.
import { test } from "node:test";
import assert from "node:assert/strict";
import { controllerTable, describeControllers } from "../src/fig2/controllers";
import { summariseFig2 } from "../src/fig2/summary";
import type { CheckpointRow } from "../src/fig2/run";
import { checkpointRow } from "./fixtures";

const row = (method: string, knob: number, seed: number, step: number, batchKl?: number): CheckpointRow =>
  checkpointRow(method, knob, seed, step, batchKl === undefined ? {} : { log: { "objective/kl": batchKl } });

test("final batch KL, ratio, ±25% band and the step from which it stays within", () => {
  const rows = [
    // target 4: 1.0, 4.5, 2.0, 3.5, 4.9 → back in the band at step 40 and stays (4.9/4 = 1.225).
    ...[1, 4.5, 2, 3.5, 4.9].map((kl, i) => row("ppo", 4, 0, 10 * (i + 1), kl)),
    // target 3, ends at 3.9 (1.3 ×): outside.
    ...[2.9, 3.9].map((kl, i) => row("ppo-gt", 3, 1, 10 * (i + 1), kl)),
    // exactly at the band's edge: 7.5 / 6 = 1.25 is within.
    row("rloo", 6, 0, 5, 7.5),
    // no logged batch KL: reported, not dropped.
    row("rloo-gt", 6, 0, 5),
    row("dpo", 0.1, 0, 5, 9),
  ];
  const t = controllerTable(rows);
  assert.deepEqual(
    t.map((c) => [c.method, c.target, c.seed, c.finalKl, Number(c.ratio.toFixed(4)), c.within, c.withinFrom]),
    [
      ["ppo", 4, 0, 4.9, 1.225, true, 40],
      ["ppo-gt", 3, 1, 3.9, 1.3, false, null],
      ["rloo", 6, 0, 7.5, 1.25, true, 5],
      ["rloo-gt", 6, 0, NaN, NaN, null, null],
    ],
  );
  const text = describeControllers(t).join("\n");
  assert.match(text, /within ±25% of the target in 2 of 4 online runs/);
  assert.match(text, /ppo-gt target 3 seed 1: final batch KL 3\.90 \(1\.30 × target\), outside ±25%/);
  assert.match(text, /rloo-gt target 6 seed 0: no batch KL logged/);
  assert.deepEqual(
    summariseFig2(rows).controllers.map((c) => c.method),
    ["ppo", "ppo-gt", "rloo", "rloo-gt"],
  );
});
