// Reward–KL frontiers from checkpoint evaluations (Rafailov et al. 2023, Fig. 2 left), and a precise,
// falsifiable "A's frontier dominates B's".
//
// A point is one (method, knob, checkpoint step), averaged over seeds: mean ground-truth reward and mean
// sequence-level KL(π‖π_ref) on the test prompts, with per-prompt means kept for clustered/paired CIs.
// A method's frontier is the upper envelope over all its (knob, step) points:
//
//   E_A(k) = max { r_p : p ∈ A, KL_p ≤ k }        (defined for k ≥ min_p KL_p)
//
// the best reward A reached within a KL budget k. Its corners are the Pareto-optimal points (no other
// point of A has lower-or-equal KL and higher reward). The SFT model itself (shared by all
// methods) is not part of any method's envelope: it is drawn as its own point.
//
// A dominates B on the KL budgets both envelopes cover, [lo, hi] = [max(min KL_A, min KL_B),
// min(max KL_A, max KL_B)] (no method is credited where the other has no points): at G evenly spaced
// budgets k, d(k) = E_A(k) − E_B(k) with a 95% CI paired by prompt (the two envelope points' per-prompt
// reward differences, clustered by prompt). That CI holds the trained policies fixed; a seed that trains a
// better policy moves every prompt at once, so each training seed's own envelopes are compared too
// (d_s = the mean over the budgets of E_A^s(k) − E_B^s(k)). Verdicts:
//   yes    d(k) > 0 at every budget, the CI excludes 0 at at least half of them, and d_s > 0 in every seed;
//   partly d(k) > 0 at more than half the budgets (or everywhere, but not significantly or not in every seed);
//   no     otherwise;   n/a  a method has no points, or the two cover no common KL range.
// "A is at least B": yes when d's CI never lies wholly below 0 and mean d ≥ 0; partly when that holds at
// more than half the budgets; no otherwise. The max over many noisy points is biased upwards (winner's
// curse), and more so for a method with more (knob, checkpoint) points: DPO's grid has more points than
// most baselines', which favours DPO in these comparisons (the notebook says so next to the table).
import { meanOfClusters, type ClusteredMean } from "./stats";

export interface FrontierPoint {
  method: string;
  knob: number;
  step: number;
  reward: number;
  kl: number;
  /** Per-prompt means over seeds and samples, same prompt order for every point (paired CIs). */
  perPromptReward?: number[];
  perPromptKl?: number[];
  rewardHalfWidth?: number;
  klHalfWidth?: number;
  seeds?: number;
  /** Means over seeds of the independent judge (VADER, [0, 1]) and the learned RM: over-optimisation. */
  vader?: number;
  rm?: number;
}

/** The Pareto corners of the envelope, by increasing KL (each strictly higher reward than all before it). */
export function upperEnvelope<P extends FrontierPoint>(points: readonly P[]): P[] {
  const sorted = points
    .filter((p) => Number.isFinite(p.kl) && Number.isFinite(p.reward))
    .sort((a, b) => a.kl - b.kl || b.reward - a.reward);
  const out: P[] = [];
  for (const p of sorted) if (out.length === 0 || p.reward > out[out.length - 1].reward) out.push(p);
  return out;
}

/** The envelope point that gives E(k): best reward among points with KL ≤ k; undefined below the first. */
export function envelopeAt<P extends FrontierPoint>(envelope: readonly P[], k: number): P | undefined {
  let best: P | undefined;
  for (const p of envelope) if (p.kl <= k) best = p; // corners have increasing reward
  return best;
}

export type Verdict = "yes" | "partly" | "no" | "n/a";

export interface Comparison {
  verdict: Verdict;
  /** The KL budgets compared (NaN when a method has no points). */
  lo: number;
  hi: number;
  budgets: number[];
  /** d(k) = E_A(k) − E_B(k) with its paired CI, one per budget. */
  diffs: ClusteredMean[];
  positive: number;
  significant: number;
  significantlyNegative: number;
  meanDiff: number;
  /** Per training seed: the mean over the budgets of E_A^s(k) − E_B^s(k) (empty when not given). */
  seedDiffs: number[];
}

/** d = r_a − r_b with a CI paired by prompt when both carry per-prompt rewards, else from the two CIs. */
export function pointDifference(a: FrontierPoint, b: FrontierPoint): ClusteredMean {
  if (
    a.perPromptReward &&
    b.perPromptReward &&
    a.perPromptReward.length === b.perPromptReward.length &&
    a.perPromptReward.length > 1
  ) {
    return meanOfClusters(a.perPromptReward.map((r, i) => r - b.perPromptReward![i]));
  }
  const hw = Math.hypot(a.rewardHalfWidth ?? NaN, b.rewardHalfWidth ?? NaN);
  return { mean: a.reward - b.reward, stdErr: hw / 1.96, halfWidth: hw, clusters: 0, samples: 0 };
}

