// Per-suite unit-test times from the suite's TAP output (node 20 reports a file's describe blocks at top
// level); issue 25 item 6: the suite stays fast, and its note reports where the time goes.
// Reads the top-level "ok N - …" entries and their duration_ms, prints them slowest first
// with the total, and exits 1 if the TAP file has no such entries (a report that
// silently shows nothing would hide a broken suite). Usage: node --import tsx scripts/test-times.ts <file.tap>
import { readFileSync } from "node:fs";

/** Top-level test files and their wall times in seconds, in file order. */
export function tapFileTimes(tap: string): { file: string; seconds: number; ok: boolean }[] {
  const out: { file: string; seconds: number; ok: boolean }[] = [];
  const lines = tap.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const m = /^(not ok|ok) \d+ - (.+)$/.exec(lines[i]);
    if (!m) continue;
    for (let j = i + 1; j < Math.min(lines.length, i + 4); j++) {
      const d = /^ {2}duration_ms: ([0-9.]+)/.exec(lines[j]);
      if (d) {
        out.push({ file: m[2], seconds: Number(d[1]) / 1000, ok: m[1] === "ok" });
        break;
      }
    }
  }
  return out;
}

if (process.argv[1]?.endsWith("test-times.ts")) {
  const file = process.argv[2] ?? "output/unit-tests.tap";
  const rows = tapFileTimes(readFileSync(file, "utf8"));
  if (rows.length === 0) {
    console.error(`${file}: no top-level test file entries with duration_ms`);
    process.exit(1);
  }
  const total = rows.reduce((s, r) => s + r.seconds, 0);
  console.log(`unit tests by time: top-level suites and files (${rows.length} entries, ${total.toFixed(0)} s summed):`);
  for (const r of [...rows].sort((a, b) => b.seconds - a.seconds))
    console.log(`${r.seconds.toFixed(1).padStart(8)} s  ${r.ok ? "" : "FAILED "}${r.file}`);
}
