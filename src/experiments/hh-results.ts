// Reading the committed real-human-preference results (data/hh/hh.json and hh-overopt.json, written by
// scripts/hh.ts) for notebook 11, and the small summaries the notebook shows from them: the accuracy
// table over seeds, the "both fall" test, the accuracy lost from its peak, the mean log-prob trajectory
// and the length preference per dataset. Both result formats are read:
//   v2 ("prefopt-hh-results-v2"): ties count 0, each accuracy has its cluster-robust se and a Student-t
//     interval on G − 1 degrees of freedom, turning points need a rise before the fall;
//   v1 ("prefopt-hh-results-v1"): ties counted ½, normal-approximation intervals acc ± 1.96·se (so se is
//     recovered as the half-width / 1.96), turning points by an older rule (recomputed here, as for v2).
// A malformed file is an error naming the file and the field; nothing is filled in silently except the
// two v1 conversions above, which `notes` lists.
import * as fs from "fs";
import type { AccuracyResult } from "./hh-data";
import type { HhStudyConfig, SeedResult, TrajectoryPoint } from "./hh-study";
import { curveTurning, isBestOfN, type OveroptConfig, type OveroptResult } from "./hh-overopt";

export const HH_FORMATS = ["prefopt-hh-results-v1", "prefopt-hh-results-v2"] as const;
export type HhFormat = (typeof HH_FORMATS)[number];

/** A results file as scripts/hh.ts writes it (it writes v2; v1 files carry the same fields). */
export interface HhResults {
  format: HhFormat;
  config: { file: string; sha256: string; body: HhStudyConfig & { overopt?: OveroptConfig } };
  code: { commit: string; dirty: boolean };
  seconds: number;
  createdAt: string;
  runs: SeedResult[];
  overopt: OveroptResult[];
}

/** A results file as read here. */
export interface HhResultsFile extends Omit<HhResults, "createdAt"> {
  /** The file read, and whether it is a run cut short (<name>.partial.json, used only without <name>.json). */
  file: string;
  partial: boolean;
  /** What was converted on reading (v1 only). */
  notes: string[];
}

/** The baselines' labels in the accuracy table, next to the methods' own labels. */
export const BASELINES = ["Bradley–Terry RM", "length only", "SFT log-likelihood"] as const;

function need(obj: unknown, path: string, file: string, type: "object" | "number" | "string" | "array"): void {
  const v = path.split(".").reduce<unknown>((o, k) => (o as Record<string, unknown> | undefined)?.[k], obj);
  const ok = type === "array" ? Array.isArray(v) : typeof v === type && (type !== "number" || Number.isFinite(v));
  if (!ok) throw new Error(`${file}: field ${path} is ${v === undefined ? "missing" : "not a " + type}`);
}

function checkAccuracy(a: unknown, path: string, file: string, format: HhFormat): AccuracyResult {
  for (const f of ["accuracy", "n", "clusters"]) need(a, `${f}`, `${file}: ${path}`, "number");
  need(a, "ci95", `${file}: ${path}`, "array");
  const r = a as AccuracyResult;
  if (format === "prefopt-hh-results-v2") {
    need(a, "se", `${file}: ${path}`, "number");
    return r;
  }
  return { ...r, se: (r.ci95[1] - r.ci95[0]) / 2 / 1.96 };
}

/** Parse and check one results file's text (`file` names it in errors). */
export function parseHhResults(text: string, file: string, partial = false): HhResultsFile {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  const format = raw.format as HhFormat;
  if (!HH_FORMATS.includes(format))
    throw new Error(`${file}: field format is ${JSON.stringify(raw.format)}, expected one of ${HH_FORMATS.join(", ")}`);
  for (const [p, t] of [
    ["config.file", "string"],
    ["config.sha256", "string"],
    ["config.body.datasets", "array"],
    ["config.body.seeds", "array"],
    ["config.body.methods", "array"],
    ["code.commit", "string"],
    ["seconds", "number"],
  ] as const)
    need(raw, p, file, t);
  const v1 = format === "prefopt-hh-results-v1";
  // v1's method-comparison file has no "overopt" list; v2 writes both lists in every file.
  const runsRaw = raw.runs ?? [];
  const overRaw = raw.overopt ?? (v1 ? [] : undefined);
  need({ runs: runsRaw, overopt: overRaw }, "runs", file, "array");
  need({ runs: runsRaw, overopt: overRaw }, "overopt", file, "array");
  const runs = (runsRaw as SeedResult[]).map((r, i) => {
    const at = `runs[${i}]`;
    need(r, "dataset", `${file}: ${at}`, "string");
    need(r, "methods", `${file}: ${at}`, "array");
    const acc = (a: unknown, p: string) => checkAccuracy(a, `${at}.${p}`, file, format);
    return {
      ...r,
      reference: acc(r.reference, "reference"),
      rewardModel: { ...acc(r.rewardModel, "rewardModel"), seconds: r.rewardModel.seconds },
      length: acc(r.length, "length"),
      methods: r.methods.map((m, j) => {
        need(m, "trajectory", `${file}: ${at}.methods[${j}]`, "array");
        return { ...m, heldOut: acc(m.heldOut, `methods[${j}].heldOut`) };
      }),
    };
  });
  const overopt = (overRaw as OveroptResult[]).map((o, i) => {
    need(o, "curves", `${file}: overopt[${i}]`, "array");
    const judged = Object.fromEntries(
      (["goldHeldOut", "proxyHeldOut"] as const)
        .filter((k) => o[k] !== undefined)
        .map((k) => [k, checkAccuracy(o[k], `overopt[${i}].${k}`, file, format)]),
    );
    return { ...o, ...judged, curves: o.curves.map((c) => ({ ...c, turning: curveTurning(c) })) };
  });
  const notes = v1
    ? [
        "accuracy se recovered from the v1 normal-approximation intervals (half-width / 1.96)",
        "ties counted ½ in v1 accuracies (a method's step-0 accuracy is 0.5 there)",
      ]
    : [];
  return {
    format,
    file,
    partial,
    config: raw.config as HhResultsFile["config"],
    code: raw.code as HhResultsFile["code"],
    seconds: raw.seconds as number,
    runs,
    overopt,
    notes,
  };
}

