// Reading a reward–KL frontier (DPO paper, Rafailov et al. 2023, Figure 2 left) without letting reward
// hacking win: which evaluated points count, the best of them, and frontier dominance between two methods.
// A sample is *flagged* when its log π(y|x)/π_ref(y|x) exceeds OFF_SUPPORT_LOG_RATIO = 10 nats: the policy
// makes it more than e^10 ≈ 22,000 times likelier than the reference, text the reference essentially never
// writes (on the rule-based judges, strings of lexicon words). A point with more than MAX_FLAGGED_SHARE of
// its samples flagged is *excluded*: it is neither "best" nor used for dominance, on either side.
/** log π/π_ref (nats per sequence) above which a sample is flagged as off the reference's support. */
export const OFF_SUPPORT_LOG_RATIO = 10;
/**
 * A point with a larger share of flagged samples than this is excluded from "best" and dominance: past
 * one half, its mean reward is mostly the reward of text the reference does not write.
 */
export const MAX_FLAGGED_SHARE = 0.5;

/** What the frontier reads of an evaluated policy (FrontierPoint has it). */
export interface FrontierSampledPoint {
  method: string;
  beta: number;
  reward: number;
  kl: number;
  samples: ReadonlyArray<{ reward: number; logRatio: number }>;
}

export interface FlagOptions {
  /** Flag a sample when its log-ratio exceeds this (default OFF_SUPPORT_LOG_RATIO). */
  logRatio?: number;
  /** Exclude a point when its flagged share exceeds this, in [0, 1] (default MAX_FLAGGED_SHARE). */
  maxShare?: number;
}

function resolve(where: string, o: FlagOptions): { logRatio: number; maxShare: number } {
  const logRatio = o.logRatio ?? OFF_SUPPORT_LOG_RATIO;
  const maxShare = o.maxShare ?? MAX_FLAGGED_SHARE;
  if (!Number.isFinite(logRatio))
    throw new Error(`${where}: options.logRatio must be a finite number, got ${logRatio}`);
  if (!(maxShare >= 0 && maxShare <= 1))
    throw new Error(`${where}: options.maxShare must be in [0, 1], got ${maxShare}`);
  return { logRatio, maxShare };
}

function samplesOf(where: string, p: FrontierSampledPoint): FrontierSampledPoint["samples"] {
  if (p.samples.length === 0) throw new Error(`${where}: point ${p.method} β=${p.beta} has no samples`);
  p.samples.forEach((s, i) => {
    if (!Number.isFinite(s.logRatio) || !Number.isFinite(s.reward))
      throw new Error(`${where}: point ${p.method} β=${p.beta}: samples[${i}] has a non-finite reward or logRatio`);
  });
  return p.samples;
}

/** Share of a point's samples with log π/π_ref > options.logRatio. */
export function flaggedShare(p: FrontierSampledPoint, options: FlagOptions = {}): number {
  const { logRatio } = resolve("flaggedShare", options);
  const s = samplesOf("flaggedShare", p);
  return s.filter((x) => x.logRatio > logRatio).length / s.length;
}

/** Mean reward of the unflagged samples (NaN when every sample is flagged). */
export function rewardWithoutFlagged(p: FrontierSampledPoint, options: FlagOptions = {}): number {
  const { logRatio } = resolve("rewardWithoutFlagged", options);
  const rest = samplesOf("rewardWithoutFlagged", p).filter((x) => x.logRatio <= logRatio);
  return rest.length ? rest.reduce((a, x) => a + x.reward, 0) / rest.length : NaN;
}

/** Whether a point counts for "best" and dominance: its flagged share is at most options.maxShare. */
export function isTrusted(p: FrontierSampledPoint, options: FlagOptions = {}): boolean {
  const { maxShare } = resolve("isTrusted", options);
  return flaggedShare(p, options) <= maxShare;
}

/** The point of highest mean reward among the trusted ones (undefined when none is trusted). */
export function bestTrustedPoint<P extends FrontierSampledPoint>(
  points: readonly P[],
  options: FlagOptions = {},
): P | undefined {
  const kept = points.filter((p) => isTrusted(p, options));
  return kept.length ? kept.reduce((a, b) => (b.reward > a.reward ? b : a)) : undefined;
}

/**
 * Frontier dominance on point estimates, trusted points only: A dominates B when B has at least one trusted
 * point, A has at least one, and every trusted B point has a trusted A point with reward ≥ and KL ≤.
 */
export function frontierDominates(
  a: readonly FrontierSampledPoint[],
  b: readonly FrontierSampledPoint[],
  options: FlagOptions = {},
): boolean {
  const ta = a.filter((p) => isTrusted(p, options));
  const tb = b.filter((p) => isTrusted(p, options));
  if (ta.length === 0 || tb.length === 0) return false;
  return tb.every((q) => ta.some((p) => p.reward >= q.reward && p.kl <= q.kl));
}
