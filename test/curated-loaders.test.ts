// Curated dataset loaders load their own shipped data: known-bad records are skipped and reported
// (counts and line numbers, in the report and in one note on stderr) unless mode "strict" is asked for;
// user-file loaders stay strict by default. Runs on ../shared/data; skipped where it is absent.
import { describe, test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { loadHhRlhfSplit, loadUltraFeedbackSample } from "../src/data/datasets";
import { loadPreferences } from "../src/data/loaders";
import { sharedDataDir } from "../src/data/registry";
import { DataValidationError } from "../src/data/validation";

const shared = sharedDataDir();
const skip = fs.existsSync(shared) ? false : `shared data folder ${shared} is absent`;

/** Run `fn` capturing what it writes to stderr. */
async function captureStderr<T>(fn: () => Promise<T>): Promise<{ value: T; stderr: string }> {
  const write = process.stderr.write;
  let stderr = "";
  process.stderr.write = ((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  }) as typeof process.stderr.write;
  try {
    return { value: await fn(), stderr };
  } finally {
    process.stderr.write = write;
  }
}

describe("curated loaders on ../shared/data", { skip }, () => {
  test('loadUltraFeedbackSample("train") loads its own data: line 307 (chosen = rejected) skipped and named', async () => {
    const { value, stderr } = await captureStderr(() => loadUltraFeedbackSample("train"));
    const { records, report } = value;
    assert.equal(report.records, 1000);
    assert.equal(records.length + report.rejected, 1000, "nothing dropped silently");
    assert.ok(
      report.issues.some((i) => i.line === 307 && i.reason === "identical"),
      JSON.stringify(report.issues),
    );
    assert.match(stderr, /loadUltraFeedbackSample\(train\): skipped \d+ known-bad record\(s\)/);
    assert.match(stderr, /train_clean\.jsonl:307: field "rejected" identical/);
    const quiet = await captureStderr(() => loadUltraFeedbackSample("train", { quiet: true }));
    assert.equal(quiet.stderr, "");
    assert.equal(quiet.value.records.length, records.length);
  });

  test("strict on request; the same file through the user-file loader is strict by default", async () => {
    await assert.rejects(
      loadUltraFeedbackSample("train", { mode: "strict" }),
      (e: unknown) => e instanceof DataValidationError && /:307: field "rejected" identical/.test(e.message),
    );
    const file = path.join(shared, "ultrafeedback-binarized-subset", "train_clean.jsonl");
    await assert.rejects(loadPreferences(file), DataValidationError);
  });

  test("HH-RLHF harmless test: 2,308 pairs by default, the 4 empty replies reported at lines 87, 517, 926, 1104", async () => {
    const { value } = await captureStderr(() => loadHhRlhfSplit("harmless-base", "test"));
    assert.equal(value.records.length, 2308);
    assert.deepEqual(
      value.report.issues.map((i) => i.line),
      [87, 517, 926, 1104],
    );
  });
});
