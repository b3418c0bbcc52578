// The gold-reward over-optimisation study of notebook 11 (Gao, Schulman & Hilton 2023, "Scaling Laws for
// Reward Model Overoptimization", §3 and Fig. 1, with a learned gold RM standing in for humans): the
// training pairs are split in two halves by dialogue/debate; a LARGER transformer (its own SFT, then a
// Bradley–Terry head) trained on half A is the gold judge; the policy's SFT, a small proxy reward model
// and the DPO/IPO/KTO policies are trained on half B only. Along each policy's training, and for
// best-of-N sampling against the proxy, we sample completions to held-out prompts and measure
//   gold(π) = E_{y∼π}[r_gold(x, y)],  proxy(π) = E_{y∼π}[r_proxy(x, y)],
//   KL(π‖π_ref) ≈ E_{y∼π}[log π(y|x) − log π_ref(y|x)]   (Monte-Carlo, per prompt, averaged);
// best-of-N's KL is the analytic log N − (N − 1)/N (Stiennon et al. 2020, App. G.3; Gao et al. Eq. 2).
// Over-optimisation: a method's gold reward first rises, peaks and then falls while its proxy reward keeps
// rising; `turningPoint` finds the peak and says whether both the rise and the fall exceed their noise.
import { Rng } from "../random";
import { Transformer } from "../lm/transformer";
import { trainSft } from "../lm/sft";
import { sequenceTokens, type Sequence } from "../lm/batching";
import { sampleCompletions } from "../lm/sampling";
import { sequenceLogps, trainPreference } from "../lm/preferenceTrainer";
import { LearnedRewardModel, trainLearnedRewardModel } from "../fig2/rewardModel";
import type { TokenizedPair } from "../lm/rlaif";
import { clusteredMean } from "../notebook";
import { studentTQuantile } from "../stats";
import { preferenceAccuracy, preferenceData, splitByGroup, type AccuracyResult, type GroupedPair } from "./hh-data";
import { prepareSeed, type HhDatasetConfig, type HhMethod, type HhModelConfig, type HhStudyConfig } from "./hh-study";

export interface OveroptConfig {
  /** The larger gold model (same context); trained on half A. */
  goldModel: Omit<HhModelConfig, "contextLength">;
  goldSft: { steps: number; batchSize: number; learningRate: number };
  goldRewardModel: { steps: number; batchSize: number; learningRate: number };
  methods: HhMethod[];
  preference: { steps: number; batchSize: number; learningRate: number; evalEvery: number };
  bestOfN: number[];
  /** Held-out prompts sampled at each checkpoint (at most; distinct), and the longest sampled completion. */
  prompts: number;
  maxNewTokens: number;
  /**
   * Completions sampled at each checkpoint (and per N for best-of-N), cycling over the distinct prompts;
   * default one per prompt. A split that leaves out whole debates has few distinct prompts (UKPConvArg1:
   * one per held-out topic), so one completion each would make gold a mean of a handful of samples.
   */
  samples?: number;
}

export interface OveroptPoint {
  step: number;
  /** best-of-N only. */
  n?: number;
  kl: number;
  gold: number;
  goldSe: number;
  proxy: number;
}

export interface OveroptCurve {
  label: string;
  points: OveroptPoint[];
  turning: ReturnType<typeof turningPoint>;
}

export interface OveroptResult {
  dataset: string;
  seed: number;
  halves: { goldPairs: number; policyPairs: number };
  /** Held-out preference accuracy of the gold and the proxy reward model (how good each judge is). */
  goldAccuracy: number;
  proxyAccuracy: number;
  /**
   * The same accuracies with their prompt/debate-clustered intervals (preferenceAccuracy: CR1 se, Student t
   * on G − 1 degrees of freedom); absent in files written before they were recorded.
   */
  goldHeldOut?: AccuracyResult;
  proxyHeldOut?: AccuracyResult;
  /** Distinct held-out prompts and completions per checkpoint (absent in files written before they were recorded). */
  heldOutPrompts?: number;
  samples?: number;
  curves: OveroptCurve[];
  seconds: number;
}

