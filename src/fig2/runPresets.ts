// Training and evaluation sizes of one Figure-2 run, per preset (the data side's sizes — corpus, SFT,
// prefixes, pairs, reward model — are FIG2_DATA_PRESETS in src/fig2/shared.ts, under the same names).
//
// The full preset is sized for a 2-core laptop CPU shared with other work, and one hour (see
// scripts/sweeps/dpo-fig2.yaml): a run is 40 offline steps of 16 pairs or 12 PPO iterations of 8 × 4
// samples, evaluated at 3 checkpoints on 20 test prefixes × 4 samples. Learning rates were picked on the
// CI data before the full run (one seed each): DPO (β 0.05) at 1.5e-3 reached KL 15 with no reward gain
// over SFT, at 5e-4 (β 0.1) +0.055 at KL 2.6; PPO-GT at 2e-3 +0.12 at KL 3.9. The paper evaluates every few hundred steps of much longer runs; the envelope idea is the
// same, the scale is not.
import type { Fig2RunSettings } from "./run";

export type Fig2RunPreset = Omit<Fig2RunSettings, "method" | "knob" | "seed">;

export const FIG2_RUN_PRESETS: Record<string, Fig2RunPreset> = {
  full: {
    offline: { steps: 40, batchSize: 16, learningRate: 5e-4, cdpoEpsilon: 0.1 },
    ppo: { iterations: 12, promptsPerIteration: 8, k: 4, learningRate: 2e-3, initialBeta: 0.05, klHorizon: 64 },
    bestOfN: { samplesPerPrompt: 64 },
    checkpoints: 3,
    evaluation: { prompts: 20, samplesPerPrompt: 4, maxNewTokens: 12 },
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
