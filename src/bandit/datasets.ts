// Bandit preference datasets (K prompts × M responses, responses are indices) and the converters that let
// every method be fed from the same underlying labels:
//   rankings ──rankingsToPairs──▶ pairs ──pairsToUnpaired──▶ unpaired desirable/undesirable feedback
// plus the two tiny datasets of the IPO paper's §5.4 (Azar et al. 2023).
import { Rng } from "../random";
import type { PreferenceRecord } from "../data/types";

/** "On prompt x, response `chosen` was preferred to `rejected`": the data layer's record with indices for texts. */
export type BanditPair = PreferenceRecord<number>;

/** A full or partial ranking of responses for one prompt, best first. */
export interface Ranking {
  prompt: number;
  order: number[];
}

/** KTO-style unpaired feedback: one response judged desirable (thumbs up) or undesirable. */
export interface UnpairedExample {
  prompt: number;
  response: number;
  desirable: boolean;
}

interface Shape {
  nPrompts: number;
  nResponses: number;
  /** One line saying where the data came from. */
  description?: string;
}
export interface PairDataset extends Shape {
  kind: "pairs";
  pairs: BanditPair[];
}
export interface RankingDataset extends Shape {
  kind: "rankings";
  rankings: Ranking[];
}
export interface UnpairedDataset extends Shape {
  kind: "unpaired";
  examples: UnpairedExample[];
}
export type BanditDataset = PairDataset | RankingDataset | UnpairedDataset;

/** Number of examples (pairs, rankings or unpaired judgements). */
export function datasetSize(d: BanditDataset): number {
  return d.kind === "pairs" ? d.pairs.length : d.kind === "rankings" ? d.rankings.length : d.examples.length;
}

// ---------------------------------------------------------------------------------------------------------
// The IPO paper's §5.4 datasets: one prompt, three actions a=0, b=1, c=2.

/** D1 = {(a,b), (b,c), (a,c)}: a total order a ≻ b ≻ c, each comparison seen once (Azar et al. §5.4). */
export function ipoTotalOrderDataset(): PairDataset {
  return {
    kind: "pairs",
    nPrompts: 1,
    nResponses: 3,
    description: "IPO §5.4 D1: total order a≻b≻c as the pairs (a,b), (b,c), (a,c); a=0, b=1, c=2",
    pairs: [
      { prompt: 0, chosen: 0, rejected: 1 },
      { prompt: 0, chosen: 1, rejected: 2 },
      { prompt: 0, chosen: 0, rejected: 2 },
    ],
  };
}

/** {(a,b), (b,a), (a,c), (b,c)}: a and b tie, c never wins (Azar et al. §5.4). */
export function ipoNeverWinsDataset(): PairDataset {
  return {
    kind: "pairs",
    nPrompts: 1,
    nResponses: 3,
    description: "IPO §5.4: (a,b), (b,a), (a,c), (b,c): a and b tie, c never wins; a=0, b=1, c=2",
    pairs: [
      { prompt: 0, chosen: 0, rejected: 1 },
      { prompt: 0, chosen: 1, rejected: 0 },
      { prompt: 0, chosen: 0, rejected: 2 },
      { prompt: 0, chosen: 1, rejected: 2 },
    ],
  };
}

/** IPO §5.3.1: two actions, y1 always preferred to y2. */
export function twoActionDataset(): PairDataset {
  return {
    kind: "pairs",
    nPrompts: 1,
    nResponses: 2,
    description: "IPO §5.3.1: two actions, deterministic preference y1 ≻ y2",
    pairs: [{ prompt: 0, chosen: 0, rejected: 1 }],
  };
}

// ---------------------------------------------------------------------------------------------------------
// Converters.

/** Every ordered pair implied by each ranking: a ranking of N items gives N(N−1)/2 pairs (best first). */
export function rankingsToPairs(data: RankingDataset): PairDataset {
  const pairs: BanditPair[] = [];
  for (const r of data.rankings) {
    for (let i = 0; i < r.order.length; i++) {
      for (let j = i + 1; j < r.order.length; j++)
        pairs.push({ prompt: r.prompt, chosen: r.order[i], rejected: r.order[j] });
    }
  }
  return {
    kind: "pairs",
    nPrompts: data.nPrompts,
    nResponses: data.nResponses,
    description: `all pairs implied by: ${data.description ?? "rankings"}`,
    pairs,
  };
}

/** Rankings of length 2 (winner first) from pairs, so listwise DPO on them is pairwise DPO. */
export function pairsToRankings(data: PairDataset): RankingDataset {
  return {
    kind: "rankings",
    nPrompts: data.nPrompts,
    nResponses: data.nResponses,
    description: `pairs as 2-rankings: ${data.description ?? "pairs"}`,
    rankings: data.pairs.map((p) => ({ prompt: p.prompt, order: [p.chosen, p.rejected] })),
  };
}

export interface UnpairedOptions {
  /**
   * Fraction of the desirable (chosen) examples to keep, in (0, 1]; 1 keeps the 1:1 ratio. The KTO
   * paper's imbalance experiment drops up to 90% of desirable examples (keep 0.1). Which ones are kept
   * is drawn with `rng` (required when keep < 1).
   */
  keepDesirable?: number;
  /** Fraction of the undesirable (rejected) examples to keep, in (0, 1]. */
  keepUndesirable?: number;
  rng?: Rng;
}

