// Figures and tables for notebook 12 (issue 28's online and group methods on the Figure-2 setup), from the
// checkpoint rows and their summary:
//
//   frontierPanels     the reward–KL frontier as small multiples (plots.ts's frontierFigure with this study's
//                      families: each family's methods with checkpoints and envelopes, DPO / PPO-GT / RLOO-GT
//                      as dashed reference envelopes), ≤ 8 traces a panel
//   overTraining       a value against the training step for two methods, one panel per knob (panels.ts's
//                      grid), seeds averaged
//                      (Dr. GRPO vs GRPO: completion length; DPOP vs DPO: the chosen log-ratio)
//   computeRows        per method: runs, steps, completions the policy drew while training, median wall seconds
//   matchedKlRows      the common-KL-range comparison behind a claim, as a table row
import type { PlotlyFigure } from "../display";
import { MAX_TRACES_PER_PANEL } from "../smallMultiples";
import type { Comparison } from "./envelope";
import { panelGrid, tracesPerPanel, type MethodFamily } from "./panels";
import { frontierFigure } from "./plots";
import type { CheckpointRow } from "./run";
import type { Fig2RunPreset } from "./runPresets";
import { METHOD_STYLE, type Fig2Summary } from "./summary";

/**
 * Notebook 12's panels (src/fig2/panels.ts's families): the baselines together first, then each new method
 * beside DPO and PPO-GT (the group methods beside PPO-GT and RLOO-GT) as dashed references.
 */
export const ONLINE_FAMILIES: readonly MethodFamily[] = [
  { title: "The baselines: DPO, PPO-GT, RLOO-GT", methods: ["dpo", "ppo-gt", "rloo-gt"], references: [] },
  {
    title: "Online (OAIF) and iterative DPO vs offline DPO",
    methods: ["online-dpo-gt", "iterative-dpo-gt"],
    references: ["dpo", "ppo-gt"],
  },
  {
    title: "TR-DPO: soft and hard reference updates",
    methods: ["tr-dpo", "tr-dpo-hard"],
    references: ["dpo", "ppo-gt"],
  },
  { title: "DPOP vs DPO", methods: ["dpop"], references: ["dpo", "ppo-gt"] },
  {
    title: "GRPO and Dr. GRPO vs PPO-GT and RLOO-GT",
    methods: ["grpo-gt", "dr-grpo-gt"],
    references: ["ppo-gt", "rloo-gt"],
  },
  { title: "On the learned reward model", methods: ["grpo", "online-dpo"], references: ["dpo", "ppo-gt"] },
];

/**
 * The frontier as small multiples (plots.ts's frontierFigure with `families`): a panel per family whose
 * methods ran. Throws if a panel would hold more than 8 traces.
 */
export function frontierPanels(
  summary: Fig2Summary,
  families: readonly MethodFamily[] = ONLINE_FAMILIES,
): PlotlyFigure {
  const fig = frontierFigure(
    summary,
    "Reward vs KL on held-out prefixes: each family's methods beside dashed baselines",
    families,
  );
  for (const [x, n] of Object.entries(tracesPerPanel(fig)))
    if (n > MAX_TRACES_PER_PANEL)
      throw new Error(`frontierPanels: the panel on axis ${x} has ${n} traces (> ${MAX_TRACES_PER_PANEL})`);
  return fig;
}

/** Mean over seeds of `value(row)` at each step of `method` at `knob` (rows where it is finite). */
function meanBySteps(
  rows: readonly CheckpointRow[],
  method: string,
  knob: number,
  value: (r: CheckpointRow) => number,
) {
  const by = new Map<number, number[]>();
  for (const r of rows) {
    if (r.method !== method || r.knob !== knob) continue;
    const v = value(r);
    if (!Number.isFinite(v)) continue;
    by.set(r.step, [...(by.get(r.step) ?? []), v]);
  }
  const steps = [...by.keys()].sort((a, b) => a - b);
  return {
    steps,
    values: steps.map((s) => (by.get(s) as number[]).reduce((a, b) => a + b, 0) / (by.get(s) as number[]).length),
  };
}

/**
 * `value` against the training step for methods a and b, one panel per knob both ran (seeds averaged):
 * 2 traces a panel. `knobLabel` names the knob in the panel titles.
 */
