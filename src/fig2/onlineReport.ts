// Figures and tables for notebook 12 (issue 28's online and group methods on the Figure-2 setup), from the
// checkpoint rows and their summary:
//
//   frontierPanels     the reward–KL frontier as small multiples: each panel draws one family's methods
//                      with their checkpoints and envelopes, beside reference methods drawn as envelopes only
//                      (plots.ts's frontierFigure on a sub-summary, moved onto its own axes), ≤ 8 traces a panel
//   overTraining       a value against the training step for two methods, one panel per knob, seeds averaged
//                      (Dr. GRPO vs GRPO: completion length; DPOP vs DPO: the chosen log-ratio)
//   computeRows        per method: runs, steps, completions the policy drew while training, wall seconds
//   matchedKlRows      the common-KL-range comparison behind a claim, as a table row
import type { PlotlyFigure } from "../display";
import type { Comparison } from "./envelope";
import { frontierFigure } from "./plots";
import type { CheckpointRow } from "./run";
import type { Fig2RunPreset } from "./runPresets";
import { METHOD_STYLE, type Fig2Summary } from "./summary";

export interface FrontierPanel {
  title: string;
  /** Drawn as their envelope only (dotted): the baselines each panel is read against. */
  references: string[];
  /** Drawn with their checkpoints (faint markers, 95% CI bars) and envelopes. */
  methods: string[];
}

/** Notebook 12's panels: each new method beside DPO and PPO-GT (the group methods beside PPO-GT and RLOO-GT). */
export const ONLINE_PANELS: readonly FrontierPanel[] = [
  {
    title: "Online (OAIF) and iterative DPO vs offline DPO",
    references: ["dpo", "ppo-gt"],
    methods: ["online-dpo-gt", "iterative-dpo-gt"],
  },
  {
    title: "TR-DPO: soft and hard reference updates",
    references: ["dpo", "ppo-gt"],
    methods: ["tr-dpo", "tr-dpo-hard"],
  },
  { title: "DPOP vs DPO", references: ["dpo", "ppo-gt"], methods: ["dpop"] },
  {
    title: "GRPO and Dr. GRPO vs PPO-GT and RLOO-GT",
    references: ["ppo-gt", "rloo-gt"],
    methods: ["grpo-gt", "dr-grpo-gt"],
  },
  { title: "On the learned reward model", references: ["dpo", "ppo-gt"], methods: ["grpo", "online-dpo"] },
];

export const MAX_TRACES_PER_PANEL = 8;
const KL_TITLE = "KL(π ‖ π_ref) (nats)";
const REWARD_TITLE = "classifier p(positive)";

type Trace = Record<string, unknown>;

/** Column-major cell [x0, x1] × [y0, y1] of panel i in a rows × columns grid (row 0 on top). */
function cell(i: number, columns: number, rows: number): { x: [number, number]; y: [number, number] } {
  const gapX = 0.08;
  const gapY = 0.14;
  const w = (1 - gapX * (columns - 1)) / columns;
  const h = (1 - gapY * (rows - 1)) / rows;
  const c = i % columns;
  const r = Math.floor(i / columns);
  const x0 = c * (w + gapX);
  const y1 = 1 - r * (h + gapY);
  return { x: [x0, x0 + w], y: [y1 - h, y1] };
}

/** "x", "x2", …: plotly's name of axis i (0-based) in traces; "xaxis", "xaxis2", … in the layout. */
const axis = (letter: "x" | "y", i: number) => (i === 0 ? letter : `${letter}${i + 1}`);
const layoutAxis = (letter: "x" | "y", i: number) => `${letter}axis${i === 0 ? "" : i + 1}`;

/** Panels whose methods the summary has (at least one of `methods`), with only the methods present. */
export function panelsPresent(summary: Fig2Summary, panels: readonly FrontierPanel[]): FrontierPanel[] {
  const has = new Set(summary.points.map((p) => p.method));
  return panels
    .map((p) => ({
      ...p,
      references: p.references.filter((m) => has.has(m)),
      methods: p.methods.filter((m) => has.has(m)),
    }))
    .filter((p) => p.methods.length > 0);
}

/**
 * The frontier as small multiples (one panel per entry of `panels` whose methods are present), two
 * columns, shared axis ranges so panels compare by eye. Throws if a panel would hold more than 8 traces.
 */
