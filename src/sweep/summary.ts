// The sweep summary: runs grouped by the swept factors, and per group and metric the mean, standard
// deviation and Student-t 95% confidence interval over seeds. One row per (group, metric) — a long
// table that filters and plots easily — as a danfojs DataFrame, CSV and JSON.
import * as fs from "fs";
import type { DataFrame } from "danfojs-node";
import { canonicalJson } from "./config";
import { metricNumber } from "./kinds";
import type { FactorValue, RunSpec } from "./plan";
import { seedStats } from "../stats";
import { writeFileAtomic } from "../fsAtomic";
import type { RunRecord } from "./store";

export interface SummaryRow {
  /** Factor values, keyed by factor name (dotted config path). */
  factors: Record<string, FactorValue>;
  metric: string;
  n: number;
  nonFinite: number;
  mean: number;
  sd: number;
  ciLow: number;
  ciHigh: number;
  ciHalf: number;
  /** Seeds this group should have (from the plan) — n + nonFinite < expected means runs are missing. */
  expected: number;
}

export interface SweepSummary {
  factors: string[];
  metrics: string[];
  rows: SummaryRow[];
  /** Planned runs with no result (not run yet, failed, or in another shard). */
  missing: RunSpec[];
  /** Results whose id is not in the plan (e.g. from an older version of the sweep file): not summarised. */
  extra: RunRecord[];
  runsSummarised: number;
}

/**
 * The row of `metric` whose factors equal every value in `where` (factors not named may be anything).
 * Throws, naming the metric and the factor values, when no row or more than one row matches: a notebook
 * that asks for a grid point the sweep does not have gets an error, not `undefined`.
 */
export function summaryRow(summary: SweepSummary, metric: string, where: Record<string, FactorValue>): SummaryRow {
  const keys = Object.keys(where);
  const hits = summary.rows.filter((r) => r.metric === metric && keys.every((k) => r.factors[k] === where[k]));
  const what = `${metric} at ${keys.map((k) => `${k}=${String(where[k])}`).join(", ") || "(no factors)"}`;
  if (hits.length === 0) throw new Error(`summaryRow: no summary row for ${what}`);
  if (hits.length > 1) throw new Error(`summaryRow: ${hits.length} summary rows match ${what}; name more factors`);
  return hits[0];
}

/** Group the results of `runs` (the planned runs, in plan order) by factors and summarise each metric. */
export function summarise(runs: RunSpec[], factors: string[], records: RunRecord[], level = 0.95): SweepSummary {
  const byId = new Map<string, RunRecord>();
  for (const r of records) if (!byId.has(r.id)) byId.set(r.id, r);
  const planned = new Set(runs.map((r) => r.id));
  const extra = records.filter((r) => !planned.has(r.id));

  const metrics: string[] = [];
  for (const run of runs) {
    const rec = byId.get(run.id);
    if (!rec) continue;
    for (const [k, v] of Object.entries(rec.metrics)) {
      if (metrics.includes(k)) continue;
      if (typeof v === "number" || v === "NaN" || v === "Infinity" || v === "-Infinity") metrics.push(k);
    }
  }

  const groups = new Map<string, { factors: Record<string, FactorValue>; runs: RunSpec[] }>();
  for (const run of runs) {
    const key = canonicalJson(factors.map((f) => run.factors[f] ?? null));
    if (!groups.has(key)) groups.set(key, { factors: run.factors, runs: [] });
    groups.get(key)!.runs.push(run);
  }

  const rows: SummaryRow[] = [];
  let runsSummarised = 0;
  for (const g of groups.values()) {
    const recs = g.runs.map((r) => byId.get(r.id)).filter((r): r is RunRecord => r !== undefined);
    runsSummarised += recs.length;
    for (const metric of metrics) {
      const have = recs.filter((r) => r.metrics[metric] !== undefined);
      // A metric that none of this group's runs reports (e.g. expectedReward on a set with no reward) has no row.
      if (recs.length > 0 && have.length === 0) continue;
      const values = have.map((r) => metricNumber(r.metrics[metric]));
      const s = seedStats(values, level);
      rows.push({
        factors: g.factors,
        metric,
        n: s.n,
        nonFinite: s.nonFinite,
        mean: s.mean,
        sd: s.sd,
        ciLow: s.ciLow,
        ciHigh: s.ciHigh,
        ciHalf: s.ciHalf,
        expected: g.runs.length,
      });
    }
  }
  return { factors, metrics, rows, missing: runs.filter((r) => !byId.has(r.id)), extra, runsSummarised };
}