export function overTraining(
  rows: readonly CheckpointRow[],
  a: string,
  b: string,
  value: (r: CheckpointRow) => number,
  opts: { yTitle: string; title: string; knobLabel: string; xTitle?: string },
): PlotlyFigure {
  const knobsOf = (m: string) => new Set(rows.filter((r) => r.method === m).map((r) => r.knob));
  const ka = knobsOf(a);
  const knobs = [...knobsOf(b)].filter((k) => ka.has(k)).sort((x, y) => x - y);
  if (knobs.length === 0) throw new Error(`overTraining: no knob with rows of both ${a} and ${b}`);
  const panels = knobs.map((k, i) => ({
    title: `${opts.knobLabel} = ${k}`,
    traces: (
      [
        [a, "solid"],
        [b, "dash"],
      ] as const
    ).map(([m, dash]) => {
      const s = meanBySteps(rows, m, k, value);
      const st = METHOD_STYLE[m] ?? { name: m, color: "#333333" };
      return {
        type: "scatter",
        mode: "lines+markers",
        name: st.name,
        legendgroup: m,
        showlegend: i === 0,
        x: s.steps,
        y: s.values,
        line: { color: st.color, dash },
      };
    }),
  }));
  return panelGrid(panels, {
    title: opts.title,
    xTitle: opts.xTitle ?? "training step",
    yTitle: opts.yTitle,
    columns: Math.min(4, knobs.length),
  });
}

export interface ComputeRow {
  method: string;
  runs: number;
  /** Mean over runs of the last checkpoint's step (iterations for GRPO, PPO, RLOO; optimizer steps otherwise). */
  steps: number;
  /** Completions the policy sampled while training, per run (0 for the offline methods). */
  samplesPerRun: number;
  /**
   * Median wall seconds a run (evaluations included), when every run's is known: the median, because a run
   * that shared the machine, or was paused, takes far longer than the others and would dominate a mean.
   */
  secondsPerRun: number;
}

/**
 * Completions a run drew from its policy up to `row`: the log's `online/samples` (GRPO, online and iterative
 * DPO), PPO's `step × batchSize`, RLOO's `step × promptsPerIteration × k` (from the preset), 0 for the methods
 * that train on the fixed offline pairs (drawn once from the SFT model and shared by all of them).
 */
export function samplesDrawn(row: CheckpointRow, preset: Fig2RunPreset): number {
  const logged = row.log?.["online/samples"];
  if (typeof logged === "number") return logged;
  if (row.method === "ppo" || row.method === "ppo-gt") return row.step * preset.ppo.batchSize;
  if (row.method === "rloo" || row.method === "rloo-gt")
    return row.step * preset.rloo.promptsPerIteration * preset.rloo.k;
  if (/^(grpo|dr-grpo|online-dpo|iterative-dpo)/.test(row.method))
    throw new Error(`samplesDrawn: a ${row.method} row at step ${row.step} has no online/samples in its log`);
  return 0;
}

/**
 * Compute per method (legend order), from each run's last checkpoint; `seconds` maps "method|knob|seed" to a
 * run's wall seconds (NaN where unknown).
 */
export function computeRows(
  rows: readonly CheckpointRow[],
  preset: Fig2RunPreset,
  seconds: ReadonlyMap<string, number> = new Map(),
): ComputeRow[] {
  const last = new Map<string, CheckpointRow>();
  for (const r of rows) {
    const k = `${r.method}|${r.knob}|${r.seed}`;
    const have = last.get(k);
    if (!have || r.step > have.step) last.set(k, r);
  }
  const order = Object.keys(METHOD_STYLE);
  const methods = [...new Set(rows.map((r) => r.method))].filter((m) => m !== "sft");
  methods.sort((x, y) => (order.indexOf(x) + 1 || 99) - (order.indexOf(y) + 1 || 99));
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    const h = Math.floor(s.length / 2);
    return s.length === 0 ? NaN : s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
  };
  return methods.map((m) => {
    const runs = [...last.entries()].filter(([, r]) => r.method === m);
    const secs = runs.map(([k]) => seconds.get(k)).filter((s): s is number => typeof s === "number");
    return {
      method: m,
      runs: runs.length,
      steps: mean(runs.map(([, r]) => r.step)),
      samplesPerRun: mean(runs.map(([, r]) => samplesDrawn(r, preset))),
      secondsPerRun: secs.length === runs.length ? median(secs) : NaN,
    };
  });
}

/** A claim's common-KL-range comparison as a row: the range, budgets where A is ahead, mean d = E_A − E_B. */
export function matchedKlRow(a: string, b: string, c: Comparison | undefined): Record<string, string | number> {
  const name = (m: string) => METHOD_STYLE[m]?.name ?? m;
  const none = { "A (method)": name(a), "B (baseline)": name(b) };
  if (!c || c.verdict === "n/a" || c.budgets.length === 0)
    return { ...none, "common KL range (nats)": "none", "A ahead at": "-", "mean E_A − E_B": NaN };
  return {
    ...none,
    "common KL range (nats)": `${c.lo.toFixed(2)} – ${c.hi.toFixed(2)}`,
    "A ahead at": `${c.positive}/${c.budgets.length} budgets (CI above 0 at ${c.significant})`,
    "mean E_A − E_B": c.meanDiff,
  };
}
