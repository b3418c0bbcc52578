// The end-to-end language-model pipeline, with named presets: corpus → tokenizer → SFT reference →
// RLAIF data → {any registered loss (DPO, IPO, KTO, listwise DPO, …), RLOO} × β sweep → held-out reward and
// KL → frontier. RLOO (src/lm/rloo.ts; Ahmadian et al. 2024) was called "ppo" here until 2026-12.
// `PREFOPT_LM_PRESET=quick` picks a smaller setting (CI); `default` draws the full frontier.
import { Rng } from "../random";
import { type Corpus, type Document, promptOf, splitCorpusByPrompt } from "./corpus";
import { WordTokenizer, splitWords } from "./tokenizer";
import { sftRow } from "./batching";
import { Transformer, type TransformerConfig } from "./transformer";
import { trainSft, type SftResult } from "./sft";
import { generateRlaifData, type RlaifData } from "./rlaif";
import { trainPreference, type PreferenceLog } from "./preferenceTrainer";
import { getLoss } from "../losses/registry";
import { trainRloo } from "./rloo";
import type { PpoLog } from "./ppoMath";
import { evaluatePolicy, type EvalResult } from "./evaluate";
import type { Principle } from "./judges";

/** A registered loss name (src/losses/registry.ts) or "rloo". */
export type LmMethod = string;

export interface LmPreset {
  name: string;
  corpusSize: number;
  /** Fraction of the distinct prompts (openings) reserved for evaluation; their sentences are held out. */
  heldOutFraction: number;
  maxVocab: number;
  model: Omit<TransformerConfig, "vocabSize">;
  sft: { steps: number; batchSize: number; learningRate: number };
  rlaif: { prompts: number; k: number; maxNewTokens: number; noiseTemperature: number };
  /** Offline training settings (the loss's own options come from its registry entry, see trainAndEvaluate). */
  preference: { steps: number; batchSize: number; learningRate: number };
  rloo: { iterations: number; promptsPerIteration: number; k: number; learningRate: number };
  /** β per method for runFrontier (IPO's τ; RLOO's KL coefficient). */
  betas: Record<string, number[]>;
  evaluation: { prompts: number; samplesPerPrompt: number };
  seed: number;
}

const BASE: LmPreset = {
  name: "default",
  corpusSize: 4000,
  // The grammar has 105 openings: 0.3 reserves 32 of them for evaluation (and ~30 % of the sentences).
  heldOutFraction: 0.3,
  maxVocab: 2048,
  model: { contextLength: 32, dModel: 64, nHeads: 4, nLayers: 2 },
  sft: { steps: 400, batchSize: 64, learningRate: 3e-3 },
  rlaif: { prompts: 256, k: 4, maxNewTokens: 16, noiseTemperature: 0 },
  preference: { steps: 60, batchSize: 32, learningRate: 5e-4 },
  rloo: { iterations: 20, promptsPerIteration: 16, k: 4, learningRate: 5e-4 },
  betas: {
    dpo: [0.05, 0.2, 1],
    ipo: [0.05, 0.2, 1],
    kto: [0.05, 0.2, 1],
    listwise: [0.05, 0.2, 1],
    rloo: [0.05, 0.2, 1],
  },
  evaluation: { prompts: 32, samplesPerPrompt: 8 },
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
    rloo: { ...BASE.rloo, iterations: 10 },
    betas: { dpo: [0.1, 1], ipo: [0.1, 1], kto: [0.1, 1], listwise: [0.1, 1], rloo: [0.1, 1] },
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
  /** Sentences whose opening is not an evaluation prompt (SFT trains on these only). */
  train: Document[];
  /** Every sentence that starts with an evaluation prompt (held-out perplexity is measured on these). */
  heldOut: Document[];
  /** SFT rows (`sftRow`: token ids after <bos>, <eos> only for complete sentences). */
  trainRows: number[][];
  heldOutRows: number[][];
  /** Distinct openings of the training sentences, shuffled: RLAIF and RLOO draw their prompts from these. */
  trainPrompts: string[];
  /** The reserved openings, shuffled: disjoint from trainPrompts, and no training sentence starts with one. */
  evalPrompts: string[];
}

function distinct(xs: string[]): string[] {
  return [...new Set(xs)];
}

/**
 * Split the corpus at the prompt level (`splitCorpusByPrompt`: a seeded `heldOutFraction` of the distinct
 * openings is reserved for evaluation, with every sentence that starts with one), fit the tokenizer on the
 * training sentences, build the SFT rows, collect the prompts. Throws when fewer evaluation prompts are
 * reserved than `preset.evaluation.prompts` asks for, and if the split ever lets an evaluation prompt leak.
 */
