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
// plotly.js (4.8 MB minified) is not stored in the notebook: the first figure shown to each page (each
// front-end client session: a reloaded page is a new one) loads it into that page through a display that
// runs it and is then updated to nothing (update_display_data), so the saved notebook keeps only the
// figures. A figure drawn where window.Plotly is missing anyway (a saved notebook reopened while its
// kernel runs) asks the kernel for the library over a comm ("prefopt.plotly", kernel-patches.js). The
// HTML export inlines plotly.js once in its <head> (scripts/nbconvert/prefopt, scripts/execute_notebook.py),
// so it stays self-contained and offline.
import * as fs from "fs";
import * as path from "path";
import type { DataFrame } from "danfojs-node";
import { sendToKernel, type MimeBundle } from "./kernelOutput";
export { sendToKernel, type MimeBundle } from "./kernelOutput";

export interface PlotlyFigure {
  data: Array<Record<string, unknown>>;
  layout?: Record<string, unknown>;
  config?: Record<string, unknown>;
}

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

/** plotly.js in a <script> element that cannot be closed early by the library's own text. */
export function plotlyScriptTag(): string {
  return `<script type="text/javascript">${plotlyBundle().replace(/<\/script/gi, "<\\/script")}</script>`;
}

/**
 * The front-end client session of the request the kernel is running (the `session` of the execute_request's
 * header; kernel-patches.js records it). Each page that talks to the kernel has its own, and a reloaded page
 * gets a new one. Undefined outside the prefopt kernel.
 */
export function clientSession(): string | undefined {
  const k = (globalThis as unknown as Record<symbol, { clientSession?: string } | undefined>)[
    Symbol.for("prefopt.kernel")
  ];
  return k?.clientSession;
}

/** Client sessions (pages) plotly.js has been loaded into by this kernel. */
const plotlyLoadedInto = new Set<string>();

/**
 * Load plotly.js into the requesting page unless this kernel already did for that page (client session),
 * leaving nothing in the saved notebook: the loader display is updated to nothing once it ran.
 */
function loadPlotlyIntoPage(): void {
  const session = clientSession() ?? "";
  if (plotlyLoadedInto.has(session)) return;
  const displayId = `prefopt-plotly-loader-${process.pid}-${plotlyLoadedInto.size + 1}`;
  if (!sendToKernel({ "text/html": plotlyScriptTag(), "text/plain": "" }, { displayId })) return;
  sendToKernel({ "text/plain": "" }, { displayId, update: true });
  plotlyLoadedInto.add(session);
}

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
    `var draw=function(){window.Plotly.newPlot(el,${scriptSafeJson(fig.data)},${scriptSafeJson(fig.layout ?? {})},${scriptSafeJson(config)});};` +
    `if(window.Plotly){draw();return;}` +
    `el.textContent="loading plotly.js from the kernel…";` +
    `(window.prefoptLoadPlotly=window.prefoptLoadPlotly||${PLOTLY_FROM_KERNEL})().then(function(){el.textContent="";draw();},` +
    `function(why){el.textContent="plotly.js is not loaded in this page ("+why+"): run the cell again with the kernel running.";});})();</script>`
  );
}

/**
 * Page-side loader (classic Notebook): when window.Plotly is missing, open a comm to the running kernel
 * (target "prefopt.plotly", answered by kernel-patches.js with the library's source) and run what it sends.
 * Shared by every figure of the page (one request); rejects after 60 s or where there is no kernel.
 */
const PLOTLY_FROM_KERNEL =
  `(function(){var p=null;return function(){if(window.Plotly)return Promise.resolve();if(p)return p;` +
  `p=new Promise(function(ok,fail){var t0=Date.now();(function attempt(){` +
  `var J=window.Jupyter,k=J&&J.notebook&&J.notebook.kernel;` +
  `if(!k||!k.comm_manager||!(k.is_connected&&k.is_connected())){if(Date.now()-t0>60000){p=null;fail("no running kernel");}else setTimeout(attempt,250);return;}` +
  `var c=k.comm_manager.new_comm("prefopt.plotly",{});c.on_msg(function(m){var d=m.content.data||{};` +
  `if(typeof d.source!=="string"){p=null;fail(String(d.error||"the kernel sent no library"));return;}` +
  `var s=document.createElement("script");s.text=d.source;document.head.appendChild(s);` +
  `if(window.Plotly)ok();else{p=null;fail("the library did not load");}});})();});return p;};})()`;

/** A one-line text summary of a figure (terminals, text exports). */
export function figureText(fig: PlotlyFigure): string {
  const title = fig.layout?.title;
  const name = typeof title === "string" ? title : ((title as { text?: string } | undefined)?.text ?? "untitled");
  const traces = fig.data.map((t) => `${t.type ?? "scatter"}${t.name ? ` "${t.name}"` : ""}`).join(", ");
  return `<plotly figure: ${name}; ${fig.data.length} trace(s): ${traces}>`;
}

/**
 * The mime bundle of a figure (plotly JSON, HTML that draws it, a text summary). In a kernel it first makes
 * sure the requesting page has plotly.js (loaded once per page), so the HTML form can draw.
 */
export function figureBundle(figure: PlotlyFigure): MimeBundle {
  const id = `prefopt-plot-${process.pid}-${++figureCounter}`;
  const fig = normaliseFigure(figure);
  loadPlotlyIntoPage();
  return {
    "application/vnd.plotly.v1+json": { data: fig.data, layout: fig.layout ?? {}, config: fig.config ?? {} },
    "text/html": figureHtml(fig, id, false),
    "text/plain": figureText(fig),
  };
}

/** Show an interactive plotly figure (one display message; plotly.js loaded into each page once). */
export function showFigure(fig: PlotlyFigure): void {
  const bundle = figureBundle(fig);
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
