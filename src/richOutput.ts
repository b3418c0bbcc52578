// The rich representation of a notebook cell's value: what the prefopt kernel sends as the cell's
// `execute_result` (Jupyter messaging spec 5.3, "Execution results"). Every value gets `text/plain` (as
// Node's REPL prints it); danfojs DataFrames and Series, and tfjs tensors, also get `text/html` (a table,
// elided when large); plotly figures ({data: [...], layout?, config?}) get the same three forms as
// `showFigure`. The kernel (jupyter/kernels/prefopt/kernel-patches.js) calls `richBundle`.
import * as util from "util";
import { escapeHtml, figureBundle, tableHtml, tableText, type MimeBundle, type PlotlyFigure } from "./display";

/** Rows (and, for a tensor, columns) shown before the middle is elided: the first HEAD and last TAIL. */
export const ELIDE = { head: 10, tail: 5 } as const;

interface FrameLike {
  columns: unknown[];
  values: unknown[];
  index: unknown[];
  shape: number[];
}

interface TensorLike {
  shape: number[];
  dtype: string;
  size: number;
  isDisposed: boolean;
  dataSync(): ArrayLike<number | string> | string[];
  toString(): string;
}

function isFrameLike(v: object, name: string): v is FrameLike {
  const o = v as Partial<FrameLike>;
  return v.constructor?.name === name && Array.isArray(o.columns) && Array.isArray(o.values) && Array.isArray(o.index);
}

function isTensorLike(v: object): v is TensorLike {
  const o = v as Partial<TensorLike> & { rankType?: unknown; dataId?: unknown };
  return (
    Array.isArray(o.shape) &&
    typeof o.dtype === "string" &&
    typeof o.dataSync === "function" &&
    "rankType" in o &&
    "dataId" in o
  );
}

/** A plain object shaped like a plotly figure: `data` an array of trace objects, nothing but data/layout/config/frames. */
export function isPlotlyFigure(v: unknown): v is PlotlyFigure {
  if (v === null || typeof v !== "object" || Object.getPrototypeOf(v) !== Object.prototype) return false;
  const o = v as Record<string, unknown>;
  if (!Array.isArray(o.data) || !o.data.every((t) => t !== null && typeof t === "object" && !Array.isArray(t)))
    return false;
  return Object.keys(o).every((k) => ["data", "layout", "config", "frames"].includes(k));
}

/** Indices to show out of n: all when n ≤ head + tail + 1, else the first `head`, null (the "…"), the last `tail`. */
export function elidedIndices(n: number, head: number = ELIDE.head, tail: number = ELIDE.tail): Array<number | null> {
  const all = Array.from({ length: n }, (_, i) => i);
  if (n <= head + tail + 1) return all;
  return [...all.slice(0, head), null, ...all.slice(n - tail)];
}

function frameTable(columns: string[], rows: unknown[][], index: unknown[]) {
  const pick = elidedIndices(rows.length);
  const shownRows = pick.map((i) => (i === null ? ["…", ...columns.map(() => "…")] : [index[i], ...rows[i]]));
  return { columns: ["", ...columns], rows: shownRows };
}

function frameBundle(df: FrameLike, kind: "DataFrame" | "Series"): MimeBundle {
  const columns = df.columns.map(String);
  const rows = (kind === "Series" ? df.values.map((v) => [v]) : df.values) as unknown[][];
  const t = frameTable(columns, rows, df.index);
  const size = kind === "Series" ? `${rows.length} values` : `${rows.length} rows × ${columns.length} columns`;
  const caption = `${kind}: ${size}${rows.length > t.rows.length ? " (middle rows elided)" : ""}`;
  return {
    "text/html": tableHtml(t.columns, t.rows, { caption }),
    "text/plain": `${caption}\n${tableText(t.columns, t.rows)}`,
  };
}

function formatValue(v: number | string, dtype: string): string {
  if (typeof v === "string") return v;
  if (dtype === "bool") return v ? "true" : "false";
  if (dtype === "int32" || Number.isInteger(v)) return String(v);
  return Number.isFinite(v) ? Number(v.toPrecision(6)).toString() : String(v);
}

/**
 * A tensor as HTML: a header with shape, dtype and size, then its values as a table for rank ≤ 2 (rows and
 * columns beyond ELIDE.head + ELIDE.tail are elided with "…") or tfjs' own elided text for higher ranks.
 */
export function tensorHtml(t: TensorLike): string {
  const header = `<b>Tensor</b> shape [${t.shape.join(", ")}] · dtype ${escapeHtml(t.dtype)} · ${t.size} value${t.size === 1 ? "" : "s"}`;
  if (t.isDisposed) return `<div class="prefopt-tensor">${header} · <i>disposed</i></div>`;
  if (t.shape.length > 2) return `<div class="prefopt-tensor">${header}<pre>${escapeHtml(t.toString())}</pre></div>`;
  const values = Array.from(t.dataSync() as ArrayLike<number | string>);
  const [nRows, nCols] = t.shape.length === 0 ? [1, 1] : t.shape.length === 1 ? [1, t.shape[0]] : t.shape;
  const cols = elidedIndices(nCols);
  const body = elidedIndices(nRows)
    .map((i) => {
      const cells = cols.map((j) =>
        i === null || j === null ? "…" : escapeHtml(formatValue(values[i * nCols + j], t.dtype)),
      );
      return `<tr>${cells.map((c) => `<td>${c}</td>`).join("")}</tr>`;
    })
    .join("");
  const table = `<table class="prefopt-table" style="text-align:right;font-variant-numeric:tabular-nums">`;
  return `<div class="prefopt-tensor">${header}${table}<tbody>${body}</tbody></table></div>`;
}

/** The execute_result data for a cell's value (always with text/plain). */
export function richBundle(value: unknown): MimeBundle {
  if (value !== null && typeof value === "object") {
    if (isFrameLike(value, "DataFrame")) return frameBundle(value, "DataFrame");
    if (isFrameLike(value, "Series")) return frameBundle(value, "Series");
    if (isTensorLike(value)) {
      const plain = value.isDisposed
        ? `Tensor (disposed) shape [${value.shape.join(",")}] ${value.dtype}`
        : value.toString();
      return { "text/html": tensorHtml(value), "text/plain": plain };
    }
    if (isPlotlyFigure(value)) return figureBundle(value);
  }
  return { "text/plain": util.inspect(value, { depth: 4, maxArrayLength: 100, breakLength: 100 }) };
}
