// Throughput of the ablation runner on a bandit sweep: runs per second in this thread (workers 0), on
// 1 worker thread and on N (default: the number of cores), each from an empty output folder, plus the
// machine's load average so shared-machine noise is visible next to the numbers.
//
//   npm run bench:sweep                       # N = cores, 32 runs of 20000 steps
//   npm run bench:sweep -- --workers 4 --runs 96 --steps 20000 --repeat 2
// Wall time includes starting the workers (each loads tsx and compiles the TypeScript it needs); that
// start-up cost is measured separately with zero-work runs and printed too.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import "../src/experiments";
import { parseSweepSpec } from "../src/sweep/config";
import { defaultWorkerCount } from "../src/sweep/pool";
import { runSweep } from "../src/sweep/runner";

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return dflt;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v < 0) throw new Error(`--${name} needs a number`);
  return v;
}

async function main(): Promise<void> {
  if (process.argv.includes("--help")) {
    console.log("usage: bench-sweep.ts [--workers N] [--runs R] [--steps S] [--repeat K]");
    return;
  }
  const workers = arg("workers", defaultWorkerCount());
  const runs = arg("runs", 32);
  const steps = arg("steps", 20000);
  const repeat = arg("repeat", 1);
  const seeds = 4;
  const betas = Array.from({ length: Math.max(1, Math.round(runs / (2 * seeds))) }, (_, i) =>
    Number((0.05 * 1.5 ** i).toPrecision(3)),
  );
  const spec = parseSweepSpec({
    name: "bench-sweep",
    kind: "bandit",
    seeds,
    base: { steps, batchSize: 32, learningRate: 0.02, dataset: { nPrompts: 8, nResponses: 6, nPairs: 400 } },
    grid: { method: ["dpo", "ipo"], "lossOptions.beta": betas },
  });
  const total = 2 * betas.length * seeds;
  console.log(
    `bandit sweep: ${total} runs × ${steps} Adam steps (8 prompts × 6 responses, batch 32); cores ${os.cpus().length}, availableParallelism ${defaultWorkerCount()}`,
  );
  console.log(
    `load average before: ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
  );
  const settings = [0, 1, workers].filter((w, i, a) => a.indexOf(w) === i);
  const results: Array<{ workers: number; seconds: number; runsPerSecond: number; cores: number }> = [];
  for (let k = 0; k < repeat; k++) {
    for (const w of settings) {
      const out = fs.mkdtempSync(path.join(os.tmpdir(), "prefopt-bench-sweep-"));
      const cpu0 = process.cpuUsage(); // all threads of this process, workers included
      const r = await runSweep({ spec, out, workers: w, quiet: true, report: false });
      const cpu = process.cpuUsage(cpu0);
      fs.rmSync(out, { recursive: true, force: true });
      if (r.ran !== total) throw new Error(`expected ${total} runs, ran ${r.ran} (${r.failed.length} failed)`);
      const cpuSeconds = (cpu.user + cpu.system) / 1e6;
      results.push({ workers: w, seconds: r.seconds, runsPerSecond: total / r.seconds, cores: cpuSeconds / r.seconds });
      const label = w === 0 ? "main thread" : `${w} worker${w > 1 ? "s" : ""}`;
      // CPU time / wall time = how many cores this process actually got: on a shared machine that, not the
      // worker count, caps the speed-up.
      console.log(
        `  ${label.padEnd(12)} ${r.seconds.toFixed(2).padStart(7)} s  ${(total / r.seconds).toFixed(2).padStart(7)} runs/s  ` +
          `CPU ${cpuSeconds.toFixed(2)} s = ${((1000 * cpuSeconds) / total).toFixed(0)} ms/run, cores obtained ${(cpuSeconds / r.seconds).toFixed(2)}  (load ${os.loadavg()[0].toFixed(2)})`,
      );
    }
  }
  // Start-up: as many zero-work synthetic runs as workers, so the time is spawning + loading.
  for (const w of settings.filter((x) => x > 0)) {
    const zero = parseSweepSpec({ name: "bench-startup", kind: "synthetic", seeds: w, grid: { x: [0] } });
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "prefopt-bench-sweep-"));
    const r = await runSweep({ spec: zero, out, workers: w, quiet: true, report: false });
    fs.rmSync(out, { recursive: true, force: true });
    console.log(`  start-up of ${w} worker(s) with zero-work runs: ${r.seconds.toFixed(2)} s`);
  }
  // Dispatch concurrency, independent of free cores: runs that *sleep* 250 ms (synthetic kind) overlap
  // perfectly on N workers if the pool keeps all N busy, so the ideal speed-up is N even on a busy machine.
  const sleepy = parseSweepSpec({
    name: "bench-sleep",
    kind: "synthetic",
    seeds: 12 * Math.max(...settings),
    grid: { delayMs: [250] },
  });
  const sleepRate: Record<number, number> = {};
  for (const w of settings.filter((x) => x > 0)) {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "prefopt-bench-sweep-"));
    const r = await runSweep({ spec: sleepy, out, workers: w, quiet: true, report: false });
    fs.rmSync(out, { recursive: true, force: true });
    sleepRate[w] = r.runs.length / r.seconds;
    console.log(
      `  ${r.runs.length} sleeping runs (250 ms) on ${w} worker(s): ${r.seconds.toFixed(2)} s, ${sleepRate[w].toFixed(2)} runs/s (ideal ${(w * 4).toFixed(2)}, less start-up)`,
    );
  }
  if (settings.includes(1) && workers > 1)
    console.log(
      `  dispatch speed-up on sleeping runs, ${workers} vs 1 worker: ${(sleepRate[workers] / sleepRate[1]).toFixed(2)}×`,
    );
  const best = (w: number): number => Math.max(...results.filter((r) => r.workers === w).map((r) => r.runsPerSecond));
  console.log(
    `speed-up of ${workers} workers over 1 worker: ${(best(workers) / best(1)).toFixed(2)}× (best of ${repeat}); over the main thread: ${(best(workers) / best(0)).toFixed(2)}×`,
  );
  const gotCores = Math.max(...results.filter((r) => r.workers === workers).map((r) => r.cores));
  if (workers > 1 && gotCores < 0.8 * Math.min(workers, os.cpus().length)) {
    console.log(
      `note: with ${workers} workers this process obtained at most ${gotCores.toFixed(2)} cores — the machine is busy with other work (Linux gives each busy session a fair share), so that, not the pool, caps the speed-up here`,
    );
  }
  console.log(
    `load average after: ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