/**
 * Where gold reward peaks along a curve (points in training order, or best-of-N by N), and whether the
 * curve over-optimises in Gao et al.'s sense: gold first RISES (the peak is after the first point and above
 * it by more than z_K standard errors of the difference), then FALLS as KL grows (a later point at a larger
 * KL than the peak, below the peak by more than z_K' se of the difference, while its proxy is above the
 * proxy at the peak; a later checkpoint whose KL came back below the peak's is not a fall in KL). A curve whose gold is
 * highest at its first point and only falls is not over-optimisation (the proxy never tracked gold there),
 * and a curve whose gold still rises at its end has no turn.
 *
 * The peak is the largest of K = n − 1 later points, so the rise is Bonferroni-corrected over them:
 * z_K = Φ⁻¹(1 − 0.025/K), one-sided 2.5% for the whole curve (z_1 = 1.96, the plain test; z_12 = 2.87).
 * The fall compares that chosen maximum with a later point, so it is corrected over every ordered pair of
 * points, M = n(n − 1)/2 (z_78 = 3.42 for 13 points). With an uncorrected 2 se, a flat curve of 13 points
 * "rose" about 1 time in 6 (test/hh-data.test.ts simulates it). The se of a difference is the hypotenuse of
 * the two: policy checkpoints are independent samples (best-of-N's nested draws are positively correlated,
 * which makes the test conservative there).
 *
 * `requireProxy` (default true) asks, for the fall, that the proxy be above its value at the peak: Gao et
 * al.'s setting, where the policy optimises the proxy (best-of-N here). DPO, IPO and KTO never see the
 * proxy, so for them (Rafailov et al. 2024's over-optimisation of direct alignment) it is left out.
 */
export function turningPoint(
  points: readonly OveroptPoint[],
  requireProxy = true,
): {
  peakIndex: number;
  peakKl: number;
  /** Gold at the peak is significantly above gold at the first point. */
  rose: boolean;
  overoptimised: boolean;
  /** First later point that shows the fall (−1 if none, or if gold never rose). */
  fallIndex: number;
} {
  if (points.length === 0) throw new Error("turningPoint: no points");
  let peakIndex = 0;
  points.forEach((p, i) => {
    if (p.gold > points[peakIndex].gold) peakIndex = i;
  });
  const peak = points[peakIndex];
  const z = (k: number) => normalQuantile(1 - 0.025 / Math.max(1, k));
  const below = (hi: OveroptPoint, lo: OveroptPoint, k: number) =>
    hi.gold - lo.gold > z(k) * Math.hypot(hi.goldSe, lo.goldSe);
  const rose = peakIndex > 0 && below(peak, points[0], points.length - 1);
  const pairs = (points.length * (points.length - 1)) / 2;
  const fallIndex = rose
    ? points.findIndex(
        (p, i) => i > peakIndex && p.kl > peak.kl && below(peak, p, pairs) && (!requireProxy || p.proxy > peak.proxy),
      )
    : -1;
  return { peakIndex, peakKl: peak.kl, rose, overoptimised: fallIndex >= 0, fallIndex };
}

/** A best-of-N curve (its points carry N): the one curve here that optimises the proxy. */
export const isBestOfN = (c: { points: readonly OveroptPoint[] }): boolean => c.points.some((p) => p.n !== undefined);

/** A curve's turning point, asking for a rising proxy only where the curve optimises it (best-of-N). */
export const curveTurning = (c: { points: readonly OveroptPoint[] }) => turningPoint(c.points, isBestOfN(c));

/** Φ⁻¹(p), the standard normal quantile (Student t with ν → ∞). */
export function normalQuantile(p: number): number {
  return studentTQuantile(p, 1e9);
}

/**
 * The sampling layout of one evaluation: `samples` completions cycling over the distinct prompts, so sample
 * i is of prompt cluster[i] and every prompt gets samples / G of them. `samples` must be a multiple of G
 * (equal weights) and at least 2 in all; default one per prompt.
 */
export function cyclePrompts<T>(
  distinct: readonly T[],
  samples = distinct.length,
): { prompts: T[]; cluster: number[] } {
  const G = distinct.length;
  if (G === 0) throw new Error("cyclePrompts: no held-out prompts");
  if (!Number.isInteger(samples) || samples < 2 || samples % G !== 0)
    throw new Error(
      `cyclePrompts: samples must be a multiple of the ${G} distinct held-out prompts and at least 2, got ${samples}`,
    );
  const cluster = Array.from({ length: samples }, (_, i) => i % G);
  return { prompts: cluster.map((g) => distinct[g]), cluster };
}

