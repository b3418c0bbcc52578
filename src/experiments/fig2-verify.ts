// `npm run fig2 -- verify [full|ci|online-ci]`: re-run a stated subset of a committed Figure-2 run with today's code and
// check its checkpoint rows against the committed ones.
//
// The subset (VERIFY_SUBSETS): for the full run, training seed 0 of SFT, DPO at β = 0.1 and PPO at the
// smallest target KL of the sweep file (every checkpoint of each); for the CI presets (ci, and online-ci:
// issue 28's methods), every run (one seed).
// Each run is executed in this process through the fig2 kind (the same code path as the sweep's workers)
// and its rows are matched to the committed rows by (method, knob, seed, step). Numbers compared: reward,
// kl, vader, rm and every per-prompt reward and KL, as stored (6 significant digits). Tolerance: 1e-6
// absolute by default (--tolerance): the same code on the same backend gives the same bits (the CI preset
// test checks that), so any difference above rounding means the committed rows no longer describe the code.
// A committed row the re-run does not produce, or a re-run row the committed results lack, is a difference
// too. The sweep file must be the one the results came from (its sha256), and the backend and its thread
// count those the results record (code.backend, code.threads: the wasm backend's float sums depend on how
// XNNPACK splits work over threads); results that predate the fields say "thread count not recorded" and
// the check goes on. The full subset takes about as
// long as its runs did in the full sweep (see the committed seconds; the DPO run dominates).
import { createHash } from "crypto";
import * as fs from "fs";
import { loadSweepFile } from "../sweep/config";
import { expandSweep, type RunSpec } from "../sweep/plan";
import { fig2Kind } from "./fig2-kind";
import { FIG2_SWEEPS, readFig2Results } from "./fig2-reproduce";
import { sharedFor } from "../fig2/context";
import { initBackend } from "../backend";
import type { CheckpointRow } from "../fig2/run";

/** Which runs `verify` re-runs, per committed sweep: a predicate on (method, knob, seed) given the plan. */
export const VERIFY_SUBSETS: Record<string, { describe: string; pick: (runs: readonly RunSpec[]) => RunSpec[] }> = {
  full: {
    describe: "seed 0 of SFT, DPO at β = 0.1 and PPO at its smallest target KL",
    pick: (runs) => {
      const at = (r: RunSpec) => ({ method: String(r.config.method), knob: Number(r.config.knob) });
      const seed0 = runs.filter((r) => r.seed === Math.min(...runs.map((x) => x.seed)));
      const ppoKnobs = seed0.filter((r) => at(r).method === "ppo").map((r) => at(r).knob);
      return seed0.filter((r) => {
        const { method, knob } = at(r);
        return (
          method === "sft" || (method === "dpo" && knob === 0.1) || (method === "ppo" && knob === Math.min(...ppoKnobs))
        );
      });
    },
  },
  ci: { describe: "every run of the CI preset", pick: (runs) => [...runs] },
  "online-ci": { describe: "every run of issue 28's CI preset", pick: (runs) => [...runs] },
};

export interface RowDifference {
  key: string;
  field: string;
  committed: number | string;
  live: number | string;
}

const rowKey = (r: Pick<CheckpointRow, "method" | "knob" | "seed" | "step">) =>
  `${r.method} knob ${r.knob} seed ${r.seed} step ${r.step}`;

/**
 * Differences between committed and re-run rows of the same runs, beyond `tolerance` (absolute): scalar
 * fields reward, kl, vader, rm and the per-prompt reward and KL arrays; rows on one side only.
 */