/** `<dir>/<name>.json`, or `<dir>/<name>.partial.json` (a run cut short) when only that exists. */
export function readHhResults(dir: string, name: string): HhResultsFile {
  for (const [file, partial] of [
    [`${dir}/${name}.json`, false],
    [`${dir}/${name}.partial.json`, true],
  ] as const)
    if (fs.existsSync(file)) return parseHhResults(fs.readFileSync(file, "utf8"), file, partial);
  throw new Error(`${dir}/${name}.json is missing: run \`npm run hh\` to create it`);
}

/** A run's held-out accuracy for a baseline (BASELINES) or a method's label; an unknown label is an error. */
export function accuracyOf(run: SeedResult, label: string): AccuracyResult {
  if (label === BASELINES[0]) return run.rewardModel;
  if (label === BASELINES[1]) return run.length;
  if (label === BASELINES[2]) return run.reference;
  const m = run.methods.find((x) => x.label === label);
  if (!m) throw new Error(`accuracyOf: no model "${label}" in the ${run.dataset} seed ${run.seed} run`);
  return m.heldOut;
}

export interface AccuracyRow {
  dataset: string;
  model: string;
  /** Mean over seeds of the held-out accuracy. */
  mean: number;
  /** Per seed, in the runs' order. */
  perSeed: AccuracyResult[];
}

/** The accuracy table: per dataset (in order of first appearance), the baselines, then every method. */
export function accuracyTable(runs: readonly SeedResult[]): AccuracyRow[] {
  if (runs.length === 0) throw new Error("accuracyTable: no runs");
  const labels = [...BASELINES, ...runs[0].methods.map((m) => m.label)];
  const datasets = [...new Set(runs.map((r) => r.dataset))];
  return datasets.flatMap((dataset) => {
    const rs = runs.filter((r) => r.dataset === dataset);
    return labels.map((model) => {
      const perSeed = rs.map((r) => accuracyOf(r, model));
      return { dataset, model, mean: perSeed.reduce((s, a) => s + a.accuracy, 0) / perSeed.length, perSeed };
    });
  });
}

/** "Both fall" at a checkpoint: the chosen response's log-prob falls, and the rejected one's falls more. */
export function bothFall(p: TrajectoryPoint): boolean {
  return p.chosenShift < 0 && p.rejectedShift < p.chosenShift;
}

/**
 * Held-out accuracy lost from its peak during training: max over the checkpoints after step 0 minus the
 * last one. Step 0 is the untrained policy (log-ratio rewards all 0: a tie on every pair, ½ in v1 and 0 in
 * v2), so it is not a peak the training reached.
 */
export function dropFromPeak(trajectory: readonly TrajectoryPoint[]): number {
  const trained = trajectory.filter((p) => p.step > 0);
  if (trained.length === 0) throw new Error("dropFromPeak: no checkpoint after step 0");
  return Math.max(...trained.map((p) => p.accuracy)) - trained[trained.length - 1].accuracy;
}

/** Mean over runs (seeds) of one method's trajectory; the runs must share their checkpoint steps. */
export function meanTrajectory(runs: readonly SeedResult[], label: string): TrajectoryPoint[] {
  const ts = runs.map((r) => {
    const m = r.methods.find((x) => x.label === label);
    if (!m) throw new Error(`meanTrajectory: no method "${label}" in the ${r.dataset} seed ${r.seed} run`);
    return m.trajectory;
  });
  if (ts.length === 0) throw new Error("meanTrajectory: no runs");
  const steps = ts[0].map((p) => p.step).join(",");
  if (!ts.every((t) => t.map((p) => p.step).join(",") === steps))
    throw new Error(`meanTrajectory: "${label}" runs have different checkpoint steps`);
  const avg = (f: (p: TrajectoryPoint) => number, i: number) => ts.reduce((s, t) => s + f(t[i]), 0) / ts.length;
  return ts[0].map((p, i) => ({
    step: p.step,
    chosenShift: avg((q) => q.chosenShift, i),
    rejectedShift: avg((q) => q.rejectedShift, i),
    accuracy: avg((q) => q.accuracy, i),
  }));
}