/** Mean over `budgets` of E_A(k) − E_B(k) for one seed's points (budgets below either envelope skipped). */
function meanEnvelopeDiff(a: readonly FrontierPoint[], b: readonly FrontierPoint[], budgets: number[]): number {
  const ea = upperEnvelope(a);
  const eb = upperEnvelope(b);
  const ds: number[] = [];
  for (const k of budgets) {
    const pa = envelopeAt(ea, k);
    const pb = envelopeAt(eb, k);
    if (pa && pb) ds.push(pa.reward - pb.reward);
  }
  return ds.length ? ds.reduce((s, d) => s + d, 0) / ds.length : NaN;
}

/**
 * Compare envelopes of A and B at `grid` budgets over the KL range both cover (see the header). `seeds`:
 * the same points split by training seed, [A's, B's] per seed, for the between-seed check.
 */
export function compareFrontiers(
  a: readonly FrontierPoint[],
  b: readonly FrontierPoint[],
  mode: "dominates" | "atLeast" = "dominates",
  grid = 25,
  seeds: ReadonlyArray<[readonly FrontierPoint[], readonly FrontierPoint[]]> = [],
): Comparison {
  const ea = upperEnvelope(a);
  const eb = upperEnvelope(b);
  const none = (lo: number, hi: number): Comparison => ({
    verdict: "n/a",
    lo,
    hi,
    budgets: [],
    diffs: [],
    positive: 0,
    significant: 0,
    significantlyNegative: 0,
    meanDiff: NaN,
    seedDiffs: [],
  });
  if (!ea.length || !eb.length) return none(NaN, NaN);
  const maxKl = (e: FrontierPoint[]) => Math.max(...e.map((p) => p.kl));
  const lo = Math.max(ea[0].kl, eb[0].kl);
  const hi = Math.min(maxKl(ea), maxKl(eb));
  if (hi < lo) return none(lo, hi);
  const budgets = hi === lo ? [lo] : Array.from({ length: grid }, (_, i) => lo + ((hi - lo) * i) / (grid - 1));
  const diffs = budgets.map((k) => pointDifference(envelopeAt(ea, k)!, envelopeAt(eb, k)!));
  const n = diffs.length;
  const positive = diffs.filter((d) => d.mean > 0).length;
  const significant = diffs.filter((d) => d.mean - d.halfWidth > 0).length;
  const significantlyNegative = diffs.filter((d) => d.mean + d.halfWidth < 0).length;
  const meanDiff = diffs.reduce((s, d) => s + d.mean, 0) / n;
  const seedDiffs = seeds.map(([sa, sb]) => meanEnvelopeDiff(sa, sb, budgets));
  const everySeed = seedDiffs.every((d) => d > 0);
  let verdict: Verdict;
  if (mode === "dominates")
    verdict = positive === n && significant >= n / 2 && everySeed ? "yes" : positive > n / 2 ? "partly" : "no";
  else
    verdict =
      significantlyNegative === 0 && meanDiff >= 0 ? "yes" : n - significantlyNegative > n / 2 ? "partly" : "no";
  return { verdict, lo, hi, budgets, diffs, positive, significant, significantlyNegative, meanDiff, seedDiffs };
}

export interface CheckpointRowLike {
  method: string;
  knob: number;
  step: number;
  seed: number;
  perPromptReward: number[];
  perPromptKl: number[];
  vader?: number;
  rm?: number;
}

/**
 * Average checkpoint rows over seeds into frontier points: per-prompt means over seeds (prompts aligned,
 * as every seed evaluates the same test prompts), then the mean and its prompt-clustered CI.
 */
export function aggregateCheckpoints(rows: readonly CheckpointRowLike[]): FrontierPoint[] {
  const groups = new Map<string, CheckpointRowLike[]>();
  for (const r of rows) {
    const key = `${r.method}|${r.knob}|${r.step}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const out: FrontierPoint[] = [];
  for (const g of groups.values()) {
    const P = g[0].perPromptReward.length;
    for (const r of g)
      if (r.perPromptReward.length !== P || r.perPromptKl.length !== P)
        throw new Error(
          `aggregateCheckpoints: ${r.method} knob ${r.knob} step ${r.step} seed ${r.seed} has ${r.perPromptReward.length} prompts, expected ${P}`,
        );
    const avg = (pick: (r: CheckpointRowLike) => number[]) =>
      Array.from({ length: P }, (_, i) => g.reduce((s, r) => s + pick(r)[i], 0) / g.length);
    const perPromptReward = avg((r) => r.perPromptReward);
    const perPromptKl = avg((r) => r.perPromptKl);
    const rw = meanOfClusters(perPromptReward);
    const kl = meanOfClusters(perPromptKl);
    const meanOf = (pick: (r: CheckpointRowLike) => number | undefined) =>
      g.every((r) => typeof pick(r) === "number") ? g.reduce((s, r) => s + pick(r)!, 0) / g.length : undefined;
    out.push({
      method: g[0].method,
      knob: g[0].knob,
      step: g[0].step,
      reward: rw.mean,
      kl: kl.mean,
      perPromptReward,
      perPromptKl,
      rewardHalfWidth: rw.halfWidth,
      klHalfWidth: kl.halfWidth,
      seeds: g.length,
      vader: meanOf((r) => r.vader),
      rm: meanOf((r) => r.rm),
    });
  }
  return out.sort((a, b) => a.method.localeCompare(b.method) || a.knob - b.knob || a.step - b.step);
}
