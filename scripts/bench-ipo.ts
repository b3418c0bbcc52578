// Times the full IPO §5.4 reproduction (Azar et al. 2023): DPO and IPO × D1 and the never-wins set × every
// τ in IPO_54_SETUP, 10 seeds × 18,000 Adam steps each, on the Float64 "js" engine; then the tfjs engine
// (core losses under autodiff, seeds as a batch dimension) on a short run, extrapolated to the same work.
//
//   npm run bench:ipo                 full reproduction + tfjs sample (300 steps)
//   npm run bench:ipo -- --tfjs-steps 1000
import { initBackend } from "../src/backend";
import { IPO_54_SETUP, runIpo54 } from "../src/bandit/experiments";
import { ipoTotalOrderDataset } from "../src/bandit/datasets";
import { trainBandit } from "../src/bandit/trainer";

function cpuSeconds(start: NodeJS.CpuUsage): number {
  const u = process.cpuUsage(start);
  return (u.user + u.system) / 1e6;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const tfjsSteps = argv.includes("--tfjs-steps") ? Number(argv[argv.indexOf("--tfjs-steps") + 1]) : 300;
  const { steps, seeds, taus } = IPO_54_SETUP;
  const nRuns = 2 * 2 * taus.length;
  console.log(
    `IPO §5.4: 2 datasets × 2 methods × τ ∈ {${taus.join(", ")}} = ${nRuns} runs, each ${seeds.length} seeds × ${steps} steps, batch 9`,
  );
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  runIpo54({ onRun: (r, i, n) => process.stderr.write(`\r  ${i}/${n} ${r.dataset} ${r.method} τ=${r.tau}      `) });
  process.stderr.write("\n");
  const wall = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(cpu0);
  const seedSteps = nRuns * seeds.length * steps;
  console.log(
    `js engine:   ${wall.toFixed(2)} s wall, ${cpu.toFixed(2)} s CPU for ${(seedSteps / 1e6).toFixed(2)} M seed-steps (${((wall / seedSteps) * 1e9).toFixed(0)} ns per seed-step)`,
  );

  const backend = await initBackend();
  const cpu1 = process.cpuUsage();
  const t1 = performance.now();
  trainBandit({
    method: "ipo",
    lossOptions: { beta: 0.5 },
    dataset: ipoTotalOrderDataset(),
    steps: tfjsSteps,
    batchSize: 9,
    learningRate: 0.01,
    seeds,
    engine: "tfjs",
  });
  const wallTf = (performance.now() - t1) / 1000;
  const cpuTf = cpuSeconds(cpu1);
  const perStep = wallTf / tfjsSteps;
  console.log(
    `tfjs engine (${backend.name}): ${tfjsSteps} steps × ${seeds.length} seeds in ${wallTf.toFixed(2)} s wall, ${cpuTf.toFixed(2)} s CPU ` +
      `(${(perStep * 1000).toFixed(2)} ms per step for all seeds) → the full reproduction would take ≈ ${((perStep * steps * nRuns) / 60).toFixed(1)} min`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
