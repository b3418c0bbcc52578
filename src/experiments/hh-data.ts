// Real human preference pairs for the language-model track (notebook 11, `npm run hh`): HH-RLHF
// harmless-base (split by dialogue) and UKPConvArg1 (leave debates out), a byte-level BPE fitted on the
// training side only, the pairs fitted into the context (src/lm/truncate.ts, every cut counted), the
// leak checks of the split, and the held-out preference accuracy metric with prompt-clustered intervals.
import { Rng } from "../random";
import { loadHhRlhfSplit, loadUkpConvArg1 } from "../data/datasets";
import type { PreferenceRecord } from "../data/types";
import { BpeTokenizer, type BpeTrainStats } from "../lm/bpe";
import { truncatePairs, type TruncationStats } from "../lm/truncate";
import type { TokenizedPair, RlaifData, UnpairedExample } from "../lm/rlaif";
import { clusteredMean } from "../fig2/stats";

export type RealDataset = "hh" | "ukp";

/** A pair with the group that must not straddle the split: the dialogue (HH) or the debate (UKP). */
export interface GroupedPair {
  prompt: string;
  chosen: string;
  rejected: string;
  group: string;
}

export async function loadRealPairs(dataset: RealDataset): Promise<{ pairs: GroupedPair[]; skipped: number }> {
  if (dataset === "hh") {
    const r = await loadHhRlhfSplit("harmless-base", "test", { quiet: true });
    // The dialogue before the last Assistant turn is the group: pairs of one dialogue stay together.
    return {
      pairs: r.records.map((p) => ({ ...asStrings(p), group: p.prompt as string })),
      skipped: r.report.rejected,
    };
  }
  const r = await loadUkpConvArg1({ quiet: true });
  return {
    pairs: r.records.map((p) => ({ ...asStrings(p), group: p.extra?.debate as string })),
    skipped: r.report.rejected,
  };
}

function asStrings(p: PreferenceRecord): { prompt: string; chosen: string; rejected: string } {
  for (const f of ["prompt", "chosen", "rejected"] as const)
    if (typeof p[f] !== "string") throw new Error(`loadRealPairs: field "${f}" is not a string`);
  return { prompt: p.prompt as string, chosen: p.chosen as string, rejected: p.rejected as string };
}

/**
 * Split by group: a seeded shuffle of the sorted distinct groups, the first round(fraction·G) held out
 * (at least 1, at most G − 1). Every pair of a group lands on the same side.
 */
export function splitByGroup<T extends { group: string }>(
  pairs: readonly T[],
  heldOutFraction: number,
  seed: number,
): { train: T[]; test: T[]; testGroups: string[] } {
  if (!(heldOutFraction > 0 && heldOutFraction < 1))
    throw new Error(`splitByGroup: heldOutFraction must be in (0, 1), got ${heldOutFraction}`);
  const groups = [...new Set(pairs.map((p) => p.group))].sort();
  if (groups.length < 2) throw new Error(`splitByGroup: ${groups.length} group(s); need at least 2`);
  const n = Math.min(groups.length - 1, Math.max(1, Math.round(groups.length * heldOutFraction)));
  const testGroups = new Rng(seed).fork("real-pairs-split").shuffle(groups).slice(0, n);
  const held = new Set(testGroups);
  return { train: pairs.filter((p) => !held.has(p.group)), test: pairs.filter((p) => held.has(p.group)), testGroups };
}

/**
 * What a held-out pair shares with the training side: its group, its prompt, or one of its two responses
 * (as text). All three lists are empty for a clean split (a response may recur across debates only if
 * the data repeats it; it is then reported, not hidden).
 */
export function splitLeaks(
  train: readonly GroupedPair[],
  test: readonly GroupedPair[],
  checkPrompts = true,
): { groups: string[]; prompts: string[]; responses: string[] } {
  const g = new Set(train.map((p) => p.group));
  const pr = new Set(train.map((p) => p.prompt));
  const resp = new Set(train.flatMap((p) => [p.chosen, p.rejected]));
  const uniq = (xs: string[]) => [...new Set(xs)];
  return {
    groups: uniq(test.filter((p) => g.has(p.group)).map((p) => p.group)),
    prompts: checkPrompts ? uniq(test.filter((p) => pr.has(p.prompt)).map((p) => p.prompt)) : [],
    responses: uniq(test.flatMap((p) => [p.chosen, p.rejected]).filter((r) => resp.has(r))),
  };
}

export interface PreparedData {
  tokenizer: BpeTokenizer;
  bpe: BpeTrainStats;
  train: TokenizedPair[];
  test: TokenizedPair[];
  /** Cluster of each test pair (its group) for the clustered intervals. */
  testGroups: string[];
  truncation: { train: TruncationStats; test: TruncationStats };
}

