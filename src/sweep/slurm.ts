// Sweeps on a Slurm cluster: one array job whose task k runs shard k/N of the plan (`--shard k/N`, shards
// numbered from 0 as in plan.ts, so the array is 0..N-1) into its own folder, and one merge job that
// starts when every task has succeeded (--dependency=afterok:<array job>) and merges the shards into the
// sweep's output folder with the summary and report. `npm run sweep -- slurm` writes both scripts and,
// with --submit, submits them with sbatch. The output folder must be on a file system every node sees.
//
//   <out>/slurm/array.sbatch, merge.sbatch   the job scripts (absolute paths: they run from any folder)
//   <out>/slurm/task-<k>/                     shard k's results-shard-k-of-N.jsonl, plan, summary
//   <out>/slurm/logs/                         each task's and the merge's stdout/stderr
//   <out>/results.jsonl, summary.*, report.html   written by the merge job
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { writeFileAtomic } from "../fsAtomic";

export interface SlurmOptions {
  /** The sweep file (made absolute). */
  file: string;
  /** Array tasks = shards. */
  tasks: number;
  /** The sweep's output folder (made absolute); per-task folders and scripts go under <out>/slurm. */
  out: string;
  /** Repository root: the jobs run `node --import tsx scripts/sweep.ts` from here. */
  root: string;
  /** Absolute path of the node binary the jobs use (default: this one). */
  node?: string;
  partition?: string;
  /** Slurm time limit per task, e.g. "30" (minutes) or "1:00:00". */
  time?: string;
  /** CPUs per task; each task runs that many worker threads. Default 1. */
  cpusPerTask?: number;
}

export interface SlurmScripts {
  dir: string;
  array: string;
  merge: string;
  taskDirs: string[];
}

/** Quote for a POSIX shell (single quotes; a quote inside becomes '\''). */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

const TIME = /^(\d+|\d+:\d{2}|\d+:\d{2}:\d{2}|\d+-\d+(:\d{2}(:\d{2})?)?)$/;

function checkOptions(o: SlurmOptions): void {
  if (!Number.isInteger(o.tasks) || o.tasks < 1) throw new Error(`--tasks must be a positive integer, got ${o.tasks}`);
  if (o.cpusPerTask !== undefined && (!Number.isInteger(o.cpusPerTask) || o.cpusPerTask < 1))
    throw new Error(`--cpus-per-task must be a positive integer, got ${o.cpusPerTask}`);
  if (o.time !== undefined && !TIME.test(o.time))
    throw new Error(`--time must be a Slurm time (minutes, M:S, H:M:S or D-H[:M[:S]]), got ${JSON.stringify(o.time)}`);
  if (o.partition !== undefined && !/^[\w.-]+$/.test(o.partition))
    throw new Error(`--partition must be a partition name, got ${JSON.stringify(o.partition)}`);
}

function header(o: SlurmOptions, name: string, log: string, cpus: number): string[] {
  const lines = [
    "#!/bin/bash",
    `#SBATCH --job-name=${name}`,
    `#SBATCH --output=${log}`,
    `#SBATCH --cpus-per-task=${cpus}`,
  ];
  if (o.partition) lines.push(`#SBATCH --partition=${o.partition}`);
  if (o.time) lines.push(`#SBATCH --time=${o.time}`);
  return lines;
}

/** Write the array and merge job scripts (see the top of the file); nothing is submitted. */
export function writeSlurmScripts(opts: SlurmOptions): SlurmScripts {
  checkOptions(opts);
  const o = { ...opts, file: path.resolve(opts.file), out: path.resolve(opts.out), root: path.resolve(opts.root) };
  const cpus = o.cpusPerTask ?? 1;
  const node = o.node ?? process.execPath;
  const dir = path.join(o.out, "slurm");
  const logs = path.join(dir, "logs");
  fs.mkdirSync(logs, { recursive: true });
  const taskDirs = Array.from({ length: o.tasks }, (_, k) => path.join(dir, `task-${k}`));
  const name = `sweep-${path.basename(o.out)}`.replace(/[^\w.-]/g, "_");
  const sweep = `${shellQuote(node)} --import tsx scripts/sweep.ts`;
  // %A is the array job's id and %a the task's index: one log per task.
  const array = [
    ...header(o, name, path.join(logs, "task-%A_%a.out"), cpus),
    `#SBATCH --array=0-${o.tasks - 1}`,
    "# One shard of the sweep per array task; shards are numbered from 0, like the array.",
    "set -euo pipefail",
    `cd ${shellQuote(o.root)}`,
    `exec ${sweep} ${shellQuote(o.file)} --shard "\${SLURM_ARRAY_TASK_ID}/${o.tasks}" \\`,
    `  --out ${shellQuote(dir)}/task-"\${SLURM_ARRAY_TASK_ID}" --workers "\${SLURM_CPUS_PER_TASK:-${cpus}}" --no-report --quiet`,
    "",
  ].join("\n");
  const merge = [
    ...header(o, `${name}-merge`, path.join(logs, "merge-%j.out"), 1),
    "# Runs once every array task has succeeded (submitted with --dependency=afterok:<array job id>).",
    "set -euo pipefail",
    `cd ${shellQuote(o.root)}`,
    `exec ${sweep} merge ${shellQuote(o.file)} ${taskDirs.map(shellQuote).join(" ")} --out ${shellQuote(o.out)}`,
    "",
  ].join("\n");
  const files = { dir, array: path.join(dir, "array.sbatch"), merge: path.join(dir, "merge.sbatch"), taskDirs };
  for (const d of taskDirs) fs.mkdirSync(d, { recursive: true });
  writeFileAtomic(files.array, array);
  writeFileAtomic(files.merge, merge);
  fs.chmodSync(files.array, 0o755);
  fs.chmodSync(files.merge, 0o755);
  return files;
}

/** The job id in `sbatch --parsable` output ("123" or "123;cluster"). */
export function parseJobId(stdout: string): string {
  const id = stdout.trim().split(";")[0];
  if (!/^\d+$/.test(id)) throw new Error(`sbatch printed ${JSON.stringify(stdout.trim())}, not a job id`);
  return id;
}

/**
 * Submit the scripts: the array, then the merge job depending on it (afterok; cancelled by Slurm if a
 * task fails, so a failed sweep never merges part of its runs). Returns both job ids.
 */
export function submitSlurm(scripts: SlurmScripts, sbatch = "sbatch"): { arrayJob: string; mergeJob: string } {
  const run = (args: string[]): string => {
    try {
      return execFileSync(sbatch, args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw new Error(`${sbatch} ${args.join(" ")} failed: ${(err.stderr || err.message).trim()}`);
    }
  };
  const arrayJob = parseJobId(run(["--parsable", scripts.array]));
  const mergeJob = parseJobId(
    run(["--parsable", `--dependency=afterok:${arrayJob}`, "--kill-on-invalid-dep=yes", scripts.merge]),
  );
  return { arrayJob, mergeJob };
}
