// The reward–KL frontier of the KL-regularised objective (notebook 02) and reading reward–KL curves at a
// given KL, so that methods with different regularisation coefficients can be compared at matched KL
// (notebook 05). Pure functions on plain numbers.
import { meanExpectedReward, meanKl, optimalPolicyTable, type PolicyTable } from "./tabular";

/** One point of a reward–KL curve: a mean KL(π‖π_ref) over prompts and a mean true E_π[r]. */
export interface RewardKlPoint {
  kl: number;
  reward: number;
}

/**
 * The frontier {(KL(π*_β‖π_ref), E_{π*_β}[r])} over the given β, π*_β = π_ref·exp(r/β)/Z (Rafailov et al.
 * 2023, eq. 4), sorted by KL. Both coordinates fall strictly in β (notebook 02), so no policy has more
 * reward at the same KL: the curve is the Pareto frontier. Throws on a β that is not finite and > 0.
 */
export function klRewardFrontier(
  rewards: number[][],
  ref: PolicyTable,
  betas: number[],
): Array<RewardKlPoint & { beta: number }> {
  if (betas.length === 0) throw new Error("klRewardFrontier: no β values");
  for (const b of betas)
    if (!(b > 0 && Number.isFinite(b))) throw new Error(`klRewardFrontier: β must be finite and > 0, got ${b}`);
  return betas
    .map((beta) => {
      const p = optimalPolicyTable(rewards, ref, beta);
      return { beta, kl: meanKl(p, ref), reward: meanExpectedReward(p, rewards) };
    })
    .sort((a, b) => a.kl - b.kl);
}

/**
 * A reward–KL curve through `points` (any order), read at `kl` by linear interpolation between the two
 * points around it; NaN outside the points' KL range (no extrapolation). Throws on an empty curve or a
 * non-finite point.
 */
export function rewardAtKl(points: RewardKlPoint[], kl: number): number {
  if (points.length === 0) throw new Error("rewardAtKl: no points");
  for (const [i, p] of points.entries())
    if (!Number.isFinite(p.kl) || !Number.isFinite(p.reward))
      throw new Error(`rewardAtKl: point ${i} is not finite (kl ${p.kl}, reward ${p.reward})`);
  const s = [...points].sort((a, b) => a.kl - b.kl);
  if (!(kl >= s[0].kl && kl <= s[s.length - 1].kl)) return NaN;
  const j = Math.max(
    1,
    s.findIndex((p) => p.kl >= kl),
  );
  if (s.length === 1) return s[0].reward;
  const a = s[j - 1];
  const b = s[j];
  return b.kl === a.kl ? b.reward : a.reward + ((kl - a.kl) / (b.kl - a.kl)) * (b.reward - a.reward);
}

/**
 * The frontier's reward at `kl`: interpolated inside its range; beyond its largest KL (its greedy end)
 * the reward of that end, since no policy has more reward than the greedy one; NaN below its smallest KL.
 */
export function frontierRewardAt(frontier: RewardKlPoint[], kl: number): number {
  if (frontier.length === 0) throw new Error("frontierRewardAt: no points");
  const last = frontier.reduce((m, p) => (p.kl > m.kl ? p : m));
  return kl >= last.kl ? last.reward : rewardAtKl(frontier, kl);
}