/** How far a gold judge can be trusted: its held-out accuracy and that accuracy's lower 95% bound. */
export interface GoldJudge {
  dataset: string;
  seed: number;
  accuracy: number;
  /** Held-out pairs and the clusters (dialogues, or debates) they come from; NaN when not recorded. */
  n: number;
  clusters: number;
  /** The clustered interval's lower end (CR1 se, Student t on G − 1 df); NaN when not recorded. */
  lower: number;
  /** The lower bound is above ½: gold differences can mean something. */
  aboveChance: boolean;
  /** Why it is not graded, when it is not. */
  reason?: string;
}

/**
 * The gold judge of one over-optimisation run (Gao et al. 2023 need a gold reward that is itself right):
 * a judge whose accuracy is not significantly above ½ on held-out pairs cannot show a rise or a fall. The
 * bound is the clustered one: UKPConvArg1's held-out pairs come from a few debates and share arguments, so
 * a binomial bound over pairs would be too narrow. A run that did not record it is not graded.
 */
export function goldJudge(o: OveroptResult): GoldJudge {
  const base = { dataset: o.dataset, seed: o.seed, accuracy: o.goldAccuracy };
  const h = o.goldHeldOut;
  if (!h)
    return {
      ...base,
      n: NaN,
      clusters: NaN,
      lower: NaN,
      aboveChance: false,
      reason: "no clustered interval recorded (a file written before the run kept it)",
    };
  const aboveChance = judgeAboveChance(h);
  return {
    ...base,
    n: h.n,
    clusters: h.clusters,
    lower: h.ci95[0],
    aboveChance,
    ...(aboveChance ? {} : { reason: "the gold judge is not significantly above chance" }),
  };
}

/** A judge is worth reading when the lower end of its clustered held-out interval is above ½. */
const judgeAboveChance = (h: AccuracyResult | undefined): boolean => h !== undefined && h.ci95[0] > 0.5;

/** The proxy a best-of-N curve selects on is above chance (a proxy at chance picks at random). */
export const proxyAboveChance = (o: OveroptResult): boolean => judgeAboveChance(o.proxyHeldOut);

/** What one curve of a graded run shows. */
export type CurveOutcome = "turned" | "rose, no fall within the budget" | "never rose";

export { isBestOfN };

/** turningPoint's outcome; the proxy condition applies to best-of-N only (the others never see the proxy). */
export function curveOutcome(c: OveroptResult["curves"][number]): CurveOutcome {
  const t = curveTurning(c);
  return t.overoptimised ? "turned" : t.rose ? "rose, no fall within the budget" : "never rose";
}

/**
 * One over-optimisation claim graded over the runs whose gold judge is above chance, on one family of
 * curves: "best-of-n" (Gao et al. 2023: optimising the proxy; graded only where the proxy too is above
 * chance, since a proxy at chance picks at random) or "direct" (DPO, IPO, KTO: Rafailov et al. 2024 report
 * the same hump for direct alignment). yes: every graded curve turns; partly: some do; no: none does and
 * some never rose (optimising did not raise gold at all); not testable: no graded curve, or every graded
 * curve rose without a fall within its budget (the fall is not covered). `runs` lists the runs whose judge
 * is above chance, `excluded` the rest, `skipped` graded runs whose curves of this family were not graded.
 */
export function gaoVerdict(
  overopt: readonly OveroptResult[],
  family: "best-of-n" | "direct",
): {
  verdict: "yes" | "partly" | "no" | "not testable";
  turned: number;
  roseOnly: number;
  neverRose: number;
  curves: number;
  /** Largest KL any graded curve reached. */
  maxKl: number;
  runs: GoldJudge[];
  excluded: GoldJudge[];
  skipped: string[];
} {
  const judges = overopt.map((o) => goldJudge(o));
  const graded = overopt.filter((_, i) => judges[i].aboveChance);
  const usable = family === "best-of-n" ? graded.filter(proxyAboveChance) : graded;
  const curves = usable.flatMap((o) => o.curves.filter((c) => isBestOfN(c) === (family === "best-of-n")));
  const outcomes = curves.map(curveOutcome);
  const count = (x: CurveOutcome) => outcomes.filter((o) => o === x).length;
  const [turned, roseOnly, neverRose] = [
    count("turned"),
    count("rose, no fall within the budget"),
    count("never rose"),
  ];
  const n = outcomes.length;
  const verdict =
    n === 0 ? "not testable" : turned === n ? "yes" : turned > 0 ? "partly" : neverRose > 0 ? "no" : "not testable";
  return {
    verdict,
    turned,
    roseOnly,
    neverRose,
    curves: n,
    maxKl: Math.max(0, ...curves.flatMap((c) => c.points.map((p) => p.kl))),
    runs: judges.filter((j) => j.aboveChance),
    excluded: judges.filter((j) => !j.aboveChance),
    skipped: graded.filter((o) => !usable.includes(o)).map((o) => `${o.dataset} seed ${o.seed}`),
  };
}