export function compareRows(
  committed: readonly CheckpointRow[],
  live: readonly CheckpointRow[],
  tolerance: number,
): RowDifference[] {
  const out: RowDifference[] = [];
  const byKey = new Map(committed.map((r) => [rowKey(r), r]));
  const liveKeys = new Set(live.map(rowKey));
  const num = (x: unknown) => (typeof x === "number" ? x : Number(x));
  const differs = (a: unknown, b: unknown) => {
    const x = num(a);
    const y = num(b);
    if (Number.isNaN(x) && Number.isNaN(y)) return false;
    return !(Math.abs(x - y) <= tolerance);
  };
  for (const r of live) {
    const c = byKey.get(rowKey(r));
    if (!c) {
      out.push({ key: rowKey(r), field: "(row)", committed: "missing", live: "present" });
      continue;
    }
    for (const f of ["reward", "kl", "vader", "rm"] as const)
      if (differs(c[f], r[f])) out.push({ key: rowKey(r), field: f, committed: c[f], live: r[f] });
    for (const f of ["perPromptReward", "perPromptKl"] as const) {
      const a = c[f] ?? [];
      const b = r[f] ?? [];
      if (a.length !== b.length)
        out.push({ key: rowKey(r), field: `${f}.length`, committed: a.length, live: b.length });
      else {
        const i = a.findIndex((x, j) => differs(x, b[j]));
        if (i >= 0) out.push({ key: rowKey(r), field: `${f}[${i}]`, committed: a[i], live: b[i] });
      }
    }
  }
  // Committed rows of the re-run (method, knob, seed) that the re-run did not produce.
  const runsRerun = new Set(live.map((r) => `${r.method}|${r.knob}|${r.seed}`));
  for (const c of committed)
    if (runsRerun.has(`${c.method}|${c.knob}|${c.seed}`) && !liveKeys.has(rowKey(c)))
      out.push({ key: rowKey(c), field: "(row)", committed: "present", live: "missing" });
  return out;
}

export interface VerifyOptions {
  /** "full" or "ci". */
  sweep: string;
  /** The committed results (default data/fig2/<sweep name>.json). */
  resultsFile?: string;
  tolerance?: number;
  quiet?: boolean;
  /** The backend to compare with the recorded one (default: initBackend()'s). */
  backend?: { name: string; threads: number };
  /** Re-run only the subset's runs of these methods (default: the whole subset). */
  methods?: readonly string[];
}

/** The runs of `runs` whose method is in `methods` (all of them without a list); a method with no run throws. */
export function runsOfMethods(runs: readonly RunSpec[], methods?: readonly string[]): RunSpec[] {
  if (methods === undefined) return [...runs];
  const have = new Set(runs.map((r) => String(r.config.method)));
  const absent = methods.filter((m) => !have.has(m));
  if (absent.length)
    throw new Error(`fig2 verify: no run of ${absent.join(", ")} in the subset (its methods: ${[...have].join(", ")})`);
  return runs.filter((r) => methods.includes(String(r.config.method)));
}

/**
 * Whether this process can reproduce results made under `recorded` (code.backend / code.threads): throws with
 * the command to use when the backend or the thread count differs; returns the notes to print (a field the
 * results do not record is named, and the check goes on).
 */
export function backendCheck(
  recorded: { backend?: string; threads?: number },
  current: { name: string; threads: number },
  resultsFile: string,
): string[] {
  const notes: string[] = [];
  if (recorded.backend === undefined) notes.push(`backend not recorded in ${resultsFile}`);
  else if (recorded.backend !== current.name)
    throw new Error(
      `fig2 verify: ${resultsFile} was made on the ${recorded.backend} backend, this process runs ${current.name}: re-run with PREFOPT_BACKEND=${recorded.backend}`,
    );
  if (recorded.threads === undefined)
    notes.push(`thread count not recorded in ${resultsFile}: a difference may come from another thread count`);
  else if (recorded.threads !== current.threads)
    throw new Error(
      `fig2 verify: ${resultsFile} was made with ${recorded.threads} backend thread(s), this process has ${current.threads}: the sums differ in rounding, so re-run with PREFOPT_THREADS=${recorded.threads}`,
    );
  return notes;
}