/** Fit the BPE on the training texts, fit the pairs into the context, attach the token sequences. */
export function prepareData(
  train: readonly GroupedPair[],
  test: readonly GroupedPair[],
  opts: { vocabSize: number; contextLength: number; maxCompletionTokens: number },
): PreparedData {
  const { tokenizer, stats } = BpeTokenizer.train(
    train.flatMap((p) => [p.prompt, p.chosen, p.rejected]),
    opts.vocabSize,
  );
  const fit = (pairs: readonly GroupedPair[]) => {
    const t = truncatePairs(tokenizer, pairs, opts);
    const tokenized: TokenizedPair[] = t.pairs.map((p) => ({
      prompt: p.source.prompt,
      chosen: p.source.chosen,
      rejected: p.source.rejected,
      extra: { group: p.source.group },
      chosenSeq: p.chosenSeq,
      rejectedSeq: p.rejectedSeq,
      scoreChosen: 1,
      scoreRejected: 0,
    }));
    return { tokenized, stats: t.stats, groups: t.pairs.map((p) => p.source.group) };
  };
  const tr = fit(train);
  const te = fit(test);
  return {
    tokenizer,
    bpe: stats,
    train: tr.tokenized,
    test: te.tokenized,
    testGroups: te.groups,
    truncation: { train: tr.stats, test: te.stats },
  };
}

/**
 * The trainer's data from pairs: the pairs, and KTO's unpaired examples (each pair split into a desirable
 * chosen and an undesirable rejected example, as TRL unpairs a preference set). `keepDesirable` < 1 keeps a
 * seeded share of the desirable examples (KTO's imbalance experiment: Ethayarajh et al. 2024 §4.3).
 */
export function preferenceData(pairs: readonly TokenizedPair[], keepDesirable = 1, seed = 0): RlaifData {
  const unpaired: UnpairedExample[] = [];
  const rng = new Rng(seed).fork("kto-drop-desirable");
  for (const p of pairs) {
    if (keepDesirable >= 1 || rng.uniform() < keepDesirable)
      unpaired.push({ prompt: p.prompt, completion: p.chosen, label: true, seq: p.chosenSeq });
    unpaired.push({ prompt: p.prompt, completion: p.rejected, label: false, seq: p.rejectedSeq });
  }
  return { pairs: [...pairs], rankings: [], unpaired, tiedPrompts: 0, tiedLists: 0, flippedFraction: 0 };
}

export interface AccuracyResult {
  /** Share of pairs with r(chosen) > r(rejected), strictly: a tie counts 0, as TRL's rewards/accuracies. */
  accuracy: number;
  n: number;
  clusters: number;
  /** Cluster-robust (CR1) standard error: pairs of one prompt/debate are not independent. */
  se: number;
  /** 95% interval accuracy ± t_{0.975, G−1}·se, G = clusters (degrees of freedom from the clusters, not the pairs). */
  ci95: [number, number];
}

/**
 * Preference accuracy of rewards on held-out pairs, TRL's rewards/accuracies: mean of [r(chosen) > r(rejected)]
 * (strict, so a tie counts 0), with a prompt-clustered 95% interval: CR1 standard error (Liang & Zeger 1986)
 * and Student-t with G − 1 degrees of freedom (src/fig2/stats.ts clusteredMean). With UKP's 4 held-out debates
 * t_{0.975, 3} = 3.18, not 1.96: the normal interval would be 38% too narrow. Needs at least 2 clusters.
 */
export function preferenceAccuracy(
  rChosen: ArrayLike<number>,
  rRejected: ArrayLike<number>,
  clusters: ReadonlyArray<string | number>,
): AccuracyResult {
  if (rChosen.length !== rRejected.length || rChosen.length !== clusters.length)
    throw new Error(
      `preferenceAccuracy: ${rChosen.length} chosen, ${rRejected.length} rejected rewards, ${clusters.length} clusters`,
    );
  const scores = Array.from(rChosen, (c, i) => {
    const r = rRejected[i];
    if (!Number.isFinite(c) || !Number.isFinite(r))
      throw new Error(`preferenceAccuracy: reward of pair ${i} is not finite`);
    return c > r ? 1 : 0;
  });
  const m = clusteredMean(scores, clusters);
  if (m.clusters < 2)
    throw new Error(
      `preferenceAccuracy: ${m.clusters} cluster(s) among ${m.samples} pairs; the interval needs 2 clusters`,
    );
  return {
    accuracy: m.mean,
    n: m.samples,
    clusters: m.clusters,
    se: m.stdErr,
    ci95: [m.mean - m.halfWidth, m.mean + m.halfWidth],
  };
}

/**
 * Whether a method matches a reference, seed by seed: on every seed (each its own split, so method and
 * reference are paired), the method's accuracy is at least the reference's minus the half-width of the
 * reference's 95% interval on that seed. Comparing only the means over seeds would hide a seed that misses.
 */
export function noWorseThan(method: readonly AccuracyResult[], reference: readonly AccuracyResult[]): boolean {
  if (method.length !== reference.length || method.length === 0)
    throw new Error(`noWorseThan: ${method.length} method results but ${reference.length} reference results`);
  return method.every((m, i) => {
    const r = reference[i];
    return m.accuracy >= r.accuracy - (r.ci95[1] - r.ci95[0]) / 2;
  });
}

/** The length-only baseline: the longer response (in characters) is preferred. */
export function lengthRewards(pairs: readonly { chosen: string; rejected: string }[]): {
  chosen: number[];
  rejected: number[];
} {
  return { chosen: pairs.map((p) => p.chosen.length), rejected: pairs.map((p) => p.rejected.length) };
}
