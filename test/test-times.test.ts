// scripts/test-times.ts: per-file times read from the suite's TAP output (issue 25 item 6).
import { test } from "node:test";
import assert from "node:assert/strict";
import { tapFileTimes } from "../scripts/test-times";

test("tapFileTimes reads each top-level file's duration and status, not its subtests'", () => {
  const tap = [
    "TAP version 13",
    "# Subtest: test/a.test.ts",
    "    # Subtest: inner",
    "    ok 1 - inner",
    "      ---",
    "      duration_ms: 5.5",
    "      ...",
    "ok 1 - test/a.test.ts",
    "  ---",
    "  duration_ms: 1500.25",
    "  ...",
    "not ok 2 - test/b.test.ts",
    "  ---",
    "  duration_ms: 250",
    "  ...",
  ].join("\n");
  assert.deepEqual(tapFileTimes(tap), [
    { file: "test/a.test.ts", seconds: 1.50025, ok: true },
    { file: "test/b.test.ts", seconds: 0.25, ok: false },
  ]);
  assert.deepEqual(tapFileTimes("TAP version 13\n"), []);
});
