// `lm`: one language-model preference-learning run (src/lm's pipeline) as a sweep experiment kind.
//
// A run is the pipeline's last stage: clone the SFT reference, train the clone with one method at one β,
// evaluate it on held-out prompts (mean judge reward, Monte-Carlo KL to the reference), dispose it. The
// stages before it (corpus, tokenizer, SFT reference, RLAIF data) depend only on the preset's settings and
// `dataSeed`, never on the method, β or the run's seed, so a sweep builds them once: they are kept in
// memory per worker and on disk under checkpoints/lm-sweep-cache/ (PREFOPT_LM_CACHE=<dir> moves it,
// PREFOPT_LM_CACHE=off turns the disk part off). The cache only saves time: cached or not, a run's
// metrics are the same numbers.
//
// The run's seed stands in for the preset's seed in the stages after the data (minibatch order, RLOO's
// samples, the evaluation's samples), so seed s with dataSeed s is exactly the pipeline's trainAndEvaluate,
// and all methods at one seed are evaluated with the same random numbers (paired comparisons).
//
// config (every default comes from LM_PRESETS[preset] in src/lm/pipeline.ts or the loss's registry entry):
//   preset: default | quick (required)   method: any registered loss (dpo, ipo, kto, listwise, simpo, …) | rloo
//                (RLOO, src/lm/rloo.ts: the leave-one-out trainer this kind called "ppo" until 2026-12;
//                method ppo is refused with that pointer)
//   lossOptions: the loss's options, checked and defaulted by its registry entry (beta 0.1: β, IPO's τ;
//                DPO's variant and labelSmoothing, KTO's weights, …); for rloo only {beta}
//   preference: {steps, batchSize, learningRate}                 the offline methods' training
//   rloo: {iterations, promptsPerIteration, k, learningRate}     RLOO's training
//   rlaif: {prompts, k, maxNewTokens, noiseTemperature}          the preference data (τ > 0: label noise)
//   evaluation: {prompts, samplesPerPrompt}                      held-out evaluation size
//   corpusSize, heldOutFraction, maxVocab, model: {contextLength, dModel, nHeads, nLayers},
//   sft: {steps, batchSize, learningRate}, dataSeed              what the reference is built from
//   timings: false            true adds trainSeconds (wall time, so such runs are no longer reproducible)
// As in the bandit kind, a knob the method ignores (labelSmoothing for IPO, preference.* for RLOO, …) is an
// error (loss options by the registry; the others when they differ from the preset), so two run ids never
// compute the same thing.
import { type Complain, type JsonObject } from "../sweep/config";
import { ConfigReader, registerExperimentKind, type ExperimentKind, type Metrics } from "../sweep/kinds";
import { referenceFor, rlaifDataFor } from "./lm-cache";
import { defaultConstitution } from "../lm/judges";
import { LM_PRESETS, evaluateOnHeldOut, trainAndEvaluate, type LmMethod, type LmPreset } from "../lm/pipeline";
import type { RlaifData } from "../lm/rlaif";
import { validateConfig } from "../lm/transformer";
import { getLoss, type LossOptions } from "../losses/registry";
import { checkRenamed, readMethod } from "./loss-config";

// The method-independent stages (SFT reference, RLAIF data) are cached in ./lm-cache.
export { clearLmMemory, lmCacheDir, lmCacheStats } from "./lm-cache";
// Part of every run id and cache key: bump it when src/lm changes what a run, the reference or the data
// compute, so neither stored results nor cached artefacts from before are reused.
// 2: prompt-level held-out split, <pad>/<bos> excluded from every softmax, no <eos> on cut rows, tied lists
// left out of listwise DPO.
// 3: method is any registered loss with lossOptions from its registry entry; "ipo" is TRL's per-token IPO
// (lengthNormalize: true by default; false gives the summed form used before).
const VERSION = 3;

type LmRunConfig = Omit<LmPreset, "name" | "betas" | "seed" | "preference" | "rloo"> & {
  preset: string;
  method: LmMethod;
  /** The loss's options resolved by its registry entry (rloo: {beta}). */
  lossOptions: LossOptions;
  /** Exactly one of these two: the method's own training settings. */
  preference?: LmPreset["preference"];
  rloo?: LmPreset["rloo"];
  dataSeed: number;
  timings: boolean;
};

