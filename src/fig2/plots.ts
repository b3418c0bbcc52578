// Figure 2 as interactive plotly figures, and completions at a matched KL, from a Fig2Summary.
import type { PlotlyFigure } from "../display";
import type { FrontierPoint } from "./envelope";
import type { CheckpointRow } from "./run";
import { METHOD_STYLE, type Fig2Summary } from "./summary";

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

/**
 * The paper's Figure 2 (left): every (knob, checkpoint) point as a faint marker with 95% CI bars (clustered
 * by prompt), each method's upper envelope as a line, the SFT model as a star. Hover: knob and step.
 */
export function frontierFigure(
  summary: Fig2Summary,
  title = "Reward vs KL(π‖π_ref) on held-out prefixes (DPO paper, Fig. 2 left, on rt-polarity)",
): PlotlyFigure {
  const data: Array<Record<string, unknown>> = [];
  for (const m of methodsIn(summary.points).filter((x) => x !== "sft")) {
    const pts = summary.points.filter((p) => p.method === m);
    const env = summary.envelopes[m] ?? [];
    const s = style(m);
    data.push({
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
    });
    data.push({
      type: "scatter",
      mode: "lines+markers",
      name: s.name,
      legendgroup: m,
      x: env.map((p) => p.kl),
      y: env.map((p) => p.reward),
      text: env.map(hover),
      hoverinfo: "text",
      line: { color: s.color, shape: "hv", width: 2 },
      marker: { color: s.color, size: 8 },
    });
  }
  if (summary.sft)
    data.push({
      type: "scatter",
      mode: "markers",
      name: "SFT (π_ref)",
      x: [summary.sft.kl],
      y: [summary.sft.reward],
      text: [hover(summary.sft)],
      hoverinfo: "text",
      marker: { symbol: "star", size: 14, color: "#000000" },
    });
  return {
    data,
    layout: {
      title,
      xaxis: { title: "sequence-level KL(π ‖ π_ref) (nats)", rangemode: "tozero" },
      yaxis: { title: "ground-truth reward: classifier p(positive)" },
      height: 520,
      hovermode: "closest",
    },
  };
}

/**
 * Over-optimisation: per method, the proxy the method optimised and an independent judge against KL. For
 * every method the ground-truth classifier (the labels' source) is drawn solid and VADER dashed; PPO's
 * learned-RM score is in a second panel (its own scale).
 */
export function overOptimisationFigure(summary: Fig2Summary): PlotlyFigure {
  const data: Array<Record<string, unknown>> = [];
  for (const m of methodsIn(summary.points).filter((x) => x !== "sft")) {
    const pts = summary.points.filter((p) => p.method === m).sort((a, b) => a.kl - b.kl);
    const s = style(m);
    data.push({
      type: "scatter",
      mode: "markers",
      name: `${s.name}: classifier`,
      legendgroup: m,
      x: pts.map((p) => p.kl),
      y: pts.map((p) => p.reward),
      text: pts.map(hover),
      hoverinfo: "text",
      marker: { color: s.color, size: 7, symbol: "circle" },
    });
    data.push({
      type: "scatter",
      mode: "markers",
      name: `${s.name}: VADER`,
      legendgroup: m,
      x: pts.map((p) => p.kl),
      y: pts.map((p) => p.vader ?? NaN),
      text: pts.map(hover),
      hoverinfo: "text",
      marker: { color: s.color, size: 7, symbol: "x" },
    });
    data.push({
      type: "scatter",
      mode: "markers",
      name: `${s.name}: learned RM`,
      legendgroup: m,
      showlegend: false,
      xaxis: "x2",
      yaxis: "y2",
      x: pts.map((p) => p.kl),
      y: pts.map((p) => p.rm ?? NaN),
      text: pts.map(hover),
      hoverinfo: "text",
      marker: { color: s.color, size: 7, symbol: "diamond" },
    });
  }
  return {
    data,
    layout: {
      title: "Proxy vs independent reward against KL: classifier (●) and VADER (×), left; learned RM (◆), right",
      grid: { rows: 1, columns: 2, pattern: "independent" },
      xaxis: { title: "KL(π ‖ π_ref) (nats)", domain: [0, 0.58] },
      yaxis: { title: "reward in [0, 1]" },
      xaxis2: { title: "KL(π ‖ π_ref) (nats)", domain: [0.68, 1] },
      yaxis2: { title: "learned RM score" },
      height: 520,
    },
  };
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
