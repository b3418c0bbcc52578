// Helpers the notebooks share: a check that fails the run, a mean ± 95% CI band for plotly figures, a
// log–log slope, and the verdict table every notebook ends with (paper claim → our setup → measured →
// reproduced yes / partly / no → why). A notebook reads like a paper; these keep its claims honest:
// every "reproduced" cell is computed from the run's own numbers, and a verdict that disagrees with the
// one the notebook's prose states fails the run.
import type { DataFrame } from "danfojs-node";
import { meanCi95 } from "./bandit/tabular";
import { showTable } from "./display";

/** Thrown by `check` (and by `verdictTable` when a verdict disagrees with the stated one). */
export class CheckFailed extends Error {
  constructor(what: string) {
    super(`check failed: ${what}`);
    this.name = "CheckFailed";
  }
}

/** Fails the notebook run (throws CheckFailed) unless `ok`; prints "✓ what" when it holds. */
export function check(ok: boolean, what: string): void {
  if (ok !== true) throw new CheckFailed(what);
  console.log(`✓ ${what}`);
}

/** The ten-colour palette the notebooks use (plotly's default order), as "rgb(r,g,b)" strings for `band`. */
export const COLORS = [
  "rgb(31,119,180)",
  "rgb(214,39,40)",
  "rgb(44,160,44)",
  "rgb(148,103,189)",
  "rgb(255,127,14)",
  "rgb(140,86,75)",
  "rgb(227,119,194)",
  "rgb(127,127,127)",
  "rgb(188,189,34)",
  "rgb(23,190,207)",
];

/**
 * Two plotly traces: the mean over seeds of values[t] as a line, and its 95% CI (`meanCi95`) as a
 * shaded band. values[t] holds one number per seed at steps[t]; color must be "rgb(r,g,b)" (the band is the
 * same colour at 20% opacity). `extra` is merged into both traces (e.g. a legendgroup or a line dash).
 */
export function band(
  steps: number[],
  values: number[][],
  name: string,
  color: string,
  extra: Record<string, unknown> = {},
): Array<Record<string, unknown>> {
  if (steps.length !== values.length)
    throw new Error(`band "${name}": ${steps.length} steps but ${values.length} value lists`);
  const rgb = /^rgb\((\d+),\s*(\d+),\s*(\d+)\)$/.exec(color);
  if (!rgb) throw new Error(`band "${name}": color must be "rgb(r,g,b)", got "${color}"`);
  values.forEach((v, t) => {
    if (v.length === 0) throw new Error(`band "${name}": no values at step ${steps[t]}`);
  });
  const stats = values.map((v) => meanCi95(v));
  const fill = `rgba(${rgb[1]},${rgb[2]},${rgb[3]},0.2)`;
  const line = { color: color, ...((extra.line as Record<string, unknown>) ?? {}) };
  return [
    {
      type: "scatter",
      mode: "lines",
      x: [...steps, ...steps.slice().reverse()],
      y: [...stats.map((s) => s.mean + s.half), ...stats.map((s) => s.mean - s.half).reverse()],
      fill: "toself",
      fillcolor: fill,
      hoverinfo: "skip",
      showlegend: false,
      ...extra,
      line: { width: 0 },
    },
    { type: "scatter", mode: "lines", x: steps, y: stats.map((s) => s.mean), name: name, ...extra, line: line },
  ];
}

/** "mean ± half" of a 95% CI, to `digits` decimals. */
export function formatCi(c: { mean: number; half: number }, digits = 3): string {
  return `${c.mean.toFixed(digits)} ± ${c.half.toFixed(digits)}`;
}

/**
 * The mean of values that come in clusters (several samples per prompt, say) and its cluster-robust standard
 * error, which does not pretend the samples of one cluster are independent (Liang & Zeger 1986; CR1 form):
 *   se = √( G/(G−1) · Σ_g (S_g − n_g·m)² ) / N,
 * with S_g the sum and n_g the size of cluster g, N = Σ_g n_g and m the overall mean. With equal cluster sizes
 * it equals the standard error of the G cluster means, sd(means)/√G. Needs at least 2 clusters.
 */
export function clusteredMean(
  values: number[],
  clusters: Array<string | number>,
): { mean: number; se: number; clusters: number; n: number } {
  if (values.length !== clusters.length)
    throw new Error(`clusteredMean: ${values.length} values but ${clusters.length} cluster labels`);
  if (!values.every(Number.isFinite)) throw new Error("clusteredMean: every value must be finite");
  const groups = new Map<string | number, { sum: number; n: number }>();
  values.forEach((v, i) => {
    const g = groups.get(clusters[i]) ?? { sum: 0, n: 0 };
    g.sum += v;
    g.n += 1;
    groups.set(clusters[i], g);
  });
  const G = groups.size;
  if (G < 2) throw new Error(`clusteredMean: need at least 2 clusters, got ${G}`);
  const N = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / N;
  let ss = 0;
  for (const g of groups.values()) ss += (g.sum - g.n * mean) ** 2;
  return { mean: mean, se: Math.sqrt((G / (G - 1)) * ss) / N, clusters: G, n: N };
}