function resolveLm(config: JsonObject, complain: Complain): JsonObject {
  const r = ConfigReader.root(config, complain);
  // Required (no default): a sweep file should say which preset it ablates; PREFOPT_LM_PRESET is not read.
  const presetName = r.oneOf("preset", Object.keys(LM_PRESETS), undefined);
  const p = LM_PRESETS[presetName];
  const pos = { min: 0, exclusiveMin: true };
  checkRenamed(r, {
    beta: "lossOptions.beta",
    labelSmoothing: "lossOptions.labelSmoothing",
    desirableWeight: "lossOptions.desirableWeight",
    undesirableWeight: "lossOptions.undesirableWeight",
  });
  // The leave-one-out trainer was this kind's "ppo" until 2026-12; PPO with a critic is the fig2 kind's.
  if (r.has("ppo")) r.complain(["ppo"], 'was renamed rloo (the section of method "rloo")');
  if (r.obj.method === "ppo")
    r.complain(
      ["method"],
      "ppo was renamed rloo: this kind's online method is RLOO (leave-one-out baseline, no critic; Ahmadian et al. 2024, src/lm/rloo.ts); PPO with a value head and GAE is the fig2 kind's ppo (src/lm/ppo.ts)",
    );
  const { method, lossOptions } = readMethod(r, {
    data: ["pairs", "rankings", "unpaired"],
    extra: { rloo: (lo) => ({ beta: lo.number("beta", 0.1, pos) }) },
  });
  const count = (min: number) => ({ min, integer: true });
  // A nested section: exactly the fields in `checks`, each defaulting to the preset's value.
  type Check = Parameters<ConfigReader["number"]>[2];
  const section = <T>(key: string, dflt: T, checks: Record<string, Check>): T => {
    const s = r.child(key);
    const out = Object.fromEntries(
      Object.entries(checks).map(([k, check]) => [
        k,
        s.number(k, (dflt as Record<string, number | undefined>)[k], check),
      ]),
    );
    s.done();
    return out as T;
  };
  const out: LmRunConfig = {
    preset: presetName,
    method,
    lossOptions,
    preference: section("preference", p.preference, { steps: count(1), batchSize: count(1), learningRate: pos }),
    rloo: section("rloo", p.rloo, {
      iterations: count(1),
      promptsPerIteration: count(1),
      k: count(2),
      learningRate: pos,
    }),
    rlaif: section("rlaif", p.rlaif, {
      prompts: count(1),
      k: count(2),
      maxNewTokens: count(1),
      noiseTemperature: { min: 0 },
    }),
    evaluation: section("evaluation", p.evaluation, { prompts: count(1), samplesPerPrompt: count(1) }),
    corpusSize: r.number("corpusSize", p.corpusSize, count(10)),
    heldOutFraction: r.number("heldOutFraction", p.heldOutFraction, { min: 0, max: 0.9, exclusiveMin: true }),
    maxVocab: r.number("maxVocab", p.maxVocab, count(5)),
    model: section("model", p.model, {
      contextLength: count(4),
      dModel: count(1),
      nHeads: count(1),
      nLayers: count(1),
    }),
    sft: section("sft", p.sft, { steps: count(1), batchSize: count(1), learningRate: pos }),
    dataSeed: r.number("dataSeed", p.seed, count(0)),
    timings: r.boolean("timings", false),
  };
  r.done();
  try {
    validateConfig({ ...out.model, vocabSize: out.maxVocab });
  } catch (e) {
    complain(["model"], (e as Error).message);
  }
  // A knob the method ignores would give distinct ids that compute the same thing: refuse it. (Loss options
  // were checked against the loss's registry entry by readMethod.)
  const ignored = (field: string[], problem: string): never =>
    complain(field, `${problem}; this run's method is ${method} (use grid blocks to vary it per method)`);
  const [unused, unusedDefault] =
    method === "rloo" ? (["preference", p.preference] as const) : (["rloo", p.rloo] as const);
  for (const [k, v] of Object.entries(out[unused] ?? {}))
    if (v !== (unusedDefault as Record<string, number>)[k])
      ignored(
        [unused, k],
        method === "rloo"
          ? "RLOO trains online and ignores the offline settings"
          : "only method rloo uses the rloo settings",
      );
  if (method === "rloo") {
    // RLOO samples its own completions and scores them with the judges: the RLAIF pairs are not used.
    for (const k of ["prompts", "k", "noiseTemperature"] as const)
      if (out.rlaif[k] !== p.rlaif[k])
        ignored(["rlaif", k], "RLOO learns from judge scores of its own samples, not from the RLAIF data");
  }
  delete out[unused];
  return out as unknown as JsonObject;
}

