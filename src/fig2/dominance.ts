// "A's frontier dominates B's" judged over the whole KL range the evidence covers (the union of the two
// methods' KL ranges), corner by corner, and each method's best reward (Rafailov et al. 2023, Fig. 2 left).
//
// B's frontier is its Pareto corners (src/fig2/envelope.ts, upperEnvelope). A corner c of B is
//   dominated    when A has a point p with KL_p ≤ KL_c whose reward is not below c's: the 95% CI of the
//                paired difference d = r_p − r_c (by prompt, pointDifference) reaches 0 or above,
//                d + halfWidth(d) ≥ 0. The p used is A's best point at KL ≤ KL_c, envelopeAt(E_A, KL_c).
//   escapes      when it is not dominated and KL_c lies inside A's KL range [min KL_A, max KL_A]: A was
//                evaluated at that KL and is significantly worse there;
//   not covered  when it is not dominated and KL_c lies outside A's KL range: below it A has no point with
//                KL ≤ KL_c at all, above it A never reached that KL; whether A would dominate there is
//                untested, never counted as a yes.
// The rule is applied to the points pooled over seeds and to every training seed's own points. Verdict:
//   yes          every corner of B is dominated, pooled and in every seed;
//   not covered  no corner escapes (pooled or in any seed), but some lie outside A's KL range: dominance
//                holds where A was evaluated and is untested beyond (the uncovered KL ranges are named);
//   partly       some corner escapes, but the paired common-range comparison (compareFrontiers, the
//                support numbers) puts A ahead at more than half of the shared budgets;
//   no           otherwise;   n/a   a method has no points.
// A corner is a maximum over (knob, checkpoint) points, so it is biased upwards (winner's curse), more so
// for a method with more points: the presets give every method the same number of checkpoints per run
// (src/fig2/runPresets.ts), but the knob grids differ, and the summary prints each method's point count.
import { envelopeAt, pointDifference, upperEnvelope, type Comparison, type FrontierPoint } from "./envelope";
import type { ClusteredMean } from "./stats";

export type CornerStatus = "dominated" | "escapes" | "not covered";

export interface CornerCheck {
  /** B's corner. */
  kl: number;
  reward: number;
  /** A's best point at KL ≤ the corner's, and d = its reward − the corner's (paired CI); none below A's range. */
  by?: { kl: number; reward: number; knob: number; step: number };
  diff?: ClusteredMean;
  status: CornerStatus;
}

export type UnionVerdict = "yes" | "not covered" | "partly" | "no" | "n/a";

export interface UnionDominance {
  verdict: UnionVerdict;
  /** B's corners (pooled over seeds) and how each fared. */
  corners: CornerCheck[];
  /** Per training seed: that seed's B corners that escape / are not covered (counts), in seed order. */
  seeds: Array<{ corners: number; escapes: number; notCovered: number }>;
  /** A's and B's KL ranges (min, max over their points pooled over seeds). */
  rangeA: [number, number];
  rangeB: [number, number];
  /** The KL intervals of B's corners that are not covered (merged, pooled points). */
  uncovered: Array<[number, number]>;
  /** The paired comparison on the common KL range (support). */
  support: Comparison;
}

/** Classify each Pareto corner of B against A's points (see the header). */
export function checkCorners(a: readonly FrontierPoint[], b: readonly FrontierPoint[]): CornerCheck[] {
  const ea = upperEnvelope(a);
  const eb = upperEnvelope(b);
  if (!ea.length) return eb.map((c) => ({ kl: c.kl, reward: c.reward, status: "not covered" }));
  const minA = ea[0].kl;
  const maxA = Math.max(...ea.map((p) => p.kl), ...a.filter((p) => Number.isFinite(p.kl)).map((p) => p.kl));
  return eb.map((c) => {
    const p = envelopeAt(ea, c.kl);
    if (!p) return { kl: c.kl, reward: c.reward, status: "not covered" as const };
    const diff = pointDifference(p, c);
    const hw = Number.isFinite(diff.halfWidth) ? diff.halfWidth : 0;
    const by = { kl: p.kl, reward: p.reward, knob: p.knob, step: p.step };
    const status: CornerStatus =
      diff.mean + hw >= 0 ? "dominated" : c.kl >= minA && c.kl <= maxA ? "escapes" : "not covered";
    return { kl: c.kl, reward: c.reward, by, diff, status };
  });
}

const klRange = (ps: readonly FrontierPoint[]): [number, number] => {
  const kls = ps.map((p) => p.kl).filter(Number.isFinite);
  return kls.length ? [Math.min(...kls), Math.max(...kls)] : [NaN, NaN];
};

/**
 * Union-range dominance of A over B (see the header). `perSeed`: the same points split by training seed,
 * [A's, B's] per seed; `support`: the common-range comparison of the same pooled points.
 */
