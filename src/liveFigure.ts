// A training-curve figure that redraws in place while a notebook loop runs (pf.liveFigure): one plotly
// display, replaced with update_display_data as points arrive. Outside a notebook it prints the figure's
// text summary when done.
import { figureBundle, figureText, sendToKernel, type PlotlyFigure } from "./display";

export interface LiveFigure {
  /** Add point (x, y) to the line called `trace` (created on first use); redraws at most every `everyMs`. */
  push(trace: string, x: number, y: number): void;
  /** Draw the current state now (in a notebook, in place; elsewhere nothing until done()). */
  draw(): void;
  /** Final draw; outside a notebook prints the figure's text summary (no return value: as a cell's last
   * line it would be drawn a second time as the cell's value; figure() gives the figure). */
  done(): void;
  figure(): PlotlyFigure;
}

let liveFigures = 0;

/**
 * A training-curve figure that updates in place while a loop runs (one display, replaced with
 * update_display_data), for notebook loops:
 *   const fig = pf.liveFigure({ title: "loss", xaxis: { title: "step" } });
 *   for (...) { ...; fig.push("train", step, loss); }
 *   fig.done();
 */
export function liveFigure(layout: Record<string, unknown> = {}, opts: { everyMs?: number } = {}): LiveFigure {
  const everyMs = opts.everyMs ?? 500;
  const traces = new Map<string, { x: number[]; y: number[] }>();
  const displayId = `prefopt-live-${process.pid}-${++liveFigures}`;
  let shown = false;
  let lastMs = -Infinity;
  const figure = (): PlotlyFigure => ({
    data: [...traces].map(([name, t], i) => ({
      type: "scatter",
      mode: "lines",
      name,
      x: t.x.slice(),
      y: t.y.slice(),
      line: { color: LIVE_COLORS[i % LIVE_COLORS.length] },
    })),
    layout,
  });
  const draw = (): void => {
    lastMs = Date.now();
    if (sendToKernel(figureBundle(figure()), { displayId, update: shown })) shown = true;
  };
  return {
    push(trace, x, y) {
      let t = traces.get(trace);
      if (!t) traces.set(trace, (t = { x: [], y: [] }));
      t.x.push(x);
      t.y.push(y);
      if (Date.now() - lastMs >= everyMs) draw();
    },
    draw,
    done() {
      const fig = figure();
      if (!sendToKernel(figureBundle(fig), { displayId, update: shown })) console.log(figureText(fig));
      shown = true;
    },
    figure,
  };
}

/** plotly's default colour cycle (the first five), so live curves look like the notebooks' figures. */
const LIVE_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd"];
