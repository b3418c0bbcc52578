// Grid expansion: a SweepSpec becomes an ordered list of runs, each a resolved config and a seed with a
// stable id = first 16 hex digits of sha256(canonical JSON of {kind, version, config, seed}), where config
// is the resolved config WITHOUT its cosmetic `label` (a label names a grid point in tables and legends;
// renaming it must not re-run anything). Canonical JSON sorts keys, so key order in the sweep file never
// changes an id; the kind's `resolve` fills in defaults first, so writing a default explicitly does not
// change it either. The experiment receives the same label-free config, so a run computes exactly what
// its id hashes.
//
// Two grid points that resolve to the same config are one computation. With the same label (or none)
// the later one is dropped and counted (`duplicatePoints`); under different labels it is an error naming
// both grid blocks and their lines, since a sweep that computes one thing under two names is almost
// certainly a mistake (and the two labels could not both own the run's result).
import { createHash } from "crypto";
import {
  canonicalJson,
  complainer,
  formatPath,
  type Complain,
  isForbiddenKey,
  isPlainObject,
  MAX_PLANNED_RUNS,
  type FieldPath,
  type Json,
  type JsonObject,
  type SweepSpec,
} from "./config";
import { getExperimentKind, loadKindModules } from "./kinds";

/** A factor's value for one run: scalars as they are, lists and objects as canonical JSON. */
export type FactorValue = string | number | boolean | null;

export interface RunSpec {
  id: string;
  /** Position in the full plan (before sharding): sharding and report order use it. */
  index: number;
  kind: string;
  seed: number;
  /** The resolved config (defaults filled in; `label`, if any, kept as written but not part of the id). */
  config: JsonObject;
  /** Index of the grid point (runs of one point differ only in their seed). */
  point: number;
  /** Values of the swept factors for this run. */
  factors: Record<string, FactorValue>;
}

export interface SweepPlan {
  spec: SweepSpec;
  runs: RunSpec[];
  /** Dotted config paths that take more than one value across the grid, in order of first mention. */
  factors: string[];
  points: number;
  /** Grid points that resolved to the same config and label as an earlier point (kept once). */
  duplicatePoints: number;
}

/** The config an experiment computes from: the resolved config without its cosmetic top-level `label`. */
export function computedConfig(config: JsonObject): JsonObject {
  if (!("label" in config)) return config;
  const rest = { ...config };
  delete rest.label;
  return rest;
}

/**
 * sha256-based run id (16 hex digits) of a kind, its version, a resolved config and a seed. A top-level
 * `label` in `config` is ignored (it is cosmetic): the hash covers computedConfig(config).
 */
export function runId(kind: string, version: number, config: JsonObject, seed: number): string {
  return createHash("sha256")
    .update(canonicalJson({ kind, version, config: computedConfig(config), seed }))
    .digest("hex")
    .slice(0, 16);
}

export function getPath(obj: Json | undefined, key: string): Json | undefined {
  let cur: Json | undefined = obj;
  for (const seg of key.split(".")) {
    if (!isPlainObject(cur) || !Object.prototype.hasOwnProperty.call(cur, seg)) return undefined;
    cur = cur[seg];
  }
  return cur;
}

function setPath(obj: JsonObject, key: string, value: Json, onConflict: (problem: string) => never): void {
  const segs = key.split(".");
  const bad = segs.find(isForbiddenKey);
  if (bad !== undefined)
    onConflict(
      `cannot set ${key}: the path segment ${JSON.stringify(bad)} is not allowed (it would reach Object.prototype)`,
    );
  let cur = obj;
  segs.slice(0, -1).forEach((seg, i) => {
    const next = Object.prototype.hasOwnProperty.call(cur, seg) ? cur[seg] : undefined;
    if (next === undefined) cur[seg] = {};
    else if (!isPlainObject(next))
      onConflict(`cannot set ${key}: ${segs.slice(0, i + 1).join(".")} is ${JSON.stringify(next)}, not a mapping`);
    cur = cur[seg] as JsonObject;
  });
  cur[segs[segs.length - 1]] = structuredClone(value);
}

function cartesian(block: Record<string, Json[]>): Array<Record<string, Json>> {
  let out: Array<Record<string, Json>> = [{}];
  for (const [key, values] of Object.entries(block)) out = out.flatMap((a) => values.map((v) => ({ ...a, [key]: v })));
  return out;
}

export function factorValue(v: Json | undefined): FactorValue {
  if (v === undefined || v === null) return null;
  if (typeof v === "object") return canonicalJson(v);
  return v;
}

