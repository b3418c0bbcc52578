// One command re-creates the committed Figure-2 results (`npm run fig2 -- full`, `npm run fig2 -- ci`):
//   1. build the shared stages once in this process (classifier, split, SFT, samples, pairs, reward model;
//      cached on disk, so the sweep's workers only load them);
//   2. run the sweep file (resumable: finished runs are skipped; shardable with the sweep CLI);
//   3. summarise the stored runs into data/fig2/<sweep name>.json: provenance (sweep file hash, code
//      version), the shared stages' statistics, every checkpoint row, and the verdict table.
// The results file (committed) is replaced only by a complete summary: --summarise-only over a folder
// missing runs is refused before anything is built, and an interrupted or failed sweep's summary goes to
// <out>/<sweep name>.partial.json instead.
import { execFileSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { loadSweepFile } from "../sweep/config";
import { expandSweep } from "../sweep/plan";
import { readResults, writeFileAtomic } from "../sweep/store";
import { runSweep, defaultOutDir } from "../sweep/runner";
import { fig2Kind, storedRow } from "./fig2-kind";
import { sharedFor } from "../fig2/context";
import { initBackend } from "../backend";
import {
  checkpointRowsOf,
  summariseFig2,
  slimPoints,
  FIG2_VERDICT_RULES,
  type Fig2Summary,
  type VerdictRow,
} from "../fig2/summary";
import type { CheckpointRow } from "../fig2/run";
import { reportStage } from "../progress";

export const FIG2_SWEEPS: Record<string, string> = {
  full: "scripts/sweeps/dpo-fig2.yaml",
  ci: "scripts/sweeps/dpo-fig2-ci.yaml",
  online: "scripts/sweeps/fig2-online.yaml",
  "online-ci": "scripts/sweeps/fig2-online-ci.yaml",
};

export interface Fig2SharedStats {
  classifier: { accuracy: number; ci95: [number, number]; ece: number; logLoss: number; n: number; bins: unknown[] };
  sft: { finalHeldOutPerplexity: number; trainPerplexity: number; steps: number; curve: Array<[number, number]> };
  pairStats: Record<string, number>;
  rewardModel: {
    heldOut: { n: number; accuracy: number; ci95: [number, number] };
    train: { n: number; accuracy: number; ci95: [number, number] };
  };
  splitSummary: Record<string, number>;
  timings: unknown;
}

export interface Fig2Results {
  format: "prefopt-fig2-results-v1";
  sweep: { name: string; file: string; sha256: string; seeds: number[]; plannedRuns: number };
  /**
   * backend / threads: the tfjs backend and its thread count (wasm: XNNPACK's pool) the summary was made
   * under; `verify` needs the same to reproduce the bits. Absent in results made before 2026-12-07 and in
   * --summarise-only summaries (that process did not make the rows; the runs' settings are not stored).
   */
  code: { commit: string; dirty: boolean; kind: string; kindVersion: number; backend?: string; threads?: number };
  preset: string;
  dataSeed: number;
  shared: Fig2SharedStats;
  /** Runs stored, and the ids of planned runs that are not (an interrupted run says so here). */
  completedRuns: number;
  missingRuns: Array<{ id: string; method: string; knob: number; seed: number }>;
  /**
   * Wall time: shared stages and sweep in this invocation, the sum of stored run times, this invocation's
   * wall, and the span of the stored runs (first start to last finish, across invocations and shards).
   * `source` says where shared, sweep and wall come from: "run" (this invocation ran the sweep), "kept"
   * (a --summarise-only kept them from the results file it replaced, which summarised the same runs) or
   * "span" (a --summarise-only with nothing to keep: sweep and wall are the runs' span, shared is unknown,
   * written as null). Files written before `source` existed are "run" or were overwritten by a summary.
   */
  seconds: {
    shared: number | null;
    sweep: number;
    runsTotal: number;
    wall: number;
    runsSpan: number;
    source?: "run" | "kept" | "span";
  };
  /**
   * Each stored run's wall seconds (its store record's ms), for the compute tables; informational like
   * `seconds` (wall time is not reproducible). Absent in results made before 2026-12-07.
   */
  runSeconds?: RunSeconds[];
  rows: CheckpointRow[];
  /** The verdict rules the verdicts were graded by (FIG2_VERDICT_RULES; absent in files made before rules 2: 1). */
  verdictRules?: number;
  verdicts: VerdictRow[];
  /** Each method's best reward, its KL, point count and convergence note (absent before rules 2). */
  best?: Fig2Summary["best"];
  points: ReturnType<typeof slimPoints>;
  createdAt: string;
}

function gitVersion(): { commit: string; dirty: boolean } {
  try {
    const commit = execFileSync("git", ["rev-parse", "HEAD"], {
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
    const dirty =
      execFileSync("git", ["status", "--porcelain", "--", "src", "scripts/sweeps"], {
        encoding: "utf8",
        stdio: ["ignore", "pipe", "ignore"],
      }).trim() !== "";
    return { commit, dirty };
  } catch {
    return { commit: "unknown", dirty: true };
  }
}

/** The shared stages' statistics for the results file (numbers only: no models). */
export async function sharedStats(preset: string, dataSeed: number): Promise<Fig2SharedStats> {
  const s = await sharedFor(preset, dataSeed);
  const ce = s.classifierEval;
  return {
    classifier: { accuracy: ce.accuracy, ci95: ce.ci95, ece: ce.ece, logLoss: ce.logLoss, n: ce.n, bins: ce.bins },
    sft: {
      finalHeldOutPerplexity: s.sft.finalHeldOutPerplexity,
      trainPerplexity: s.sft.trainPerplexity,
      steps: s.sft.steps,
      curve: s.sft.heldOutPerplexity,
    },
    pairStats: s.pairStats as unknown as Record<string, number>,
    rewardModel: { heldOut: s.rewardModelEval.heldOut, train: s.rewardModelEval.train },
    splitSummary: s.splitSummary,
    timings: s.timings,
  };
}

export interface ReproduceOptions {
  /** "full" or "ci" (the sweep files in FIG2_SWEEPS), or a sweep file path. */
  sweep: string;
  workers?: number;
  out?: string;
  /** Where the summary goes (default data/fig2/<sweep name>.json); null: do not write. */
  resultsFile?: string | null;
  quiet?: boolean;
  shouldStop?: () => boolean;
  /** Skip the sweep and only summarise what is stored. */
  summariseOnly?: boolean;
}

/** Build, sweep, summarise (see the header). */
export async function reproduceFig2(opts: ReproduceOptions): Promise<Fig2Results> {
  const t0 = Date.now();
  const file = FIG2_SWEEPS[opts.sweep] ?? opts.sweep;
  const spec = loadSweepFile(file);
  if (spec.kind !== "fig2") throw new Error(`${file}: kind must be fig2, got ${spec.kind}`);
  const plan = expandSweep(spec);
  const presets = [...new Set(plan.runs.map((r) => `${r.config.preset}|${r.config.dataSeed}`))];
  if (presets.length !== 1)
    throw new Error(`${file}: every run must share one preset and dataSeed (found ${presets.join(", ")})`);
  const [preset, dataSeedText] = presets[0].split("|");
  const dataSeed = Number(dataSeedText);
  const say = (s: string) => {
    if (!opts.quiet) reportStage("fig2:", s.replace(/^fig2: /, "")); // a notebook shows the stages in place
  };
  const out = opts.out ?? defaultOutDir(spec);
  const resultsPath = path.join(out, "results.jsonl");
  const target = opts.resultsFile === undefined ? path.join("data", "fig2", `${spec.name}.json`) : opts.resultsFile;
  if (opts.summariseOnly && target) {
    const ids = new Set(readResults(resultsPath).records.map((r) => r.id));
    const have = plan.runs.filter((r) => ids.has(r.id)).length;
    if (have < plan.runs.length)
      throw new Error(
        `fig2: only ${have}/${plan.runs.length} runs of ${spec.name} are stored in ${resultsPath}, so ${target} is not replaced by an incomplete summary. Finish the runs (npm run fig2 -- ${opts.sweep}${opts.out ? ` --out ${opts.out}` : ""}) or point --out at the folder that holds them.`,
      );
  }
  say(`fig2: shared stages for preset ${preset}, data seed ${dataSeed} …`);
  const tShared = Date.now();
  await sharedFor(preset, dataSeed, !opts.quiet);
  const sharedSeconds = (Date.now() - tShared) / 1000;
  say(`fig2: shared stages ready in ${sharedSeconds.toFixed(1)} s`);
  const tSweep = Date.now();
  if (!opts.summariseOnly)
    await runSweep({ spec, workers: opts.workers, out, quiet: opts.quiet, shouldStop: opts.shouldStop, report: false });
  const sweepSeconds = (Date.now() - tSweep) / 1000;
  const stored = readResults(resultsPath).records;
  const byId = new Map(stored.map((r) => [r.id, r]));
  const done = plan.runs.filter((r) => byId.has(r.id)).map((r) => byId.get(r.id)!);
  const missing = plan.runs
    .filter((r) => !byId.has(r.id))
    .map((r) => ({ id: r.id, method: String(r.config.method), knob: Number(r.config.knob), seed: r.seed }));
  const rows = checkpointRowsOf(done);
  const summary = summariseFig2(rows);
  const backendInfo = await initBackend();
  const sha256 = createHash("sha256").update(fs.readFileSync(file)).digest("hex");
  // A --summarise-only process ran no runs, so its own clock says nothing about the run's wall time: keep
  // the times of the results file it replaces when that file summarised the same runs (same sweep file,
  // same run count and summed run time), or else take the runs' own span and leave shared unknown.
  const runsTotal = done.reduce((s, r) => s + r.ms, 0) / 1000;
  const previous = opts.summariseOnly && target && fs.existsSync(target) ? readFig2Results(target) : undefined;
  const sameRuns =
    previous?.sweep.sha256 === sha256 &&
    previous.completedRuns === done.length &&
    Math.abs(previous.seconds.runsTotal - runsTotal) < 1e-6;
  const kept = sameRuns ? previous.seconds : undefined;
  const span = runsSpan(done);
  const results: Fig2Results = {
    format: "prefopt-fig2-results-v1",
    sweep: {
      name: spec.name,
      file: path.relative(process.cwd(), path.resolve(file)),
      sha256,
      seeds: spec.seeds,
      plannedRuns: plan.runs.length,
    },
    code: {
      ...gitVersion(),
      kind: fig2Kind.name,
      kindVersion: fig2Kind.version,
      // Only when this process ran the sweep: a --summarise-only process did not make the rows.
      ...(opts.summariseOnly ? {} : { backend: backendInfo.name, threads: backendInfo.threads }),
    },
    preset,
    dataSeed,
    shared: await sharedStats(preset, dataSeed),
    completedRuns: done.length,
    missingRuns: missing,
    seconds: !opts.summariseOnly
      ? {
          shared: sharedSeconds,
          sweep: sweepSeconds,
          runsTotal,
          wall: (Date.now() - t0) / 1000,
          runsSpan: span,
          source: "run",
        }
      : kept
        ? { shared: kept.shared, sweep: kept.sweep, runsTotal, wall: kept.wall, runsSpan: span, source: "kept" }
        : { shared: null, sweep: span, runsTotal, wall: span, runsSpan: span, source: "span" },
    runSeconds: runSecondsOf(done),
    rows: rows.map((r) => storedRow(r) as unknown as CheckpointRow),
    verdictRules: FIG2_VERDICT_RULES,
    verdicts: summary.verdicts,
    best: summary.best,
    points: slimPoints(summary.points),
    createdAt: new Date().toISOString(),
  };
  if (target) {
    // An incomplete summary never replaces the results file: it goes next to the runs instead.
    const file = missing.length ? path.join(out, `${spec.name}.partial.json`) : target;
    fs.mkdirSync(path.dirname(file), { recursive: true });
    writeFileAtomic(file, JSON.stringify(results) + "\n");
    say(
      `fig2: ${done.length}/${plan.runs.length} runs summarised → ${file}${missing.length ? ` (${missing.length} missing, so ${target} is left as it was: re-run the same command to resume)` : ""}`,
    );
  }
  return results;
}

export interface RunSeconds {
  method: string;
  knob: number;
  seed: number;
  seconds: number;
}

/** Each stored run's (method, knob, seed) and wall seconds (ms / 1000, 3 decimals), in store order. */
export function runSecondsOf(
  records: ReadonlyArray<{ id?: string; config: Record<string, unknown>; seed: number; ms: number }>,
): RunSeconds[] {
  return records.map((r) => {
    if (!(Number.isFinite(r.ms) && r.ms >= 0))
      throw new Error(`fig2 results: run ${r.id ?? "?"} has no valid ms (${String(r.ms)})`);
    return {
      method: String(r.config.method),
      knob: Number(r.config.knob),
      seed: r.seed,
      seconds: Math.round(r.ms) / 1000,
    };
  });
}

/** Seconds from the first stored run's start to the last one's finish (0 without runs). */
export function runsSpan(records: ReadonlyArray<{ finishedAt: string; ms: number }>): number {
  if (records.length === 0) return 0;
  const ends = records.map((r) => Date.parse(r.finishedAt));
  const starts = records.map((r, i) => ends[i] - r.ms);
  return (Math.max(...ends) - Math.min(...starts)) / 1000;
}

/** Read a committed results file, with a clear error when it is not one. */
export function readFig2Results(file: string): Fig2Results {
  if (!fs.existsSync(file)) throw new Error(`${file}: no such results file (re-create it with npm run fig2)`);
  const r = JSON.parse(fs.readFileSync(file, "utf8")) as Fig2Results;
  if (r.format !== "prefopt-fig2-results-v1")
    throw new Error(`${file}: format must be prefopt-fig2-results-v1, got ${JSON.stringify(r.format)}`);
  if (!Array.isArray(r.rows)) throw new Error(`${file}: field rows must be a list`);
  return r;
}