/** Least-squares slope of log(y) against log(x): the exponent a of y ∝ x^a. All values must be > 0. */
export function logLogSlope(xs: number[], ys: number[]): number {
  if (xs.length !== ys.length || xs.length < 2)
    throw new Error(`logLogSlope: need two equal-length lists of ≥ 2 values, got ${xs.length} and ${ys.length}`);
  if (![...xs, ...ys].every((v) => v > 0 && Number.isFinite(v)))
    throw new Error("logLogSlope: every value must be finite and > 0");
  const lx = xs.map(Math.log),
    ly = ys.map(Math.log);
  const mx = lx.reduce((a, b) => a + b, 0) / lx.length,
    my = ly.reduce((a, b) => a + b, 0) / ly.length;
  const sxx = lx.reduce((s, x) => s + (x - mx) ** 2, 0);
  if (sxx === 0) throw new Error("logLogSlope: all x are equal");
  return lx.reduce((s, x, i) => s + (x - mx) * (ly[i] - my), 0) / sxx;
}

/**
 * Plackett–Luce probability of a full ranking (best first) under utilities r:
 * P(τ | r) = Π_k exp r(τ_k) / Σ_{j ≥ k} exp r(τ_j)  (Plackett 1975; Luce 1959). Computed in log space.
 */
export function plackettLuceProbability(r: number[], order: number[]): number {
  const where = "plackettLuceProbability (src/notebook.ts)";
  if (!r.every(Number.isFinite)) throw new Error(`${where}: every utility must be finite, got [${r}]`);
  // A full ranking: each index of r exactly once (a repeated index would count one item twice, and an
  // index outside r reads undefined → NaN).
  const seen = new Set<number>();
  for (const [k, j] of order.entries()) {
    if (!Number.isInteger(j) || j < 0 || j >= r.length)
      throw new Error(`${where}: order[${k}] = ${j} is not an index of the ${r.length} utilities`);
    if (seen.has(j)) throw new Error(`${where}: order[${k}] = ${j} repeats an index; order must be a permutation`);
    seen.add(j);
  }
  if (order.length !== r.length)
    throw new Error(
      `${where}: order ranks ${order.length} of the ${r.length} items; a full ranking lists every index once`,
    );
  let logp = 0;
  for (let k = 0; k < order.length; k++) {
    const rest = order.slice(k).map((j) => r[j]);
    const m = Math.max(...rest);
    logp += r[order[k]] - (m + Math.log(rest.reduce((s, v) => s + Math.exp(v - m), 0)));
  }
  return Math.exp(logp);
}

/** Every ordering of `items` (n! of them). */
export function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items.slice()];
  return items.flatMap((y, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [y, ...rest]),
  );
}

// ---------------------------------------------------------------------------------------------------------
// Verdict tables

/**
 * A claim's verdict. "not covered": the evidence covers only part of the range the claim is about (e.g. a
 * dominance claim where one method was never evaluated at the other's KL); "not testable at this scale": the
 * test that could say yes (e.g. training-seed variance) is beyond this run, so no grade is given. Neither
 * ever counts as yes.
 */
export type Reproduced = "yes" | "partly" | "no" | "not covered" | "not testable at this scale";

/** The verdict of a row whose full test cannot be run at this scale (say why in `why`), instead of a capped grade. */
export const NOT_TESTABLE: Reproduced = "not testable at this scale";

const VERDICTS: readonly Reproduced[] = ["yes", "partly", "no", "not covered", NOT_TESTABLE];

/**
 * The verdict from two computed conditions: "yes" when the claim's full test passes, "partly" when only a
 * weaker one does (e.g. the direction is right but the size is not), "no" otherwise. Both must be booleans
 * (a number or undefined is an error, not a silent "no").
 */
export function grade(full: boolean, partly = false): Reproduced {
  if (typeof full !== "boolean" || typeof partly !== "boolean")
    throw new Error(`grade: conditions must be booleans, got ${typeof full} and ${typeof partly}`);
  return full ? "yes" : partly ? "partly" : "no";
}

export interface Verdict {
  /** The paper's claim, with its citation (paper, section / equation / figure). */
  claim: string;
  /** What we ran to test it (data, model, seeds, steps). */
  setup: string;
  /** What we measured (numbers with their uncertainty), computed from the run: it must contain a number. */
  measured: string;
  /** Computed from the measurement (use `grade`, or NOT_TESTABLE), never typed in. */
  reproduced: Reproduced;
  /** Why the verdict is what it is (the reason for "partly"/"no", or what makes "yes" convincing). */
  why: string;
  /**
   * The verdict the notebook's prose states (required). When it differs from `reproduced`, `verdictTable`
   * fails the run: the text would otherwise claim something this run did not show.
   */
  expected: Reproduced;
}

export const VERDICT_COLUMNS = ["claim", "our setup", "measured", "reproduced", "why"];

