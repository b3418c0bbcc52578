// The ablation runner's command line. See HELP below (npm run sweep -- --help).
import * as path from "path";
import { loadSweepFile, SweepConfigError } from "../src/sweep/config";
import { listExperimentKinds } from "../src/sweep/kinds";
import { mergeShards } from "../src/sweep/merge";
import { parseShard } from "../src/sweep/plan";
import { defaultWorkerCount } from "../src/sweep/pool";
import { defaultOutDir, runSweep } from "../src/sweep/runner";
import { submitSlurm, writeSlurmScripts } from "../src/sweep/slurm";
import "../src/experiments";

const HELP = `usage:
  npm run sweep -- <sweep.yaml|json> [--workers N] [--shard i/n] [--out DIR] [--no-report] [--quiet]
  npm run sweep -- merge <sweep.yaml|json> <shard-dir-or-results.jsonl>... [--out DIR] [--allow-missing]
  npm run sweep -- slurm <sweep.yaml|json> --tasks N [--partition P] [--time T] [--cpus-per-task C]
                   [--out DIR] [--submit]

Runs every (grid point, seed) of a sweep file on worker threads, appending each finished run to
DIR/results.jsonl (fsync'ed). Re-running the same command skips finished runs, so a killed sweep resumes
where it stopped. Ends with DIR/summary.csv, DIR/summary.json and DIR/report.html (self-contained).
One sweep writes to a DIR at a time (DIR/results.jsonl.lock); every file is written completely or not at all.

options:
  --workers N   worker threads (default: ${defaultWorkerCount()} = cores here; 0 runs in the main thread)
  --shard i/n   run only runs i, i+n, i+2n, … of the plan (0 <= i < n); writes results-shard-i-of-n.jsonl
                e.g. --shard $SLURM_ARRAY_TASK_ID/8, --shard $JOB_COMPLETION_INDEX/8
  --out DIR     output folder (default: output/sweeps/<sweep name>)
  --no-report   skip the HTML report
  --quiet       no progress output
merge:
  combines shard outputs into DIR/results.jsonl, summary and report; lists missing runs (exit 1 unless
  --allow-missing), duplicated runs (exit 1 if their results differ) and runs not in the plan.
  Results already in DIR/results.jsonl are kept (they count as one of the inputs).
slurm:
  writes DIR/slurm/array.sbatch (task k of 0..N-1 runs --shard k/N into DIR/slurm/task-k, with C worker
  threads) and DIR/slurm/merge.sbatch (merges the tasks into DIR and builds the report); --submit submits
  both with sbatch, the merge with --dependency=afterok:<array job>. DIR must be on a shared file system.
  See docs/sweeps-cluster.md (also for Kubernetes).

experiment kinds: ${listExperimentKinds().join(", ")}`;

interface Parsed {
  positional: string[];
  flags: Map<string, string | true>;
}

function parseArgs(argv: string[], valued: string[], boolean: string[]): Parsed {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--")) {
      positional.push(a);
      continue;
    }
    const [name, inline] = a.slice(2).split(/=(.*)/s, 2);
    if (valued.includes(name)) {
      const v = inline ?? argv[++i];
      // "--out --quiet" must not create a folder named "--quiet".
      if (v === undefined || (inline === undefined && v.startsWith("--")))
        throw new Error(
          `--${name} needs a value${v === undefined ? "" : `, got the option ${v} (write --${name}=${v} if that really is the value)`}`,
        );
      // "--workers=" would otherwise read as 0 (Number("") === 0) and "--out=" as the current folder.
      if (v.trim() === "") throw new Error(`--${name} needs a value, got an empty one`);
      flags.set(name, v);
    } else if (boolean.includes(name)) flags.set(name, true);
    else throw new Error(`unknown option --${name} (see --help)`);
  }
  return { positional, flags };
}

