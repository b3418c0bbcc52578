// The `lm` experiment kind: config validation, run ids, a tiny end-to-end run that matches the pipeline,
// the SFT/RLAIF cache (memory and disk, damaged files, racing workers) and tensor hygiene. Every run here
// uses a tiny model and corpus through config overrides, so the whole file takes seconds.
import { before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend";
import { canonicalJson, parseSweepSpec, SweepConfigError, loadSweepFile, type JsonObject } from "../src/sweep/config";
import { inlineComplainer, type Metrics } from "../src/sweep/kinds";
import { expandSweep, runId } from "../src/sweep/plan";
import { runSweep } from "../src/sweep/runner";
import { readResults } from "../src/sweep/store";
import { clearLmMemory, lmCacheStats, lmKind } from "../src/experiments/lm-kind";
import { generateReviewCorpus } from "../src/lm/corpus";
import { defaultConstitution } from "../src/lm/judges";
import {
  LM_PRESETS,
  makeRlaifData,
  setupCorpus,
  trainAndEvaluate,
  trainReference,
  type LmPreset,
} from "../src/lm/pipeline";
import "../src/experiments";

const tmp = (name: string): string => fs.mkdtempSync(path.join(os.tmpdir(), `prefopt-sweep-lm-${name}-`));

// A tiny setting: a 1-layer d=16 model, 300 sentences, 30 SFT steps, 12 RLAIF prompts, 8 eval samples.
const TINY = {
  preset: "quick",
  corpusSize: 300,
  model: { contextLength: 24, dModel: 16, nHeads: 2, nLayers: 1 },
  sft: { steps: 30, batchSize: 32, learningRate: 1e-2 },
  rlaif: { prompts: 12, k: 3, maxNewTokens: 8 },
  evaluation: { prompts: 4, samplesPerPrompt: 2 },
};
const tinyOffline = (method: string, extra: JsonObject = {}): JsonObject => ({
  ...structuredClone(TINY),
  method,
  lossOptions: { beta: 0.5 },
  preference: { steps: 6, batchSize: 8, learningRate: 1e-2 },
  ...extra,
});
const tinyRloo = (extra: JsonObject = {}): JsonObject => ({
  ...structuredClone(TINY),
  rlaif: { maxNewTokens: 8 },
  method: "rloo",
  lossOptions: { beta: 0.5 },
  rloo: { iterations: 2, promptsPerIteration: 4, k: 2, learningRate: 1e-2 },
  ...extra,
});
const resolve = (config: JsonObject): JsonObject => lmKind.resolve(config, inlineComplainer("lm.yaml"));
const stats = () => ({ ...lmCacheStats });
const delta = (a: typeof lmCacheStats, b: typeof lmCacheStats) =>
  Object.fromEntries(
    Object.entries(b)
      .map(([k, v]) => [k, v - a[k as keyof typeof a]])
      .filter(([, v]) => v !== 0),
  );

/** Run `f` with PREFOPT_LM_CACHE set (workers copy the environment when they start, inside `f`). */
function withCache<T>(dir: string, f: () => T): T {
  const saved = process.env.PREFOPT_LM_CACHE;
  const restore = () => {
    if (saved === undefined) delete process.env.PREFOPT_LM_CACHE;
    else process.env.PREFOPT_LM_CACHE = saved;
  };
  process.env.PREFOPT_LM_CACHE = dir;
  let result: T;
  try {
    result = f();
  } catch (e) {
    restore();
    throw e;
  }
  if (result instanceof Promise) return result.finally(restore) as T;
  restore();
  return result;
}

const runSync = (config: JsonObject, seed: number): Metrics => lmKind.run(config, seed) as Metrics;

before(async () => {
  await initBackend();
});

describe("lm kind: config validation", () => {
  const cases: Array<[JsonObject, RegExp]> = [
    [
      { preset: "quick", method: "dpoo" },
      /^lm\.yaml method: must be one of dpo, .*sigmoid, .*, listwise, .*rloo, got "dpoo"$/,
    ],
    [{ method: "dpo" }, /^lm\.yaml preset: must be one of default, quick, got undefined$/],
    [{ method: "dpo", preset: "huge" }, /^lm\.yaml preset: must be one of default, quick/],
    [{ preset: "quick", method: "dpo", betta: 0.1 }, /^lm\.yaml betta: unknown field; expected one of .*lossOptions/],
    [{ preset: "quick", method: "dpo", beta: 0.1 }, /^lm\.yaml beta: was renamed lossOptions\.beta/],
    [{ preset: "quick", method: "dpo", lossOptions: { beta: 0 } }, /^lm\.yaml lossOptions\.beta: must be > 0, got 0$/],
    [
      { preset: "quick", method: "rloo", lossOptions: { beta: 0.1, labelSmoothing: 0.1 } },
      /^lm\.yaml lossOptions\.labelSmoothing: unknown field; expected one of beta$/,
    ],
    [
      { preset: "quick", method: "dpo", preference: { stepz: 3 } },
      /^lm\.yaml preference\.stepz: unknown field; expected one of batchSize, learningRate, steps$/,
    ],
    [
      { preset: "quick", method: "dpo", preference: { steps: 2.5 } },
      /^lm\.yaml preference\.steps: must be an integer, got 2\.5$/,
    ],
    [{ preset: "quick", method: "dpo", preference: 3 }, /^lm\.yaml preference: must be a mapping$/],
    [
      { preset: "quick", method: "dpo", rlaif: { noiseTemperature: -1 } },
      /^lm\.yaml rlaif\.noiseTemperature: must be >= 0, got -1$/,
    ],
    [
      { preset: "quick", method: "dpo", evaluation: { prompts: "all" } },
      /^lm\.yaml evaluation\.prompts: must be a number, got "all"$/,
    ],
    [
      { preset: "quick", method: "dpo", lossOptions: { labelSmoothing: 0.5 } },
      /^lm\.yaml lossOptions\.labelSmoothing: must be < 0\.5, got 0\.5$/,
    ],
    [
      { preset: "quick", method: "dpo", model: { dModel: 10, nHeads: 4 } },
      /^lm\.yaml model: TransformerConfig: dModel 10 is not divisible by nHeads 4$/,
    ],
    [
      { preset: "quick", method: "ipo", lossOptions: { labelSmoothing: 0.1 } },
      /^lm\.yaml lossOptions\.labelSmoothing: is not an option of loss "ipo"/,
    ],
    [
      { preset: "quick", method: "dpo", lossOptions: { desirableWeight: 2 } },
      /^lm\.yaml lossOptions\.desirableWeight: is not an option of loss "dpo"/,
    ],
    [
      { preset: "quick", method: "rloo", preference: { steps: 5 } },
      /^lm\.yaml preference\.steps: RLOO trains online and ignores the offline settings/,
    ],
    [
      { preset: "quick", method: "kto", rloo: { iterations: 5 } },
      /^lm\.yaml rloo\.iterations: only method rloo uses the rloo settings; this run's method is kto/,
    ],
    [
      { preset: "quick", method: "rloo", rlaif: { noiseTemperature: 1 } },
      /^lm\.yaml rlaif\.noiseTemperature: RLOO learns from judge scores/,
    ],
    // The leave-one-out trainer was this kind's "ppo" until 2026-12: the old name is refused with a pointer.
    [
      { preset: "quick", method: "ppo" },
      /^lm\.yaml method: ppo was renamed rloo: .*src\/lm\/rloo\.ts.*src\/lm\/ppo\.ts/,
    ],
    [{ preset: "quick", method: "rloo", ppo: { iterations: 2 } }, /^lm\.yaml ppo: was renamed rloo/],
  ];
  for (const [config, expected] of cases) {
    test(`rejects ${JSON.stringify(config)}`, () => {
      assert.throws(
        () => resolve(config),
        (e: unknown) => e instanceof SweepConfigError && expected.test(e.message),
      );
    });
  }

  test("in a sweep file, the error names the file, the line and the grid key that set the bad value", () => {
    const dir = tmp("cfg");
    const file = path.join(dir, "bad.yaml");
    fs.writeFileSync(
      file,
      "name: bad\nkind: lm\nseeds: 1\nbase: {preset: quick, method: dpo}\ngrid:\n  lossOptions.beta: [0.1, -1]\n",
    );
    assert.throws(
      () => expandSweep(loadSweepFile(file)),
      /bad\.yaml:6 grid\["lossOptions\.beta"\]: config field lossOptions\.beta .*must be > 0, got -1/,
    );
    fs.writeFileSync(
      file,
      "name: bad\nkind: lm\nseeds: 1\nbase: {preset: quick, method: dpo, preference: {lr: 0.1}}\ngrid:\n  lossOptions.beta: [0.1]\n",
    );
    assert.throws(() => expandSweep(loadSweepFile(file)), /bad\.yaml:4 base\.preference\.lr: .*unknown field/);
  });
});

describe("lm kind: resolved configs and run ids", () => {
  test("resolve fills every computed setting from the preset and is idempotent", () => {
    const r = resolve({ preset: "quick", method: "dpo" });
    const q = LM_PRESETS.quick;
    assert.equal(r.preset, "quick");
    assert.deepEqual(
      r.lossOptions,
      { beta: 0.1, labelSmoothing: 0, variant: "sigmoid", referenceFree: false, rpoAlpha: 0 },
      "the registry's defaults for dpo",
    );
    assert.deepEqual(r.sft, q.sft);
    assert.deepEqual(r.model, q.model);
    assert.deepEqual(r.rlaif, q.rlaif);
    assert.deepEqual(r.preference, q.preference);
    assert.equal(r.rloo, undefined, "the other method family's settings are not part of the id");
    assert.equal(r.dataSeed, q.seed);
    assert.equal(canonicalJson(resolve(r)), canonicalJson(r), "resolving a resolved config changes nothing");
    const rloo = resolve({ preset: "quick", method: "rloo" });
    assert.deepEqual(rloo.rloo, q.rloo);
    assert.equal(rloo.preference, undefined);
  });

  test("ids: written-out defaults and key order do not matter; method, β, preset values and seed do", () => {
    const id = (config: JsonObject, seed = 0) =>
      runId("lm", lmKind.version, resolve({ preset: "quick", ...config }), seed);
    const a = id({ method: "dpo", lossOptions: { beta: 0.1 } });
    assert.equal(
      a,
      id({
        lossOptions: { labelSmoothing: 0, beta: 0.1 },
        method: "dpo",
        preset: "quick",
        sft: { ...LM_PRESETS.quick.sft },
      }),
    );
    assert.notEqual(a, id({ method: "dpo", lossOptions: { beta: 0.1 } }, 1));
    assert.notEqual(a, id({ method: "dpo", lossOptions: { beta: 0.2 } }));
    assert.notEqual(a, id({ method: "ipo", lossOptions: { beta: 0.1 } }));
    assert.notEqual(a, id({ method: "dpo", lossOptions: { beta: 0.1 }, preset: "default" }));
    assert.notEqual(a, id({ method: "dpo", lossOptions: { beta: 0.1 }, sft: { steps: 201 } }));
    assert.notEqual(a, id({ method: "dpo", lossOptions: { beta: 0.1 }, rlaif: { noiseTemperature: 0.5 } }));
    // Pinned on a config with every field written out (so editing LM_PRESETS does not move it): a change to
    // what resolve emits (a renamed field, a new one) would orphan every stored lm result. Update deliberately.
    const explicit = {
      preset: "quick",
      method: "dpo",
      lossOptions: { beta: 0.1, labelSmoothing: 0, variant: "sigmoid", referenceFree: false, rpoAlpha: 0 },
      preference: { steps: 30, batchSize: 32, learningRate: 5e-4 },
      rlaif: { prompts: 128, k: 4, maxNewTokens: 16, noiseTemperature: 0 },
      evaluation: { prompts: 32, samplesPerPrompt: 4 },
      corpusSize: 2000,
      heldOutFraction: 0.1,
      maxVocab: 2048,
      model: { contextLength: 32, dModel: 64, nHeads: 4, nLayers: 2 },
      sft: { steps: 200, batchSize: 64, learningRate: 3e-3 },
      dataSeed: 0,
      timings: false,
    };
    assert.deepEqual(resolve(explicit), explicit);
    assert.equal(runId("lm", 1, explicit, 0), "2e8921048863be44"); // moved deliberately: loss options live in lossOptions (issue 12)
  });

  test("the example sweep validates: β × every method on the quick preset", () => {
    const plan = expandSweep(loadSweepFile(path.join(__dirname, "..", "scripts", "sweeps", "lm-frontier.yaml")));
    assert.deepEqual(plan.factors.slice().sort(), ["lossOptions.beta", "method"]);
    assert.deepEqual([...new Set(plan.runs.map((r) => r.config.method))].sort(), [
      "dpo",
      "ipo",
      "kto",
      "listwise",
      "rloo",
    ]);
    assert.ok(plan.runs.every((r) => r.config.preset === "quick"));
  });
});

describe("lm kind: runs", () => {
  let cacheDir: string;
  let reference: Metrics; // tiny DPO, seed 0, built without any cache

  before(() => {
    cacheDir = tmp("cache");
    clearLmMemory();
    reference = withCache("off", () => runSync(resolve(tinyOffline("dpo")), 0));
  });

  test("a tiny run gives finite metrics under the expected names", () => {
    for (const k of [
      "reward",
      "rewardStdErr",
      "kl",
      "klStdErr",
      "rewardGain",
      "sftReward",
      "finalLoss",
      "rewards/accuracies",
      "rewards/margins",
      "pairs",
      "sftPerplexity",
    ]) {
      assert.ok(typeof reference[k] === "number" && Number.isFinite(reference[k]), `${k} = ${reference[k]}`);
    }
    assert.equal(reference.evalSamples, 8);
    assert.equal(reference.trainSeconds, undefined, "no wall-clock numbers unless timings: true");
    const rloo = withCache("off", () => runSync(resolve(tinyRloo({ timings: true })), 0));
    for (const k of ["reward", "kl", "finalLoss", "objective/kl", "objective/rlhf_reward", "trainSeconds"])
      assert.ok(Number.isFinite(rloo[k] as number), `rloo ${k} = ${rloo[k]}`);
  });

  test("seed s with dataSeed s is the pipeline's trainAndEvaluate (dpo, kto, rloo); other seeds differ", () => {
    const q = LM_PRESETS.quick;
    const preset: LmPreset = {
      ...q,
      corpusSize: TINY.corpusSize,
      model: TINY.model,
      sft: TINY.sft,
      rlaif: { ...q.rlaif, ...TINY.rlaif },
      evaluation: TINY.evaluation,
      preference: { steps: 6, batchSize: 8, learningRate: 1e-2 },
      rloo: { iterations: 2, promptsPerIteration: 4, k: 2, learningRate: 1e-2 },
      seed: 0,
    };
    const setup = setupCorpus(generateReviewCorpus(preset.corpusSize, preset.seed), preset);
    const { model } = trainReference(setup, preset, false);
    const constitution = defaultConstitution();
    const data = makeRlaifData(model, setup, constitution, preset);
    for (const method of ["dpo", "kto", "rloo"] as const) {
      const point = trainAndEvaluate({
        method,
        lossOptions: { beta: 0.5 },
        reference: model,
        setup,
        data,
        constitution,
        preset,
        verbose: false,
      });
      const m =
        method === "dpo"
          ? reference
          : withCache("off", () => runSync(resolve(method === "rloo" ? tinyRloo() : tinyOffline(method)), 0));
      const log = point.lastLog as unknown as Record<string, number>;
      assert.deepEqual(
        [m.reward, m.kl, m.meanLength, m.finalLoss],
        [point.reward, point.kl, point.meanLength, method === "rloo" ? log["loss/policy_avg"] : log.loss],
        method,
      );
      if (method === "kto") assert.equal(m["train/kl"], log.kl, "KTO's batch z0 is kept apart from the held-out KL");
    }
    model.dispose();
    const other = withCache("off", () => runSync(resolve(tinyOffline("dpo")), 1));
    assert.notEqual(other.kl, reference.kl);
    assert.equal(other.sftPerplexity, reference.sftPerplexity, "the seed does not touch the reference");
  });

  test("memory and disk cache hits give identical metrics; damaged files are detected and rebuilt", () => {
    const cfg = resolve(tinyOffline("dpo"));
    const step = (what: string, expected: Record<string, number>) => {
      const s0 = stats();
      const m = withCache(cacheDir, () => runSync(cfg, 0));
      assert.deepEqual(m, reference, `${what}: same numbers as without a cache`);
      assert.deepEqual(delta(s0, stats()), expected, what);
    };
    clearLmMemory();
    step("cold", { referenceBuilt: 1, dataBuilt: 1 });
    const files = fs.readdirSync(cacheDir).sort();
    assert.deepEqual(
      files.map((f) => f.replace(/-[0-9a-f]+\.json$/, "")),
      ["reference", "rlaif"],
      `no temporary files left: ${files}`,
    );
    step("memory", { referenceFromMemory: 1, dataFromMemory: 1 });
    clearLmMemory();
    step("disk", { referenceFromDisk: 1, dataFromDisk: 1 });

    // A torn checkpoint (JSON cut short) and a data file with one changed score (still valid JSON).
    const [refFile, dataFile] = files.map((f) => path.join(cacheDir, f));
    const refText = fs.readFileSync(refFile, "utf8");
    fs.writeFileSync(refFile, refText.slice(0, refText.length >> 1));
    const dataText = fs.readFileSync(dataFile, "utf8");
    const tampered = dataText.replace(
      /(\\"scoreChosen\\":)(-?\d)/,
      (_m, k: string, d: string) => `${k}${d === "9" ? "8" : "9"}`,
    );
    assert.notEqual(tampered, dataText);
    fs.writeFileSync(dataFile, tampered);
    clearLmMemory();
    step("damaged", { damaged: 2, referenceBuilt: 1, dataBuilt: 1 });
    assert.equal(fs.readFileSync(refFile, "utf8"), refText, "the rebuilt checkpoint is byte-identical");
    assert.equal(fs.readFileSync(dataFile, "utf8"), dataText);
    // A weight changed inside a well-formed checkpoint fails the checksum.
    const json = JSON.parse(refText) as { weights: Record<string, { data: string }> };
    const w = json.weights["lnf.g"];
    w.data = (w.data[0] === "A" ? "B" : "A") + w.data.slice(1);
    fs.writeFileSync(refFile, JSON.stringify(json));
    clearLmMemory();
    step("bad weights", { damaged: 1, referenceBuilt: 1, dataFromDisk: 1 });
    clearLmMemory();
  });

  test("no tensor leaks: a run leaves numTensors unchanged; clearing the memory frees the reference", () => {
    withCache(cacheDir, () => {
      clearLmMemory();
      const baseline = tf.memory().numTensors;
      for (const cfg of [resolve(tinyOffline("kto")), resolve(tinyOffline("listwise")), resolve(tinyRloo())]) {
        runSync(cfg, 0); // warms the memory (the reference stays there on purpose)
        const before = tf.memory().numTensors;
        runSync(cfg, 3);
        assert.equal(tf.memory().numTensors, before, `${cfg.method}: numTensors flat across a run`);
      }
      assert.ok(tf.memory().numTensors > baseline, "the reference is kept between runs");
      clearLmMemory();
      assert.equal(tf.memory().numTensors, baseline);
    });
  });

  test("a sweep on two workers racing on a cold cache stores the in-thread numbers, and resumes", async () => {
    const dir = tmp("race");
    const spec = parseSweepSpec({
      name: "lm-race",
      kind: "lm",
      seeds: [0],
      base: tinyOffline("dpo"),
      grid: [{ "lossOptions.beta": [0.5, 0.25] }],
    });
    const out = path.join(dir, "out");
    const r = await withCache(path.join(dir, "cache"), () =>
      runSweep({ spec, out, workers: 2, quiet: true, report: false }),
    );
    assert.equal(r.failed.length, 0, JSON.stringify(r.failed));
    assert.equal(r.ran, 2);
    const stored = readResults(r.files.results).records.find(
      (x) => (x.config.lossOptions as { beta: number }).beta === 0.5,
    )!;
    assert.deepEqual(stored.metrics, reference);
    assert.deepEqual(
      fs
        .readdirSync(path.join(dir, "cache"))
        .map((f) => f.split("-")[0])
        .sort(),
      ["reference", "rlaif"],
      "one file each, no temporaries",
    );
    const again = await withCache(path.join(dir, "cache"), () =>
      runSweep({ spec, out, workers: 2, quiet: true, report: false }),
    );
    assert.equal(again.ran, 0);
    assert.equal(again.alreadyDone, 2);
  });
});
