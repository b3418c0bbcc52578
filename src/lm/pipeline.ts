// The end-to-end language-model pipeline, with named presets: corpus → tokenizer → SFT reference →
// RLAIF data → {DPO, IPO, KTO, listwise DPO, PPO} × β sweep → held-out reward and KL → frontier.
// `PREFOPT_LM_PRESET=quick` picks a smaller setting (CI); `default` draws the full frontier.
import { Rng } from "../random";
import { type Corpus, type Document, promptOf, splitCorpus } from "./corpus";
import { WordTokenizer } from "./tokenizer";
import { Transformer, type TransformerConfig } from "./transformer";
import { trainSft, type SftResult } from "./sft";
import { generateRlaifData, type RlaifData } from "./rlaif";
import { trainPreference, type PreferenceLog, type PreferenceMethod } from "./preferenceTrainer";
import { trainPpo, type PpoLog } from "./ppo";
import { evaluatePolicy, type EvalResult } from "./evaluate";
import type { Principle } from "./judges";

export type LmMethod = PreferenceMethod | "ppo";

export interface LmPreset {
  name: string;
  corpusSize: number;
  heldOutFraction: number;
  maxVocab: number;
  model: Omit<TransformerConfig, "vocabSize">;
  sft: { steps: number; batchSize: number; learningRate: number };
  rlaif: { prompts: number; k: number; maxNewTokens: number; noiseTemperature: number };
  /**
   * Offline training settings. The loss knobs are optional (the presets leave them unset, i.e. the losses'
   * defaults) and reach trainPreference unchanged, so an ablation can set them without a separate code path.
   */
  preference: { steps: number; batchSize: number; learningRate: number; labelSmoothing?: number; desirableWeight?: number; undesirableWeight?: number };
  ppo: { iterations: number; promptsPerIteration: number; k: number; learningRate: number };
  betas: Record<LmMethod, number[]>;
  evaluation: { prompts: number; samplesPerPrompt: number };
  seed: number;
}

const BASE: LmPreset = {
  name: "default",
  corpusSize: 4000,
  heldOutFraction: 0.1,
  maxVocab: 2048,
  model: { contextLength: 32, dModel: 64, nHeads: 4, nLayers: 2 },
  sft: { steps: 400, batchSize: 64, learningRate: 3e-3 },
  rlaif: { prompts: 256, k: 4, maxNewTokens: 16, noiseTemperature: 0 },
  preference: { steps: 60, batchSize: 32, learningRate: 5e-4 },
  ppo: { iterations: 20, promptsPerIteration: 16, k: 4, learningRate: 5e-4 },
  betas: { dpo: [0.05, 0.2, 1], ipo: [0.05, 0.2, 1], kto: [0.05, 0.2, 1], listwise: [0.05, 0.2, 1], ppo: [0.05, 0.2, 1] },
  evaluation: { prompts: 64, samplesPerPrompt: 4 },
  seed: 0,
};

/** The named presets. `quick` keeps every stage but fewer steps, two β per method and a smaller eval. */
export const LM_PRESETS: Record<string, LmPreset> = {
  default: BASE,
  quick: {
    ...BASE,
    name: "quick",
    corpusSize: 2000,
    sft: { ...BASE.sft, steps: 200 },
    rlaif: { ...BASE.rlaif, prompts: 128 },
    preference: { ...BASE.preference, steps: 30 },
    ppo: { ...BASE.ppo, iterations: 10 },
    betas: { dpo: [0.1, 1], ipo: [0.1, 1], kto: [0.1, 1], listwise: [0.1, 1], ppo: [0.1, 1] },
    evaluation: { prompts: 32, samplesPerPrompt: 4 },
  },
};

/** The preset named by `name`, else by PREFOPT_LM_PRESET, else `default`. */
export function lmPreset(name?: string): LmPreset {
  const key = name ?? process.env.PREFOPT_LM_PRESET ?? "default";
  const p = LM_PRESETS[key];
  if (!p) throw new Error(`PREFOPT_LM_PRESET must be one of ${Object.keys(LM_PRESETS).join(", ")}, got "${key}"`);
  return p;
}

export interface LmSetup {
  corpus: Corpus;
  tokenizer: WordTokenizer;
  train: Document[];
  heldOut: Document[];
  trainRows: number[][];
  heldOutRows: number[][];
  /** Distinct prompts, train and held-out. */
  trainPrompts: string[];
  evalPrompts: string[];
}

function distinct(xs: string[]): string[] {
  return [...new Set(xs)];
}