export function setupCorpus(corpus: Corpus, preset: LmPreset): LmSetup {
  const { train, heldOut, heldOutPrompts } = splitCorpusByPrompt(corpus, preset.heldOutFraction, preset.seed);
  if (heldOutPrompts.length < preset.evaluation.prompts) {
    throw new Error(
      `setupCorpus: heldOutFraction ${preset.heldOutFraction} of ${corpus.name}'s distinct prompts reserves ${heldOutPrompts.length} evaluation prompts, fewer than evaluation.prompts = ${preset.evaluation.prompts}; raise heldOutFraction or lower evaluation.prompts`,
    );
  }
  const tokenizer = WordTokenizer.fit(
    train.map((d) => d.text),
    preset.maxVocab,
  );
  const ctx = preset.model.contextLength;
  const rows = (ds: Document[]) => ds.map((d) => sftRow(tokenizer.encode(d.text), !d.truncated, ctx));
  const rng = new Rng(preset.seed).fork("prompts");
  const trainPrompts = rng.shuffle(distinct(train.map(promptOf)));
  const evalPrompts = heldOutPrompts; // already a seeded shuffle
  const leaked = leakedPrompts(evalPrompts, trainPrompts, train);
  if (leaked.length)
    throw new Error(`setupCorpus: evaluation prompts reach training: ${leaked.slice(0, 5).join(" | ")}`);
  return {
    corpus,
    tokenizer,
    train,
    heldOut,
    trainRows: rows(train),
    heldOutRows: rows(heldOut),
    trainPrompts,
    evalPrompts,
  };
}

/**
 * Evaluation prompts that are also training prompts, or that some training sentence starts with (word by
 * word). Empty for every setup `setupCorpus` returns; exported so tests and notebooks can check it.
 */
export function leakedPrompts(
  evalPrompts: readonly string[],
  trainPrompts: readonly string[],
  train: readonly Document[],
): string[] {
  const trainSet = new Set(trainPrompts);
  const starts = new Set<string>();
  const lengths = new Set(evalPrompts.map((p) => splitWords(p).length));
  for (const d of train) {
    const w = splitWords(d.text);
    for (const k of lengths) if (k <= w.length) starts.add(w.slice(0, k).join(" "));
  }
  return evalPrompts.filter((p) => trainSet.has(p) || starts.has(splitWords(p).join(" ")));
}

/** Train the SFT reference model on the training rows. */
export function trainReference(
  setup: LmSetup,
  preset: LmPreset,
  verbose = true,
): { model: Transformer; sft: SftResult } {
  const model = new Transformer({ ...preset.model, vocabSize: setup.tokenizer.size }, preset.seed);
  try {
    const sft = trainSft(model, setup.trainRows, setup.heldOutRows, {
      ...preset.sft,
      seed: preset.seed,
      verbose,
      evalEvery: Math.max(1, Math.floor(preset.sft.steps / 4)),
    });
    return { model, sft };
  } catch (e) {
    model.dispose(); // interrupted (or failed): nobody else holds the model, so free its weights here
    throw e;
  }
}

/**
 * RLAIF data from the reference: `preset.rlaif.prompts` draws that cycle through the distinct training
 * prompts (so with fewer distinct prompts than draws, each prompt is drawn several times, with fresh
 * samples each time). Evaluation prompts are never among them.
 */
export function makeRlaifData(
  reference: Transformer,
  setup: LmSetup,
  constitution: readonly Principle[],
  preset: LmPreset,
): RlaifData {
  const prompts = Array.from(
    { length: preset.rlaif.prompts },
    (_, i) => setup.trainPrompts[i % setup.trainPrompts.length],
  );
  return generateRlaifData(reference, setup.tokenizer, prompts, constitution, {
    ...preset.rlaif,
    seed: preset.seed + 1,
  });
}

export interface FrontierPoint {
  method: LmMethod | "sft";
  beta: number;
  reward: number;
  rewardStdErr: number;
  kl: number;
  klStdErr: number;
  meanLength: number;
  /** Fraction of evaluation samples cut at the token budget (no <eos>); their KL terms are partial. */
  truncatedFraction: number;
  trainSeconds: number;
  /** Last training log row (TRL names). */
  lastLog?: PreferenceLog | PpoLog;
  samples: EvalResult["samples"];
}

