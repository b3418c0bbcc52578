// From stored sweep results to Figure 2: checkpoint rows → points averaged over seeds (prompt-clustered
// CIs) → one envelope per method → the computed verdict table (claims of Rafailov et al. 2023 §6.1), each
// method's best reward and the KL where it is reached, and whether it ran to convergence.
//
// The paper's dominance claims ("A's frontier dominates B's") are graded over the union of the two KL
// ranges, corner by corner (src/fig2/dominance.ts): "yes" only when every Pareto corner of B is weakly
// dominated by a point of A, pooled and in every training seed; a corner outside A's KL range makes it
// "not covered", never yes. The paired comparison on the common KL range is kept in the measured text as
// support. The "where does X sit" rows stay common-range "at least as good" comparisons (no paper claim).
import {
  bestPoints,
  convergenceNote,
  describeUnion,
  dominanceOverUnion,
  type BestPoint,
  type UnionDominance,
} from "./dominance";
import { aggregateCheckpoints, compareFrontiers, upperEnvelope, type Comparison, type FrontierPoint } from "./envelope";
import type { CheckpointRow } from "./run";
import { controllerTable, type ControllerRow } from "./controllers";
import { ONLINE_CLAIMS, dpopVerdict, lengthVerdict } from "./onlineSummary";
import type { VerdictRow } from "./verdictRow";
import { ONLINE_STUDY_METHODS } from "./runOnline";

/** Checkpoint rows of stored runs (the `checkpoints` metric of the fig2 kind), in run order. */
export function checkpointRowsOf(
  records: ReadonlyArray<{ id?: string; metrics: Record<string, number | string> }>,
): CheckpointRow[] {
  const rows: CheckpointRow[] = [];
  for (const r of records) {
    const text = r.metrics.checkpoints;
    if (typeof text !== "string")
      throw new Error(`fig2 results: run ${r.id ?? "?"} has no "checkpoints" metric (not a fig2 run?)`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      throw new Error(`fig2 results: run ${r.id ?? "?"}: checkpoints is not JSON (${(e as Error).message})`);
    }
    if (!Array.isArray(parsed)) throw new Error(`fig2 results: run ${r.id ?? "?"}: checkpoints must be a list`);
    for (const row of parsed as CheckpointRow[]) {
      for (const k of ["method", "knob", "seed", "step", "reward", "kl", "perPromptReward", "perPromptKl"] as const) {
        if (row[k] === undefined) throw new Error(`fig2 results: run ${r.id ?? "?"}: a checkpoint row lacks "${k}"`);
      }
      rows.push(row);
    }
  }
  return rows;
}

/**
 * The version of the verdict rules: 1 graded dominance on the common KL range only (results made before
 * 2026-12-07); 2 grades it over the union of the KL ranges (src/fig2/dominance.ts). Results files record the
 * version they were graded by, so a reader can tell stale committed verdicts from a disagreement. 3: a corner
 * is dominated only when A's paired mean reward is ≥ the corner's (v2 also counted a lower mean whose CI
 * covers 0; now "undetermined", which blocks yes), and a training seed in which A or B has no points makes
 * the verdict "not covered" (v2 passed it vacuously).
 */
export const FIG2_VERDICT_RULES = 3;