export interface VerifyReport {
  resultsFile: string;
  subset: string;
  runs: string[];
  rows: number;
  /** Wall seconds of each re-run (same order as `runs`). */
  runSeconds?: number[];
  tolerance: number;
  differences: RowDifference[];
  seconds: number;
  /** What could not be checked (e.g. "thread count not recorded"). */
  notes?: string[];
}

/** Re-run the subset and compare (see the header). Throws when the results do not match the sweep file. */
export async function verifyFig2(opts: VerifyOptions): Promise<VerifyReport> {
  const t0 = Date.now();
  const subset = VERIFY_SUBSETS[opts.sweep];
  if (!subset || !FIG2_SWEEPS[opts.sweep])
    throw new Error(`fig2 verify: sweep must be one of ${Object.keys(VERIFY_SUBSETS).join(", ")}, got "${opts.sweep}"`);
  const file = FIG2_SWEEPS[opts.sweep];
  const spec = loadSweepFile(file);
  const resultsFile = opts.resultsFile ?? `data/fig2/${spec.name}.json`;
  const committed = readFig2Results(resultsFile);
  const sha = createHash("sha256").update(fs.readFileSync(file)).digest("hex");
  if (sha !== committed.sweep.sha256)
    throw new Error(
      `fig2 verify: ${file} changed since ${resultsFile} was made (sha256 ${sha.slice(0, 12)}… vs ${committed.sweep.sha256.slice(0, 12)}…): re-create the results with npm run fig2 -- ${opts.sweep}`,
    );
  const backend = opts.backend ?? (await initBackend());
  const notes = backendCheck(committed.code, backend, resultsFile);
  const tolerance = opts.tolerance ?? 1e-6;
  if (!(tolerance >= 0)) throw new Error(`fig2 verify: tolerance must be ≥ 0, got ${tolerance}`);
  const runs = runsOfMethods(subset.pick(expandSweep(spec).runs), opts.methods);
  if (!runs.length) throw new Error(`fig2 verify: the subset (${subset.describe}) has no runs in ${file}`);
  const say = (s: string) => {
    if (!opts.quiet) process.stderr.write(s + "\n");
  };
  await sharedFor(committed.preset, committed.dataSeed, !opts.quiet);
  const live: CheckpointRow[] = [];
  const names: string[] = [];
  const runSeconds: number[] = [];
  for (const r of runs) {
    const name = `${r.config.method} knob ${r.config.knob} seed ${r.seed}`;
    names.push(name);
    const tr = Date.now();
    const metrics = await fig2Kind.run(r.config, r.seed);
    const rows = JSON.parse(String(metrics.checkpoints)) as CheckpointRow[];
    live.push(...rows);
    runSeconds.push((Date.now() - tr) / 1000);
    say(`fig2 verify: ${name}: ${rows.length} checkpoint rows in ${((Date.now() - tr) / 1000).toFixed(0)} s`);
  }
  return {
    resultsFile,
    subset: subset.describe,
    runs: names,
    rows: live.length,
    runSeconds,
    tolerance,
    differences: compareRows(committed.rows, live, tolerance),
    seconds: (Date.now() - t0) / 1000,
    notes,
  };
}

/** The report as text: one line per difference (at most `limit`), or a line saying all rows agree. */
export function formatVerifyReport(r: VerifyReport, limit = 40): string {
  const head =
    `fig2 verify: ${r.runs.length} runs (${r.subset}), ${r.rows} checkpoint rows against ${r.resultsFile}, tolerance ${r.tolerance} (${r.seconds.toFixed(0)} s)` +
    (r.notes ?? []).map((n) => `\nnote: ${n}`).join("");
  if (!r.differences.length) return `${head}\nall rows agree`;
  const lines = r.differences
    .slice(0, limit)
    .map((d) => `  ${d.key}: ${d.field} committed ${d.committed}, re-run ${d.live}`);
  const more = r.differences.length > limit ? [`  … and ${r.differences.length - limit} more`] : [];
  return [head, `${r.differences.length} differences:`, ...lines, ...more].join("\n");
}
