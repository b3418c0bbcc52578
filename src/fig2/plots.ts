// Figure 2 as interactive plotly figures (small multiples by method family, src/fig2/panels.ts), the learned
// RM against the true reward, and completions at a matched KL with their share of <unk>, from a Fig2Summary.
import type { PlotlyFigure } from "../display";
import type { FrontierPoint } from "./envelope";
import type { CheckpointRow } from "./run";
import { METHOD_STYLE, type Fig2Summary } from "./summary";
import { FIG2_FAMILIES, familiesFor, panelAxes, panelGrid, type MethodFamily } from "./panels";

const style = (m: string) => METHOD_STYLE[m] ?? { name: m, color: "#333333", knob: "knob" };
const hover = (p: FrontierPoint) =>
  `${style(p.method).name}<br>${style(p.method).knob} = ${p.knob}<br>step ${p.step}<br>KL ${p.kl.toFixed(2)} ± ${(p.klHalfWidth ?? NaN).toFixed(2)}<br>reward ${p.reward.toFixed(3)} ± ${(p.rewardHalfWidth ?? NaN).toFixed(3)}<br>seeds ${p.seeds ?? "?"}`;

/** Methods present, in legend order. */
export function methodsIn(points: readonly FrontierPoint[]): string[] {
  const present = new Set(points.map((p) => p.method));
  return [
    ...Object.keys(METHOD_STYLE).filter((m) => present.has(m)),
    ...[...present].filter((m) => !(m in METHOD_STYLE)),
  ];
}

/** A method's checkpoints: faint markers with 95% CI bars (clustered by prompt). */
function checkpointTrace(m: string, pts: readonly FrontierPoint[]): Record<string, unknown> {
  const s = style(m);
  return {
    type: "scatter",
    mode: "markers",
    name: `${s.name} (checkpoints)`,
    legendgroup: m,
    showlegend: false,
    x: pts.map((p) => p.kl),
    y: pts.map((p) => p.reward),
    text: pts.map(hover),
    hoverinfo: "text",
    marker: { color: s.color, size: 6, opacity: 0.35 },
    error_y: {
      type: "data",
      array: pts.map((p) => p.rewardHalfWidth ?? 0),
      visible: true,
      color: s.color,
      thickness: 0.6,
      width: 0,
    },
  };
}

/** A method's upper envelope as a step line; a reference is drawn thin and dashed, without markers. */
function envelopeTrace(m: string, env: readonly FrontierPoint[], reference: boolean): Record<string, unknown> {
  const s = style(m);
  return {
    type: "scatter",
    mode: reference ? "lines" : "lines+markers",
    name: s.name,
    legendgroup: m,
    x: env.map((p) => p.kl),
    y: env.map((p) => p.reward),
    text: env.map(hover),
    hoverinfo: "text",
    line: { color: s.color, shape: "hv", width: reference ? 1.2 : 2, dash: reference ? "dash" : "solid" },
    marker: { color: s.color, size: 7 },
    opacity: reference ? 0.6 : 1,
  };
}

const sftTrace = (sft: FrontierPoint, y: number, name: string, symbol: string) => ({
  type: "scatter",
  mode: "markers",
  name,
  legendgroup: name,
  x: [sft.kl],
  y: [y],
  text: [hover(sft)],
  hoverinfo: "text",
  marker: { symbol, size: 13, color: "#000000" },
});

/** Shows each legend group once across the panels (the first trace of a group keeps its legend entry). */
function legendOnce(data: Array<Record<string, unknown>>): void {
  const seen = new Set<string>();
  for (const t of data) {
    if (t.showlegend === false) continue;
    const g = String(t.legendgroup ?? t.name);
    t.showlegend = !seen.has(g);
    seen.add(g);
  }
}

