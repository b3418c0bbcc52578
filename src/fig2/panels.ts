// Small multiples for the Figure-2 plots: which methods share a panel (one panel per method family, with
// reference methods repeated in each), and the plotly grid that lays the panels out with one title each.
// The figures themselves are in src/fig2/plots.ts; this file only decides where each trace goes.
import type { PlotlyFigure } from "../display";

/** A panel: the methods it is about, and the methods repeated in it as a reference (drawn lighter). */
export interface MethodFamily {
  title: string;
  methods: string[];
  references: string[];
}

/**
 * The Figure-2 families. The first panel is the paper's own comparison (DPO, PPO, PPO-GT); every other
 * panel repeats DPO and PPO-GT as the reference frontiers the paper's claims are about.
 */
export const FIG2_FAMILIES: readonly MethodFamily[] = [
  { title: "The paper's comparison: DPO vs PPO", methods: ["dpo", "ppo", "ppo-gt"], references: [] },
  {
    title: "The paper's supervised baselines",
    methods: ["unlikelihood", "preferred-ft"],
    references: ["dpo", "ppo-gt"],
  },
  { title: "RLOO: policy gradient without a critic", methods: ["rloo", "rloo-gt"], references: ["dpo", "ppo-gt"] },
  { title: "DPO's cousins on pairs: IPO, cDPO", methods: ["ipo", "cdpo"], references: ["dpo", "ppo-gt"] },
  { title: "Other data: KTO (unpaired), listwise", methods: ["kto", "listwise"], references: ["dpo", "ppo-gt"] },
  { title: "Best-of-N sampling (no training)", methods: ["best-of-n", "best-of-n-gt"], references: ["dpo", "ppo-gt"] },
];

/**
 * The families restricted to the methods present (a family with none of its methods is left out; its
 * references are kept only when present). A present method in no family is not dropped: it gets a panel
 * "Other methods" of at most `perPanel` methods each, with DPO and PPO-GT as references.
 */
export function familiesFor(
  present: readonly string[],
  families: readonly MethodFamily[] = FIG2_FAMILIES,
  perPanel = 2,
): MethodFamily[] {
  const has = new Set(present);
  const out: MethodFamily[] = [];
  for (const f of families) {
    const methods = f.methods.filter((m) => has.has(m));
    if (methods.length) out.push({ ...f, methods, references: f.references.filter((m) => has.has(m)) });
  }
  const placed = new Set(families.flatMap((f) => f.methods));
  const rest = present.filter((m) => m !== "sft" && !placed.has(m));
  for (let i = 0; i < rest.length; i += perPanel) {
    out.push({
      title: "Other methods",
      methods: rest.slice(i, i + perPanel),
      references: ["dpo", "ppo-gt"].filter((m) => has.has(m)),
    });
  }
  return out;
}

/** The axis names of panel i (0-based): "x"/"y" for the first, "x2"/"y2" for the second, ... */
export function panelAxes(i: number): { x: string; y: string; xLayout: string; yLayout: string } {
  const n = i === 0 ? "" : String(i + 1);
  return { x: `x${n}`, y: `y${n}`, xLayout: `xaxis${n}`, yLayout: `yaxis${n}` };
}

/**
 * Lays out panels (each a list of traces) in a grid of `columns`, one title per panel, axis titles on
 * every panel, y axes matched (the same reward scale everywhere). Traces get their panel's axes.
 */
export function panelGrid(
  panels: ReadonlyArray<{ title: string; traces: Array<Record<string, unknown>> }>,
  opts: { title: string; xTitle: string; yTitle: string; columns?: number; panelHeight?: number },
): PlotlyFigure {
  const columns = Math.min(opts.columns ?? 2, Math.max(1, panels.length));
  const rows = Math.max(1, Math.ceil(panels.length / columns));
  const data: Array<Record<string, unknown>> = [];
  const layout: Record<string, unknown> = {
    title: { text: opts.title },
    grid: { rows, columns, pattern: "independent", ygap: 0.35, xgap: 0.12 },
    height: 120 + rows * (opts.panelHeight ?? 300),
    hovermode: "closest",
    legend: { orientation: "h", y: -0.08, yanchor: "top" },
  };
  const annotations: Array<Record<string, unknown>> = [];
  panels.forEach((p, i) => {
    const ax = panelAxes(i);
    for (const t of p.traces) data.push({ ...t, xaxis: ax.x, yaxis: ax.y });
    layout[ax.xLayout] = { title: { text: opts.xTitle }, rangemode: "tozero" };
    layout[ax.yLayout] = { title: { text: opts.yTitle }, ...(i > 0 ? { matches: "y" } : {}) };
    annotations.push({
      text: `<b>${p.title}</b>`,
      showarrow: false,
      xref: `${ax.x} domain`,
      yref: `${ax.y} domain`,
      x: 0.5,
      y: 1.02,
      xanchor: "center",
      yanchor: "bottom",
    });
  });
  layout.annotations = annotations;
  return { data, layout };
}

/** Traces per panel of a figure laid out by panelGrid, keyed by the x axis name ("x", "x2", ...). */
export function tracesPerPanel(fig: PlotlyFigure): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of fig.data) {
    const x = String(t.xaxis ?? "x");
    out[x] = (out[x] ?? 0) + 1;
  }
  return out;
}
