// `fig2`: one run of the DPO paper's Figure 2 (controlled sentiment generation on rt-polarity) as a sweep
// experiment kind: (method, knob, seed) → checkpoint rows (src/fig2/run.ts).
//
// The stages every run shares — classifier, prefix split, SFT reference, K = 4 samples and their pairs,
// the learned reward model — depend only on the data preset and `dataSeed`; buildFig2Shared (src/fig2/
// shared.ts) builds them once and caches them on disk, and this kind keeps them in memory per worker.
// scripts/fig2.ts builds them in the main process before the workers start, so two workers never build
// the same thing twice.
//
// config:
//   preset: full | ci (required)   method (required, src/fig2/run.ts's FIG2_METHODS)   knob (required: β, τ,
//   α, target KL or max N; 0 for preferred-ft and sft)   dataSeed (0)
//   offline: {epochs, units (0: all), batchSize, learningRate, cdpoEpsilon}   ppo: {iterations, batchSize,
//   miniBatchSize, ppoEpochs, learningRate, initialBeta}   rloo: {iterations, promptsPerIteration, k,
//   learningRate, initialBeta, klHorizon}   bestOfN: {samplesPerPrompt}   checkpoints (evaluations per run)
//   evaluation: {prompts, samplesPerPrompt, maxNewTokens}
//   Issue 28's methods (src/fig2/runOnline.ts; knob β) each add one section, present in their resolved config
//   only (the other methods' configs, and so their run ids, are as before): grpo: {iterations,
//   promptsPerIteration, groupSize, epochs, learningRate} (grpo, dr-grpo and their -gt); onlineDpo /
//   iterativeDpo: {rounds, promptsPerRound, epochs, batchSize, learningRate}; trDpo: {alpha < 1, tau} (tr-dpo)
//   and trDpoHard: {alpha = 1, tau} (tr-dpo-hard), both also offline; dpop: {lambda}, also offline. Defaults
//   from FIG2_ONLINE_PRESETS[preset] (src/fig2/onlinePresets.ts).
// Every default comes from FIG2_RUN_PRESETS[preset]. A section the method ignores must stay at its
// default (two run ids never compute the same thing).
//
// Metrics: the last checkpoint's reward (ground truth), kl, vader, rm, and `checkpoints`, a JSON string of
// every checkpoint row (per-prompt means included, for clustered CIs and paired comparisons).
import { ConfigReader, registerExperimentKind, type ExperimentKind, type Metrics } from "../sweep/kinds";
import type { Complain, JsonObject } from "../sweep/config";
import {
  FIG2_METHODS,
  OFFLINE_METHODS,
  ONLINE_METHODS,
  runFig2,
  type CheckpointRow,
  type Fig2Method,
  type Fig2RunSettings,
} from "../fig2/run";
import { FIG2_RUN_PRESETS, offlineUnitsNeeded } from "../fig2/runPresets";
import { fig2ContextFor } from "../fig2/context";
import { FIG2_ONLINE_PRESETS } from "../fig2/onlinePresets";
import { ONLINE_STUDY_METHODS, onlineSection } from "../fig2/runOnline";

// Part of every run id: bump when src/fig2 changes what a run computes.
// 3: ppo / ppo-gt are PPO with a value head and GAE (src/lm/ppo.ts); the former ones are rloo / rloo-gt;
//    offline runs train `epochs` passes over `units` training units (was `steps` over a subset); KTO's
//    mismatched partners shuffled as TRL's; the reward model as in App. C.
// 2: (never released on main: the two changes above were made on separate branches as version 2.)
const VERSION = 3;

type Fig2Config = Fig2RunSettings & { preset: string; dataSeed: number; unlikelihoodTerm?: string };

