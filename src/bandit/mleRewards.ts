// Per-prompt maximum-likelihood rewards of a bandit preference dataset: Bradley–Terry on pairs,
// Plackett–Luce on rankings. On a tabular policy DPO's loss is the BT negative log-likelihood in
// r̂ = β log π/π_ref, so its minimiser is π_ref·exp(r̂_BT/β)/Z with r̂_BT = btRewardsPerPrompt(pairs), and
// listwise DPO's is the same with the PL MLE (Rafailov et al. 2023, §4–5 and App. A.3; notebook 03).
// Rewards are per prompt and centred to mean 0 (BT and PL see only differences within a prompt).
import { fitBradleyTerry } from "../rewardModels/bradleyTerry";
import { fitPlackettLuce } from "../rewardModels/plackettLuce";
import type { PairDataset, RankingDataset } from "./datasets";

/** Runs fit on prompt x's data and says which prompt when the MLE does not exist there. */
function perPrompt(where: string, K: number, fit: (x: number) => number[]): number[][] {
  return Array.from({ length: K }, (_, x) => {
    try {
      return fit(x);
    } catch (e) {
      throw new Error(`${where}: prompt ${x}: ${(e as Error).message}`);
    }
  });
}

/**
 * r̂[x] = the Bradley–Terry MLE of prompt x's pairs (fitBradleyTerry, no ridge): the maximiser of
 * Σ_{(x, w, l)} log σ(r̂[x][w] − r̂[x][l]). Throws naming the prompt when the MLE does not exist there
 * (its "i beat j" graph is not strongly connected; then DPO has no minimiser either).
 */
export function btRewardsPerPrompt(data: PairDataset): number[][] {
  const { nPrompts: K, nResponses: M } = data;
  return perPrompt("btRewardsPerPrompt", K, (x) => {
    const own = data.pairs.filter((p) => p.prompt === x);
    return fitBradleyTerry(
      own.map((p): [number, number] => [p.chosen, p.rejected]),
      M,
    ).utilities;
  });
}

/**
 * r̂[x] = the Plackett–Luce MLE of prompt x's rankings (fitPlackettLuce, no ridge). Throws naming the
 * prompt when the MLE does not exist there.
 */
export function plRewardsPerPrompt(data: RankingDataset): number[][] {
  const { nPrompts: K, nResponses: M } = data;
  return perPrompt("plRewardsPerPrompt", K, (x) => {
    const own = data.rankings.filter((r) => r.prompt === x);
    return fitPlackettLuce(
      own.map((r) => r.order),
      M,
    ).utilities;
  });
}