// ---- the run ---------------------------------------------------------------------------------------

const NO_DATA: RlaifData = { pairs: [], rankings: [], unpaired: [], tiedPrompts: 0, tiedLists: 0, flippedFraction: 0 };

export const lmKind: ExperimentKind = {
  name: "lm",
  description:
    "Tiny causal transformer: SFT reference → RLAIF data → any registered preference loss or RLOO → held-out judge reward and KL (src/lm)",
  version: VERSION,
  usesBackend: true,
  resolve: resolveLm,
  run(config, seed) {
    const c = config as unknown as LmRunConfig;
    const base = LM_PRESETS[c.preset];
    const preset: LmPreset = {
      ...base,
      corpusSize: c.corpusSize,
      heldOutFraction: c.heldOutFraction,
      maxVocab: c.maxVocab,
      model: c.model,
      sft: c.sft,
      rlaif: c.rlaif,
      preference: c.preference ?? base.preference,
      rloo: c.rloo ?? base.rloo,
      evaluation: c.evaluation,
      seed: c.dataSeed,
    };
    const { key, ref } = referenceFor(preset, VERSION);
    const data = c.method === "rloo" ? NO_DATA : rlaifDataFor(preset, key, ref, VERSION);
    const constitution = defaultConstitution();
    const runPreset = { ...preset, seed }; // the run's seed drives training and evaluation only
    const point = trainAndEvaluate({
      method: c.method,
      lossOptions: c.lossOptions,
      reference: ref.model,
      setup: ref.setup,
      data,
      constitution,
      preset: runPreset,
      verbose: false,
    });
    // The reference on the same prompts and random numbers: the gain is paired, so its noise is small.
    const sft = evaluateOnHeldOut(ref.model, ref.model, ref.setup, constitution, runPreset);
    const metrics: Metrics = {
      reward: point.reward,
      rewardStdErr: point.rewardStdErr,
      kl: point.kl,
      klStdErr: point.klStdErr,
      rewardGain: point.reward - sft.reward,
      sftReward: sft.reward,
      meanLength: point.meanLength,
      truncatedFraction: point.truncatedFraction,
      evalSamples: point.samples.length,
      sftPerplexity: ref.sftPerplexity,
    };
    if (c.method !== "rloo")
      Object.assign(metrics, {
        pairs: data.pairs.length,
        tiedPrompts: data.tiedPrompts,
        flippedFraction: data.flippedFraction,
      });
    if (c.method !== "rloo" && getLoss(c.method).data === "rankings") metrics.rankings = data.rankings.length;
    // The last training log row under TRL's names (last minibatch only, as TRL logs it). KTO's `kl` (its
    // batch reference point z0) would overwrite the held-out KL above, so clashing names get a train/ prefix.
    const { step: _s, iteration: _i, ...log } = (point.lastLog ?? {}) as Record<string, number>;
    metrics.finalLoss = c.method === "rloo" ? log["loss/policy_avg"] : log.loss;
    for (const [k, v] of Object.entries(log))
      if (k !== "loss" && Number.isFinite(v)) metrics[k in metrics ? `train/${k}` : k] = v;
    if (c.timings) metrics.trainSeconds = point.trainSeconds;
    return metrics;
  },
};

registerExperimentKind(lmKind);