function resolveFig2(config: JsonObject, complain: Complain): JsonObject {
  const r = ConfigReader.root(config, complain);
  const preset = r.oneOf("preset", Object.keys(FIG2_RUN_PRESETS), undefined);
  const p = FIG2_RUN_PRESETS[preset];
  const method = r.oneOf("method", FIG2_METHODS, undefined) as Fig2Method;
  const knob = r.number("knob", method === "preferred-ft" || method === "sft" ? 0 : undefined, { min: 0 });
  type Check = Parameters<ConfigReader["number"]>[2];
  const section = <T>(key: string, dflt: T, checks: Record<string, Check>): T => {
    const s = r.child(key);
    const out = Object.fromEntries(
      Object.entries(checks).map(([k, check]) => [k, s.number(k, (dflt as Record<string, number>)[k], check)]),
    );
    s.done();
    return out as T;
  };
  const pos = { min: 0, exclusiveMin: true };
  const count = (min: number) => ({ min, integer: true });
  const out: Fig2Config = {
    preset,
    method,
    knob,
    seed: 0, // the sweep's seed replaces it at run time
    dataSeed: r.number("dataSeed", 0, count(0)),
    offline: section("offline", p.offline, {
      epochs: count(1),
      units: count(0),
      batchSize: count(1),
      learningRate: pos,
      cdpoEpsilon: { min: 0, max: 0.49 },
    }),
    ppo: section("ppo", p.ppo, {
      iterations: count(1),
      batchSize: count(2),
      miniBatchSize: count(1),
      ppoEpochs: count(1),
      learningRate: pos,
      initialBeta: pos,
    }),
    rloo: section("rloo", p.rloo, {
      iterations: count(1),
      promptsPerIteration: count(1),
      k: count(2),
      learningRate: pos,
      initialBeta: { min: 0 },
      klHorizon: pos,
    }),
    bestOfN: section("bestOfN", p.bestOfN, { samplesPerPrompt: count(1) }),
    checkpoints: r.number("checkpoints", p.checkpoints, count(1)),
    evaluation: section("evaluation", p.evaluation, {
      prompts: count(2),
      samplesPerPrompt: count(1),
      maxNewTokens: count(1),
    }),
  };
  // Issue 28's methods: their one section (absent from every other method's config).
  const studyKey = onlineSection(method);
  if (studyKey) {
    const op = FIG2_ONLINE_PRESETS[preset];
    const rounds = {
      rounds: count(1),
      promptsPerRound: count(1),
      epochs: count(1),
      batchSize: count(1),
      learningRate: pos,
    };
    const checks: Record<string, Record<string, Check>> = {
      grpo: {
        iterations: count(1),
        promptsPerIteration: count(1),
        groupSize: count(2),
        epochs: count(1),
        learningRate: pos,
      },
      onlineDpo: rounds,
      iterativeDpo: rounds,
      trDpo: { alpha: { min: 0, max: 1, exclusiveMin: true }, tau: count(1) },
      trDpoHard: { alpha: { min: 1, max: 1 }, tau: count(1) },
      dpop: { lambda: { min: 0 } },
    };
    (out as unknown as Record<string, unknown>)[studyKey] = section(studyKey, op[studyKey], checks[studyKey]);
    if (studyKey === "trDpo" && out.trDpo?.alpha === 1)
      complain(["trDpo", "alpha"], "must be < 1 for the soft update; α = 1 (the hard update) is method tr-dpo-hard");
  }
  // Unlikelihood became token-level (Welleck et al. Eq. 4) on 2026-11-30; naming the form in its resolved
  // config gives its runs new ids, so results of the old sequence-level form are never reused.
  if (method === "unlikelihood") out.unlikelihoodTerm = r.oneOf("unlikelihoodTerm", ["token-level"], "token-level");
  r.done();
  // The knob's meaning and range per method.
  const needsPositive: string[] = ["dpo", "cdpo", "ipo", "kto", "listwise", ...ONLINE_METHODS, ...ONLINE_STUDY_METHODS];
  if (needsPositive.includes(method) && !(knob > 0))
    complain(["knob"], `${method}'s knob (β, τ or target KL) must be > 0, got ${knob}`);
  if ((method === "preferred-ft" || method === "sft") && knob !== 0)
    complain(["knob"], `${method} has no knob; leave it out or set 0, got ${knob}`);
  if (method === "best-of-n") {
    if (!(Number.isInteger(Math.log(knob) / Math.log(4)) && knob >= 1))
      complain(["knob"], `best-of-n's knob is the largest N, a power of 4 (1, 4, 16, 64), got ${knob}`);
    if (out.bestOfN.samplesPerPrompt % knob !== 0)
      complain(
        ["bestOfN", "samplesPerPrompt"],
        `must be a multiple of N = ${knob}, got ${out.bestOfN.samplesPerPrompt}`,
      );
  }
  // Sections a method ignores must keep their defaults.
  const same = (a: object, b: object) => JSON.stringify(a) === JSON.stringify(b);
  const isOffline = OFFLINE_METHODS[method] !== undefined || method === "tr-dpo" || method === "tr-dpo-hard";
  const isPpo = method === "ppo" || method === "ppo-gt";
  const isRloo = method === "rloo" || method === "rloo-gt";
  if (!isOffline && !same(out.offline, p.offline))
    complain(["offline"], `only the offline methods use offline settings; this run's method is ${method}`);
  if (!isPpo && !same(out.ppo, p.ppo))
    complain(["ppo"], `only ppo and ppo-gt use ppo settings; this run's method is ${method}`);
  if (!isRloo && !same(out.rloo, p.rloo))
    complain(["rloo"], `only rloo and rloo-gt use rloo settings; this run's method is ${method}`);
  if (isPpo && out.ppo.miniBatchSize > out.ppo.batchSize)
    complain(["ppo", "miniBatchSize"], `must be ≤ ppo.batchSize ${out.ppo.batchSize}, got ${out.ppo.miniBatchSize}`);
  if (method !== "best-of-n" && !same(out.bestOfN, p.bestOfN))
    complain(["bestOfN"], `only best-of-n uses bestOfN settings; this run's method is ${method}`);
  if (method !== "cdpo" && out.offline.cdpoEpsilon !== p.offline.cdpoEpsilon)
    complain(["offline", "cdpoEpsilon"], `only cdpo uses cdpoEpsilon; this run's method is ${method}`);
  const { seed: _seed, ...stored } = out;
  return stored as unknown as JsonObject;
}