/**
 * Validates verdicts and returns them as table rows (columns VERDICT_COLUMNS): every field non-empty, a
 * number in `measured`, known verdicts, `expected` on every row. Throws CheckFailed on a disagreement with
 * `expected`. (That no notebook passes a literal to `grade` is checked on the notebooks' source by
 * test/notebook-verdicts.test.ts.)
 */
export function verdictRows(verdicts: Verdict[]): string[][] {
  if (verdicts.length === 0) throw new Error("verdictTable: no verdicts");
  const known = VERDICTS.join(", ");
  const disagreements: string[] = [];
  const rows = verdicts.map((v, i) => {
    for (const field of ["claim", "setup", "measured", "why"] as const) {
      if (typeof v[field] !== "string" || v[field].trim() === "")
        throw new Error(`verdictTable: verdict ${i} ("${v.claim ?? "?"}") has an empty "${field}"`);
    }
    if (!/\d/.test(v.measured))
      throw new Error(
        `verdictTable: verdict ${i} ("${v.claim}"): measured must state the measured numbers, got "${v.measured}"`,
      );
    if (!VERDICTS.includes(v.reproduced))
      throw new Error(
        `verdictTable: verdict ${i} ("${v.claim}"): reproduced must be one of ${known}, got ${String(v.reproduced)}`,
      );
    if (v.expected === undefined)
      throw new Error(
        `verdictTable: verdict ${i} ("${v.claim}") has no "expected": state the verdict the notebook's text gives`,
      );
    if (!VERDICTS.includes(v.expected))
      throw new Error(
        `verdictTable: verdict ${i} ("${v.claim}"): expected must be one of ${known}, got ${String(v.expected)}`,
      );
    if (v.expected !== v.reproduced)
      disagreements.push(
        `verdict for "${v.claim}" is "${v.reproduced}" but the notebook's text says "${v.expected}" (measured: ${v.measured})`,
      );
    return [v.claim, v.setup, v.measured, v.reproduced, v.why];
  });
  // Every disagreement at once, so one run shows all of them.
  if (disagreements.length) throw new CheckFailed(disagreements.join("; "));
  return rows;
}

/** The verdicts as a danfojs DataFrame (columns VERDICT_COLUMNS), after `verdictRows`' checks. */
export function verdictFrame(verdicts: Verdict[]): DataFrame {
  const rows = verdictRows(verdicts);
  // Loaded on first use, as in sweep/summary.ts: danfojs takes about a second to load.
  const dfd = require("danfojs-node") as typeof import("danfojs-node");
  return new dfd.DataFrame(rows, { columns: VERDICT_COLUMNS });
}

/**
 * Shows the verdict table a notebook ends with (as a DataFrame) and prints one line per claim ("✓ yes",
 * "~ partly", "✗ no"). Fails the run when a verdict disagrees with its `expected` value. Returns nothing, so a
 * notebook cell that ends with it shows the table once (`verdictFrame` gives the DataFrame itself).
 */
export function showVerdicts(verdicts: Verdict[], caption = "Verdicts: paper claim → reproduced here?"): void {
  const frame = verdictFrame(verdicts);
  showTable(frame, { caption: caption });
  const mark: Record<Reproduced, string> = {
    yes: "✓",
    partly: "~",
    no: "✗",
    "not covered": "?",
    "not testable at this scale": "?",
  };
  for (const v of verdicts) console.log(`${mark[v.reproduced]} ${v.reproduced.padEnd(6)} ${v.claim}`);
}

/** An exact identity checked numerically: its largest residual in this run and the tolerance held to. */
export interface Identity {
  identity: string;
  residual: number;
  tolerance: number;
}

/**
 * Shows algebraic identities as checks that "hold here" (identity → largest residual → tolerance), kept
 * apart from the verdict table: an identity is derived, not reproduced. Fails the run (CheckFailed) when a
 * residual is not finite or exceeds its tolerance, naming the identity.
 */
export function showHoldsHere(identities: Identity[], caption = "Identities: do they hold here?"): void {
  if (identities.length === 0) throw new Error("showHoldsHere: no identities");
  for (const { identity, residual, tolerance } of identities) {
    if (!(tolerance > 0)) throw new Error(`showHoldsHere: "${identity}": tolerance must be > 0, got ${tolerance}`);
    if (!(Math.abs(residual) <= tolerance))
      throw new CheckFailed(`"${identity}" does not hold here: residual ${residual} > tolerance ${tolerance}`);
  }
  const dfd = require("danfojs-node") as typeof import("danfojs-node");
  const rows = identities.map((c) => [c.identity, c.residual.toExponential(1), c.tolerance.toExponential(0), "holds"]);
  showTable(new dfd.DataFrame(rows, { columns: ["identity", "largest residual", "tolerance", "here"] }), {
    caption,
  });
  for (const c of identities) console.log(`✓ holds here: ${c.identity} (residual ${c.residual.toExponential(1)})`);
}