export function frontierPanels(summary: Fig2Summary, panels: readonly FrontierPanel[] = ONLINE_PANELS): PlotlyFigure {
  const shown = panelsPresent(summary, panels);
  if (shown.length === 0) throw new Error("frontierPanels: no panel's methods are in the results");
  const columns = Math.min(2, shown.length);
  const rows = Math.ceil(shown.length / columns);
  const drawn = new Set(shown.flatMap((p) => [...p.references, ...p.methods, "sft"]));
  const pts = summary.points.filter((p) => drawn.has(p.method));
  const klMax = Math.max(1, ...pts.map((p) => p.kl));
  const rLo = Math.min(...pts.map((p) => p.reward - (p.rewardHalfWidth ?? 0)));
  const rHi = Math.max(...pts.map((p) => p.reward + (p.rewardHalfWidth ?? 0)));
  const data: Trace[] = [];
  const layout: Record<string, unknown> = { height: 330 * rows + 60, hovermode: "closest", annotations: [] };
  const seen = new Set<string>();
  shown.forEach((panel, i) => {
    const keep = new Set([...panel.references, ...panel.methods, "sft"]);
    const sub: Fig2Summary = {
      ...summary,
      points: summary.points.filter((p) => keep.has(p.method)),
      envelopes: Object.fromEntries(Object.entries(summary.envelopes).filter(([m]) => keep.has(m))),
    };
    const traces = (frontierFigure(sub).data as Trace[]).filter((t) => {
      const group = t.legendgroup as string | undefined;
      const cloud = t.mode === "markers" && group !== undefined;
      return !(cloud && panel.references.includes(group));
    });
    if (traces.length > MAX_TRACES_PER_PANEL)
      throw new Error(`frontierPanels: panel "${panel.title}" has ${traces.length} traces (> ${MAX_TRACES_PER_PANEL})`);
    for (const t of traces) {
      const group = (t.legendgroup as string | undefined) ?? "sft";
      const cloud = t.showlegend === false;
      const ref = panel.references.includes(group);
      const line = ref ? { ...(t.line as object), dash: "dot", width: 1.5 } : t.line;
      const first = !cloud && !seen.has(group);
      if (first) seen.add(group);
      data.push({ ...t, line, legendgroup: group, showlegend: first, xaxis: axis("x", i), yaxis: axis("y", i) });
    }
    const c = cell(i, columns, rows);
    layout[layoutAxis("x", i)] = { title: KL_TITLE, domain: c.x, range: [0, klMax * 1.05], anchor: axis("y", i) };
    layout[layoutAxis("y", i)] = {
      title: REWARD_TITLE,
      domain: c.y,
      range: [rLo - 0.02, rHi + 0.02],
      anchor: axis("x", i),
    };
    (layout.annotations as unknown[]).push({
      text: `<b>${panel.title}</b>`,
      xref: "paper",
      yref: "paper",
      x: (c.x[0] + c.x[1]) / 2,
      y: c.y[1] + 0.02,
      xanchor: "center",
      yanchor: "bottom",
      showarrow: false,
    });
  });
  layout.title = "Reward vs KL on held-out prefixes: each new method (markers: checkpoints) beside dotted baselines";
  return { data, layout };
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
  const columns = Math.min(4, knobs.length);
  const rowsN = Math.ceil(knobs.length / columns);
  const data: Trace[] = [];
  const layout: Record<string, unknown> = { title: opts.title, height: 300 * rowsN + 60, annotations: [] };
  knobs.forEach((k, i) => {
    for (const [m, dash] of [
      [a, "solid"],
      [b, "dash"],
    ] as const) {
      const s = meanBySteps(rows, m, k, value);
      const st = METHOD_STYLE[m] ?? { name: m, color: "#333333" };
      data.push({
        type: "scatter",
        mode: "lines+markers",
        name: st.name,
        legendgroup: m,
        showlegend: i === 0,
        x: s.steps,
        y: s.values,
        line: { color: st.color, dash },
        xaxis: axis("x", i),
        yaxis: axis("y", i),
      });
    }
    const c = cell(i, columns, rowsN);
    layout[layoutAxis("x", i)] = { title: opts.xTitle ?? "training step", domain: c.x, anchor: axis("y", i) };
    layout[layoutAxis("y", i)] = { title: i % columns === 0 ? opts.yTitle : "", domain: c.y, anchor: axis("x", i) };
    (layout.annotations as unknown[]).push({
      text: `${opts.knobLabel} = ${k}`,
      xref: "paper",
      yref: "paper",
      x: (c.x[0] + c.x[1]) / 2,
      y: c.y[1] + 0.01,
      xanchor: "center",
      yanchor: "bottom",
      showarrow: false,
    });
  });
  return { data, layout };
}

export interface ComputeRow {
  method: string;
  runs: number;
  /** Mean over runs of the last checkpoint's step (iterations for GRPO, PPO, RLOO; optimizer steps otherwise). */
  steps: number;
  /** Completions the policy sampled while training, per run (0 for the offline methods). */
  samplesPerRun: number;
  /** Mean wall seconds a run (evaluations included), when known. */
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
  return methods.map((m) => {
    const runs = [...last.entries()].filter(([, r]) => r.method === m);
    const secs = runs.map(([k]) => seconds.get(k)).filter((s): s is number => typeof s === "number");
    return {
      method: m,
      runs: runs.length,
      steps: mean(runs.map(([, r]) => r.step)),
      samplesPerRun: mean(runs.map(([, r]) => samplesDrawn(r, preset))),
      secondsPerRun: secs.length === runs.length ? mean(secs) : NaN,
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
