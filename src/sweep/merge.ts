// Merge shard outputs into one results file, checked against the sweep's plan: every planned id must be
// present (gaps are listed), ids present more than once are reported (identical copies are harmless —
// a shard that ran twice — differing copies are conflicts), and ids outside the plan are reported too.
// Merging into a folder keeps what it already holds: the folder's own results.jsonl is always one of the
// inputs (its records win ties, and identical copies of them in the shards are not reported as duplicates).
import * as fs from "fs";
import * as path from "path";
import { canonicalJson, loadSweepFile, type SweepSpec } from "./config";
import { computedConfig, expandSweep, type RunSpec, type SweepPlan } from "./plan";
import { reportHtml } from "./report";
import { writeFileAtomic } from "../fsAtomic";
import { ResultsStore, readResults, type RunRecord } from "./store";
import { summarise, writeSummary, type SweepSummary } from "./summary";
import { defaultOutDir } from "./runner";

export interface MergeOptions {
  file?: string;
  spec?: SweepSpec;
  /** Results files, or folders whose results*.jsonl files are read. */
  inputs: string[];
  out?: string;
  report?: boolean;
}

export interface Occurrence {
  file: string;
  line: number;
  record: RunRecord;
}

export interface MergeResult {
  plan: SweepPlan;
  inputFiles: string[];
  /** Planned runs that no input has. */
  missing: RunSpec[];
  /** Ids found more than once, with where; `conflict` when the copies' results differ. */
  duplicates: Array<{ id: string; occurrences: Array<{ file: string; line: number }>; conflict: boolean }>;
  /** Records whose id is not in the plan. */
  extra: Occurrence[];
  merged: number;
  summary: SweepSummary;
  files: { results: string; csv: string; json: string; report?: string };
}

const RESULT_FILE = /^results(-shard-\d+-of-\d+)?\.jsonl$/;

/** The input files: the output folder's own results first (when it has any), then every input's. */
function resultFiles(inputs: string[], outResults: string): string[] {
  const files: string[] = [];
  if (fs.existsSync(outResults)) files.push(outResults);
  for (const input of inputs) {
    if (!fs.existsSync(input)) throw new Error(`merge: no such file or folder: ${input}`);
    if (fs.statSync(input).isDirectory()) {
      const found = fs
        .readdirSync(input)
        .filter((f) => RESULT_FILE.test(f))
        .map((f) => path.join(input, f));
      if (found.length === 0) throw new Error(`merge: ${input} has no results*.jsonl files`);
      files.push(...found.sort());
    } else files.push(input);
  }
  return [...new Set(files.map((f) => path.resolve(f)))];
}

/** What identifies a run's outcome (timing, finish time and the cosmetic label excluded). */
function outcome(r: RunRecord): string {
  return canonicalJson({ id: r.id, seed: r.seed, config: computedConfig(r.config), metrics: r.metrics });
}

export function mergeShards(opts: MergeOptions): MergeResult {
  const spec = opts.spec ?? (opts.file ? loadSweepFile(opts.file) : undefined);
  if (!spec) throw new Error("mergeShards needs a sweep file or spec");
  const plan = expandSweep(spec);
  const out = opts.out ?? defaultOutDir(spec);
  fs.mkdirSync(out, { recursive: true });
  const resultsPath = path.join(out, "results.jsonl");
  const inputFiles = resultFiles(opts.inputs, resultsPath);
  // A sweep writing into the same folder would be overwritten: hold its results file's lock.
  const lock = ResultsStore.lock(resultsPath);
  try {
    return mergeLocked(opts, spec, plan, out, resultsPath, inputFiles);
  } finally {
    lock.release();
  }
}

function mergeLocked(
  opts: MergeOptions,
  spec: SweepSpec,
  plan: SweepPlan,
  out: string,
  resultsPath: string,
  inputFiles: string[],
): MergeResult {
  const seen = new Map<string, Occurrence[]>();
  for (const file of inputFiles) {
    const read = readResults(file);
    if (read.tornBytes > 0)
      process.stderr.write(
        `merge: ${file} ends in a torn line (${read.tornBytes} bytes), ignored; re-run that shard to redo it\n`,
      );
    read.records.forEach((record, i) => {
      const occ = { file, line: read.lines[i], record };
      if (!seen.has(record.id)) seen.set(record.id, []);
      seen.get(record.id)!.push(occ);
    });
  }
  const planned = new Set(plan.runs.map((r) => r.id));
  const missing = plan.runs.filter((r) => !seen.has(r.id));
  const duplicates: MergeResult["duplicates"] = [];
  const extra: Occurrence[] = [];
  const own = path.resolve(resultsPath);
  for (const [id, all] of seen) {
    if (!planned.has(id)) extra.push(...all);
    // The folder's own copy of a run that an input also has is what a re-merge looks like, not a duplicate.
    const head = all[0];
    const occs =
      head.file === own && all.slice(1).every((o) => outcome(o.record) === outcome(head.record)) ? all.slice(1) : all;
    if (occs.length > 1) {
      const first = outcome(occs[0].record);
      duplicates.push({
        id,
        occurrences: occs.map((o) => ({ file: o.file, line: o.line })),
        conflict: occs.some((o) => outcome(o.record) !== first),
      });
    }
  }

  // The merged file: one line per planned run that has a result, in plan order, carrying the plan's
  // label and factors (a label renamed since a shard ran does not change the id, only the name).
  const merged = plan.runs
    .filter((r) => seen.has(r.id))
    .map((r) => ({ ...seen.get(r.id)![0].record, config: r.config, factors: r.factors }));
  // Results the folder held for runs outside this plan (an older sweep file or kind version) stay in it.
  const kept = extra.filter((o) => o.file === own).map((o) => o.record);
  writeFileAtomic(resultsPath, [...merged, ...kept].map((r) => JSON.stringify(r) + "\n").join(""));
  const summary = summarise(plan.runs, plan.factors, merged);
  const written = writeSummary(summary, out);
  const files: MergeResult["files"] = { results: resultsPath, ...written };
  if (opts.report !== false) {
    files.report = path.join(out, "report.html");
    const notes = [`merged from ${inputFiles.length} file(s): ${inputFiles.map((f) => path.basename(f)).join(", ")}`];
    writeFileAtomic(files.report, reportHtml({ spec, summary, planned: plan.runs.length, notes }));
  }
  return { plan, inputFiles, missing, duplicates, extra, merged: merged.length, summary, files };
}
