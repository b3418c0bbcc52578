// Training and evaluation sizes of one Figure-2 run, per preset (the data side's sizes — corpus, SFT,
// prefixes, pairs, reward model — are FIG2_DATA_PRESETS in src/fig2/shared.ts, under the same names).
//
// Offline methods train for `epochs` passes over all their training units (units: 0 = all; the CI preset
// takes a seeded subset), so each method runs until its frontier is traced, not for a fixed number of steps
// over a random quarter of the pairs as the first full run did (100 steps x 32 pairs, one pass over 3,200 of
// the 11,909 pairs). Every method is evaluated at the same number of checkpoints per run (`checkpoints`),
// evenly spaced over its steps / iterations; with DPO's 4 β and PPO's 4 target KLs, DPO, PPO and PPO-GT then
// have the same number of (knob, checkpoint) points, so the envelope's maximum (winner's curse) favours none
// of the headline comparisons; the single-knob baselines have a quarter as many (the summary prints each
// method's point count).
//
// Sizing of the full run (budget: 2.5 h wall with PREFOPT_THREADS=1 --workers 2 on this 2-core machine, so
// 2 x 9,000 = 18,000 worker-seconds, less the shared stages, ~340 s when first run on 2026-11-30). Costs
// measured there on 2026-11-30 at one thread, before the fused decode kernels (cached sampling has since
// become ~2.4x faster, so evaluation and rollouts cost less than this): an offline step of 32 pairs ~0.57 s;
// one evaluation of 80 test prefixes x 4 samples ~4.5 s. Per training seed:
//   DPO, 4 β:          2 epochs x 11,909 pairs / 32 = 745 steps x 0.57 s = 425 s, + reference log-probs
//                      (~30 s) + 10 evaluations (45 s) = ~500 s a run, 2,000 s;
//   cDPO, IPO, Unlikelihood (1 knob each, pairs): 3 x 500 s = 1,500 s; Preferred-FT (chosen only) ~270 s;
//   KTO (1 β): 2 x 7,972 unpaired / 32 = 499 steps of 32 examples + 32 KL partners (~ a pair step) ~330 s;
//   listwise (1 β): 2 x 1,969 rankings / 32 = 124 steps of 32 lists of 4 (~2 pair steps) ~180 s;
//   Best-of-N 64 samples x 80 prefixes ~60 s; SFT ~5 s;
//   PPO and PPO-GT (src/lm/ppo.ts; 40 iterations of 256 rollouts, 2 PPO epochs, measured 2026-12-07 with the
//   fused kernels: ~1.8 s CPU an iteration, ~1.0 s an evaluation, ~85 s CPU a run) 4 targets each: 8 x 85 s
//   = ~680 s; RLOO / RLOO-GT (the former PPO, 30 iterations of 32 samples) ~8 x 70 s = 560 s.
// That is ~5,550 worker-seconds per seed (the offline costs above predate the fused kernels, so this errs
// high): 2 training seeds = ~11,100, i.e. ~1.6 h wall with two workers plus the shared stages, inside the
// 2.5 h budget with room for a machine busier than the one measured; a third seed (~2.4 h) would leave none,
// so the sweep runs 2, and one knob for each non-paper offline method. Time one DPO and one PPO run first
// (`npm run fig2 -- verify full` re-runs exactly those) and trim epochs or knobs if they cost more.
//
// Learning rates from one-seed probes on the full data (2026-11-30): DPO at 1e-3 (β 0.1) reached KL 3.9
// after 38 steps and 5.1 after 75, the classifier's reward rising from 0.57 (SFT) to 0.67 and 0.75, and
// was still climbing after one pass (the first committed run: β 0.05 ended at KL 9.8, reward 0.778).
import type { Fig2RunSettings } from "./run";

export type Fig2RunPreset = Omit<Fig2RunSettings, "method" | "knob" | "seed">;

export const FIG2_RUN_PRESETS: Record<string, Fig2RunPreset> = {
  full: {
    offline: { epochs: 2, units: 0, batchSize: 32, learningRate: 1e-3, cdpoEpsilon: 0.1 },
    // PPO (src/lm/ppo.ts), measured 2026-12-07 on the full shared stages at one wasm thread: an iteration
    // (256 rollouts of 12 tokens, scored, 2 epochs x 4 minibatches of 64) takes ~1.7-1.9 s of CPU (3.7-4.4 s
    // wall on the loaded machine), one evaluation ~1.0 s CPU; a run of 40 iterations + 10 evaluations
    // ~85 s of CPU. Seed 0, the PI controller: target 3 (learned RM) peaked at KL 6.9 (iteration 12) and was
    // within ±25% from iteration 16 on (final 2.72); target 6 (ground truth) peaked at 13.9 (it. 17), within
    // from it. 28 (final 6.59); target 12 (ground truth) peaked at 21.7 (it. 21), within from it. 26 (final
    // 11.70); target 20 (learned RM) peaked at 30.0 (it. 26), within from it. 30 (final 20.18): 40 iterations
    // let every target settle (the early overshoot is part of each run's checkpoints).
    ppo: { iterations: 40, batchSize: 256, miniBatchSize: 64, ppoEpochs: 2, learningRate: 1e-3, initialBeta: 0.1 },
    rloo: { iterations: 30, promptsPerIteration: 8, k: 4, learningRate: 2e-3, initialBeta: 0.05, klHorizon: 48 },
    bestOfN: { samplesPerPrompt: 64 },
    checkpoints: 10,
    evaluation: { prompts: 80, samplesPerPrompt: 4, maxNewTokens: 12 },
  },
  ci: {
    offline: { epochs: 1, units: 64, batchSize: 8, learningRate: 1e-3, cdpoEpsilon: 0.1 },
    ppo: { iterations: 4, batchSize: 16, miniBatchSize: 8, ppoEpochs: 2, learningRate: 1e-3, initialBeta: 0.1 },
    rloo: { iterations: 4, promptsPerIteration: 4, k: 2, learningRate: 1e-3, initialBeta: 0.05, klHorizon: 100 },
    bestOfN: { samplesPerPrompt: 16 },
    checkpoints: 2,
    evaluation: { prompts: 8, samplesPerPrompt: 2, maxNewTokens: 8 },
  },
};

/** The offline data a run may see: `units` of each kind (0: all of them; the rest is never drawn). */
export function offlineUnitsNeeded(p: Fig2RunPreset): number {
  return p.offline.units > 0 ? p.offline.units : Infinity;
}
