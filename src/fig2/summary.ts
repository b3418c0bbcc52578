// From stored sweep results to Figure 2: checkpoint rows → points averaged over seeds (prompt-clustered
// CIs) → one envelope per method → the computed verdict table (claims of Rafailov et al. 2023 §6.1).
import {
  aggregateCheckpoints,
  compareFrontiers,
  upperEnvelope,
  type Comparison,
  type FrontierPoint,
  type Verdict,
} from "./envelope";
import type { CheckpointRow } from "./run";

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
  sft: { name: "SFT", color: "#000000", knob: "-" },
};

export interface VerdictRow {
  claim: string;
  measured: string;
  reproduced: Verdict;
  why: string;
}

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
  comparisons: Record<string, Comparison>;
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
  const seedPoints = [...new Set(rows.map((r) => r.seed))]
    .sort((x, y) => x - y)
    .map((s) => aggregateCheckpoints(rows.filter((r) => r.seed === s)));
  const byMethod = (m: string) => points.filter((p) => p.method === m);
  const methods = [...new Set(points.map((p) => p.method))].filter((m) => m !== "sft");
  const envelopes = Object.fromEntries(methods.map((m) => [m, upperEnvelope(byMethod(m))]));
  const sft = byMethod("sft")[0];
  const comparisons: Record<string, Comparison> = {};
  const verdicts: VerdictRow[] = [];
  const has = (m: string) => methods.includes(m);
  const claim = (
    key: string,
    a: string,
    b: string,
    mode: "dominates" | "atLeast",
    text: string,
    explain: (c: Comparison) => string,
  ) => {
    if (!has(a) || !has(b)) {
      verdicts.push({
        claim: text,
        measured: `not run: ${[a, b].filter((m) => !has(m)).join(", ")} missing from the results`,
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
    verdicts.push({ claim: text, measured: describeComparison(c), reproduced: c.verdict, why: explain(c) });
  };
  const why = (a: string, b: string) => (c: Comparison) => {
    const A = METHOD_STYLE[a]?.name ?? a;
    const B = METHOD_STYLE[b]?.name ?? b;
    if (c.verdict === "n/a") return `${A} or ${B} has no points, or they share no KL range`;
    if (c.verdict === "yes")
      return `${A}'s envelope is above ${B}'s at every matched KL budget, significantly at most of them, and in every training seed`;
    if (c.verdict === "partly") {
      const seedsBehind = c.seedDiffs.filter((d) => !(d > 0)).length;
      const weak =
        c.positive === c.diffs.length && c.significant >= c.diffs.length / 2 && seedsBehind > 0
          ? `significantly at ${c.significant}, but not in ${seedsBehind} of ${c.seedDiffs.length} training seeds`
          : `significantly at ${c.significant}`;
      return `${A} is above ${B} at ${c.positive} of ${c.diffs.length} budgets, ${weak}: the direction holds, the evidence at this scale is weak`;
    }
    return `${A}'s envelope is not above ${B}'s at most matched KL budgets: the claim does not hold at this scale`;
  };
  claim(
    "dpo>ppo",
    "dpo",
    "ppo",
    "dominates",
    "DPO's reward–KL frontier dominates PPO with a learned reward model",
    why("dpo", "ppo"),
  );
  claim(
    "dpo>ppo-gt",
    "dpo",
    "ppo-gt",
    "dominates",
    "DPO's frontier dominates even PPO with the ground-truth reward (PPO-GT)",
    why("dpo", "ppo-gt"),
  );
  claim(
    "dpo>unlikelihood",
    "dpo",
    "unlikelihood",
    "dominates",
    "Unlikelihood falls below DPO",
    why("dpo", "unlikelihood"),
  );
  claim(
    "dpo>preferred-ft",
    "dpo",
    "preferred-ft",
    "dominates",
    "Preferred-FT falls below DPO",
    why("dpo", "preferred-ft"),
  );
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
  return { points, envelopes, sft, verdicts, comparisons };
}

/** A copy of the points without per-prompt arrays (for tables and plots). */
export function slimPoints(points: readonly FrontierPoint[]): FrontierPoint[] {
  return points.map(({ perPromptReward: _r, perPromptKl: _k, ...rest }) => rest);
}