/** Split the corpus, fit the tokenizer on the training part, tokenise, collect prompts. */
export function setupCorpus(corpus: Corpus, preset: LmPreset): LmSetup {
  const { train, heldOut } = splitCorpus(corpus, preset.heldOutFraction, preset.seed);
  const tokenizer = WordTokenizer.fit(train.map((d) => d.text), preset.maxVocab);
  const limit = preset.model.contextLength - 2;
  const rows = (ds: Document[]) => ds.map((d) => tokenizer.encode(d.text).slice(0, limit));
  const rng = new Rng(preset.seed).fork("prompts");
  const trainPrompts = rng.shuffle(distinct(train.map(promptOf)));
  const evalPrompts = rng.shuffle(distinct(heldOut.map(promptOf)));
  return { corpus, tokenizer, train, heldOut, trainRows: rows(train), heldOutRows: rows(heldOut), trainPrompts, evalPrompts };
}

/** Train the SFT reference model on the training rows. */
export function trainReference(setup: LmSetup, preset: LmPreset, verbose = true): { model: Transformer; sft: SftResult } {
  const model = new Transformer({ ...preset.model, vocabSize: setup.tokenizer.size }, preset.seed);
  const sft = trainSft(model, setup.trainRows, setup.heldOutRows, { ...preset.sft, seed: preset.seed, verbose, evalEvery: Math.max(1, Math.floor(preset.sft.steps / 4)) });
  return { model, sft };
}

/** RLAIF data from the reference on (cycled) training prompts. */
export function makeRlaifData(reference: Transformer, setup: LmSetup, constitution: readonly Principle[], preset: LmPreset): RlaifData {
  const prompts = Array.from({ length: preset.rlaif.prompts }, (_, i) => setup.trainPrompts[i % setup.trainPrompts.length]);
  return generateRlaifData(reference, setup.tokenizer, prompts, constitution, { ...preset.rlaif, seed: preset.seed + 1 });
}

export interface FrontierPoint {
  method: LmMethod | "sft";
  beta: number;
  reward: number;
  rewardStdErr: number;
  kl: number;
  klStdErr: number;
  meanLength: number;
  trainSeconds: number;
  /** Last training log row (TRL names). */
  lastLog?: PreferenceLog | PpoLog;
  samples: EvalResult["samples"];
}

/** Train one policy from the reference with `method` at `beta`, evaluate it, dispose it. */
export function trainAndEvaluate(method: LmMethod, beta: number, reference: Transformer, setup: LmSetup, data: RlaifData, constitution: readonly Principle[], preset: LmPreset, verbose = true): FrontierPoint {
  const policy = reference.clone();
  // The clone holds a full copy of the weights: free it even when training or evaluation throws.
  try {
    let seconds: number;
    let lastLog: PreferenceLog | PpoLog | undefined;
    if (method === "ppo") {
      const r = trainPpo(policy, reference, setup.tokenizer, setup.trainPrompts, constitution, { ...preset.ppo, beta, maxNewTokens: preset.rlaif.maxNewTokens, seed: preset.seed + 2, verbose });
      seconds = r.seconds;
      lastLog = r.logs[r.logs.length - 1];
    } else {
      const r = trainPreference(policy, reference, data, { ...preset.preference, method, beta, seed: preset.seed + 3, verbose });
      seconds = r.seconds;
      lastLog = r.logs[r.logs.length - 1];
    }
    const ev = evaluateOnHeldOut(policy, reference, setup, constitution, preset);
    return { method, beta, ...pickEval(ev), trainSeconds: seconds, lastLog, samples: ev.samples };
  } finally {
    policy.dispose();
  }
}

function pickEval(ev: EvalResult) {
  return { reward: ev.reward, rewardStdErr: ev.rewardStdErr, kl: ev.kl, klStdErr: ev.klStdErr, meanLength: ev.meanLength };
}

/** Held-out evaluation with the preset's sizes and a fixed seed (common random numbers across policies). */
export function evaluateOnHeldOut(policy: Transformer, reference: Transformer, setup: LmSetup, constitution: readonly Principle[], preset: LmPreset): EvalResult {
  const prompts = setup.evalPrompts.slice(0, preset.evaluation.prompts);
  return evaluatePolicy(policy, reference, setup.tokenizer, prompts, constitution, { samplesPerPrompt: preset.evaluation.samplesPerPrompt, maxNewTokens: preset.rlaif.maxNewTokens, seed: preset.seed + 99 });
}

/** The full sweep: the SFT point plus every method × β of the preset. */
export function runFrontier(reference: Transformer, setup: LmSetup, data: RlaifData, constitution: readonly Principle[], preset: LmPreset, methods: LmMethod[] = ["dpo", "ipo", "kto", "listwise", "ppo"], verbose = true): FrontierPoint[] {
  const sft = evaluateOnHeldOut(reference, reference, setup, constitution, preset);
  const points: FrontierPoint[] = [{ method: "sft", beta: 0, ...pickEval(sft), trainSeconds: 0, samples: sft.samples }];
  for (const m of methods) for (const beta of preset.betas[m]) points.push(trainAndEvaluate(m, beta, reference, setup, data, constitution, preset, verbose));
  return points;
}
