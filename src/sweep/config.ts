// Sweep files: YAML or JSON, parsed and validated into a SweepSpec. Every error names the file, the field
// path and (for YAML) the line, e.g.  beta.yaml:7 grid[1]["lossOptions.beta"]: must be a non-empty list.
//
//   name: beta-sweep                # [A-Za-z0-9._-]+, names the default output folder
//   kind: bandit                    # a registered experiment kind (see kinds.ts)
//   seeds: 5                        # 5 → 0..4; or a list [0, 7, 9]; or {start: 100, count: 5}
//   base: {steps: 200}              # config shared by every run (deep-merged under each grid point)
//   grid:                           # an object, or a list of objects whose grids are concatenated
//     method: [dpo, ipo]            # a list is swept; a scalar is fixed for this block
//     lossOptions.beta: [0.1, 1]    # dotted keys reach nested fields; a literal list is written [[1, 2]]
//   report: {metrics: [reward], logX: [lossOptions.beta]}
import * as fs from "fs";
import * as path from "path";
import * as YAML from "yaml";
import { findDuplicateKey } from "./json-keys";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface SweepReportOptions {
  /** Metrics to plot and tabulate, in order (default: every numeric metric). */
  metrics?: string[];
  /** Factors whose axis is drawn on a log scale. */
  logX?: string[];
  title?: string;
}

export interface SweepSpec {
  name: string;
  description?: string;
  kind: string;
  /** Absolute paths of modules that register further experiment kinds (loaded in every worker). */
  modules: string[];
  seeds: number[];
  base: JsonObject;
  /** Each block maps a dotted key to the list of values it takes (scalars were wrapped as [value]). */
  grid: Array<Record<string, Json[]>>;
  report: SweepReportOptions;
  /** The file it came from (for messages); "<inline>" when built in code. */
  source: string;
  /** Whether `grid` was written as a list of blocks (error paths then read grid[i]). */
  gridIsList: boolean;
  /** Maps a field path of the sweep file to its line (YAML sources only). */
  locate?: (p: FieldPath) => number | undefined;
}

/** A field path inside a config or sweep file, as segments. */
export type FieldPath = Array<string | number>;

export function formatPath(p: FieldPath): string {
  if (p.length === 0) return "(top level)";
  return p
    .map((s, i) =>
      typeof s === "number"
        ? `[${s}]`
        : /^[A-Za-z_$][\w$]*$/.test(s)
          ? i === 0
            ? s
            : `.${s}`
          : `[${JSON.stringify(s)}]`,
    )
    .join("");
}

/** An invalid sweep file or config: `message` already names the file, line and field path. */
export class SweepConfigError extends Error {
  constructor(
    message: string,
    readonly file: string,
    readonly field: FieldPath,
    readonly line?: number,
  ) {
    super(message);
    this.name = "SweepConfigError";
  }
}

/** Throws a SweepConfigError; `locate` maps a field path to a line number when the source is YAML. */
export type Complain = (field: FieldPath, problem: string) => never;

export function complainer(file: string, locate: (p: FieldPath) => number | undefined = () => undefined): Complain {
  return (field, problem) => {
    const line = locate(field);
    throw new SweepConfigError(`${file}${line ? `:${line}` : ""} ${formatPath(field)}: ${problem}`, file, field, line);
  };
}