/** Display names and colours of the methods, in legend order. */
export const METHOD_STYLE: Record<string, { name: string; color: string; knob: string }> = {
  dpo: { name: "DPO", color: "#d62728", knob: "β" },
  ppo: { name: "PPO (learned RM)", color: "#1f77b4", knob: "target KL" },
  "ppo-gt": { name: "PPO-GT", color: "#17becf", knob: "target KL" },
  rloo: { name: "RLOO (learned RM)", color: "#393b79", knob: "target KL" },
  "rloo-gt": { name: "RLOO-GT", color: "#6b6ecf", knob: "target KL" },
  unlikelihood: { name: "Unlikelihood", color: "#8c564b", knob: "α" },
  "preferred-ft": { name: "Preferred-FT", color: "#7f7f7f", knob: "-" },
  ipo: { name: "IPO", color: "#2ca02c", knob: "τ" },
  kto: { name: "KTO", color: "#9467bd", knob: "β" },
  listwise: { name: "Listwise DPO", color: "#e377c2", knob: "β" },
  cdpo: { name: "cDPO", color: "#ff7f0e", knob: "β" },
  "best-of-n": { name: "Best-of-N (RM)", color: "#bcbd22", knob: "N" },
  "best-of-n-gt": { name: "Best-of-N (GT oracle)", color: "#aec7e8", knob: "N" },
  grpo: { name: "GRPO (learned RM)", color: "#31a354", knob: "β" },
  "grpo-gt": { name: "GRPO-GT", color: "#74c476", knob: "β" },
  "dr-grpo": { name: "Dr. GRPO (learned RM)", color: "#e6550d", knob: "β" },
  "dr-grpo-gt": { name: "Dr. GRPO-GT", color: "#fd8d3c", knob: "β" },
  "online-dpo": { name: "Online DPO (RM judge)", color: "#843c39", knob: "β" },
  "online-dpo-gt": { name: "Online DPO (OAIF, classifier judge)", color: "#ad494a", knob: "β" },
  "iterative-dpo": { name: "Iterative DPO (RM judge)", color: "#7b4173", knob: "β" },
  "iterative-dpo-gt": { name: "Iterative DPO (classifier judge)", color: "#a55194", knob: "β" },
  "tr-dpo": { name: "TR-DPO (soft)", color: "#637939", knob: "β" },
  "tr-dpo-hard": { name: "TR-DPO (hard)", color: "#8ca252", knob: "β" },
  dpop: { name: "DPOP", color: "#de9ed6", knob: "β" },
  sft: { name: "SFT", color: "#000000", knob: "-" },
};

export type { VerdictRow } from "./verdictRow";

const fmt = (x: number, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : String(x));

/** "d(k) > 0 at 20/25 budgets of KL [1.2, 8.4] (significant at 12); mean d = +0.031" */
export function describeComparison(c: Comparison): string {
  if (c.verdict === "n/a")
    return Number.isFinite(c.lo) ? `no common KL range (${fmt(c.lo, 2)} > ${fmt(c.hi, 2)})` : "a method has no points";
  const n = c.budgets.length;
  const seeds = c.seedDiffs.length
    ? `; ahead in ${c.seedDiffs.filter((d) => d > 0).length}/${c.seedDiffs.length} seeds (per-seed mean d ${c.seedDiffs.map((d) => (d >= 0 ? "+" : "") + fmt(d)).join(", ")})`
    : "";
  return `d(k) > 0 at ${c.positive}/${n} KL budgets in [${fmt(c.lo, 2)}, ${fmt(c.hi, 2)}] nats (CI above 0 at ${c.significant}, below 0 at ${c.significantlyNegative}); mean d = ${c.meanDiff >= 0 ? "+" : ""}${fmt(c.meanDiff)}${seeds}`;
}

export interface Fig2Summary {
  points: FrontierPoint[];
  envelopes: Record<string, FrontierPoint[]>;
  sft?: FrontierPoint;
  verdicts: VerdictRow[];
  /** The common-range comparisons behind each row (for the dominance rows: the support numbers). */
  comparisons: Record<string, Comparison>;
  /** Per method (legend order, SFT excluded): best reward and its KL, point count, convergence note. */
  best: Array<BestPoint & { convergence: string }>;
  /** Whether each PPO / RLOO run's KL controller held its target (src/fig2/controllers.ts): a fact, no verdict. */
  controllers: ControllerRow[];
}

/** Points, envelopes and the verdict table from checkpoint rows. */
/**
 * The reason for an "A is at least as good as B" verdict, from the same counts that grade it: how many
 * budgets put A significantly below B, and the sign of the mean difference.
 */
export function atLeastWhy(A: string, B: string): (c: Comparison) => string {
  return (c) => {
    if (c.verdict === "n/a") return `${A} or ${B} has no points`;
    const n = c.diffs.length;
    const neg = c.significantlyNegative;
    if (neg === 0) {
      return c.meanDiff >= 0
        ? `${A} is never significantly below ${B} at a matched KL, and above it on average`
        : `${A} is never significantly below ${B} at a matched KL, but its point estimate is below on average (mean d = ${c.meanDiff.toFixed(3)}): no detectable difference at this scale`;
    }
    return `${A} is significantly below ${B} at ${neg} of ${n} matched KL budgets`;
  };
}

