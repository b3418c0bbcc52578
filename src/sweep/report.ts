// A self-contained HTML report of a sweep: plotly.js inlined once (works offline), one figure per metric
// and swept factor (mean ± 95% CI over seeds, one line per combination of the other factors) and one table
// per metric. Every string that came from a config, a dataset or a metric is escaped (escapeHtml for
// markup, scriptSafeJson inside <script>), so a config value like "<script>…" shows up as text.
import { escapeHtml, figureHtml, plotlyBundle, tableHtml, type PlotlyFigure } from "../display";
import { canonicalJson, type SweepSpec } from "./config";
import type { FactorValue } from "./plan";
import type { SummaryRow, SweepSummary } from "./summary";

export interface ReportInput {
  spec: SweepSpec;
  summary: SweepSummary;
  /** Runs planned in total (all shards). */
  planned: number;
  /** Failed runs of the latest invocation: id and first line of the error. */
  failures?: Array<{ id: string; error: string }>;
  /** Extra lines for the header (e.g. timing), shown as text. */
  notes?: string[];
}

const STYLE = `body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;padding:0 1em;color:#222}
table.prefopt-table{border-collapse:collapse;margin:1em 0;font-size:0.9em}
.prefopt-table th,.prefopt-table td{border:1px solid #ccc;padding:3px 8px}
.prefopt-table th{background:#f3f3f3}
.warn{background:#fff4e0;border-left:4px solid #f0a020;padding:0.5em 1em}
pre{background:#f6f6f6;padding:0.6em;overflow:auto}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 1.5em}dt{font-weight:bold}dd{margin:0}`;

function label(v: FactorValue): string {
  return v === null ? "—" : String(v);
}

/**
 * Factors worth an axis or a legend entry: when runs carry a `label`, factors that the label determines
 * (method, labelSmoothing, … of a labelled variant) are folded into it.
 */
export function primaryFactors(summary: SweepSummary): string[] {
  if (!summary.factors.includes("label")) return summary.factors;
  const determined = (f: string): boolean => {
    const seen = new Map<string, string>();
    for (const r of summary.rows) {
      const key = String(r.factors.label);
      const v = JSON.stringify(r.factors[f] ?? null);
      if (seen.has(key) && seen.get(key) !== v) return false;
      seen.set(key, v);
    }
    return true;
  };
  return summary.factors.filter((f) => f === "label" || !determined(f));
}

/** Why a summary row has no confidence interval (fewer than 2 finite seeds), or undefined when it has one. */
export function noCiReason(r: SummaryRow): string | undefined {
  if (Number.isFinite(r.ciHalf)) return undefined;
  return `no CI: fewer than 2 finite seeds (n = ${r.n}${r.nonFinite ? `, ${r.nonFinite} non-finite` : ""})`;
}

/**
 * A 95% CI half-width as a plotly error-bar value. A missing interval must not draw a bar: plotly reads
 * `+array[i]` (errorbars/compute_error.js), so null, which NaN also becomes in JSON, would draw a
 * zero-width bar that looks like a certain value; the string "NaN" reads as NaN and omits the bar.
 */
export function errorBarValue(ciHalf: number): number | "NaN" {
  return Number.isFinite(ciHalf) ? ciHalf : "NaN";
}

function ciHoverText(r: SummaryRow): string {
  const none = noCiReason(r);
  return none ? `(${none})` : `± ${r.ciHalf.toPrecision(3)} (95% CI, n = ${r.n})`;
}

/**
 * Words for a figure in place of config keys (a notebook's "KL from π_ref (nats)" rather than "kl"):
 * axis titles, a title, and a legend name per line from that line's factor values.
 */
export interface FigureLabels {
  title?: string;
  x?: string;
  y?: string;
  series?: (factors: Record<string, FactorValue>) => string;
}

/**
 * One figure: metric vs `factor`, a line per combination of the other factors (or of `series`, when the
 * remaining factors are determined by those and the x value), error bars = 95% CI. A point with fewer
 * than 2 finite seeds has no interval: it gets no error bar, and its hover text says so.
 */
export function factorFigure(
  summary: SweepSummary,
  metric: string,
  factor: string,
  logX = false,
  series?: string[],
  labels: FigureLabels = {},
): PlotlyFigure {
  const rows = summary.rows.filter((r) => r.metric === metric && Number.isFinite(r.mean));
  const others = series ?? primaryFactors(summary).filter((f) => f !== factor);
  const numericX = rows.every((r) => typeof r.factors[factor] === "number");
  const lines = new Map<string, SummaryRow[]>();
  for (const r of rows) {
    const name = labels.series
      ? labels.series(r.factors)
      : others.length === 0
        ? metric
        : others.map((f) => `${f}=${label(r.factors[f])}`).join(", ");
    if (!lines.has(name)) lines.set(name, []);
    lines.get(name)!.push(r);
  }
  const finite = (x: number): number | null => (Number.isFinite(x) ? x : null);
  const data = [...lines.entries()].map(([name, rs]) => {
    const sorted = numericX
      ? rs.slice().sort((a, b) => (a.factors[factor] as number) - (b.factors[factor] as number))
      : rs;
    return {
      type: "scatter",
      mode: numericX ? "lines+markers" : "markers", // no lines between unordered categories
      name,
      x: sorted.map((r) => (numericX ? r.factors[factor] : label(r.factors[factor]))),
      y: sorted.map((r) => finite(r.mean)),
      error_y: { type: "data", array: sorted.map((r) => errorBarValue(r.ciHalf)), visible: true },
      customdata: sorted.map((r) => ciHoverText(r)),
      hovertemplate: `${factor}=%{x}<br>${metric}=%{y:.4g} %{customdata}<extra>%{fullData.name}</extra>`,
    };
  });
  return {
    data,
    layout: {
      title: { text: labels.title ?? `${metric} vs ${factor}` },
      xaxis: { title: { text: labels.x ?? factor }, type: numericX ? (logX ? "log" : "linear") : "category" },
      yaxis: { title: { text: `${labels.y ?? metric} (mean ± 95% CI)` } },
      height: 420,
      legend: { orientation: "h", y: -0.25 },
      margin: { t: 50, b: 40 },
    },
  };
}