/** Round to 6 significant digits: the stored rows stay small and print the same everywhere. */
const round6 = (x: number) => (Number.isFinite(x) ? Number(x.toPrecision(6)) : x);

/** A checkpoint row in its stored form (numbers rounded, per-prompt arrays kept). */
export function storedRow(row: CheckpointRow): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) {
    if (typeof v === "number") out[k] = Number.isFinite(v) ? round6(v) : String(v);
    else if (Array.isArray(v) && typeof v[0] === "number") out[k] = (v as number[]).map(round6);
    else if (k === "log" && v)
      out[k] = Object.fromEntries(Object.entries(v as Record<string, number>).map(([a, b]) => [a, round6(b)]));
    else out[k] = v;
  }
  delete out.trainSeconds; // wall time: not reproducible, not stored
  return out;
}

export const fig2Kind: ExperimentKind = {
  name: "fig2",
  description:
    "DPO paper Figure 2 on rt-polarity: SFT → K=4 samples → pairs / rankings / unpaired labels → one method at one knob → checkpoint rows (ground-truth reward, KL, VADER, RM) (src/fig2)",
  version: VERSION,
  usesBackend: true,
  resolve: resolveFig2,
  async run(config, seed) {
    const c = config as unknown as Fig2Config;
    const ctx = await fig2ContextFor(c.preset, c.dataSeed, { units: offlineUnitsNeeded(c), seed });
    const rows = runFig2(ctx, { ...c, seed });
    if (rows.length === 0) throw new Error(`fig2 run ${c.method} knob ${c.knob} produced no checkpoint rows`);
    const last = rows[rows.length - 1];
    const metrics: Metrics = {
      reward: last.reward,
      kl: last.kl,
      vader: last.vader,
      rm: last.rm,
      checkpointsCount: rows.length,
      lastStep: last.step,
      checkpoints: JSON.stringify(rows.map(storedRow)),
    };
    return metrics;
  },
};

registerExperimentKind(fig2Kind);