/**
 * Mean of a per-sample score over the prompts and its se. With several samples per prompt the prompts are
 * held fixed (every checkpoint is scored on the same prompts): mean = (1/G) Σ_g m_g and
 * se = √(Σ_g s_g² / n_g) / G, with m_g, s_g² and n_g the prompt's sample mean, variance and count (a
 * stratified mean, so differences between prompts are not noise). With one sample per prompt the prompts
 * are the random draws: the plain mean and se over samples.
 */
export function promptMeanSe(xs: ArrayLike<number>, cluster: readonly number[]): { mean: number; se: number } {
  if (xs.length !== cluster.length || xs.length < 2)
    throw new Error(`promptMeanSe: ${xs.length} scores, ${cluster.length} prompt ids (need ≥ 2, equal)`);
  const by = new Map<number, number[]>();
  Array.from(xs).forEach((x, i) => {
    const g = by.get(cluster[i]);
    if (g) g.push(x);
    else by.set(cluster[i], [x]);
  });
  const groups = [...by.values()];
  if (groups.some((g) => g.length < 2)) {
    const m = clusteredMean(
      Array.from(xs),
      Array.from(xs, (_, i) => i),
    );
    return { mean: m.mean, se: m.se };
  }
  const G = groups.length;
  let mean = 0;
  let v = 0;
  for (const g of groups) {
    const m = g.reduce((a, b) => a + b, 0) / g.length;
    mean += m / G;
    v += g.reduce((a, b) => a + (b - m) ** 2, 0) / (g.length - 1) / g.length;
  }
  return { mean, se: Math.sqrt(v) / G };
}

const rowsOf = (ps: readonly TokenizedPair[]) => ps.map((p) => sequenceTokens(p.chosenSeq).slice(1));

function trainRm(
  sft: Transformer,
  train: readonly TokenizedPair[],
  opts: { steps: number; batchSize: number; learningRate: number },
  seed: number,
): LearnedRewardModel {
  const rm = new LearnedRewardModel(sft, seed);
  try {
    trainLearnedRewardModel(rm, train, [], { ...opts, seed, verbose: false });
    return rm;
  } catch (err) {
    rm.dispose();
    throw err;
  }
}

