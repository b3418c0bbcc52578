// Training and evaluation sizes of one Figure-2 run, per preset (the data side's sizes — corpus, SFT,
// prefixes, pairs, reward model — are FIG2_DATA_PRESETS in src/fig2/shared.ts, under the same names).
//
// The full preset is sized to finish in well under an hour on this 2-core machine, idle, with two sweep
// workers of one wasm thread each (PREFOPT_THREADS=1 --workers 2). Measured there on 2026-11-30: an offline
// step of 32 pairs ~0.57 s, a PPO iteration of 8 prefixes × 4 samples ~0.8 s, one evaluation of 80 test
// prefixes × 4 samples ~4.5 s. A run is 100 offline steps of 32 pairs (3,200 of the ~11,900 pairs, one
// pass) or 30 PPO iterations, evaluated at 4 checkpoints; Best-of-N draws 64 samples per test prefix.
// Learning rates from one-seed probes on the full data before the run: DPO at 1e-3 (β 0.1) reached KL 3.9
// after 38 steps and 5.1 after 75 with the classifier's reward rising from 0.57 (SFT) to 0.67 and 0.75;
// PPO-GT at 2e-3 reached KL 13 after 23 iterations, so target KLs 3–12 are all reachable. The first
// committed run (24 steps × 16 pairs, 8 PPO iterations, 2 checkpoints × 20 prefixes × 2 samples) was sized
// for a machine shared with ~20 other processes. The paper evaluates every few hundred steps of much longer
// runs; the envelope idea is the same, the scale is not.
import type { Fig2RunSettings } from "./run";

export type Fig2RunPreset = Omit<Fig2RunSettings, "method" | "knob" | "seed">;

export const FIG2_RUN_PRESETS: Record<string, Fig2RunPreset> = {
  full: {
    offline: { steps: 100, batchSize: 32, learningRate: 1e-3, cdpoEpsilon: 0.1 },
    // PPO (src/lm/ppo.ts), measured 2026-12-07 on the full shared stages at one wasm thread: an iteration
    // (256 rollouts of 12 tokens, scored, 2 epochs x 4 minibatches of 64) takes ~1.7-1.9 s of CPU (3.7-4.4 s
    // wall on the loaded machine), one evaluation ~1.0 s CPU; a run of 40 iterations + 10 evaluations
    // ~85 s of CPU. Seed 0, the PI controller: target 3 (learned RM) peaked at KL 6.9 (it. 12) and stayed within
    // ±25% from it. 16 on (final 2.72); target 6 (ground truth) peaked at 13.9 (it. 17), within from it. 28
    // (final 6.59); target 12 (ground truth) peaked at 21.7 (it. 21), within from it. 26 (final 11.70); target 20
    // (learned RM) peaked at 30.0 (it. 26), within from it. 30 (final 20.18): 40 iterations let every target
    // settle (the early overshoot is part of each run's checkpoints).
    ppo: { iterations: 40, batchSize: 256, miniBatchSize: 64, ppoEpochs: 2, learningRate: 1e-3, initialBeta: 0.1 },
    rloo: { iterations: 30, promptsPerIteration: 8, k: 4, learningRate: 2e-3, initialBeta: 0.05, klHorizon: 48 },
    bestOfN: { samplesPerPrompt: 64 },
    checkpoints: 4,
    evaluation: { prompts: 80, samplesPerPrompt: 4, maxNewTokens: 12 },
  },
  ci: {
    offline: { steps: 8, batchSize: 8, learningRate: 1e-3, cdpoEpsilon: 0.1 },
    ppo: { iterations: 4, batchSize: 16, miniBatchSize: 8, ppoEpochs: 2, learningRate: 1e-3, initialBeta: 0.1 },
    rloo: { iterations: 4, promptsPerIteration: 4, k: 2, learningRate: 1e-3, initialBeta: 0.05, klHorizon: 100 },
    bestOfN: { samplesPerPrompt: 16 },
    checkpoints: 2,
    evaluation: { prompts: 8, samplesPerPrompt: 2, maxNewTokens: 8 },
  },
};

/** Ceiling for the offline data a run may see: steps × batch units (the rest is never drawn). */
export function offlineUnitsNeeded(p: Fig2RunPreset): number {
  return p.offline.steps * p.offline.batchSize;
}