/** The report as one HTML string. */
export function reportHtml(input: ReportInput): string {
  const { spec, summary } = input;
  const title = spec.report.title ?? `Sweep ${spec.name}`;
  const metrics = spec.report.metrics?.length
    ? spec.report.metrics.filter((m) => summary.metrics.includes(m))
    : summary.metrics;
  const unknownMetrics = (spec.report.metrics ?? []).filter((m) => !summary.metrics.includes(m));
  const logX = new Set(spec.report.logX ?? []);
  const parts: string[] = [];
  parts.push(`<h1>${escapeHtml(title)}</h1>`);
  if (spec.description) parts.push(`<p>${escapeHtml(spec.description)}</p>`);
  const facts: Array<[string, string]> = [
    ["sweep file", spec.source],
    ["experiment kind", spec.kind],
    ["seeds", `${spec.seeds.length} (${spec.seeds.join(", ")})`],
    ["runs", `${summary.runsSummarised} of ${input.planned} planned have results`],
    ["swept factors", summary.factors.join(", ") || "(none: a single grid point)"],
    [
      "statistics",
      "mean over seeds; error bars and intervals: 95% Student-t confidence interval, mean ± t₀.₉₇₅,ₙ₋₁·sd/√n (none where fewer than 2 seeds are finite)",
    ],
    ["generated", new Date().toISOString()],
    ...(input.notes ?? []).map((n, i): [string, string] => [i === 0 ? "notes" : "", n]),
  ];
  parts.push(`<dl>${facts.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join("")}</dl>`);

  const warnings: string[] = [];
  if (summary.missing.length > 0)
    warnings.push(
      `${summary.missing.length} planned run(s) have no result yet (first: ${summary.missing
        .slice(0, 5)
        .map((r) => r.id)
        .join(", ")}); statistics use the runs present.`,
    );
  if (summary.extra.length > 0)
    warnings.push(
      `${summary.extra.length} result(s) are not part of this sweep's plan (an older sweep file?) and are not summarised.`,
    );
  if (unknownMetrics.length > 0)
    warnings.push(`report.metrics names metric(s) no run produced: ${unknownMetrics.join(", ")}.`);
  for (const f of input.failures ?? []) warnings.push(`run ${f.id} failed: ${f.error.split("\n")[0]}`);
  const noCi = summary.rows.filter((r) => noCiReason(r) !== undefined && metrics.includes(r.metric));
  if (noCi.length > 0) {
    const shown = noCi
      .slice(0, 20)
      .map(
        (r) =>
          `${r.metric} at ${summary.factors.map((f) => `${f}=${label(r.factors[f])}`).join(", ") || "(single point)"} (n = ${r.n}${r.nonFinite ? `, ${r.nonFinite} non-finite` : ""})`,
      );
    warnings.push(
      `no CI: fewer than 2 finite seeds in ${noCi.length} row(s), drawn without error bars: ${shown.join("; ")}${noCi.length > shown.length ? `; … and ${noCi.length - shown.length} more` : ""}.`,
    );
  }
  if (warnings.length > 0)
    parts.push(`<div class="warn"><ul>${warnings.map((w) => `<li>${escapeHtml(w)}</li>`).join("")}</ul></div>`);

  let fig = 0;
  for (const metric of metrics) {
    parts.push(`<h2>${escapeHtml(metric)}</h2>`);
    for (const factor of primaryFactors(summary)) {
      parts.push(figureHtml(factorFigure(summary, metric, factor, logX.has(factor)), `sweep-figure-${++fig}`, false));
    }
    const rows = summary.rows.filter((r) => r.metric === metric);
    const columns = [...summary.factors, "n", "mean", "sd", "95% CI low", "95% CI high"];
    const cells = rows.map((r) => {
      const ci = noCiReason(r) ? ["no CI (n < 2)", "no CI (n < 2)"] : [r.ciLow, r.ciHigh];
      return [
        ...summary.factors.map((f) => label(r.factors[f])),
        r.n +
          (r.nonFinite ? ` (+${r.nonFinite} non-finite)` : "") +
          (r.n + r.nonFinite < r.expected ? ` of ${r.expected}` : ""),
        r.mean,
        r.sd,
        ...ci,
      ];
    });
    parts.push(tableHtml(columns, cells, { caption: `${metric}: mean, sd and 95% CI over seeds` }));
  }

  parts.push(
    `<h2>Sweep definition</h2><pre>${escapeHtml(JSON.stringify({ kind: spec.kind, seeds: spec.seeds, base: spec.base, grid: spec.grid }, null, 1))}</pre>`,
  );
  parts.push(`<p><small>canonical base config: <code>${escapeHtml(canonicalJson(spec.base))}</code></small></p>`);

  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>${STYLE}</style>
<script type="text/javascript">${plotlyBundle()}</script>
</head><body>
${parts.join("\n")}
</body></html>
`;
}