export function isPlainObject(v: unknown): v is JsonObject {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Checks that `v` is JSON data with finite numbers only (so canonical JSON and ids are well defined). */
export function checkJson(v: unknown, at: FieldPath, complain: Complain): void {
  if (v === null || typeof v === "string" || typeof v === "boolean") return;
  if (typeof v === "number") {
    if (!Number.isFinite(v)) complain(at, `numbers must be finite, got ${v}`);
    return;
  }
  if (Array.isArray(v)) return v.forEach((x, i) => checkJson(x, [...at, i], complain));
  if (isPlainObject(v)) {
    return Object.entries(v).forEach(([k, x]) => {
      if (isForbiddenKey(k))
        complain([...at, k], `the key ${JSON.stringify(k)} is not allowed (it would reach Object.prototype)`);
      checkJson(x, [...at, k], complain);
    });
  }
  complain(at, `unsupported value of type ${typeof v}`);
}

/** Path segments that would reach Object.prototype (or a constructor) when a config is set by path. */
export const FORBIDDEN_KEYS: readonly string[] = ["__proto__", "constructor", "prototype"];

export function isForbiddenKey(key: string): boolean {
  return FORBIDDEN_KEYS.includes(key);
}

/**
 * Largest plan (grid points × seeds) a sweep may have. At 10^6 runs plan.json alone is 188 MB and the
 * summary outgrows the longest string V8 can build (issue 22 item 33). The worst case at 10^5 (10^5 grid
 * points × 1 seed of `synthetic`, `npm run sweep` with the HTML report) measured end to end on a shared
 * 2-core machine: 29.7 s of CPU at 1.65 GB peak RSS in the main thread (--workers 0), 44.5 s of CPU at
 * 1.68 GB with 2 worker threads; it writes a 12 MB plan.json, 34 MB results.jsonl, 15 MB summary.csv,
 * 68 MB summary.json and 133 MB report.html. test/sweep-reliability-2.test.ts projects every output to this
 * cap from plans of 1 and 1,000 runs (each must stay under half of V8's longest string) and, with
 * PREFOPT_CAP_TEST=1, runs the cap itself (< 60 s of CPU, < 2 GiB).
 */
export const MAX_PLANNED_RUNS = 100_000;
/** Seeds are 32-bit: the experiment kinds fold larger ones (e.g. seed ^ hash >>> 0), so 2^32 + s would alias s. */
export const MAX_SEED = 2 ** 32 - 1;

const TOP_KEYS = ["name", "description", "kind", "modules", "seeds", "base", "grid", "report"];

/** Validate an already-parsed sweep object. `file` and `locate` only shape the error messages. */
export function parseSweepSpec(
  raw: unknown,
  file = "<inline>",
  locate?: (p: FieldPath) => number | undefined,
): SweepSpec {
  const complain: Complain = complainer(file, locate);
  if (!isPlainObject(raw)) complain([], "a sweep file must be a mapping with name, kind, seeds and grid");
  for (const k of Object.keys(raw))
    if (!TOP_KEYS.includes(k)) complain([k], `unknown key; expected one of ${TOP_KEYS.join(", ")}`);
  checkJson(raw, [], complain);

  const name = raw.name;
  if (typeof name !== "string" || !/^[A-Za-z0-9._-]+$/.test(name))
    complain(["name"], "required: a name made of letters, digits, '.', '_' or '-'");
  // The name is the default output folder's last segment: "." and ".." would write outside output/sweeps/.
  if (/^\.+$/.test(name))
    complain(
      ["name"],
      `${JSON.stringify(name)} is not a single path segment (it names the output folder); use letters or digits too`,
    );
  if (raw.description !== undefined && typeof raw.description !== "string")
    complain(["description"], "must be a string");
  if (typeof raw.kind !== "string" || raw.kind === "")
    complain(["kind"], "required: the name of a registered experiment kind");

  const modules: string[] = [];
  if (raw.modules !== undefined) {
    if (!Array.isArray(raw.modules)) complain(["modules"], "must be a list of module paths");
    const dir = file === "<inline>" ? process.cwd() : path.dirname(path.resolve(file));
    raw.modules.forEach((m, i) => {
      if (typeof m !== "string") return complain(["modules", i], "must be a path (relative to the sweep file)");
      const abs = path.resolve(dir, m);
      if (!fs.existsSync(abs)) complain(["modules", i], `no such file: ${abs}`);
      modules.push(abs);
    });
  }

  const seeds = parseSeeds(raw.seeds, complain);

  const base = raw.base ?? {};
  if (!isPlainObject(base)) complain(["base"], "must be a mapping of config fields");

  if (raw.grid === undefined)
    complain(["grid"], "required: a mapping (or list of mappings) from field to the values it takes");
  const blocks = Array.isArray(raw.grid) ? raw.grid : [raw.grid];
  if (blocks.length === 0) complain(["grid"], "must contain at least one block");
  const grid = blocks.map((block, b) => {
    const at: FieldPath = Array.isArray(raw.grid) ? ["grid", b] : ["grid"];
    if (!isPlainObject(block)) complain(at, "each grid block must be a mapping from field to values");
    const out: Record<string, Json[]> = {};
    for (const [key, values] of Object.entries(block)) {
      if (key === "" || key.split(".").some((s) => s === ""))
        complain([...at, key], "field names must be non-empty (dotted paths like lossOptions.beta)");
      const bad = key.split(".").find(isForbiddenKey);
      if (bad !== undefined)
        complain(
          [...at, key],
          `the path segment ${JSON.stringify(bad)} is not allowed (it would reach Object.prototype)`,
        );
      if (Array.isArray(values)) {
        if (values.length === 0)
          complain([...at, key], "an empty list would make an empty grid; give at least one value");
        const seen = new Set(values.map((v) => canonicalJson(v)));
        if (seen.size !== values.length) complain([...at, key], "lists a value twice");
        out[key] = values;
      } else out[key] = [values];
    }
    return out;
  });
  // The plan's size, before anything is built: a typo like an extra zero must not run into the heap limit.
  let planned = seeds.length;
  let points = 0;
  for (const block of grid) points += Object.values(block).reduce((n, values) => n * values.length, 1);
  planned *= points;
  if (planned > MAX_PLANNED_RUNS) {
    complain(
      ["grid"],
      `the grid has ${points.toLocaleString("en-US")} point(s) × ${seeds.length.toLocaleString("en-US")} seed(s) = ${planned.toLocaleString("en-US")} runs, more than the ${MAX_PLANNED_RUNS.toLocaleString("en-US")} a sweep may plan; split it into several sweep files`,
    );
  }

  const report: SweepReportOptions = {};
  if (raw.report !== undefined) {
    const r = raw.report;
    if (!isPlainObject(r)) complain(["report"], "must be a mapping (metrics, logX, title)");
    for (const k of Object.keys(r))
      if (!["metrics", "logX", "title"].includes(k))
        complain(["report", k], "unknown key; expected metrics, logX or title");
    for (const k of ["metrics", "logX"] as const) {
      const v = r[k];
      if (v === undefined) continue;
      if (!Array.isArray(v) || v.some((s) => typeof s !== "string")) complain(["report", k], "must be a list of names");
      report[k] = v as string[];
    }
    if (r.title !== undefined) {
      if (typeof r.title !== "string") complain(["report", "title"], "must be a string");
      report.title = r.title;
    }
  }

  return {
    name,
    description: raw.description as string | undefined,
    kind: raw.kind,
    modules,
    seeds,
    base,
    grid,
    report,
    source: file,
    gridIsList: Array.isArray(raw.grid),
    locate,
  };
}

function parseSeeds(v: Json | undefined, complain: Complain): number[] {
  const isSeed = (s: Json): s is number => typeof s === "number" && Number.isInteger(s) && s >= 0 && s <= MAX_SEED;
  const seedRule = "a non-negative integer below 2^32 (larger seeds would alias smaller ones)";
  const checkCount = (n: number, at: FieldPath): void => {
    if (n > MAX_PLANNED_RUNS)
      complain(
        at,
        `${n.toLocaleString("en-US")} seeds is more than the ${MAX_PLANNED_RUNS.toLocaleString("en-US")} runs a sweep may plan`,
      );
  };
  let seeds: number[];
  if (typeof v === "number") {
    if (!Number.isInteger(v) || v < 1) complain(["seeds"], `a count must be a positive integer, got ${v}`);
    checkCount(v, ["seeds"]);
    seeds = Array.from({ length: v }, (_, i) => i);
  } else if (Array.isArray(v)) {
    v.forEach((s, i) => isSeed(s) || complain(["seeds", i], `a seed must be ${seedRule}, got ${JSON.stringify(s)}`));
    seeds = v as number[];
  } else if (isPlainObject(v)) {
    for (const k of Object.keys(v))
      if (k !== "start" && k !== "count") complain(["seeds", k], "unknown key; expected start and count");
    const start = v.start ?? 0;
    if (!isSeed(start)) complain(["seeds", "start"], `must be ${seedRule}`);
    if (typeof v.count !== "number" || !Number.isInteger(v.count) || v.count < 1)
      complain(["seeds", "count"], "required: a positive integer");
    checkCount(v.count, ["seeds", "count"]);
    if (start + v.count - 1 > MAX_SEED)
      complain(
        ["seeds", "count"],
        `seeds ${start}..${start + v.count - 1} go past 2^32 - 1 (larger seeds would alias smaller ones)`,
      );
    seeds = Array.from({ length: v.count }, (_, i) => start + i);
  } else return complain(["seeds"], "required: a count (5), a list ([0, 1, 2]) or {start, count}");
  if (seeds.length === 0) complain(["seeds"], "needs at least one seed");
  if (new Set(seeds).size !== seeds.length) complain(["seeds"], "lists a seed twice");
  return seeds;
}

/** Read and validate a sweep file (.yaml, .yml or .json). */
export function loadSweepFile(file: string): SweepSpec {
  if (!fs.existsSync(file)) throw new SweepConfigError(`${file}: no such sweep file`, file, []);
  const text = fs.readFileSync(file, "utf8");
  if (/\.json$/i.test(file)) {
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (e) {
      throw new SweepConfigError(`${file}: invalid JSON: ${(e as Error).message}`, file, []);
    }
    const dup = findDuplicateKey(text);
    if (dup)
      throw new SweepConfigError(
        `${file}:${dup.line} ${formatPath(dup.path)}: duplicate key ${JSON.stringify(dup.key)} (first on line ${dup.firstLine}); JSON readers keep only the last, so write it once`,
        file,
        dup.path,
        dup.line,
      );
    return parseSweepSpec(raw, file);
  }
  const lineCounter = new YAML.LineCounter();
  const doc = YAML.parseDocument(text, { lineCounter, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const line = e.linePos?.[0]?.line;
    throw new SweepConfigError(
      `${file}${line ? `:${line}` : ""}: invalid YAML: ${e.message.split("\n")[0]}`,
      file,
      [],
      line,
    );
  }
  const locate = (p: FieldPath): number | undefined => {
    // The deepest node along the path that exists gives the line.
    for (let k = p.length; k >= 0; k--) {
      const node = doc.getIn(p.slice(0, k), true) as { range?: [number, number, number] } | undefined;
      if (node && node.range) return lineCounter.linePos(node.range[0]).line;
    }
    return undefined;
  };
  let raw: unknown;
  try {
    raw = doc.toJS();
  } catch (e) {
    // e.g. an alias bomb ("Excessive alias count …"): refused by the YAML reader before it expands.
    throw new SweepConfigError(`${file}: invalid YAML: ${(e as Error).message.split("\n")[0]}`, file, []);
  }
  return parseSweepSpec(raw, file, locate);
}

/** JSON with object keys sorted at every depth: the same data always gives the same text. */
export function canonicalJson(v: unknown): string {
  if (v === null || typeof v !== "object") {
    if (typeof v === "number" && !Number.isFinite(v)) throw new Error(`canonicalJson: non-finite number ${v}`);
    if (v === undefined) throw new Error("canonicalJson: undefined has no JSON form");
    return JSON.stringify(v);
  }
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  const obj = v as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(",")}}`;
}
