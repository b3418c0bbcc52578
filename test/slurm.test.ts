// `npm run sweep -- slurm` (src/sweep/slurm.ts): the array and merge job scripts, run by bash as Slurm
// would run them, and then for real on a one-node Slurm (Debian's slurm-wlm and munge) that this test
// configures for localhost in a temporary folder, starts as root, and stops (killing each daemon's
// process group). The real-cluster test is skipped, with the reason, where the packages are missing or
// the daemons cannot start (not root, not Linux).
import { after, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import "../src/experiments";
import { loadSweepFile } from "../src/sweep/config";
import { expandSweep } from "../src/sweep/plan";
import { readResults } from "../src/sweep/store";
import { parseJobId, shellQuote, writeSlurmScripts } from "../src/sweep/slurm";

const root = path.resolve(__dirname, "..");
const tmp = (name: string): string => fs.mkdtempSync(path.join(os.tmpdir(), `prefopt-slurm-${name}-`));

/** A 2 × 5 synthetic sweep (10 runs) whose runs take a little time. */
function sweepFile(dir: string): string {
  const f = path.join(dir, "tiny.yaml");
  fs.writeFileSync(f, "name: tiny\nkind: synthetic\nseeds: 5\nbase: {delayMs: 20}\ngrid: {x: [0, 1]}\n");
  return f;
}

/** Every planned run is in `out`/results.jsonl exactly once, and the report exists. */
function checkMerged(file: string, out: string): void {
  const plan = expandSweep(loadSweepFile(file));
  const ids = readResults(path.join(out, "results.jsonl")).records.map((r) => r.id);
  assert.equal(ids.length, plan.runs.length, "one line per planned run");
  assert.deepEqual([...ids].sort(), plan.runs.map((r) => r.id).sort(), "every planned run, each once");
  const report = fs.readFileSync(path.join(out, "report.html"), "utf8");
  assert.match(report, /tiny/);
}

describe("sweep slurm: the job scripts", () => {
  test("shards are numbered from 0 like the array; scripts run by bash as Slurm would merge every run once", () => {
    const dir = tmp("scripts");
    const file = sweepFile(dir);
    const out = path.join(dir, "out dir's"); // a space and a quote: every path is shell-quoted
    const s = writeSlurmScripts({ file, tasks: 3, out, root, partition: "debug", time: "10" });
    const array = fs.readFileSync(s.array, "utf8");
    assert.match(array, /^#SBATCH --array=0-2$/m);
    assert.match(array, /^#SBATCH --partition=debug$/m);
    assert.match(array, /^#SBATCH --time=10$/m);
    assert.match(array, /--shard "\$\{SLURM_ARRAY_TASK_ID\}\/3"/);
    for (let k = 0; k < 3; k++) {
      const r = spawnSync("bash", [s.array], {
        env: { ...process.env, SLURM_ARRAY_TASK_ID: String(k), SLURM_CPUS_PER_TASK: "1" },
        encoding: "utf8",
      });
      assert.equal(r.status, 0, r.stderr);
      assert.ok(fs.existsSync(path.join(s.taskDirs[k], `results-shard-${k}-of-3.jsonl`)));
    }
    const m = spawnSync("bash", [s.merge], { encoding: "utf8" });
    assert.equal(m.status, 0, m.stdout + m.stderr);
    assert.match(m.stdout, /10\/10 planned runs present/);
    checkMerged(file, out);
  });

  test("bad options are refused before anything is written; quoting and job ids", () => {
    const dir = tmp("opts");
    const file = sweepFile(dir);
    const out = path.join(dir, "o");
    assert.throws(() => writeSlurmScripts({ file, tasks: 0, out, root }), /--tasks must be a positive integer, got 0/);
    assert.throws(() => writeSlurmScripts({ file, tasks: 2, out, root, time: "1h" }), /--time must be a Slurm time/);
    assert.throws(
      () => writeSlurmScripts({ file, tasks: 2, out, root, partition: "a b" }),
      /--partition must be a partition name/,
    );
    assert.ok(!fs.existsSync(out));
    assert.equal(
      spawnSync("bash", ["-c", `printf %s ${shellQuote("it's $HOME")}`], { encoding: "utf8" }).stdout,
      "it's $HOME",
    );
    assert.equal(parseJobId("123;cluster\n"), "123");
    assert.throws(() => parseJobId("sbatch: error: x"), /not a job id/);
  });
});

// ---- a real one-node Slurm -------------------------------------------------------------------------

const binaries = ["munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo"];
function whySkip(): string | false {
  if (process.platform !== "linux") return "Slurm needs Linux";
  if (process.getuid?.() !== 0) return "starting slurmctld and slurmd as SlurmUser=root needs root";
  const missing = binaries.filter((b) => spawnSync("sh", ["-c", `command -v ${b}`]).status !== 0);
  if (missing.length)
    return `not installed: ${missing.join(", ")} (scripts/setup.sh --with-browser installs slurm-wlm munge)`;
  return false;
}

const daemons: ChildProcess[] = [];
function startDaemon(cmd: string, args: string[], log: string, env: NodeJS.ProcessEnv): ChildProcess {
  const fd = fs.openSync(log, "a");
  const child = spawn(cmd, args, { detached: true, stdio: ["ignore", fd, fd], env });
  fs.closeSync(fd);
  daemons.push(child);
  return child;
}
function stopDaemons(): void {
  for (const d of daemons.splice(0).reverse()) {
    try {
      process.kill(-d.pid!, "SIGTERM");
    } catch {
      // already gone
    }
  }
}
after(stopDaemons);

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function until(what: string, timeoutMs: number, ok: () => boolean, diagnose: () => string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}\n${diagnose()}`);
    await sleep(250);
  }
}

describe("sweep slurm: on a real one-node Slurm", () => {
  const skip = whySkip();
  test(
    "a 4-task array of a synthetic sweep, then the dependent merge: every run once, report built",
    { skip, timeout: 240_000 },
    async () => {
      const dir = tmp("cluster");
      fs.chmodSync(dir, 0o755);
      const host = spawnSync("hostname", ["-s"], { encoding: "utf8" }).stdout.trim();
      const memMb = Math.floor(os.totalmem() / 2 ** 20) - 1024; // a little under the machine's
      // Ports of our own, so a system Slurm or another test run on this machine is not disturbed.
      const port = 20000 + Math.floor(Math.random() * 20000);
      const munge = path.join(dir, "munge");
      fs.mkdirSync(munge, { mode: 0o755 });
      for (const d of ["state", "spool", "logs"]) fs.mkdirSync(path.join(dir, d));
      const key = path.join(munge, "munge.key");
      if (fs.existsSync("/etc/munge/munge.key")) fs.copyFileSync("/etc/munge/munge.key", key);
      else assert.equal(spawnSync("dd", ["if=/dev/urandom", `of=${key}`, "bs=1", "count=1024"]).status, 0);
      fs.chmodSync(key, 0o400);
      const socket = path.join(munge, "munge.socket");
      const conf = path.join(dir, "slurm.conf");
      fs.writeFileSync(
        conf,
        [
          "ClusterName=prefopt-test",
          `SlurmctldHost=${host}(127.0.0.1)`,
          `SlurmctldPort=${port}`,
          `SlurmdPort=${port + 1}`,
          "SlurmUser=root",
          "SlurmdUser=root",
          "AuthType=auth/munge",
          "CredType=cred/munge",
          `AuthInfo=socket=${socket}`,
          "MailProg=/bin/true",
          "MpiDefault=none",
          "ProctrackType=proctrack/linuxproc",
          "TaskPlugin=task/none",
          "JobAcctGatherType=jobacct_gather/none",
          "AccountingStorageType=accounting_storage/none",
          "JobCompType=jobcomp/none",
          "SchedulerType=sched/backfill",
          "SelectType=select/cons_tres",
          "SelectTypeParameters=CR_CPU",
          "ReturnToService=2",
          `StateSaveLocation=${dir}/state`,
          `SlurmdSpoolDir=${dir}/spool`,
          `SlurmctldPidFile=${dir}/slurmctld.pid`,
          `SlurmdPidFile=${dir}/slurmd.pid`,
          `SlurmctldLogFile=${dir}/logs/slurmctld.log`,
          `SlurmdLogFile=${dir}/logs/slurmd.log`,
          `NodeName=${host} NodeAddr=127.0.0.1 CPUs=2 RealMemory=${memMb} State=UNKNOWN`,
          `PartitionName=test Nodes=${host} Default=YES MaxTime=INFINITE State=UP`,
          "",
        ].join("\n"),
      );
      const env = { ...process.env, SLURM_CONF: conf };
      const logs = (): string =>
        ["munged.log", "slurmctld.log", "slurmd.log", "daemons.out"]
          .map((f) => {
            const p = path.join(dir, "logs", f);
            return fs.existsSync(p) ? `--- ${f}\n${fs.readFileSync(p, "utf8").split("\n").slice(-15).join("\n")}` : "";
          })
          .join("\n");
      const out = path.join(dir, "logs", "daemons.out");
      try {
        startDaemon(
          "munged",
          [
            "-F",
            "-f",
            `--socket=${socket}`,
            `--key-file=${key}`,
            `--pid-file=${munge}/munged.pid`,
            `--log-file=${dir}/logs/munged.log`,
            `--seed-file=${munge}/munged.seed`,
          ],
          out,
          env,
        );
        await until("munged's socket", 10_000, () => fs.existsSync(socket), logs);
        startDaemon("slurmctld", ["-D", "-f", conf], out, env);
        await until(
          "slurmctld",
          20_000,
          () => spawnSync("scontrol", ["ping"], { env, encoding: "utf8" }).stdout.includes("UP"),
          logs,
        );
        startDaemon("slurmd", ["-D", "-f", conf], out, env);
        await until(
          "the node to be idle",
          30_000,
          () => /idle/.test(spawnSync("sinfo", ["-h", "-o", "%T"], { env, encoding: "utf8" }).stdout),
          logs,
        );
      } catch (e) {
        stopDaemons();
        throw e;
      }

      const file = sweepFile(dir);
      const sweepOut = path.join(dir, "sweep-out");
      const cli = spawnSync(
        process.execPath,
        [
          "--import",
          "tsx",
          "scripts/sweep.ts",
          "slurm",
          file,
          "--tasks",
          "4",
          "--partition",
          "test",
          "--time",
          "5",
          "--out",
          sweepOut,
          "--submit",
        ],
        { cwd: root, env, encoding: "utf8" },
      );
      assert.equal(cli.status, 0, cli.stdout + cli.stderr);
      const m = /array job (\d+) \(4 tasks\), merge job (\d+)/.exec(cli.stdout);
      assert.ok(m, cli.stdout);
      const [, arrayJob, mergeJob] = m;
      const queued = (): string =>
        spawnSync("squeue", ["-h", "-j", `${arrayJob},${mergeJob}`, "-o", "%i %T %r"], { env, encoding: "utf8" })
          .stdout;
      const slurmLogs = (): string =>
        `queue:\n${queued()}\n` +
        fs
          .readdirSync(path.join(sweepOut, "slurm", "logs"))
          .map((f) => `--- ${f}\n${fs.readFileSync(path.join(sweepOut, "slurm", "logs", f), "utf8").slice(-2000)}`)
          .join("\n") +
        logs();
      await until("the array and merge jobs to finish", 180_000, () => queued().trim() === "", slurmLogs);
      const mergeLog = path.join(sweepOut, "slurm", "logs", `merge-${mergeJob}.out`);
      assert.ok(fs.existsSync(mergeLog), slurmLogs());
      assert.match(fs.readFileSync(mergeLog, "utf8"), /10\/10 planned runs present/, slurmLogs());
      for (let k = 0; k < 4; k++)
        assert.equal(
          readResults(path.join(sweepOut, "slurm", `task-${k}`, `results-shard-${k}-of-4.jsonl`)).records.length,
          k < 2 ? 3 : 2, // 10 runs over 4 shards: run i goes to shard i mod 4
        );
      checkMerged(file, sweepOut);
      stopDaemons();
    },
  );
});