export function dominanceOverUnion(
  a: readonly FrontierPoint[],
  b: readonly FrontierPoint[],
  perSeed: ReadonlyArray<[readonly FrontierPoint[], readonly FrontierPoint[]]>,
  support: Comparison,
): UnionDominance {
  const rangeA = klRange(a);
  const rangeB = klRange(b);
  const corners = a.length && b.length ? checkCorners(a, b) : [];
  const seeds = perSeed.map(([sa, sb]) => {
    const cs = checkCorners(sa, sb);
    return {
      corners: cs.length,
      escapes: cs.filter((c) => c.status === "escapes").length,
      notCovered: cs.filter((c) => c.status === "not covered").length,
    };
  });
  const uncovered: Array<[number, number]> = [];
  for (const c of corners.filter((x) => x.status === "not covered")) {
    // Merge corners on the same side of A's range into one interval.
    const side = c.kl < rangeA[0] ? "below" : "above";
    const last = uncovered[uncovered.length - 1];
    if (last && last[1] < rangeA[0] === (side === "below")) last[1] = Math.max(last[1], c.kl);
    else uncovered.push([c.kl, c.kl]);
  }
  let verdict: UnionVerdict;
  const escapes = corners.some((c) => c.status === "escapes") || seeds.some((s) => s.escapes > 0);
  const notCovered = corners.some((c) => c.status === "not covered") || seeds.some((s) => s.notCovered > 0);
  if (!a.length || !b.length || !corners.length) verdict = "n/a";
  else if (!escapes && !notCovered) verdict = "yes";
  else if (!escapes) verdict = "not covered";
  else verdict = support.verdict === "yes" || support.verdict === "partly" ? "partly" : "no";
  return { verdict, corners, seeds, rangeA, rangeB, uncovered, support };
}

const f = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : String(x));

/** "12/14 corners of B dominated, 1 escapes (KL 7.10), 1 not covered (KL 21.0–31.0); per seed …" */
export function describeUnion(u: UnionDominance): string {
  if (u.verdict === "n/a") return "a method has no points";
  const n = u.corners.length;
  const count = (s: CornerStatus) => u.corners.filter((c) => c.status === s);
  const esc = count("escapes");
  const parts = [`${count("dominated").length}/${n} Pareto corners dominated`];
  if (esc.length)
    parts.push(
      `${esc.length} escape (at KL ${esc.map((c) => `${f(c.kl)}: ${f(c.reward, 3)} vs ${f(c.by!.reward, 3)}`).join(", ")})`,
    );
  if (u.uncovered.length)
    parts.push(
      `${count("not covered").length} not covered (KL ${u.uncovered.map(([lo, hi]) => (lo === hi ? f(lo) : `${f(lo)}–${f(hi)}`)).join(", ")}, outside the dominating method's KL range [${f(u.rangeA[0])}, ${f(u.rangeA[1])}])`,
    );
  const seeds = u.seeds.length
    ? `; per seed ${u.seeds.map((s) => `${s.corners - s.escapes - s.notCovered}/${s.corners}`).join(", ")} dominated`
    : "";
  return parts.join(", ") + seeds;
}

export interface BestPoint {
  method: string;
  reward: number;
  rewardHalfWidth: number;
  kl: number;
  knob: number;
  step: number;
  /** Points (knob × checkpoint, pooled over seeds) the method has: the envelope's maximum favours more. */
  points: number;
}

/** Each method's best reward (pooled over seeds) and the KL where it is reached; ties go to the lower KL. */
export function bestPoints(points: readonly FrontierPoint[]): BestPoint[] {
  const by = new Map<string, FrontierPoint[]>();
  for (const p of points) by.set(p.method, [...(by.get(p.method) ?? []), p]);
  return [...by.entries()].map(([method, ps]) => {
    const best = ps.reduce((x, y) => (y.reward > x.reward || (y.reward === x.reward && y.kl < x.kl) ? y : x));
    return {
      method,
      reward: best.reward,
      rewardHalfWidth: best.rewardHalfWidth ?? NaN,
      kl: best.kl,
      knob: best.knob,
      step: best.step,
      points: ps.length,
    };
  });
}

export type ConvergenceNote = "plateaued" | "reached KL ≥ 25" | "still climbing" | "no training";

/**
 * Whether a method ran to convergence: its best knob's (the knob of its best point) last two checkpoints
 * differ by at most `tolerance` reward ("plateaued"), or any of its points reached KL ≥ `klCap`; methods with
 * one checkpoint per knob (Best-of-N, SFT) have "no training".
 */
export function convergenceNote(points: readonly FrontierPoint[], tolerance = 0.01, klCap = 25): ConvergenceNote {
  if (!points.length) return "no training";
  const best = points.reduce((x, y) => (y.reward > x.reward ? y : x));
  const run = points.filter((p) => p.knob === best.knob).sort((x, y) => x.step - y.step);
  if (points.some((p) => p.kl >= klCap)) return "reached KL ≥ 25";
  if (run.length < 2) return "no training";
  const [prev, last] = run.slice(-2);
  return Math.abs(last.reward - prev.reward) <= tolerance ? "plateaued" : "still climbing";
}