/** Expand a sweep into runs. Loads the spec's kind modules; throws SweepConfigError on invalid configs. */
export function expandSweep(spec: SweepSpec, locate?: (p: FieldPath) => number | undefined): SweepPlan {
  loadKindModules(spec.modules);
  const fileComplain: Complain = complainer(spec.source, locate ?? spec.locate);
  let kind: ReturnType<typeof getExperimentKind>;
  try {
    kind = getExperimentKind(spec.kind);
  } catch (e) {
    return fileComplain(["kind"], (e as Error).message);
  }
  // Specs built in code skip parseSweepSpec's size check: count again before building anything.
  const planned =
    spec.grid.reduce((n, block) => n + Object.values(block).reduce((m, values) => m * values.length, 1), 0) *
    spec.seeds.length;
  if (planned > MAX_PLANNED_RUNS)
    fileComplain(
      ["grid"],
      `the plan has ${planned.toLocaleString("en-US")} runs, more than the ${MAX_PLANNED_RUNS.toLocaleString("en-US")} a sweep may plan; split it into several sweep files`,
    );
  const seenPoints = new Map<string, { label: Json | undefined; where: FieldPath; point: string }>();
  const points: JsonObject[] = [];
  let duplicatePoints = 0;
  const describeLabel = (l: Json | undefined): string => (l === undefined ? "no label" : `label ${JSON.stringify(l)}`);
  const lineOf = (p: FieldPath): string => {
    const line = (locate ?? spec.locate)?.(p);
    return line ? ` (line ${line})` : "";
  };
  spec.grid.forEach((block, b) => {
    const blockPath: FieldPath = spec.grid.length > 1 || spec.gridIsList ? ["grid", b] : ["grid"];
    for (const assignment of cartesian(block)) {
      const config = structuredClone(spec.base);
      for (const [key, value] of Object.entries(assignment))
        setPath(config, key, value, (p) => fileComplain([...blockPath, key], p));
      const point = Object.entries(assignment)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(", ");
      // Map a problem inside the resolved config back to the grid key or base field that set it.
      const complainConfig = (field: FieldPath, problem: string): never => {
        const dotted = field.join(".");
        const key = Object.keys(block).find((k) => dotted === k || dotted.startsWith(k + "."));
        const where = key !== undefined ? [...blockPath, key] : ["base", ...field];
        return fileComplain(where, `config field ${formatPath(field)} (grid point ${point}): ${problem}`);
      };
      const { label, ...rest } = config;
      if (label !== undefined && typeof label !== "string") complainConfig(["label"], "a label must be a string");
      const resolved = kind.resolve(rest, complainConfig);
      const key = canonicalJson(resolved);
      if (label !== undefined) resolved.label = label;
      const where: FieldPath = "label" in block ? [...blockPath, "label"] : blockPath;
      const setting = Object.entries(assignment)
        .filter(([k]) => k !== "label")
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(", ");
      const earlier = seenPoints.get(key);
      if (earlier !== undefined) {
        if (canonicalJson(earlier.label ?? null) === canonicalJson(label ?? null)) {
          duplicatePoints++;
          continue;
        }
        fileComplain(
          where,
          `grid point ${setting || "(base only)"} (${describeLabel(label)}) resolves to the same config as grid point ${earlier.point || "(base only)"} of ${formatPath(earlier.where)}${lineOf(earlier.where)} (${describeLabel(earlier.label)}). ` +
            "A label is cosmetic and not part of a run's id, so both would be the same runs under two names; remove one of them or make their configs differ.",
        );
      }
      seenPoints.set(key, { label, where, point: setting });
      points.push(resolved);
    }
  });

  // Swept factors: grid keys (and label) whose resolved values differ between points.
  const candidates: string[] = [];
  for (const block of spec.grid)
    for (const key of Object.keys(block)) if (!candidates.includes(key)) candidates.push(key);
  const factors = candidates.filter(
    (key) => new Set(points.map((p) => canonicalJson(factorValue(getPath(p, key))))).size > 1,
  );

  const runs: RunSpec[] = [];
  points.forEach((config, point) => {
    const f: Record<string, FactorValue> = {};
    for (const key of factors) f[key] = factorValue(getPath(config, key));
    for (const seed of spec.seeds) {
      runs.push({
        id: runId(kind.name, kind.version, config, seed),
        index: runs.length,
        kind: kind.name,
        seed,
        config,
        point,
        factors: f,
      });
    }
  });
  return { spec, runs, factors, points: points.length, duplicatePoints };
}

/** Parse "i/n" (0 ≤ i < n): shard i takes runs whose plan index ≡ i (mod n). */
export function parseShard(text: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!m) throw new Error(`--shard must look like i/n (e.g. 0/4), got "${text}"`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || index >= count) throw new Error(`--shard ${text}: need 0 <= i < n (shards are numbered from 0)`);
  return { index, count };
}

/** The runs of one shard: every n-th run of the plan, starting at run i. */
export function shardRuns(runs: RunSpec[], shard: { index: number; count: number }): RunSpec[] {
  return runs.filter((r) => r.index % shard.count === shard.index);
}
