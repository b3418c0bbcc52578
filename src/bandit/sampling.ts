// Seeded samplers of bandit preference data from a known reward table r[x][y] (K prompts × M responses).
// The labels follow the reward models the methods assume, so every method's target is known exactly:
//   pairs:    P(y_i ≻ y_j | x) = σ((r_i − r_j)/T)                          (Bradley & Terry 1952)
//   rankings: Plackett–Luce, P(y_1 ≻ … ≻ y_N | x) = Π_k exp(r_k/T) / Σ_{j≥k} exp(r_j/T)   (Plackett 1975)
// PL rankings are drawn with the Gumbel trick: sort r/T + Gumbel noise in decreasing order.
import { Rng } from "../random";
import type { BanditPair, PairDataset, Ranking, RankingDataset } from "./datasets";

export interface SampleOptions {
  rng: Rng;
  /** Labelling temperature T (default 1): T → 0 gives deterministic labels. */
  temperature?: number;
  description?: string;
}

/** nPairs pairs: prompt uniform, two distinct responses uniform, winner by Bradley–Terry. */
export function sampleBanditPairs(rewards: number[][], nPairs: number, o: SampleOptions): PairDataset {
  const K = rewards.length;
  const M = rewards[0].length;
  if (M < 2) throw new Error("sampleBanditPairs: need at least 2 responses per prompt");
  const T = o.temperature ?? 1;
  const pairs: BanditPair[] = [];
  for (let n = 0; n < nPairs; n++) {
    const x = o.rng.int(K);
    const i = o.rng.int(M);
    let j = o.rng.int(M - 1);
    if (j >= i) j++;
    const pI = 1 / (1 + Math.exp(-(rewards[x][i] - rewards[x][j]) / T));
    pairs.push(o.rng.uniform() < pI ? { prompt: x, chosen: i, rejected: j } : { prompt: x, chosen: j, rejected: i });
  }
  return {
    kind: "pairs",
    nPrompts: K,
    nResponses: M,
    description: o.description ?? `${nPairs} Bradley–Terry pairs (T=${T})`,
    pairs,
  };
}

/** nRankings full rankings of all M responses (prompt uniform), drawn from Plackett–Luce. */
export function sampleBanditRankings(rewards: number[][], nRankings: number, o: SampleOptions): RankingDataset {
  const K = rewards.length;
  const M = rewards[0].length;
  const T = o.temperature ?? 1;
  const rankings: Ranking[] = [];
  for (let n = 0; n < nRankings; n++) {
    const x = o.rng.int(K);
    const keys = rewards[x].map((r) => r / T + o.rng.gumbel());
    const order = Array.from({ length: M }, (_, y) => y).sort((a, b) => keys[b] - keys[a]);
    rankings.push({ prompt: x, order });
  }
  return {
    kind: "rankings",
    nPrompts: K,
    nResponses: M,
    description: o.description ?? `${nRankings} Plackett–Luce rankings (T=${T})`,
    rankings,
  };
}
