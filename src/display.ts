// Rich output for tslab notebooks: interactive plotly figures and DataFrame tables.
//
// A figure goes out as ONE Jupyter display message carrying three representations, so every front end
// picks the one it renders best:
//   application/vnd.plotly.v1+json  JupyterLab (with its plotly renderer) and VS Code
//   text/html                       classic Notebook, JupyterLab without the renderer, nbconvert's HTML
//                                   export: a div and a call to window.Plotly (no library inside)
//   text/plain                      terminals, nbconvert to text, and anything else
// Outside a notebook (scripts, tests) the text form is printed instead.
//
// plotly.js (4.8 MB minified) is not stored in the notebook: the first figure a kernel shows loads it
// into the page through a display that runs it and is then updated to nothing (update_display_data), so
// the saved notebook keeps only the figures. The HTML export inlines plotly.js once in its <head>
// (scripts/nbconvert/prefopt, scripts/execute_notebook.py), so it stays self-contained and offline.
import * as fs from "fs";
import * as path from "path";
import type { DataFrame } from "danfojs-node";

export interface PlotlyFigure {
  data: Array<Record<string, unknown>>;
  layout?: Record<string, unknown>;
  config?: Record<string, unknown>;
}

type MimeBundle = Record<string, string | object>;

/** Escape text for HTML element content and attribute values. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

/** JSON that is safe inside an inline <script>: no "</script>" or "<!--" can close or comment it out. */
export function scriptSafeJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

let plotlySource: string | undefined;
/**
 * plotly.js from the plotly.js-dist package, minified with esbuild (10 MB → 4.8 MB, under a second) and
 * cached in node_modules/.cache, so each exported notebook carries the library once and works offline.
 */
export function plotlyBundle(): string {
  if (plotlySource !== undefined) return plotlySource;
  const pkgDir = path.dirname(require.resolve("plotly.js-dist/package.json"));
  const version = (JSON.parse(fs.readFileSync(path.join(pkgDir, "package.json"), "utf8")) as { version: string })
    .version;
  const cache = path.join(pkgDir, "..", ".cache", "prefopt", `plotly-${version}.min.js`);
  if (fs.existsSync(cache)) return (plotlySource = fs.readFileSync(cache, "utf8"));
  const full = fs.readFileSync(path.join(pkgDir, "plotly.js"), "utf8");
  try {
    const esbuild = require("esbuild") as { transformSync(src: string, o: object): { code: string } };
    plotlySource = esbuild.transformSync(full, { minify: true, legalComments: "inline" }).code;
    fs.mkdirSync(path.dirname(cache), { recursive: true });
    fs.writeFileSync(cache, plotlySource);
  } catch {
    plotlySource = full; // still correct, just larger
  }
  return plotlySource;
}

/** Send a display message if we are inside a tslab kernel; returns false elsewhere. */
function sendToKernel(bundle: MimeBundle, opts: { displayId?: string; update?: boolean } = {}): boolean {
  let jupyter: { lastWriteDisplayData: ((d: object, update: boolean) => void) | null } | undefined;
  try {
    jupyter = require("tslab/dist/jupyter");
  } catch {
    return false;
  }
  if (!jupyter || !jupyter.lastWriteDisplayData) return false;
  const transient = opts.displayId ? { display_id: opts.displayId } : {};
  jupyter.lastWriteDisplayData({ data: bundle, metadata: {}, transient }, Boolean(opts.update));
  return true;
}

/** Load plotly.js into the front end's page once per kernel, leaving nothing in the saved notebook. */
function loadPlotlyIntoPage(): boolean {
  const displayId = `prefopt-plotly-loader-${process.pid}`;
  const script = `<script type="text/javascript">${plotlyBundle().replace(/<\/script/gi, "<\\/script")}</script>`;
  if (!sendToKernel({ "text/html": script, "text/plain": "" }, { displayId })) return false;
  return sendToKernel({ "text/plain": "" }, { displayId, update: true });
}

let plotlyInlined = false;
let figureCounter = 0;

/**
 * plotly.js 3+ dropped the shorthand `title: "text"` (for the figure, axes, legends, colour bars) and
 * silently draws no title; older notebooks and plotly's own examples still use it. Rewrite every string
 * `title` into `{text}` so both spellings work, in the layout and in the traces (colour bars).
 */
export function normaliseFigure(fig: PlotlyFigure): PlotlyFigure {
  const fix = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(fix);
    if (v === null || typeof v !== "object" || ArrayBuffer.isView(v)) return v;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>))
      out[k] = k === "title" && typeof x === "string" ? { text: x } : fix(x);
    return out;
  };
  return {
    ...fig,
    data: fix(fig.data) as PlotlyFigure["data"],
    layout: fix(fig.layout ?? {}) as Record<string, unknown>,
  };
}

/** The figure's height in px when it is a positive number, else plotly's default-ish 420 (never NaN). */
function minHeightPx(height: unknown): number {
  const h = Number(height);
  return Number.isFinite(h) && h > 0 ? h : 420;
}