/** Column names of the flat summary table. */
export function summaryColumns(summary: SweepSummary): string[] {
  return [...summary.factors, "metric", "n", "nonFinite", "expected", "mean", "sd", "ci95Low", "ci95High", "ci95Half"];
}

/** The summary as flat rows (factor values first), parallel to summaryColumns(). */
export function summaryTable(summary: SweepSummary): Array<Array<FactorValue>> {
  return summary.rows.map((r) => [
    ...summary.factors.map((f) => r.factors[f] ?? null),
    r.metric,
    r.n,
    r.nonFinite,
    r.expected,
    r.mean,
    r.sd,
    r.ciLow,
    r.ciHigh,
    r.ciHalf,
  ]);
}

/** The summary as a danfojs DataFrame (NaN where a statistic is undefined, e.g. sd with one seed). */
export function summaryFrame(summary: SweepSummary, metric?: string): DataFrame {
  const columns = summaryColumns(summary);
  const rows = summaryTable(summary).filter((_, i) => metric === undefined || summary.rows[i].metric === metric);
  const data = rows.map((r) => r.map((v) => (v === null ? "" : typeof v === "boolean" ? String(v) : v)));
  // Loaded on first use: danfojs takes about a second to load, which the CLI and workers need not pay.
  const dfd = require("danfojs-node") as typeof import("danfojs-node");
  if (data.length === 0) return new dfd.DataFrame([], { columns });
  return new dfd.DataFrame(data, { columns });
}

function csvCell(v: FactorValue): string {
  if (v === null) return "";
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : v > 0 ? "Infinity" : v < 0 ? "-Infinity" : "NaN";
  const s = String(v);
  return /[",\n\r]/.test(s) || /^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** RFC 4180 CSV of the summary. */
export function summaryCsv(summary: SweepSummary): string {
  const lines = [summaryColumns(summary).map(csvCell).join(",")];
  for (const row of summaryTable(summary)) lines.push(row.map(csvCell).join(","));
  return lines.join("\n") + "\n";
}

/** JSON of the summary (NaN → null, as JSON requires). */
export function summaryJson(summary: SweepSummary): string {
  const num = (x: number): number | null => (Number.isFinite(x) ? x : null);
  return JSON.stringify(
    {
      factors: summary.factors,
      metrics: summary.metrics,
      runsSummarised: summary.runsSummarised,
      missing: summary.missing.map((r) => r.id),
      extra: summary.extra.map((r) => r.id),
      rows: summary.rows.map((r) => ({
        ...r,
        mean: num(r.mean),
        sd: num(r.sd),
        ciLow: num(r.ciLow),
        ciHigh: num(r.ciHigh),
        ciHalf: num(r.ciHalf),
      })),
    },
    null,
    1,
  );
}

/** Write summary<tag>.csv and summary<tag>.json into `dir` (tag e.g. "-shard-0-of-4"); returns their paths. */
export function writeSummary(summary: SweepSummary, dir: string, tag = ""): { csv: string; json: string } {
  fs.mkdirSync(dir, { recursive: true });
  const csv = `${dir}/summary${tag}.csv`;
  const json = `${dir}/summary${tag}.json`;
  writeFileAtomic(csv, summaryCsv(summary));
  writeFileAtomic(json, summaryJson(summary));
  return { csv, json };
}