/** What trainAndEvaluate trains and how. */
export interface TrainAndEvaluateOptions {
  method: LmMethod;
  /**
   * The loss's options as one object, β included (e.g. {beta: 0.1, variant: "robust"}; rloo: {beta}): the
   * loss's registry entry checks them and fills defaults (trainPreference); a loss without β takes none.
   */
  lossOptions: Record<string, unknown>;
  reference: Transformer;
  setup: LmSetup;
  data: RlaifData;
  constitution: readonly Principle[];
  preset: LmPreset;
  verbose?: boolean;
}

/** Train one policy from the reference with `method` and its `lossOptions`, evaluate it, dispose it. */
export function trainAndEvaluate(opts: TrainAndEvaluateOptions): FrontierPoint {
  const { method, lossOptions, reference, setup, data, constitution, preset, verbose = true } = opts;
  const beta = typeof lossOptions.beta === "number" ? lossOptions.beta : 0; // reported with the point
  const policy = reference.clone();
  // The clone holds a full copy of the weights: free it even when training or evaluation throws.
  try {
    let seconds: number;
    let lastLog: PreferenceLog | PpoLog | undefined;
    if (method === "rloo") {
      const extra = Object.keys(lossOptions).filter((k) => k !== "beta");
      if (typeof lossOptions.beta !== "number" || extra.length > 0)
        throw new Error(
          `trainAndEvaluate(rloo): lossOptions must be {beta: number} (RLOO's KL coefficient), got ${JSON.stringify(lossOptions)}`,
        );
      const r = trainRloo(policy, reference, setup.tokenizer, setup.trainPrompts, constitution, {
        ...preset.rloo,
        beta,
        maxNewTokens: preset.rlaif.maxNewTokens,
        seed: preset.seed + 2,
        verbose,
      });
      seconds = r.seconds;
      lastLog = r.logs[r.logs.length - 1];
    } else {
      const r = trainPreference(policy, reference, data, {
        ...preset.preference,
        method,
        lossOptions,
        seed: preset.seed + 3,
        verbose,
      });
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
  return {
    reward: ev.reward,
    rewardStdErr: ev.rewardStdErr,
    kl: ev.kl,
    klStdErr: ev.klStdErr,
    meanLength: ev.meanLength,
    truncatedFraction: ev.truncatedFraction,
  };
}

/**
 * Evaluation on the first `preset.evaluation.prompts` held-out prompts (never seen in training), with the
 * preset's sizes and a fixed seed (common random numbers across policies).
 */
export function evaluateOnHeldOut(
  policy: Transformer,
  reference: Transformer,
  setup: LmSetup,
  constitution: readonly Principle[],
  preset: LmPreset,
): EvalResult {
  if (setup.evalPrompts.length < preset.evaluation.prompts)
    throw new Error(
      `evaluateOnHeldOut: the setup has ${setup.evalPrompts.length} evaluation prompts, the preset asks for ${preset.evaluation.prompts}`,
    );
  const prompts = setup.evalPrompts.slice(0, preset.evaluation.prompts);
  return evaluatePolicy(policy, reference, setup.tokenizer, prompts, constitution, {
    samplesPerPrompt: preset.evaluation.samplesPerPrompt,
    maxNewTokens: preset.rlaif.maxNewTokens,
    seed: preset.seed + 99,
  });
}

/** The full sweep: the SFT point plus every method × β of the preset. */
export function runFrontier(
  reference: Transformer,
  setup: LmSetup,
  data: RlaifData,
  constitution: readonly Principle[],
  preset: LmPreset,
  methods: LmMethod[] = ["dpo", "ipo", "kto", "listwise", "rloo"],
  verbose = true,
): FrontierPoint[] {
  const sft = evaluateOnHeldOut(reference, reference, setup, constitution, preset);
  const points: FrontierPoint[] = [{ method: "sft", beta: 0, ...pickEval(sft), trainSeconds: 0, samples: sft.samples }];
  for (const m of methods) {
    const betas = preset.betas[m];
    if (!betas)
      throw new Error(`runFrontier: preset ${preset.name} has no betas for method ${m}; add preset.betas.${m}`);
    // β is an option only of the losses that take one (Preferred-FT and unlikelihood have none).
    const takesBeta = m === "rloo" || "beta" in getLoss(m).options;
    for (const beta of betas)
      points.push(
        trainAndEvaluate({
          method: m,
          lossOptions: takesBeta ? { beta } : {},
          reference,
          setup,
          data,
          constitution,
          preset,
          verbose,
        }),
      );
  }
  return points;
}
