// Small multiples for plotly figures: many series laid out as a grid of panels, each with its own axes,
// title and legend, so no panel holds more than MAX_TRACES_PER_PANEL lines (issue 29: a figure with 50
// traces and reused colours cannot be read). The notebooks build their traces as usual and pass them
// here grouped by panel; the helper places the axes, the panel titles and one legend per panel.

/** The most traces one panel may hold (the notebooks' figure rule). */
export const MAX_TRACES_PER_PANEL = 8;

export interface Panel {
  /** Shown above the panel. */
  title: string;
  /** Plotly traces of this panel (their xaxis, yaxis and legend fields are set here). */
  traces: Array<Record<string, unknown>>;
}

export interface SmallMultiplesOptions {
  /** The figure's title. */
  title: string;
  /** Axis titles in words with units: the x title goes under the bottom row, the y title left of the first column. */
  xTitle: string;
  yTitle: string;
  /** Panels per row (default 2). */
  columns?: number;
  /** Height of one row of panels in pixels (default 280). */
  rowHeight?: number;
  /** Merged into every x axis / y axis (e.g. a range or `type: "log"`). */
  xaxis?: Record<string, unknown>;
  yaxis?: Record<string, unknown>;
  /** Share of the figure's width kept right of each panel for its legend (default 0.17). */
  legendWidth?: number;
}

interface Domain {
  x: [number, number];
  y: [number, number];
}

/** Pixels between two rows of panels: room for the upper panel's tick labels and the lower one's title. */
const ROW_GAP_PX = 70;

/** Where panel k (0-based, row-major) sits in paper coordinates; plotPx is the plot area's height. */
function panelDomain(k: number, columns: number, rows: number, legendWidth: number, plotPx: number): Domain {
  const colWidth = 1 / columns;
  const gapY = rows > 1 ? Math.min(ROW_GAP_PX / plotPx, 0.5 / (rows - 1)) : 0;
  const height = (1 - gapY * (rows - 1)) / rows;
  const [r, c] = [Math.floor(k / columns), k % columns];
  const x0 = c * colWidth + (c > 0 ? 0.02 : 0);
  const x1 = (c + 1) * colWidth - legendWidth;
  const y1 = 1 - r * (height + gapY);
  return { x: [x0, x1], y: [y1 - height, y1] };
}

/**
 * A plotly figure ({ data, layout }) with one panel per entry of `panels`, `columns` to a row. Each panel
 * gets its own axes (x, x2, …), a title above it and its own legend to its right. Throws, naming the panel,
 * when a panel has no traces or more than MAX_TRACES_PER_PANEL; the input traces are not modified.
 */
export function smallMultiples(
  panels: Panel[],
  opts: SmallMultiplesOptions,
): { data: Array<Record<string, unknown>>; layout: Record<string, unknown> } {
  if (panels.length === 0) throw new Error(`smallMultiples "${opts.title}": no panels`);
  const columns = Math.min(opts.columns ?? 2, panels.length);
  if (!Number.isInteger(columns) || columns < 1)
    throw new Error(`smallMultiples "${opts.title}": columns must be a positive integer, got ${opts.columns}`);
  const legendWidth = opts.legendWidth ?? 0.17;
  if (!(legendWidth >= 0 && legendWidth < 0.8 / columns))
    throw new Error(`smallMultiples "${opts.title}": legendWidth ${legendWidth} leaves no room for the panels`);
  panels.forEach((p) => {
    if (p.traces.length === 0) throw new Error(`smallMultiples "${opts.title}": panel "${p.title}" has no traces`);
    if (p.traces.length > MAX_TRACES_PER_PANEL)
      throw new Error(
        `smallMultiples "${opts.title}": panel "${p.title}" has ${p.traces.length} traces ` +
          `(at most ${MAX_TRACES_PER_PANEL}: split it)`,
      );
  });
  const rows = Math.ceil(panels.length / columns);
  const data: Array<Record<string, unknown>> = [];
  const height = 90 + rows * (opts.rowHeight ?? 280);
  const plotPx = height - 180; // plotly's default top and bottom margins: 100 and 80 pixels
  const layout: Record<string, unknown> = {
    title: { text: opts.title },
    height,
    annotations: [] as Array<Record<string, unknown>>,
  };
  panels.forEach((panel, k) => {
    const suffix = k === 0 ? "" : String(k + 1);
    const legend = `legend${suffix}`;
    const d = panelDomain(k, columns, rows, legendWidth, plotPx);
    const bottomRow = k + columns >= panels.length; // the lowest panel of its column
    layout[`xaxis${suffix}`] = {
      ...(opts.xaxis ?? {}),
      domain: d.x,
      anchor: `y${suffix}`,
      ...(bottomRow ? { title: { text: opts.xTitle } } : {}),
    };
    layout[`yaxis${suffix}`] = {
      ...(opts.yaxis ?? {}),
      domain: d.y,
      anchor: `x${suffix}`,
      ...(k % columns === 0 ? { title: { text: opts.yTitle } } : {}),
    };
    layout[legend] = { x: d.x[1] + 0.005, y: d.y[1], xanchor: "left", yanchor: "top", font: { size: 10 } };
    (layout.annotations as Array<Record<string, unknown>>).push({
      text: `<b>${panel.title}</b>`,
      xref: `x${suffix} domain`,
      yref: `y${suffix} domain`,
      x: 0.5,
      y: 1,
      xanchor: "center",
      yanchor: "bottom",
      showarrow: false,
    });
    for (const t of panel.traces) data.push({ ...t, xaxis: `x${suffix}`, yaxis: `y${suffix}`, legend });
  });
  return { data, layout };
}