/**
 * The paper's Figure 2 (left) as small multiples, one panel per method family (src/fig2/panels.ts): the
 * family's every (knob, checkpoint) point as a faint marker with 95% CI bars, each method's upper envelope
 * as a step line, DPO and PPO-GT's envelopes repeated dashed as references, the SFT model as a star at
 * KL 0. At most 8 traces a panel; y axes matched; each panel's KL axis spans its own methods' points.
 * Hover: method, knob, step, KL and reward with CIs.
 */
export function frontierFigure(
  summary: Fig2Summary,
  title = "Reward vs KL(π‖π_ref) on held-out prefixes (DPO paper, Fig. 2 left, on rt-polarity)",
  families: readonly MethodFamily[] = FIG2_FAMILIES,
): PlotlyFigure {
  const shown = familiesFor(methodsIn(summary.points), families);
  const panels = shown.map((f) => {
    const traces: Array<Record<string, unknown>> = [];
    for (const m of f.methods) {
      traces.push(
        checkpointTrace(
          m,
          summary.points.filter((p) => p.method === m),
        ),
      );
      traces.push(envelopeTrace(m, summary.envelopes[m] ?? [], false));
    }
    for (const r of f.references) traces.push(envelopeTrace(r, summary.envelopes[r] ?? [], true));
    if (summary.sft) traces.push(sftTrace(summary.sft, summary.sft.reward, "SFT (π_ref)", "star"));
    return { title: f.title, traces };
  });
  const fig = panelGrid(panels, {
    title,
    xTitle: "KL(π ‖ π_ref), nats",
    yTitle: "reward: classifier P(positive)",
  });
  // Each panel's KL axis spans its own methods' points (the references are cut there; double-click a
  // panel to see them whole), so the baselines near π_ref are not squeezed against the axis.
  shown.forEach((f, i) => {
    const top = Math.max(...summary.points.filter((p) => f.methods.includes(p.method)).map((p) => p.kl));
    const axis = (fig.layout as Record<string, Record<string, unknown>>)[panelAxes(i).xLayout];
    if (Number.isFinite(top) && top > 0) axis.range = [0, 1.05 * top];
  });
  legendOnce(fig.data);
  return fig;
}

/**
 * Over-optimisation as small multiples, one panel per method family: against KL, each method's points
 * scored by the ground-truth classifier (●, what the labels came from) and by VADER (×, a judge no method
 * saw, compound score mapped to [0, 1]); the SFT model's two scores as stars at KL 0. A method exploiting
 * its training signal shows ● rising while × stalls or falls. At most 8 traces a panel.
 */
export function overOptimisationFigure(summary: Fig2Summary): PlotlyFigure {
  const panels = familiesFor(methodsIn(summary.points)).map((f) => {
    const traces: Array<Record<string, unknown>> = [];
    for (const m of f.methods) {
      const pts = summary.points.filter((p) => p.method === m).sort((a, b) => a.kl - b.kl);
      const s = style(m);
      for (const [judge, symbol, ys] of [
        ["classifier", "circle", pts.map((p) => p.reward)],
        ["VADER", "x", pts.map((p) => p.vader ?? NaN)],
      ] as const)
        traces.push({
          type: "scatter",
          mode: "markers",
          name: judge === "classifier" ? s.name : `${s.name}: ${judge}`,
          legendgroup: m,
          showlegend: judge === "classifier" ? undefined : false,
          x: pts.map((p) => p.kl),
          y: ys,
          text: pts.map(hover),
          hoverinfo: "text",
          marker: { color: s.color, size: 7, symbol, opacity: symbol === "x" ? 0.9 : 0.6 },
        });
    }
    if (summary.sft) {
      traces.push(sftTrace(summary.sft, summary.sft.reward, "SFT: classifier", "star"));
      traces.push(sftTrace(summary.sft, summary.sft.vader ?? NaN, "SFT: VADER", "star-open"));
    }
    return { title: f.title, traces };
  });
  const fig = panelGrid(panels, {
    title: "Proxy vs independent judge against KL: classifier (●) and VADER (×)",
    xTitle: "KL(π ‖ π_ref), nats",
    yTitle: "judge's P(positive), 0 to 1",
  });
  legendOnce(fig.data);
  return fig;
}