export function summariseFig2(rows: readonly CheckpointRow[]): Fig2Summary {
  const points = aggregateCheckpoints(rows);
  const seedIds = [...new Set(rows.map((r) => r.seed))].sort((x, y) => x - y);
  const seedPoints = seedIds.map((s) => aggregateCheckpoints(rows.filter((r) => r.seed === s)));
  const byMethod = (m: string) => points.filter((p) => p.method === m);
  const methods = [...new Set(points.map((p) => p.method))].filter((m) => m !== "sft");
  const envelopes = Object.fromEntries(methods.map((m) => [m, upperEnvelope(byMethod(m))]));
  const sft = byMethod("sft")[0];
  const comparisons: Record<string, Comparison> = {};
  const verdicts: VerdictRow[] = [];
  const has = (m: string) => methods.includes(m);
  // Results of issue 28's study (src/fig2/onlineSummary.ts) grade its claims; of the DPO paper's they keep
  // only the rows whose methods it ran (its sweeps run a few baselines, not the paper's whole figure).
  const study = methods.some((m) => (ONLINE_STUDY_METHODS as readonly string[]).includes(m));
  const claim = (
    key: string,
    a: string,
    b: string,
    mode: "dominates" | "atLeast",
    text: string,
    explain: (c: Comparison) => string = atLeastWhy(a, b),
  ) => {
    if (!has(a) || !has(b)) {
      if (study && !ONLINE_CLAIMS.some((c) => c.key === key)) return;
      verdicts.push({
        claim: text,
        measured: `not run: ${[a, b].filter((m) => !has(m)).join(", ")} missing from the results (0 checkpoint rows)`,
        reproduced: "n/a",
        why: "the run did not include this method",
      });
      return;
    }
    const perSeed = seedPoints.map(
      (ps) =>
        [ps.filter((p) => p.method === a), ps.filter((p) => p.method === b)] as [FrontierPoint[], FrontierPoint[]],
    );
    const c = compareFrontiers(byMethod(a), byMethod(b), mode, 25, perSeed.length > 1 ? perSeed : []);
    comparisons[key] = c;
    if (mode === "atLeast") {
      verdicts.push({ claim: text, measured: describeComparison(c), reproduced: c.verdict, why: explain(c) });
      return;
    }
    const u = dominanceOverUnion(byMethod(a), byMethod(b), perSeed, c, seedIds);
    verdicts.push({
      claim: text,
      measured: `over the union of the KL ranges: ${describeUnion(u)}. Common KL range (support): ${describeComparison(c)}`,
      reproduced: u.verdict,
      why: unionWhy(a, b, u),
    });
  };
  claim("dpo>ppo", "dpo", "ppo", "dominates", "DPO's reward–KL frontier dominates PPO with a learned reward model");
  claim(
    "dpo>ppo-gt",
    "dpo",
    "ppo-gt",
    "dominates",
    "DPO's frontier dominates even PPO with the ground-truth reward (PPO-GT)",
  );
  claim("dpo>unlikelihood", "dpo", "unlikelihood", "dominates", "Unlikelihood falls below DPO");
  claim("dpo>preferred-ft", "dpo", "preferred-ft", "dominates", "Preferred-FT falls below DPO");
  for (const m of ["ipo", "kto", "listwise", "cdpo", "best-of-n", "best-of-n-gt"]) {
    const name = METHOD_STYLE[m]?.name ?? m;
    claim(
      `${m}>=dpo`,
      m,
      "dpo",
      "atLeast",
      `Where ${name} sits: at least as good as DPO? (no Fig. 2 claim in the paper${m.startsWith("best") ? "; §6.2 finds DPO similar to or better than Best-of-128 on Anthropic-HH dialogue" : ""})`,
      atLeastWhy(name, "DPO"),
    );
  }
  // Issue 28's claims, only when the results hold one of its methods (src/fig2/onlineSummary.ts).
  if (study) {
    for (const c of ONLINE_CLAIMS)
      claim(
        c.key,
        c.a,
        c.b,
        c.mode,
        c.text,
        atLeastWhy(METHOD_STYLE[c.a]?.name ?? c.a, METHOD_STYLE[c.b]?.name ?? c.b),
      );
    verdicts.push(lengthVerdict(rows), dpopVerdict(rows));
  }
  const best = bestPoints(points.filter((p) => p.method !== "sft")).map((bp) => ({
    ...bp,
    convergence: convergenceNote(byMethod(bp.method)),
  }));
  const order = Object.keys(METHOD_STYLE);
  best.sort((x, y) => (order.indexOf(x.method) + 1 || 99) - (order.indexOf(y.method) + 1 || 99));
  return { points, envelopes, sft, verdicts, comparisons, best, controllers: controllerTable(rows) };
}