/** HTML that draws `fig` with plotly; `includeLibrary` inlines plotly.js first. */
export function figureHtml(figure: PlotlyFigure, id: string, includeLibrary: boolean): string {
  const fig = normaliseFigure(figure);
  const lib = includeLibrary ? `<script type="text/javascript">${plotlyBundle()}</script>\n` : "";
  const config = { responsive: true, displaylogo: false, ...(fig.config ?? {}) };
  return (
    lib +
    `<div id="${id}" class="prefopt-plot" style="width:100%;min-height:${minHeightPx(fig.layout?.height)}px"></div>\n` +
    `<script type="text/javascript">(function(){var el=document.getElementById(${JSON.stringify(id)});` +
    `if(!window.Plotly){el.textContent="plotly.js is not loaded in this page (the kernel loads it with its first figure): restart the kernel and run the notebook from the top.";return;}` +
    `window.Plotly.newPlot(el,${scriptSafeJson(fig.data)},${scriptSafeJson(fig.layout ?? {})},${scriptSafeJson(config)});})();</script>`
  );
}

function figureText(fig: PlotlyFigure): string {
  const title = fig.layout?.title;
  const name = typeof title === "string" ? title : ((title as { text?: string } | undefined)?.text ?? "untitled");
  const traces = fig.data.map((t) => `${t.type ?? "scatter"}${t.name ? ` "${t.name}"` : ""}`).join(", ");
  return `<plotly figure: ${name}; ${fig.data.length} trace(s): ${traces}>`;
}

/** Show an interactive plotly figure (one display message; plotly.js loaded into the page once per kernel). */
export function showFigure(fig: PlotlyFigure): void {
  const id = `prefopt-plot-${process.pid}-${++figureCounter}`;
  fig = normaliseFigure(fig);
  const bundle: MimeBundle = {
    "application/vnd.plotly.v1+json": { data: fig.data, layout: fig.layout ?? {}, config: fig.config ?? {} },
    "text/html": figureHtml(fig, id, false),
    "text/plain": figureText(fig),
  };
  if (!plotlyInlined) plotlyInlined = loadPlotlyIntoPage();
  if (!sendToKernel(bundle)) console.log(bundle["text/plain"]);
}

function formatCell(v: unknown, digits: number): string {
  if (typeof v === "number") {
    if (Number.isInteger(v)) return String(v);
    if (!Number.isFinite(v)) return String(v);
    const a = Math.abs(v);
    return a !== 0 && (a < 1e-3 || a >= 1e6) ? v.toExponential(digits - 1) : v.toFixed(digits);
  }
  if (v === null || v === undefined) return "";
  return String(v);
}

/** An HTML table (every value escaped) from column names and rows. */
export function tableHtml(
  columns: string[],
  rows: unknown[][],
  opts: { caption?: string; digits?: number } = {},
): string {
  const digits = opts.digits ?? 4;
  // Numbers right-aligned (digits line up), text left-aligned (it reads from the left); a header follows its column.
  const align = columnAlignment(columns, rows);
  const style = (j: number) => ` style="text-align:${align[j]}"`;
  const head = columns.map((c, j) => `<th${style(j)}>${escapeHtml(c)}</th>`).join("");
  const body = rows
    .map(
      (r) =>
        `<tr>${r.map((v, j) => `<td${typeof v === "number" ? ' style="text-align:right"' : style(j)}>${escapeHtml(formatCell(v, digits))}</td>`).join("")}</tr>`,
    )
    .join("\n");
  const caption = opts.caption ? `<caption>${escapeHtml(opts.caption)}</caption>` : "";
  return `<table class="dataframe prefopt-table">${caption}<thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

/** "right" for a column whose cells are all numbers (or empty), else "left". */
function columnAlignment(columns: string[], rows: unknown[][]): ("left" | "right")[] {
  return columns.map((_, j) =>
    rows.every((r) => r[j] === null || r[j] === undefined || typeof r[j] === "number") ? "right" : "left",
  );
}

/** A fixed-width text table for terminals (numbers right-aligned, text left-aligned). */
export function tableText(columns: string[], rows: unknown[][], digits = 4): string {
  const align = columnAlignment(columns, rows);
  const cells = [columns, ...rows.map((r) => r.map((v) => formatCell(v, digits)))];
  const widths = columns.map((_, j) => Math.max(...cells.map((r) => String(r[j] ?? "").length)));
  const pad = (c: unknown, j: number) =>
    align[j] === "right" ? String(c ?? "").padStart(widths[j]) : String(c ?? "").padEnd(widths[j]);
  return cells.map((r) => r.map(pad).join("  ").trimEnd()).join("\n");
}

/** Show a danfojs DataFrame as an HTML table (text table outside a notebook). */
export function showTable(df: DataFrame, opts: { caption?: string; digits?: number } = {}): void {
  const columns = df.columns.map(String);
  const rows = df.values as unknown[][];
  const text = tableText(columns, rows, opts.digits);
  if (!sendToKernel({ "text/html": tableHtml(columns, rows, opts), "text/plain": text })) console.log(text);
}

/** Show Markdown (LaTeX allowed) computed at run time. */
export function showMarkdown(markdown: string): void {
  if (!sendToKernel({ "text/markdown": markdown, "text/plain": markdown })) console.log(markdown);
}
