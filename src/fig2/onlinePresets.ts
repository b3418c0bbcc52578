// Sizes of the online and group methods on the Figure-2 setup (issue 28), per preset, apart from
// FIG2_RUN_PRESETS so that the presets of the methods that existed before them stay exactly as they were
// (their run ids, and so the committed and in-progress results, do not change).
//
//   grpo          GRPO / Dr. GRPO (src/lm/grpo.ts): `iterations` rollouts of `promptsPerIteration` prompts x
//                 `groupSize` completions, `epochs` Adam steps each (μ)
//   onlineDpo     OAIF (src/lm/onlineDpo.ts): `rounds` rounds of `promptsPerRound` fresh pairs, one step each
//   iterativeDpo  iterative DPO: a few rounds of many pairs, `epochs` passes in minibatches of `batchSize`
//   trDpo         TR-DPO soft (α < 1) every τ steps; trDpoHard: α = 1 (a copy) every τ steps; both train on
//                 the offline pairs with the `offline` section of FIG2_RUN_PRESETS, as DPO does
//   dpop          DPOP's λ (the paper's 50), offline as DPO
//
// Full-preset sizes are chosen to spend about what DPO / PPO spend (see the report of issue 28 for the
// timings): GRPO 40 iterations of 16 x 8 = 128 samples (PPO: 40 x 256; RLOO 30 x 32); online DPO 300
// rounds of 32 pairs (64 samples, one step of 32 pairs; offline DPO takes 745 such steps); iterative DPO 3
// rounds of 2,000 pairs, 2 epochs each (375 steps); TR-DPO's τ as TRL's order of magnitude (64 soft with
// α = 0.6, TRL's α; 256 hard) for a run of 745 steps.
//
// Sizing (scripts/bench-online.ts, 2026-12-07, PREFOPT_THREADS=1, niced, on the 2-core machine while a full
// Figure-2 sweep used both cores: wall seconds, so pessimistic): an evaluation 0.8 s; a GRPO iteration 0.85 s
// (Dr. GRPO 0.70); an OAIF round 0.24 s; iterative DPO 3.6 ms a sampled and labelled pair + 0.10 s a step;
// a TR-DPO step 0.16 s (soft and hard alike); a DPOP / DPO step 0.21 s with the reference cache. A full run,
// extrapolated: GRPO-GT 42 s, Dr. GRPO-GT 36 s, online DPO 79 s, iterative DPO 67 s, TR-DPO 131 s (hard
// 127 s), DPOP 164 s, DPO 166 s. fig2-online.yaml (45 grid points x 3 seeds, with PPO-GT ~85 s and RLOO-GT
// ~70 s a run from runPresets.ts) ≈ 3,900 worker-seconds a seed, 11,600 in all: ~1.6 h wall with
// --workers 2 (~2.2 h if the machine is as loaded as when measured), ~1.3 h if the DPO, PPO-GT and RLOO-GT
// runs of seeds 0 and 1 are taken from the dpo-fig2 sweep (the same run ids).
export interface Fig2OnlineSettings {
  grpo: { iterations: number; promptsPerIteration: number; groupSize: number; epochs: number; learningRate: number };
  onlineDpo: { rounds: number; promptsPerRound: number; epochs: number; batchSize: number; learningRate: number };
  iterativeDpo: { rounds: number; promptsPerRound: number; epochs: number; batchSize: number; learningRate: number };
  trDpo: { alpha: number; tau: number };
  trDpoHard: { alpha: number; tau: number };
  dpop: { lambda: number };
}

export const FIG2_ONLINE_PRESETS: Record<string, Fig2OnlineSettings> = {
  full: {
    grpo: { iterations: 40, promptsPerIteration: 16, groupSize: 8, epochs: 2, learningRate: 1e-3 },
    onlineDpo: { rounds: 300, promptsPerRound: 32, epochs: 1, batchSize: 32, learningRate: 1e-3 },
    iterativeDpo: { rounds: 3, promptsPerRound: 2000, epochs: 2, batchSize: 32, learningRate: 1e-3 },
    trDpo: { alpha: 0.6, tau: 64 },
    trDpoHard: { alpha: 1, tau: 256 },
    dpop: { lambda: 50 },
  },
  ci: {
    grpo: { iterations: 4, promptsPerIteration: 4, groupSize: 4, epochs: 1, learningRate: 1e-3 },
    onlineDpo: { rounds: 8, promptsPerRound: 8, epochs: 1, batchSize: 8, learningRate: 1e-3 },
    iterativeDpo: { rounds: 2, promptsPerRound: 16, epochs: 2, batchSize: 8, learningRate: 1e-3 },
    trDpo: { alpha: 0.6, tau: 2 },
    trDpoHard: { alpha: 1, tau: 4 },
    dpop: { lambda: 50 },
  },
};