async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv.includes("--help") || argv.includes("-h")) {
    console.log(HELP);
    return argv.length === 0 ? 2 : 0;
  }
  if (argv[0] === "merge") {
    const { positional, flags } = parseArgs(argv.slice(1), ["out"], ["allow-missing", "no-report"]);
    const [file, ...inputs] = positional;
    if (!file || inputs.length === 0)
      throw new Error("merge needs the sweep file and at least one shard folder or results file");
    const r = mergeShards({
      file,
      inputs,
      out: flags.get("out") as string | undefined,
      report: !flags.has("no-report"),
    });
    const conflicts = r.duplicates.filter((d) => d.conflict);
    console.log(
      `merged ${r.inputFiles.length} file(s): ${r.merged}/${r.plan.runs.length} planned runs present → ${path.dirname(r.files.results)}`,
    );
    console.log(
      `missing: ${r.missing.length}${
        r.missing.length
          ? ` (first: ${r.missing
              .slice(0, 10)
              .map((m) => `${m.id} [run ${m.index}, seed ${m.seed}]`)
              .join(", ")})`
          : ""
      }`,
    );
    console.log(`duplicates: ${r.duplicates.length} (${conflicts.length} with differing results)`);
    for (const d of r.duplicates.slice(0, 10))
      console.log(
        `  ${d.id}${d.conflict ? " CONFLICT" : ""}: ${d.occurrences.map((o) => `${path.basename(o.file)}:${o.line}`).join(", ")}`,
      );
    console.log(`not in the plan: ${r.extra.length}`);
    for (const e of r.extra.slice(0, 10)) console.log(`  ${e.record.id}: ${path.basename(e.file)}:${e.line}`);
    console.log(`summary: ${r.files.csv}, ${r.files.json}${r.files.report ? `; report: ${r.files.report}` : ""}`);
    return (r.missing.length > 0 && !flags.has("allow-missing")) || conflicts.length > 0 ? 1 : 0;
  }

  if (argv[0] === "slurm") {
    const { positional, flags } = parseArgs(
      argv.slice(1),
      ["tasks", "partition", "time", "cpus-per-task", "out"],
      ["submit"],
    );
    if (positional.length !== 1) throw new Error("slurm needs exactly one sweep file (see --help)");
    const integer = (name: string): number | undefined => {
      const text = flags.get(name) as string | undefined;
      if (text === undefined) return undefined;
      const n = Number(text);
      if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${text}`);
      return n;
    };
    const tasks = integer("tasks");
    if (tasks === undefined) throw new Error("slurm needs --tasks N (the number of array tasks = shards)");
    const spec = loadSweepFile(positional[0]);
    const scripts = writeSlurmScripts({
      file: positional[0],
      tasks,
      out: (flags.get("out") as string | undefined) ?? defaultOutDir(spec),
      root: path.resolve(__dirname, ".."),
      partition: flags.get("partition") as string | undefined,
      time: flags.get("time") as string | undefined,
      cpusPerTask: integer("cpus-per-task"),
    });
    console.log(`wrote ${scripts.array}
      ${scripts.merge}`);
    if (!flags.has("submit")) {
      console.log(
        `submit with:
  jid=$(sbatch --parsable ${scripts.array})
  sbatch --dependency=afterok:$jid --kill-on-invalid-dep=yes ${scripts.merge}`,
      );
      return 0;
    }
    const { arrayJob, mergeJob } = submitSlurm(scripts);
    console.log(`array job ${arrayJob} (${tasks} tasks), merge job ${mergeJob} (after every task succeeds)`);
    return 0;
  }

  const { positional, flags } = parseArgs(argv, ["workers", "shard", "out"], ["no-report", "quiet"]);
  if (positional.length !== 1)
    throw new Error(`expected one sweep file, got ${positional.length ? positional.join(" ") : "none"} (see --help)`);
  const workersText = flags.get("workers");
  const workers = workersText === undefined ? undefined : Number(workersText);
  if (workers !== undefined && (!Number.isInteger(workers) || workers < 0))
    throw new Error(`--workers must be a non-negative integer, got ${workersText}`);
  const shard = flags.has("shard") ? parseShard(String(flags.get("shard"))) : undefined;

  // First Ctrl-C / SIGTERM: stop handing out runs, let running ones finish and be stored. Second: exit now
  // (stored runs are safe either way).
  let stopRequested = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (stopRequested) process.exit(130);
    stopRequested = true;
    process.stderr.write(`\n${sig}: finishing the runs in flight, then stopping (again to quit at once)\n`);
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  const r = await runSweep({
    file: positional[0],
    workers,
    shard,
    out: flags.get("out") as string | undefined,
    report: !flags.has("no-report"),
    quiet: flags.has("quiet"),
    shouldStop: () => stopRequested,
  });
  console.log(
    `results: ${r.files.results}\nsummary: ${r.files.csv}, ${r.files.json}${r.files.report ? `\nreport:  ${r.files.report}` : ""}`,
  );
  if (r.stopped) return 130;
  return r.failed.length > 0 ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof SweepConfigError) console.error(`sweep file error: ${err.message}`);
    else console.error(err instanceof Error ? err.message : err);
    process.exit(2);
  },
);
