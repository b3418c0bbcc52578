// runSweep: plan → skip finished ids → run the rest on workers, storing each result as it lands → summary
// CSV/JSON and the HTML report. Used by scripts/sweep.ts and by notebooks.
//
// Output folder (default output/sweeps/<name>/), with TAG = "" or "-shard-i-of-n":
//   results TAG.jsonl   one line per finished run (the only state; resume reads it)
//   plan TAG.json       every planned id with its seed and factors (for merge and for humans)
//   summary TAG.csv/json, report TAG.html, failures TAG.jsonl (only when runs failed)
import * as fs from "fs";
import * as path from "path";
import { loadSweepFile, type SweepSpec } from "./config";
import { runPool, defaultWorkerCount } from "./pool";
import { ProgressBar } from "./progress";
import { interruptRequested, throwIfInterrupted } from "../interrupt";
import { computedConfig, expandSweep, shardRuns, type RunSpec, type SweepPlan } from "./plan";
import { reportHtml } from "./report";
import { writeFileAtomic } from "../fsAtomic";
import { ResultsStore, readResults } from "./store";
import { summarise, writeSummary, type SweepSummary } from "./summary";

export interface RunSweepOptions {
  /** A sweep file, or an already-parsed spec. */
  file?: string;
  spec?: SweepSpec;
  /** Output folder; default output/sweeps/<name> under the current directory. */
  out?: string;
  /** Worker threads (0 = run in this thread). Default: number of cores. */
  workers?: number;
  shard?: { index: number; count: number };
  /** Write the HTML report (default true). */
  report?: boolean;
  /** Where progress and messages go (default stderr). */
  log?: NodeJS.WritableStream & { isTTY?: boolean };
  quiet?: boolean;
  /** Checked between runs: true stops dispatching (finished runs are kept). */
  shouldStop?: () => boolean;
}

export interface RunSweepResult {
  plan: SweepPlan;
  /** Runs this invocation is responsible for (the shard's, or all). */
  runs: RunSpec[];
  alreadyDone: number;
  ran: number;
  failed: Array<{ id: string; error: string }>;
  /** Torn bytes removed from the end of the results file on open. */
  repairedBytes: number;
  stopped: boolean;
  seconds: number;
  workers: number;
  summary: SweepSummary;
  files: { results: string; plan: string; csv: string; json: string; report?: string; failures?: string };
}

export function shardTag(shard?: { index: number; count: number }): string {
  return shard && shard.count > 1 ? `-shard-${shard.index}-of-${shard.count}` : "";
}

export function defaultOutDir(spec: SweepSpec): string {
  return path.join("output", "sweeps", spec.name);
}

export { writeFileAtomic };

