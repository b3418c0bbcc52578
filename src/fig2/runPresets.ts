// Training and evaluation sizes of one Figure-2 run, per preset (the data side's sizes — corpus, SFT,
// prefixes, pairs, reward model — are FIG2_DATA_PRESETS in src/fig2/shared.ts, under the same names).
//
// The full preset is sized for a 2-core laptop CPU and one hour (see scripts/sweeps/dpo-fig2.yaml): a
// run is ~100 offline steps or ~24 PPO iterations, evaluated at 3 checkpoints on 32 test prefixes × 4
// samples. The paper evaluates every few hundred steps of much longer runs; the envelope idea is the
// same, the scale is not.
import type { Fig2RunSettings } from "./run";

export type Fig2RunPreset = Omit<Fig2RunSettings, "method" | "knob" | "seed">;

export const FIG2_RUN_PRESETS: Record<string, Fig2RunPreset> = {
  full: {
    offline: { steps: 96, batchSize: 16, learningRate: 5e-4, cdpoEpsilon: 0.1 },
    ppo: { iterations: 24, promptsPerIteration: 12, k: 4, learningRate: 5e-4, initialBeta: 0.05, klHorizon: 100 },
    bestOfN: { samplesPerPrompt: 64 },
    evalEvery: 32,
    evaluation: { prompts: 32, samplesPerPrompt: 4, maxNewTokens: 12 },
  },
  ci: {
    offline: { steps: 8, batchSize: 8, learningRate: 1e-3, cdpoEpsilon: 0.1 },
    ppo: { iterations: 4, promptsPerIteration: 4, k: 2, learningRate: 1e-3, initialBeta: 0.05, klHorizon: 100 },
    bestOfN: { samplesPerPrompt: 16 },
    evalEvery: 4,
    evaluation: { prompts: 8, samplesPerPrompt: 2, maxNewTokens: 8 },
  },
};

/** Ceiling for the offline data a run may see: steps × batch units (the rest is never drawn). */
export function offlineUnitsNeeded(p: Fig2RunPreset): number {
  return p.offline.steps * p.offline.batchSize;
}
