// Kind versions are checked, not only bumped by hand: a run's id hashes its kind's version, so a change in
// what a kind computes without a new version would let a resumed sweep mix old and new numbers under one
// id. Each built-in kind runs a tiny fixed config here; its metrics, rounded to 6 significant digits, are
// fingerprinted (sha256 of canonical JSON) and compared with the fingerprint recorded for that kind AND
// version in test/kind-fingerprints.json. Metrics changed, version not: the test fails and says which
// VERSION to bump. A new version is recorded with
//   PREFOPT_RECORD_KIND_FINGERPRINTS=1 node --import tsx --test test/kind-versions.test.ts
// which only ever adds (kind, version) entries, never rewrites one (so it cannot hide a change).
//
// fig2 needs its shared stages (classifier, SFT, reward model on rt-polarity: minutes even for the CI
// preset), so it is covered through the committed CI results instead: test/fig2-experiment.test.ts re-runs
// the CI preset and requires data/fig2/dpo-fig2-ci.json's rows exactly, so a change in fig2's numbers forces
// that file to be re-created, which changes its fingerprint here, which requires a new fig2 VERSION.
import { describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { initBackend } from "../src/backend";
import { BUILTIN_KINDS, type BuiltinKindName } from "../src/experiments";
import { readFig2Results } from "../src/experiments/fig2-reproduce";
import { canonicalJson, type Json, type JsonObject } from "../src/sweep/config";
import { getExperimentKind, inlineComplainer, jsonSafeMetrics } from "../src/sweep/kinds";
import { writeFileAtomic } from "../src/fsAtomic";

const root = path.resolve(__dirname, "..");
const FINGERPRINTS = path.join(root, "test", "kind-fingerprints.json");
const RECORD = process.env.PREFOPT_RECORD_KIND_FINGERPRINTS === "1";
const RECORD_COMMAND = "PREFOPT_RECORD_KIND_FINGERPRINTS=1 node --import tsx --test test/kind-versions.test.ts";
const FIG2_CI = "data/fig2/dpo-fig2-ci.json";

/** One recorded fingerprint: what ran (configs and seeds), the rounded metrics, and their sha256. */
interface Entry {
  cases: Json;
  sha256: string;
  /** The rounded metrics (for the failure message); null for fig2, whose rows are in data/fig2. */
  metrics: Json;
}
interface FingerprintFile {
  format: "prefopt-kind-fingerprints-v1";
  kinds: Record<string, Record<string, Entry>>;
}

/** Numbers to 6 significant digits (so the fingerprint ignores nothing coarser), at any depth. */
function round6(v: Json): Json {
  if (typeof v === "number") return v === 0 || !Number.isFinite(v) ? v : Number(v.toPrecision(6));
  if (Array.isArray(v)) return v.map(round6);
  if (v !== null && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, round6(x)]));
  return v;
}

const sha = (v: Json): string => createHash("sha256").update(canonicalJson(v)).digest("hex");

// A tiny lm setting (as in test/sweep-lm.test.ts): a 1-layer d=16 model, 300 sentences, 30 SFT steps.
const TINY_LM: JsonObject = {
  preset: "quick",
  corpusSize: 300,
  model: { contextLength: 24, dModel: 16, nHeads: 2, nLayers: 1 },
  sft: { steps: 30, batchSize: 32, learningRate: 1e-2 },
  rlaif: { prompts: 12, k: 3, maxNewTokens: 8 },
  evaluation: { prompts: 4, samplesPerPrompt: 2 },
};
const BANDIT_DATA: JsonObject = { nPrompts: 3, nResponses: 4, nPairs: 40, rewardSeed: 1 };

/** The fixed configs and seeds each kind runs (fig2: see the top of the file). */
const CASES: Record<Exclude<BuiltinKindName, "fig2">, Array<{ config: JsonObject; seeds: number[] }>> = {
  synthetic: [{ config: { center: 0.5, slope: 2, x: 3, noise: 1, note: "v" }, seeds: [0, 1, 2] }],
  bandit: [
    {
      config: {
        method: "dpo",
        lossOptions: { beta: 0.5 },
        steps: 60,
        batchSize: 8,
        learningRate: 0.05,
        dataset: BANDIT_DATA,
      },
      seeds: [0, 1],
    },
    {
      config: {
        method: "kto",
        lossOptions: { beta: 0.2 },
        steps: 40,
        batchSize: 8,
        learningRate: 0.05,
        engine: "tfjs",
        dataset: { ...BANDIT_DATA, keepDesirable: 0.5 },
      },
      seeds: [3],
    },
    {
      config: {
        method: "ipo",
        lossOptions: { beta: 0.5 },
        steps: 60,
        batchSize: 4,
        learningRate: 0.05,
        dataset: { type: "ipo-never-wins" },
      },
      seeds: [0],
    },
  ],
  lm: [
    {
      config: {
        ...TINY_LM,
        method: "dpo",
        lossOptions: { beta: 0.5 },
        preference: { steps: 6, batchSize: 8, learningRate: 1e-2 },
      },
      seeds: [0],
    },
    {
      config: {
        ...TINY_LM,
        rlaif: { maxNewTokens: 8 },
        method: "rloo",
        lossOptions: { beta: 0.5 },
        rloo: { iterations: 2, promptsPerIteration: 4, k: 2, learningRate: 1e-2 },
      },
      seeds: [0],
    },
  ],
};