/**
 * Each pair (x, y_w, y_l) becomes a desirable (x, y_w) and an undesirable (x, y_l) judgement (as in the
 * KTO paper's experiments, Ethayarajh et al. 2024 §4), optionally subsampled to change the ratio.
 * Order: desirable and undesirable examples alternate as in the pairs, dropped ones removed.
 */
export function pairsToUnpaired(data: PairDataset, opts: UnpairedOptions = {}): UnpairedDataset {
  const keepD = opts.keepDesirable ?? 1;
  const keepU = opts.keepUndesirable ?? 1;
  for (const [name, v] of [
    ["keepDesirable", keepD],
    ["keepUndesirable", keepU],
  ] as const) {
    if (!(v > 0 && v <= 1)) throw new Error(`pairsToUnpaired: ${name} must be in (0, 1], got ${v}`);
  }
  if ((keepD < 1 || keepU < 1) && !opts.rng) throw new Error("pairsToUnpaired: subsampling needs opts.rng");
  const n = data.pairs.length;
  // Keep exactly round(keep·n) of each kind: a seeded shuffle picks which.
  const pick = (keep: number, label: string): Set<number> => {
    const idx = Array.from({ length: n }, (_, i) => i);
    if (keep >= 1) return new Set(idx);
    opts.rng!.fork(label).shuffle(idx);
    return new Set(idx.slice(0, Math.round(keep * n)));
  };
  const keptD = pick(keepD, "desirable");
  const keptU = pick(keepU, "undesirable");
  const examples: UnpairedExample[] = [];
  data.pairs.forEach((p, i) => {
    if (keptD.has(i)) examples.push({ prompt: p.prompt, response: p.chosen, desirable: true });
    if (keptU.has(i)) examples.push({ prompt: p.prompt, response: p.rejected, desirable: false });
  });
  return {
    kind: "unpaired",
    nPrompts: data.nPrompts,
    nResponses: data.nResponses,
    description: `unpaired (desirable kept ${keepD}, undesirable kept ${keepU}) from: ${data.description ?? "pairs"}`,
    examples,
  };
}

/** Counts of desirable and undesirable examples. */
export function countDesirable(data: UnpairedDataset): { desirable: number; undesirable: number } {
  const desirable = data.examples.filter((e) => e.desirable).length;
  return { desirable, undesirable: data.examples.length - desirable };
}

/**
 * KTO's class weights: λ_U = 1 and λ_D chosen so that λ_D·n_D / (λ_U·n_U) = `ratio`, which the KTO paper
 * (Ethayarajh et al. 2024, §4.2) recommends keeping in [1, 4/3]. Default ratio 1 (the lower end).
 */
export function ktoClassWeights(
  counts: { desirable: number; undesirable: number },
  ratio = 1,
): { desirableWeight: number; undesirableWeight: number } {
  if (!(ratio >= 1 && ratio <= 4 / 3)) throw new Error(`ktoClassWeights: ratio must be in [1, 4/3], got ${ratio}`);
  if (counts.desirable === 0 || counts.undesirable === 0) return { desirableWeight: 1, undesirableWeight: 1 };
  return { desirableWeight: (ratio * counts.undesirable) / counts.desirable, undesirableWeight: 1 };
}

/** Throws with the dataset's description and the offending index/field if any index is out of range. */
export function validateDataset(d: BanditDataset, where = d.description ?? d.kind): void {
  const inRange = (v: unknown, n: number) => Number.isInteger(v) && (v as number) >= 0 && (v as number) < n;
  const bad = (i: number, field: string, v: unknown, n: number) => {
    throw new Error(
      `${where}: example ${i}: field "${field}" must be an integer in [0, ${n}), got ${JSON.stringify(v)}`,
    );
  };
  const items: Array<Record<string, unknown>> =
    d.kind === "pairs"
      ? (d.pairs as unknown as Array<Record<string, unknown>>)
      : d.kind === "rankings"
        ? (d.rankings as unknown as Array<Record<string, unknown>>)
        : (d.examples as unknown as Array<Record<string, unknown>>);
  items.forEach((e, i) => {
    if (!inRange(e.prompt, d.nPrompts)) bad(i, "prompt", e.prompt, d.nPrompts);
    if (d.kind === "pairs") {
      if (!inRange(e.chosen, d.nResponses)) bad(i, "chosen", e.chosen, d.nResponses);
      if (!inRange(e.rejected, d.nResponses)) bad(i, "rejected", e.rejected, d.nResponses);
      if (e.chosen === e.rejected)
        throw new Error(`${where}: example ${i}: "chosen" and "rejected" are both ${String(e.chosen)}`);
    } else if (d.kind === "rankings") {
      const order = e.order as unknown;
      if (!Array.isArray(order) || order.length < 2)
        throw new Error(`${where}: example ${i}: field "order" must list at least 2 responses`);
      order.forEach((y, j) => (inRange(y, d.nResponses) ? 0 : bad(i, `order[${j}]`, y, d.nResponses)));
      if (new Set(order).size !== order.length)
        throw new Error(`${where}: example ${i}: field "order" repeats a response`);
    } else {
      if (!inRange(e.response, d.nResponses)) bad(i, "response", e.response, d.nResponses);
      if (typeof e.desirable !== "boolean")
        throw new Error(`${where}: example ${i}: field "desirable" must be true or false`);
    }
  });
}