/** The methods that optimise the learned RM, each next to its twin that optimises the classifier instead. */
export const RM_TWINS: ReadonlyArray<[string, string]> = [
  ["ppo", "ppo-gt"],
  ["rloo", "rloo-gt"],
  ["best-of-n", "best-of-n-gt"],
];

/**
 * Proxy against truth: each point's learned-RM score against its classifier reward, for the methods that
 * optimise the RM and their twins that optimise the classifier (RM_TWINS). A method exploiting the RM sits
 * above its twin at the same classifier reward: more RM score than the true reward explains.
 */
export function rewardModelFigure(summary: Fig2Summary): PlotlyFigure {
  const present = new Set(summary.points.map((p) => p.method));
  const data: Array<Record<string, unknown>> = [];
  for (const m of RM_TWINS.flat().filter((x) => present.has(x))) {
    const pts = summary.points.filter((p) => p.method === m);
    const s = style(m);
    data.push({
      type: "scatter",
      mode: "markers",
      name: s.name,
      x: pts.map((p) => p.reward),
      y: pts.map((p) => p.rm ?? NaN),
      text: pts.map(hover),
      hoverinfo: "text",
      marker: { color: s.color, size: 7, symbol: m.endsWith("-gt") ? "circle-open" : "circle" },
    });
  }
  if (summary.sft)
    data.push({ ...sftTrace(summary.sft, summary.sft.rm ?? NaN, "SFT (π_ref)", "star"), x: [summary.sft.reward] });
  return {
    data,
    layout: {
      title: {
        text: "The learned RM's score against the true reward (filled: optimises the RM; open: the classifier)",
      },
      xaxis: { title: { text: "true reward: classifier P(positive)" } },
      yaxis: { title: { text: "learned RM score (Bradley–Terry logit)" } },
      height: 440,
      hovermode: "closest",
    },
  };
}

/**
 * The share of `<unk>` among the words of stored example completions (rows' `examples`), per method in
 * legend order: how much of what a reader sees is the tokenizer's unknown-word token.
 */
export function unknownShare(rows: readonly CheckpointRow[]): Array<{ method: string; words: number; unk: number }> {
  const counts = new Map<string, { words: number; unk: number }>();
  for (const r of rows) {
    const c = counts.get(r.method) ?? { words: 0, unk: 0 };
    for (const e of r.examples ?? []) {
      const words = e.completion.split(/\s+/).filter((w) => w.length > 0);
      c.words += words.length;
      c.unk += words.filter((w) => w === "<unk>").length;
    }
    counts.set(r.method, c);
  }
  const order = methodsIn([...counts.keys()].map((method) => ({ method }) as FrontierPoint));
  return order.map((method) => ({ method, ...counts.get(method)! }));
}

/** For each method, its point (any knob and checkpoint, not only envelope corners) closest to `kl` (within `tolerance` nats), or none. */
export function pointsAtMatchedKl(summary: Fig2Summary, kl: number, tolerance: number): FrontierPoint[] {
  const out: FrontierPoint[] = [];
  for (const m of methodsIn(summary.points).filter((x) => x !== "sft")) {
    const pts = summary.points.filter((p) => p.method === m && Math.abs(p.kl - kl) <= tolerance);
    if (pts.length) out.push(pts.reduce((a, b) => (Math.abs(a.kl - kl) <= Math.abs(b.kl - kl) ? a : b)));
  }
  return out;
}

/** Example completions (seed 0's stored first samples) of a point. */
export function examplesOf(rows: readonly CheckpointRow[], p: FrontierPoint, seed = 0): CheckpointRow["examples"] {
  const r =
    rows.find((x) => x.method === p.method && x.knob === p.knob && x.step === p.step && x.seed === seed) ??
    rows.find((x) => x.method === p.method && x.knob === p.knob && x.step === p.step);
  return r?.examples ?? [];
}