/** One seed of the study (cfg gives the data, tokenizer, policy size and SFT/proxy-RM budgets). */
export async function runOveropt(
  cfg: HhStudyConfig,
  o: OveroptConfig,
  d: HhDatasetConfig,
  seed: number,
  loaded?: GroupedPair[],
  log: (msg: string) => void = () => {},
): Promise<OveroptResult> {
  const t0 = performance.now();
  const { data } = await prepareSeed(cfg, d, seed, loaded);
  const { tokenizer, test, testGroups } = data;
  // Halves of the training pairs by group (the tokenizer was fitted on both: it is not a judge).
  const grouped = data.train.map((p) => ({ ...p, group: String(p.extra?.group) }));
  const halves = splitByGroup(grouped, 0.5, seed + 1000);
  const [A, B] = [halves.test, halves.train];
  const C = cfg.model.contextLength;

  const gold = new Transformer({ ...o.goldModel, contextLength: C, vocabSize: tokenizer.size }, seed + 1);
  trainSft(gold, rowsOf(A), rowsOf(test), { ...o.goldSft, seed, verbose: false });
  const goldRm = trainRm(gold, A, o.goldRewardModel, seed);
  gold.dispose();
  const sft = new Transformer({ ...cfg.model, vocabSize: tokenizer.size }, seed);
  trainSft(sft, rowsOf(B), rowsOf(test), { ...cfg.sft, seed, verbose: false });
  const proxyRm = trainRm(sft, B, cfg.rewardModel, seed);
  try {
    const heldOut = (rm: LearnedRewardModel) =>
      preferenceAccuracy(
        rm.scoreSequences(test.map((p) => p.chosenSeq)),
        rm.scoreSequences(test.map((p) => p.rejectedSeq)),
        testGroups,
      );
    const goldHeldOut = heldOut(goldRm);
    const proxyHeldOut = heldOut(proxyRm);
    const [goldAccuracy, proxyAccuracy] = [goldHeldOut.accuracy, proxyHeldOut.accuracy];
    log(`overopt ${d.dataset} seed ${seed}: gold RM ${goldAccuracy.toFixed(3)}, proxy RM ${proxyAccuracy.toFixed(3)}`);

    // Held-out prompts: distinct, the first `o.prompts` of the test pairs; `o.samples` completions in all,
    // cycling over them (sample i is of prompt cluster[i]), gold's se clustered by prompt.
    const seen = new Set<string>();
    const distinct: number[][] = [];
    for (const p of test) {
      const key = p.chosenSeq.prompt.join(",");
      if (!seen.has(key) && distinct.length < o.prompts) (seen.add(key), distinct.push([...p.chosenSeq.prompt]));
    }
    const { prompts, cluster } = cyclePrompts(distinct, o.samples);
    const total = prompts.length;
    const maxNew = Math.min(o.maxNewTokens, C - 2 - Math.max(...prompts.map((p) => p.length)));
    const rng = new Rng(seed).fork("overopt-samples");
    const score = (seqs: Sequence[]) => ({ gold: goldRm.scoreSequences(seqs), proxy: proxyRm.scoreSequences(seqs) });

    const curves: OveroptCurve[] = [];
    // Best-of-N against the proxy, from the SFT policy: N_max samples per prompt, the first N of them used.
    const nMax = Math.max(...o.bestOfN);
    const draws = Array.from({ length: nMax }, () =>
      score(sampleCompletions(sft, prompts, rng, { maxNewTokens: maxNew })),
    );
    const bon: OveroptPoint[] = o.bestOfN.map((n) => {
      const picked = prompts.map((_, i) => {
        let best = 0;
        for (let k = 1; k < n; k++) if (draws[k].proxy[i] > draws[best].proxy[i]) best = k;
        return best;
      });
      const g = promptMeanSe(
        picked.map((k, i) => draws[k].gold[i]),
        cluster,
      );
      const px = promptMeanSe(
        picked.map((k, i) => draws[k].proxy[i]),
        cluster,
      ).mean;
      return { step: 0, n, kl: Math.log(n) - (n - 1) / n, gold: g.mean, goldSe: g.se, proxy: px };
    });
    curves.push({ label: "best-of-N (proxy)", points: bon, turning: curveTurning({ points: bon }) });

    for (const m of o.methods) {
      const policy = sft.clone(true);
      const reference = sft.clone(false);
      try {
        const points: OveroptPoint[] = [];
        const evaluate = (step: number) => {
          const seqs = sampleCompletions(policy, prompts, rng, { maxNewTokens: maxNew });
          const lp = sequenceLogps(policy, seqs);
          const lr = sequenceLogps(reference, seqs);
          const s = score(seqs);
          const g = promptMeanSe(s.gold, cluster);
          points.push({
            step,
            kl: promptMeanSe(
              lp.map((v, i) => v - lr[i]),
              cluster,
            ).mean,
            gold: g.mean,
            goldSe: g.se,
            proxy: promptMeanSe(s.proxy, cluster).mean,
          });
        };
        evaluate(0);
        trainPreference(policy, reference, preferenceData(B, m.keepDesirable ?? 1, seed), {
          method: m.loss,
          lossOptions: m.lossOptions,
          ...o.preference,
          seed,
          verbose: false,
          logEvery: o.preference.steps,
          onStep: (step) => {
            if (step % o.preference.evalEvery === 0) evaluate(step);
          },
        });
        curves.push({ label: m.label, points, turning: curveTurning({ points }) });
        const last = points[points.length - 1];
        log(`overopt ${d.dataset} seed ${seed}: ${m.label} KL ${last.kl.toFixed(2)}, gold ${last.gold.toFixed(3)}`);
      } finally {
        policy.dispose();
        reference.dispose();
      }
    }
    return {
      dataset: d.dataset,
      seed,
      halves: { goldPairs: A.length, policyPairs: B.length },
      goldAccuracy,
      proxyAccuracy,
      goldHeldOut,
      proxyHeldOut,
      heldOutPrompts: distinct.length,
      samples: total,
      curves,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    goldRm.dispose();
    proxyRm.dispose();
    sft.dispose();
  }
}
