// Training and evaluation sizes of one Figure-2 run, per preset (the data side's sizes — corpus, SFT,
// prefixes, pairs, reward model — are FIG2_DATA_PRESETS in src/fig2/shared.ts, under the same names).
//
// The full preset is sized for the 2-core machine it ran on while ~20 other processes shared it (each
// worker thread got ~6-10% of a core): a run is 24 offline steps of 16 pairs or 8 PPO iterations of
// 6 prefixes × 4 samples, evaluated at 2 checkpoints on 20 test prefixes × 2 samples. A first attempt at
// 40 steps / 12 iterations / 3 checkpoints × 80 samples finished 3 of 75 runs in 6 minutes and was
// stopped. Learning rates were picked on the CI data before the full run (one seed each): DPO (β 0.05) at
// 1.5e-3 for 40 steps reached KL 15 with no reward gain over SFT, at 5e-4 (β 0.1) +0.055 at KL 2.6; PPO-GT
// at 2e-3 +0.12 at KL 3.9 after 12 iterations. With 24 steps here, DPO's rate is 1e-3. The paper evaluates every few hundred steps of much longer runs; the envelope idea is the
// same, the scale is not.
import type { Fig2RunSettings } from "./run";

export type Fig2RunPreset = Omit<Fig2RunSettings, "method" | "knob" | "seed">;

export const FIG2_RUN_PRESETS: Record<string, Fig2RunPreset> = {
  full: {
    offline: { steps: 24, batchSize: 16, learningRate: 1e-3, cdpoEpsilon: 0.1 },
    ppo: { iterations: 8, promptsPerIteration: 6, k: 4, learningRate: 2e-3, initialBeta: 0.05, klHorizon: 48 },
    bestOfN: { samplesPerPrompt: 16 },
    checkpoints: 2,
    evaluation: { prompts: 20, samplesPerPrompt: 2, maxNewTokens: 12 },
  },
  ci: {
    offline: { steps: 8, batchSize: 8, learningRate: 1e-3, cdpoEpsilon: 0.1 },
    ppo: { iterations: 4, promptsPerIteration: 4, k: 2, learningRate: 1e-3, initialBeta: 0.05, klHorizon: 100 },
    bestOfN: { samplesPerPrompt: 16 },
    checkpoints: 2,
    evaluation: { prompts: 8, samplesPerPrompt: 2, maxNewTokens: 8 },
  },
};

/** Ceiling for the offline data a run may see: steps × batch units (the rest is never drawn). */
export function offlineUnitsNeeded(p: Fig2RunPreset): number {
  return p.offline.steps * p.offline.batchSize;
}
