// The shared bandit datasets, generated from one seed. scripts/generate-data.ts writes them into data/;
// test/bandit-data.test.ts checks that the committed files equal what this produces.
import { Rng } from "../random";
import { ipoNeverWinsDataset, ipoTotalOrderDataset, pairsToUnpaired, twoActionDataset } from "./datasets";
import { datasetToJsonl, type BanditGroundTruth } from "./io";
import { sampleBanditPairs, sampleBanditRankings } from "./sampling";
import { uniformPolicy } from "./tabular";

export const BANDIT_DATA_SEED = 20231;

export interface GenerateOptions {
  seed?: number;
  nPrompts?: number;
  nResponses?: number;
  nPairs?: number;
  nRankings?: number;
  /** Fraction of desirable examples kept in the KTO file (1 = the 1:1 ratio of the pairs). */
  keepDesirable?: number;
}

/** File name (relative to data/) → contents, for every shared bandit dataset. */
export function generateBanditData(opts: GenerateOptions = {}): Map<string, string> {
  const seed = opts.seed ?? BANDIT_DATA_SEED;
  const K = opts.nPrompts ?? 3;
  const M = opts.nResponses ?? 4;
  const rng = new Rng(seed);
  // Rewards r[x][y] ~ N(0, 1), rounded to 2 decimals so the file reads cleanly.
  const rewardRng = rng.fork("rewards");
  const rewards = Array.from({ length: K }, () =>
    Array.from({ length: M }, () => Math.round(100 * rewardRng.normal()) / 100),
  );
  const truth: BanditGroundTruth = {
    description: `Known bandit reward r[x][y] ~ N(0,1) for ${K} prompts × ${M} responses; uniform reference policy`,
    nPrompts: K,
    nResponses: M,
    rewards,
    refPolicy: uniformPolicy(K, M),
    temperature: 1,
    beta: 0.5,
    seed,
  };
  const pairs = sampleBanditPairs(rewards, opts.nPairs ?? 600, {
    rng: rng.fork("pairs"),
    description: `${opts.nPairs ?? 600} Bradley–Terry pairs from bandit-ground-truth.json (T=1)`,
  });
  const rankings = sampleBanditRankings(rewards, opts.nRankings ?? 200, {
    rng: rng.fork("rankings"),
    description: `${opts.nRankings ?? 200} full Plackett–Luce rankings of ${M} responses from bandit-ground-truth.json (T=1)`,
  });
  const keep = opts.keepDesirable ?? 1;
  const unpaired = pairsToUnpaired(pairs, { keepDesirable: keep, rng: rng.fork("unpaired") });
  unpaired.description = `KTO feedback from bandit-bt-pairs.jsonl: chosen → desirable, rejected → undesirable (desirable kept: ${keep})`;
  const files = new Map<string, string>();
  files.set("bandit-ground-truth.json", truthJson(truth));
  files.set("bandit-bt-pairs.jsonl", datasetToJsonl(pairs));
  files.set("bandit-pl-rankings.jsonl", datasetToJsonl(rankings));
  files.set("bandit-kto-unpaired.jsonl", datasetToJsonl(unpaired));
  files.set("ipo-d1.jsonl", datasetToJsonl(ipoTotalOrderDataset()));
  files.set("ipo-never-wins.jsonl", datasetToJsonl(ipoNeverWinsDataset()));
  files.set("ipo-two-actions.jsonl", datasetToJsonl(twoActionDataset()));
  return files;
}

/** Pretty JSON with each table row on one line. */
function truthJson(t: BanditGroundTruth): string {
  const rows = (tab: number[][]) => "[\n" + tab.map((r) => `    ${JSON.stringify(r)}`).join(",\n") + "\n  ]";
  const fields = Object.entries(t).map(
    ([k, v]) => `  ${JSON.stringify(k)}: ${Array.isArray(v) ? rows(v as number[][]) : JSON.stringify(v)}`,
  );
  return "{\n" + fields.join(",\n") + "\n}\n";
}
