// Synthetic preference data with a known ground-truth reward, every draw from a seeded Rng.
import { Rng } from "./random";

export interface SamplerOptions {
  /** Preference temperature T > 0: P(i ≻ j) = σ((r_i − r_j)/T). Default 1. */
  temperature?: number;
  rng: Rng;
}

const sigmoid = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

function checkRewards(where: string, rewards: ArrayLike<number>, temperature: number): void {
  if (rewards.length < 2) throw new Error(`${where} (src/synthetic.ts): need at least 2 items, got ${rewards.length}`);
  for (let i = 0; i < rewards.length; i++) {
    if (!Number.isFinite(rewards[i]))
      throw new Error(`${where} (src/synthetic.ts): rewards[${i}] = ${rewards[i]} is not finite`);
  }
  if (!(temperature > 0 && Number.isFinite(temperature))) {
    throw new Error(`${where} (src/synthetic.ts): temperature must be a finite number > 0, got ${temperature}`);
  }
}

/** P(i ≻ j) = σ((r_i − r_j)/T) under the Bradley–Terry model (Bradley & Terry 1952). */
export function bradleyTerryProbability(ri: number, rj: number, temperature = 1): number {
  return sigmoid((ri - rj) / temperature);
}

/**
 * `nPairs` comparisons [winner, loser]: each pair {i, j} uniform among distinct items, the winner drawn
 * with P(i ≻ j) = σ((r_i − r_j)/T) (Bradley–Terry 1952).
 */
export function sampleBradleyTerryPairs(
  rewards: ArrayLike<number>,
  nPairs: number,
  options: SamplerOptions,
): Array<[number, number]> {
  const t = options.temperature ?? 1;
  checkRewards("sampleBradleyTerryPairs", rewards, t);
  if (!(Number.isInteger(nPairs) && nPairs >= 0))
    throw new Error(`sampleBradleyTerryPairs (src/synthetic.ts): nPairs must be an integer >= 0, got ${nPairs}`);
  const n = rewards.length;
  const out: Array<[number, number]> = [];
  for (let k = 0; k < nPairs; k++) {
    const i = options.rng.int(n);
    let j = options.rng.int(n - 1);
    if (j >= i) j++;
    out.push(options.rng.bernoulli(bradleyTerryProbability(rewards[i], rewards[j], t)) ? [i, j] : [j, i]);
  }
  return out;
}

/**
 * One ranking (best first) from the Plackett–Luce model with weights exp(r/T) (Plackett 1975, Luce 1959),
 * by the Gumbel-max trick: sort r_i/T + G_i, G_i ~ Gumbel(0, 1), descending. `length` keeps the top-k
 * (default all items).
 */
export function samplePlackettLuceRanking(
  rewards: ArrayLike<number>,
  options: SamplerOptions & { length?: number },
): number[] {
  const t = options.temperature ?? 1;
  checkRewards("samplePlackettLuceRanking", rewards, t);
  const n = rewards.length;
  const length = options.length ?? n;
  if (!(Number.isInteger(length) && length >= 1 && length <= n)) {
    throw new Error(
      `samplePlackettLuceRanking (src/synthetic.ts): length must be an integer in [1, ${n}], got ${length}`,
    );
  }
  const keys = Array.from({ length: n }, (_, i) => rewards[i] / t + options.rng.gumbel());
  return Array.from({ length: n }, (_, i) => i)
    .sort((a, b) => keys[b] - keys[a])
    .slice(0, length);
}

/** `n` independent Plackett–Luce rankings. */
export function samplePlackettLuceRankings(
  rewards: ArrayLike<number>,
  n: number,
  options: SamplerOptions & { length?: number },
): number[][] {
  return Array.from({ length: n }, () => samplePlackettLuceRanking(rewards, options));
}

export interface PromptPair {
  prompt: number;
  winner: number;
  loser: number;
}

/**
 * Bradley–Terry comparisons for several prompts: rewards[x][y] is the true reward of response y to prompt x;
 * each of the `nPairs` draws picks a prompt uniformly, then a pair as in sampleBradleyTerryPairs.
 */
export function sampleBradleyTerryPromptPairs(
  rewards: ArrayLike<number>[],
  nPairs: number,
  options: SamplerOptions,
): PromptPair[] {
  if (rewards.length === 0) throw new Error("sampleBradleyTerryPromptPairs (src/synthetic.ts): no prompts");
  const out: PromptPair[] = [];
  for (let k = 0; k < nPairs; k++) {
    const prompt = options.rng.int(rewards.length);
    const [[winner, loser]] = sampleBradleyTerryPairs(rewards[prompt], 1, options);
    out.push({ prompt, winner, loser });
  }
  return out;
}