export async function runSweep(opts: RunSweepOptions): Promise<RunSweepResult> {
  const t0 = Date.now();
  const log = opts.log ?? process.stderr;
  const say = (s: string): void => {
    if (!opts.quiet) log.write(s + "\n");
  };
  const spec = opts.spec ?? (opts.file ? loadSweepFile(opts.file) : undefined);
  if (!spec) throw new Error("runSweep needs a sweep file or spec");
  const plan = expandSweep(spec);
  const runs = opts.shard ? shardRuns(plan.runs, opts.shard) : plan.runs;
  const out = opts.out ?? defaultOutDir(spec);
  const tag = shardTag(opts.shard);
  fs.mkdirSync(out, { recursive: true });
  const files: RunSweepResult["files"] = {
    results: path.join(out, `results${tag}.jsonl`),
    plan: path.join(out, `plan${tag}.json`),
    csv: "",
    json: "",
  };
  // The lock comes first: nothing in the folder (plan.json included) is written by a second sweep.
  const lock = ResultsStore.lock(files.results);
  let store: ResultsStore;
  try {
    writeFileAtomic(
      files.plan,
      JSON.stringify(
        {
          name: spec.name,
          kind: spec.kind,
          source: spec.source,
          factors: plan.factors,
          shard: opts.shard ?? null,
          totalRuns: plan.runs.length,
          runs: runs.map((r) => ({ id: r.id, index: r.index, seed: r.seed, factors: r.factors })),
        },
        null,
        1,
      ),
    );
    if (plan.duplicatePoints > 0)
      say(
        `note: ${plan.duplicatePoints} grid point(s) resolved to a config (and label) already in the grid and run once`,
      );
    store = ResultsStore.open(files.results, lock);
  } catch (e) {
    lock.release();
    throw e;
  }
  let ran = 0;
  const failed: RunSweepResult["failed"] = [];
  const workers = opts.workers ?? defaultWorkerCount();
  let stopped = false;
  try {
    if (store.repairedBytes > 0)
      say(`${files.results}: removed a torn last line (${store.repairedBytes} bytes) left by an interrupted run`);
    const planned = new Set(plan.runs.map((r) => r.id));
    const foreign = store.existing.filter((r) => !planned.has(r.id)).length;
    if (foreign > 0)
      say(
        `note: ${files.results} holds ${foreign} result(s) whose id is not in this plan (an older sweep file or kind version); they are kept in the file but neither reused nor summarised`,
      );
    const todo = runs.filter((r) => !store.has(r.id));
    const alreadyDone = runs.length - todo.length;
    const shardText = opts.shard ? ` (shard ${opts.shard.index}/${opts.shard.count} of ${plan.runs.length})` : "";
    say(
      `sweep ${spec.name}: ${plan.points} grid point(s) × ${spec.seeds.length} seed(s) = ${runs.length} run(s)${shardText}; ${alreadyDone} already done, ${todo.length} to run on ${workers === 0 ? "this thread" : `${Math.min(workers, todo.length)} worker(s)`}`,
    );
    const byId = new Map(todo.map((r) => [r.id, r]));
    const bar = new ProgressBar(todo.length, spec.name, log, 5000, opts.quiet || todo.length === 0);
    await runPool(
      // The experiment sees the config its id hashes: without the cosmetic label.
      todo.map((r) => ({ id: r.id, kind: r.kind, config: computedConfig(r.config), seed: r.seed })),
      {
        workers,
        modules: spec.modules,
        shouldStop: () => (stopped = stopped || interruptRequested() || Boolean(opts.shouldStop?.())),
        onDone: (task, metrics, ms) => {
          const run = byId.get(task.id)!;
          store.append({
            id: run.id,
            kind: run.kind,
            seed: run.seed,
            index: run.index,
            config: run.config,
            factors: run.factors,
            metrics,
            ms: Math.round(ms * 1000) / 1000,
            finishedAt: new Date().toISOString(),
          });
          ran++;
          bar.tick(true);
        },
        onFailed: (task, error) => {
          failed.push({ id: task.id, error });
          bar.tick(false);
        },
      },
    ).finally(() => bar.stop());
    bar.finish();
    store.close();
    throwIfInterrupted(); // a kernel interrupt: stop here; finished runs are stored, a re-run resumes

    const records = readResults(files.results).records;
    const summary = summarise(runs, plan.factors, records);
    // Shards keep their own summary files so shards sharing a folder do not overwrite each other.
    const written = writeSummary(summary, out, tag);
    files.csv = written.csv;
    files.json = written.json;
    if (failed.length > 0) {
      files.failures = path.join(out, `failures${tag}.jsonl`);
      writeFileAtomic(files.failures, failed.map((f) => JSON.stringify(f)).join("\n") + "\n");
      say(
        `${failed.length} run(s) failed (see ${files.failures}); they are not stored, so the next invocation retries them. First error:\n${failed[0].error}`,
      );
    }
    if (opts.report !== false) {
      files.report = path.join(out, `report${tag}.html`);
      const notes = [
        `${ran} run(s) ran in this invocation on ${workers === 0 ? "the main thread" : `${workers} worker thread(s)`}, ${alreadyDone} were already done`,
      ];
      writeFileAtomic(files.report, reportHtml({ spec, summary, planned: plan.runs.length, failures: failed, notes }));
    }
    const seconds = (Date.now() - t0) / 1000;
    say(`done in ${seconds.toFixed(1)} s: ${ran} ran, ${alreadyDone} skipped, ${failed.length} failed → ${out}`);
    return {
      plan,
      runs,
      alreadyDone,
      ran,
      failed,
      repairedBytes: store.repairedBytes,
      stopped,
      seconds,
      workers,
      summary,
      files,
    };
  } finally {
    store.close();
    lock.release();
  }
}