function readFingerprints(): FingerprintFile {
  if (!fs.existsSync(FINGERPRINTS)) return { format: "prefopt-kind-fingerprints-v1", kinds: {} };
  const f = JSON.parse(fs.readFileSync(FINGERPRINTS, "utf8")) as FingerprintFile;
  assert.equal(f.format, "prefopt-kind-fingerprints-v1", `${FINGERPRINTS}: field format`);
  return f;
}

/** The first path at which two JSON values differ, for the failure message. */
function firstDifference(a: Json, b: Json, at = ""): string | undefined {
  if (canonicalJson(a) === canonicalJson(b)) return undefined;
  if (a && b && typeof a === "object" && typeof b === "object") {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
      const d = firstDifference(
        (a as Record<string, Json>)[k] ?? null,
        (b as Record<string, Json>)[k] ?? null,
        `${at}/${k}`,
      );
      if (d) return d;
    }
  }
  return `${at || "/"}: recorded ${JSON.stringify(a)?.slice(0, 200)}, now ${JSON.stringify(b)?.slice(0, 200)}`;
}

/** Compare with (or, when recording, add) the entry for (kind, version); returns the failure, if any. */
function check(kind: BuiltinKindName, version: number, cases: Json, metrics: Json, keepMetrics = true): void {
  const file = readFingerprints();
  const source = `src/experiments/${BUILTIN_KINDS[kind]}`;
  const entry = file.kinds[kind]?.[String(version)];
  const now: Entry = { cases, sha256: sha(metrics), metrics: keepMetrics ? metrics : null };
  if (!entry) {
    if (RECORD) {
      (file.kinds[kind] ??= {})[String(version)] = now;
      writeFileAtomic(FINGERPRINTS, JSON.stringify(file, null, 1) + "\n");
      return;
    }
    assert.fail(
      `no fingerprint recorded for ${kind} version ${version} in ${FINGERPRINTS}: record it with ${RECORD_COMMAND}`,
    );
  }
  if (canonicalJson(entry.cases) !== canonicalJson(cases))
    assert.fail(
      `the fixed configs for ${kind} changed since version ${version} was recorded (${firstDifference(entry.cases, cases)}): ` +
        `delete kinds.${kind}["${version}"] from ${FINGERPRINTS} and re-record with ${RECORD_COMMAND}`,
    );
  if (entry.sha256 !== now.sha256)
    assert.fail(
      `${kind}'s metrics changed but its version did not (still ${version}; ${keepMetrics ? `first difference ${firstDifference(entry.metrics, metrics)}` : `see git diff ${FIG2_CI}`}): ` +
        `bump ${kind}'s VERSION in ${source} and re-record with ${RECORD_COMMAND}`,
    );
}

describe("kind versions change whenever a kind's metrics do", () => {
  for (const kind of Object.keys(CASES) as Array<keyof typeof CASES>) {
    test(`${kind}: metrics of fixed tiny configs match the fingerprint recorded for its version`, async () => {
      if (kind === "lm") process.env.PREFOPT_LM_CACHE = "off"; // same numbers either way; no disk writes
      const k = getExperimentKind(kind);
      if (k.usesBackend || kind === "bandit") await initBackend();
      const metrics: Json[] = [];
      for (const c of CASES[kind]) {
        const resolved = k.resolve(structuredClone(c.config), inlineComplainer(`${kind} fixed config`));
        for (const seed of c.seeds) metrics.push(round6(jsonSafeMetrics(await k.run(resolved, seed), kind) as Json));
      }
      check(kind, k.version, CASES[kind] as unknown as Json, metrics);
    });
  }

  test("fig2: the committed CI results match the fingerprint recorded for its version", () => {
    const committed = readFig2Results(path.join(root, FIG2_CI));
    const k = getExperimentKind("fig2");
    assert.equal(
      committed.code.kindVersion,
      k.version,
      `${FIG2_CI} was made by fig2 version ${committed.code.kindVersion}, the kind is at ${k.version}: re-create it with npm run fig2 -- ci`,
    );
    check(
      "fig2",
      k.version,
      { source: FIG2_CI, sweep: committed.sweep.sha256 },
      round6(committed.rows as unknown as Json),
      false,
    );
  });

  test("round6 keeps 6 significant digits and leaves non-numbers alone", () => {
    assert.deepEqual(round6([1.23456789, -0.000123456789, 123456789, 0, "NaN", { a: 2.0000004 }]), [
      1.23457,
      -0.000123457,
      123457000,
      0,
      "NaN",
      { a: 2 },
    ]);
  });
});