/** The reason for a union-range dominance verdict, from the corner counts that grade it. */
export function unionWhy(a: string, b: string, u: UnionDominance): string {
  const A = METHOD_STYLE[a]?.name ?? a;
  const B = METHOD_STYLE[b]?.name ?? b;
  const esc = u.corners.filter((c) => c.status === "escapes").length;
  const und = u.corners.filter((c) => c.status === "undetermined").length;
  const seedEsc = u.seeds.filter((s) => s.escapes > 0 || s.undetermined > 0).length;
  const empty = u.seeds.filter((s) => s.empty);
  const emptyText = empty.length
    ? `; untested in ${empty.map((s) => `seed ${s.seed} (${s.empty === "A" ? A : B} has no points)`).join(", ")}`
    : "";
  const escText = `${esc} of ${u.corners.length} corners of ${B} escape ${A}${und ? ` and ${und} are undetermined (${A}'s estimate below, CI covering 0)` : ""}`;
  switch (u.verdict) {
    case "n/a":
      return `${A} or ${B} has no points`;
    case "yes":
      return `every Pareto corner of ${B} is weakly dominated by a point of ${A} (KL ≤, paired mean reward ≥), pooled and in each of the ${u.seeds.length || 1} training seeds`;
    case "not covered":
      return u.corners.some((c) => c.status === "not covered") || u.seeds.some((s) => s.notCovered > 0)
        ? `no corner of ${B} escapes ${A} where ${A} was evaluated, but ${B} has corners outside ${A}'s KL range [${u.rangeA[0].toFixed(2)}, ${u.rangeA[1].toFixed(2)}]: dominance there is untested at this scale${emptyText}`
        : `no corner of ${B} escapes ${A} where both were evaluated${emptyText}: dominance there is untested`;
    case "partly":
      return `${escText}${seedEsc ? ` (in ${seedEsc} of ${u.seeds.length} seeds)` : ""}, so ${A} does not dominate; on the common KL range ${A} is ahead at ${u.support.positive} of ${u.support.diffs.length} budgets${emptyText}`;
    default:
      return `${escText}${seedEsc ? ` (in ${seedEsc} of ${u.seeds.length} seeds)` : ""} and ${A} is not ahead on most of the common KL range: the claim does not hold at this scale${emptyText}`;
  }
}

/** Each method's best reward and the KL where it is reached, as a Markdown table (the README facts). */
export function bestMarkdown(best: Fig2Summary["best"]): string {
  return [
    "| method | best reward (95% CI) | at KL (nats) | knob, step | points | ran to convergence? |",
    "|---|---|---|---|---|---|",
    ...best.map(
      (b) =>
        `| ${METHOD_STYLE[b.method]?.name ?? b.method} | ${b.reward.toFixed(3)} ± ${fmt(b.rewardHalfWidth)} | ${fmt(b.kl, 2)} | ${METHOD_STYLE[b.method]?.knob ?? "knob"} = ${b.knob}, step ${b.step} | ${b.points} | ${b.convergence} |`,
    ),
  ].join("\n");
}

/** A copy of the points without per-prompt arrays (for tables and plots). */
export function slimPoints(points: readonly FrontierPoint[]): FrontierPoint[] {
  return points.map(({ perPromptReward: _r, perPromptKl: _k, ...rest }) => rest);
}
