// Per-unit costs of issue 28's methods at the full preset, for sizing scripts/sweeps/fig2-online.yaml
// without running it: each method runs a few of its units (iterations, rounds, steps) with one evaluation,
// an SFT run times that evaluation alone, and a full run is extrapolated from the full preset's sizes.
//   PREFOPT_THREADS=1 node --import tsx scripts/bench-online.ts      (needs the full shared stages cached)
import { initBackend } from "../src/backend";
import { sharedFor, contextFromShared } from "../src/fig2/context";
import { runFig2, type Fig2RunSettings } from "../src/fig2/run";
import { FIG2_RUN_PRESETS } from "../src/fig2/runPresets";
import { FIG2_ONLINE_PRESETS } from "../src/fig2/onlinePresets";
import { onlineSection } from "../src/fig2/runOnline";

async function main(): Promise<void> {
  await initBackend();
  const shared = await sharedFor("full", 0, true);
  const full = FIG2_RUN_PRESETS.full;
  const op = FIG2_ONLINE_PRESETS.full;
  const time = (method: string, knob: number, patch: Partial<Fig2RunSettings> = {}, units = 256): number => {
    const section = onlineSection(method);
    const s = {
      ...full,
      checkpoints: 1,
      ...(section ? { [section]: op[section] } : {}),
      method,
      knob,
      seed: 0,
      ...patch,
    } as Fig2RunSettings;
    const ctx = contextFromShared(shared, { units, seed: 0 });
    const t0 = Date.now();
    runFig2(ctx, s);
    const sec = (Date.now() - t0) / 1000;
    console.log(`${method} ${JSON.stringify(patch)}: ${sec.toFixed(1)} s`);
    return sec;
  };
  time("tr-dpo", 0.1, { offline: { ...full.offline, epochs: 1, units: 64 } }, 64); // warm-up (kernels, shapes)
  const E = (time("sft", 0) + time("sft", 0) + time("sft", 0)) / 3;
  const per = (T: number, n: number) => (T - E) / n;
  const grpo = per(time("grpo-gt", 0.04, { grpo: { ...op.grpo, iterations: 4 } }), 4);
  const dr = per(time("dr-grpo-gt", 0.04, { grpo: { ...op.grpo, iterations: 4 } }), 4);
  const round = per(time("online-dpo-gt", 0.1, { onlineDpo: { ...op.onlineDpo, rounds: 10 } }), 10);
  const it = (epochs: number) =>
    time("iterative-dpo-gt", 0.1, { iterativeDpo: { ...op.iterativeDpo, rounds: 1, promptsPerRound: 512, epochs } });
  const [i1, i4] = [it(1), it(4)];
  const iterStep = (i4 - i1) / 48;
  const pairCost = (i1 - E - 16 * iterStep) / 512;
  const units = 1280; // 40 steps of 32 pairs
  const offline = { ...full.offline, epochs: 1, units };
  const trStep = per(time("tr-dpo", 0.1, { offline }, units), 40);
  const trHardStep = per(time("tr-dpo-hard", 0.1, { offline }, units), 40);
  const dpopStep = per(time("dpop", 0.1, { offline }, units), 40);
  const dpoStep = per(time("dpo", 0.1, { offline }, units), 40);
  const offlineSteps = Math.ceil((full.offline.epochs * shared.data.pairs.length) / full.offline.batchSize);
  const ev = full.checkpoints * E;
  const est: Record<string, number> = {
    "grpo-gt": op.grpo.iterations * grpo + ev,
    "dr-grpo-gt": op.grpo.iterations * dr + ev,
    "online-dpo-gt": op.onlineDpo.rounds * round + ev,
    "iterative-dpo-gt":
      op.iterativeDpo.rounds *
        (op.iterativeDpo.promptsPerRound * pairCost +
          Math.ceil((op.iterativeDpo.epochs * op.iterativeDpo.promptsPerRound) / op.iterativeDpo.batchSize) *
            iterStep) +
      ev,
    "tr-dpo": offlineSteps * trStep + ev,
    "tr-dpo-hard": offlineSteps * trHardStep + ev,
    dpop: offlineSteps * dpopStep + ev,
    dpo: offlineSteps * dpoStep + ev,
  };
  console.log(
    JSON.stringify(
      {
        evaluation: E,
        perUnit: { grpo, dr, round, iterStep, pairCost, trStep, trHardStep, dpopStep, dpoStep },
        offlineSteps,
        fullRunSeconds: est,
      },
      null,
      1,
    ),
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
