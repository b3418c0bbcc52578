// The committed results of issue 28's CI sweep (data/fig2/fig2-online-ci.json, scripts/sweeps/fig2-online-ci.yaml)
// still describe the code: every run re-runs to the committed rows (npm run fig2 -- verify online-ci), on the
// default backend (its own process: test/online-methods.test.ts runs on the cpu backend).
import { test } from "node:test";
import * as assert from "node:assert/strict";
import "../src/experiments";
import { initBackend } from "../src/backend";
import { formatVerifyReport, verifyFig2 } from "../src/experiments/fig2-verify";

test("data/fig2/fig2-online-ci.json: every run of its sweep re-runs to the committed rows", async () => {
  await initBackend();
  const report = await verifyFig2({ sweep: "online-ci" });
  assert.deepEqual(report.differences, [], formatVerifyReport(report));
  assert.equal(report.runs.length, 13);
  assert.ok(report.rows >= 13 * 2 - 1, `${report.rows} rows`);
});
