// The registry of experiment kinds. A kind is a pure function (resolved config, seed) → metrics record,
// plus a `resolve` step that validates a config (clear errors with field paths) and fills in defaults, so
// a run's id hashes exactly what it computes. Kinds register themselves on import; a sweep file can name
// extra `modules` that register more (each worker imports them too).
import { complainer, isPlainObject, type Complain, type FieldPath, type Json, type JsonObject } from "./config";

/** One run's result: a flat record of numbers and strings (non-finite numbers are stored as strings). */
export type Metrics = Record<string, number | string>;

export interface ExperimentKind {
  name: string;
  description: string;
  /** Bump when the computation changes: it is part of every run id, so old results are not reused. */
  version: number;
  /** True if runs use tfjs: the worker then calls initBackend() before its first run. */
  usesBackend: boolean;
  /** Validate `config` (call `complain(path, problem)` on bad input) and return it with defaults filled in. */
  resolve(config: JsonObject, complain: Complain): JsonObject;
  /** The experiment itself: must depend on nothing but its arguments. */
  run(config: JsonObject, seed: number): Metrics | Promise<Metrics>;
}

const registry = new Map<string, ExperimentKind>();

// Kinds declared by module but not loaded yet (name → absolute module path): loaded on first use, so
// expanding a synthetic sweep (or importing plan.ts at all) never loads tfjs and the LM stack. The engine
// knows no kind by name; src/experiments/index.ts declares prefopt's own, and workers receive the same
// declarations (see pool.ts), so there is one list.
const declared = new Map<string, string>();

/** Declare kinds by the module that registers each (absolute paths); loaded when first asked for. */
export function declareKindModules(modules: Record<string, string>): void {
  for (const [name, file] of Object.entries(modules)) declared.set(name, file);
}

/** The declared kinds' modules (what a worker needs to find every kind this thread can). */
export function declaredKindModules(): Record<string, string> {
  return Object.fromEntries(declared);
}

export function registerExperimentKind(kind: ExperimentKind): void {
  const existing = registry.get(kind.name);
  if (existing && existing !== kind) throw new Error(`experiment kind "${kind.name}" is already registered`);
  registry.set(kind.name, kind);
}

export function getExperimentKind(name: string): ExperimentKind {
  const file = declared.get(name);
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  if (!registry.has(name) && file !== undefined) require(file);
  const kind = registry.get(name);
  if (!kind)
    throw new Error(
      `unknown experiment kind "${name}"; ${file !== undefined ? `${file} did not register it; ` : ""}` +
        `registered: ${listExperimentKinds().join(", ") || "none"}` +
        (declared.size === 0 ? ` (import src/experiments to declare prefopt's built-in kinds)` : ""),
    );
  return kind;
}

export function listExperimentKinds(): string[] {
  return [...new Set([...registry.keys(), ...declared.keys()])].sort();
}

/** Load modules that register more kinds (absolute paths; TypeScript works where tsx is registered). */
export function loadKindModules(modules: string[]): void {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  for (const m of modules) require(m);
}

// ---- small validators that kinds use to read their configs --------------------------------------

/** Reads fields of one config object; every unread key is an error (catches typos like `lossOption`). */
export class ConfigReader {
  private readonly used = new Set<string>();
  constructor(
    readonly obj: JsonObject,
    readonly at: FieldPath,
    readonly complain: Complain,
  ) {}

  static root(config: JsonObject, complain: Complain): ConfigReader {
    return new ConfigReader(config, [], complain);
  }

  private take(key: string): Json | undefined {
    this.used.add(key);
    return this.obj[key];
  }

  number(
    key: string,
    dflt: number | undefined,
    check?: { min?: number; max?: number; integer?: boolean; exclusiveMin?: boolean },
  ): number {
    const v = this.take(key) ?? dflt;
    if (typeof v !== "number" || !Number.isFinite(v))
      return this.complain(
        [...this.at, key],
        v === undefined ? "required: a number" : `must be a number, got ${JSON.stringify(v)}`,
      );
    if (check?.integer && !Number.isInteger(v)) this.complain([...this.at, key], `must be an integer, got ${v}`);
    if (check?.min !== undefined && (check.exclusiveMin ? v <= check.min : v < check.min))
      this.complain([...this.at, key], `must be ${check.exclusiveMin ? ">" : ">="} ${check.min}, got ${v}`);
    if (check?.max !== undefined && v > check.max)
      this.complain([...this.at, key], `must be <= ${check.max}, got ${v}`);
    return v;
  }

  boolean(key: string, dflt: boolean | undefined): boolean {
    const v = this.take(key) ?? dflt;
    if (typeof v !== "boolean")
      return this.complain(
        [...this.at, key],
        v === undefined ? "required: true or false" : `must be true or false, got ${JSON.stringify(v)}`,
      );
    return v;
  }

  string(key: string, dflt: string | undefined): string {
    const v = this.take(key) ?? dflt;
    if (typeof v !== "string")
      return this.complain(
        [...this.at, key],
        v === undefined ? "required: a string" : `must be a string, got ${JSON.stringify(v)}`,
      );
    return v;
  }

  oneOf<T extends string>(key: string, options: readonly T[], dflt: T | undefined): T {
    const v = this.take(key) ?? dflt;
    if (typeof v !== "string" || !(options as readonly string[]).includes(v)) {
      return this.complain([...this.at, key], `must be one of ${options.join(", ")}, got ${JSON.stringify(v)}`);
    }
    return v as T;
  }

  /** A nested object (missing → {}), read with its own reader. */
  child(key: string): ConfigReader {
    const v = this.take(key) ?? {};
    if (!isPlainObject(v)) return this.complain([...this.at, key], "must be a mapping");
    return new ConfigReader(v, [...this.at, key], this.complain);
  }

  has(key: string): boolean {
    return this.obj[key] !== undefined;
  }

  /** Call last: complains about any key nobody read. */
  done(): void {
    for (const key of Object.keys(this.obj)) {
      if (!this.used.has(key))
        this.complain(
          [...this.at, key],
          `unknown field; expected one of ${[...this.used].sort().join(", ") || "(none)"}`,
        );
    }
  }
}

/** A complainer for configs built in code (tests, notebooks). */
export function inlineComplainer(label = "<config>"): Complain {
  return complainer(label);
}

/** Convert a metrics object so it survives JSON: NaN and ±Infinity become the strings "NaN", "Infinity". */
export function jsonSafeMetrics(metrics: Record<string, unknown>, kind: string): Metrics {
  const out: Metrics = {};
  for (const [k, v] of Object.entries(metrics)) {
    if (typeof v === "number") out[k] = Number.isFinite(v) ? v : String(v);
    else if (typeof v === "string") out[k] = v;
    else if (typeof v === "boolean") out[k] = v ? 1 : 0;
    else
      throw new Error(
        `experiment kind "${kind}" returned metric "${k}" of type ${v === null ? "null" : typeof v}; metrics must be numbers or strings`,
      );
  }
  return out;
}

/** Read a stored metric back as a number (NaN for strings, "NaN", "Infinity" → ±Infinity). */
export function metricNumber(v: number | string | undefined): number {
  if (typeof v === "number") return v;
  if (v === "Infinity") return Infinity;
  if (v === "-Infinity") return -Infinity;
  return NaN;
}
