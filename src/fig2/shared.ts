// The method-independent stages of the Figure 2 reproduction, built once per (data preset, data seed) and
// cached on disk: rt-polarity → prefix split by root → ground-truth classifier → tokenizer → SFT reference
// → K samples per training prefix → pairs / rankings / KTO labels → TRL files → read back through the data
// layer's loaders (what the trainers consume) → learned Bradley–Terry reward model (PPO's reward).
//
// The cache (data/cache/fig2/<preset>-seed<seed>-<hash>/, git-ignored) holds every artefact, the split
// included, so a second build needs neither the corpus nor any training. Without ../shared/data and
// without the cache the build stops with the command that fetches the corpus (`npm run data -- fetch
// rt-polarity`).
import * as fs from "fs";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { hashString } from "../random";
import { cacheDir as dataCacheDir } from "../data/registry";
import { WordTokenizer } from "../lm/tokenizer";
import { sftRow } from "../lm/batching";
import { Transformer, type TransformerConfig } from "../lm/transformer";
import { trainSft } from "../lm/sft";
import { saveCheckpoint, loadCheckpoint } from "../lm/checkpoint";
import type { RlaifData } from "../lm/rlaif";
import {
  SentimentClassifier,
  evaluateClassifier,
  loadSentimentExamples,
  readClassifier,
  writeClassifier,
  type ClassifierEvaluation,
  type ClassifierOptions,
} from "./classifier";
import {
  makePrefixSplit,
  trainDocuments,
  evalDocuments,
  assertNoPrefixLeak,
  prefixSplitSummary,
  type PrefixSplit,
  type PrefixSplitOptions,
} from "./prefixes";
import { sampleScoredGroups, buildPairwiseData, type PairOptions, type PairStats } from "./pairs";
import { writeTrlFiles, readTrlFiles, type TrlFiles } from "../lm/trlFiles";
import { LearnedRewardModel, trainLearnedRewardModel, type PairAccuracy, type RewardModelLog } from "./rewardModel";
import { reportStage } from "../progress";

export interface Fig2DataPreset {
  name: string;
  split: Omit<PrefixSplitOptions, "seed">;
  classifier: ClassifierOptions;
  maxVocab: number;
  model: Omit<TransformerConfig, "vocabSize">;
  sft: { steps: number; batchSize: number; learningRate: number };
  /** Training prefixes that get K samples (the first `prompts` of the seeded training prompts). */
  preference: { prompts: number; k: number; maxNewTokens: number } & Omit<PairOptions, "seed">;
  /**
   * The reward model (DPO paper App. C): `epochs` passes over the same pairs DPO trains on, evaluated
   * `evalsPerEpoch` times per epoch on the pairs of `heldOutPrompts` further training prefixes that no trainer
   * sees, keeping the checkpoint with the lowest held-out loss.
   */
  rewardModel: {
    epochs: number;
    batchSize: number;
    learningRate: number;
    heldOutPrompts: number;
    evalsPerEpoch: number;
  };
}

// Sizes are set by time on this 2-core machine, idle (measured 2026-11-30): one SFT step of 32 sentences
// takes ~0.15 s, sampling and scoring 400 completions of 12 tokens ~5 s, a reward-model step of 32 pairs
// ~0.2 s. The `full` build (2,000 training prefixes × K = 4 samples → up to 12,000 pairs) takes ~6 min.
// The first committed run (600 prefixes, 300 SFT steps, 150 RM steps) was sized for a machine shared
// with ~20 other processes.
const FULL: Fig2DataPreset = {
  name: "full",
  split: { minPrefixWords: 2, maxPrefixWords: 8, evalFraction: 0.2, maxWords: 22 },
  classifier: {},
  maxVocab: 2000,
  model: { contextLength: 24, dModel: 64, nHeads: 4, nLayers: 2 },
  sft: { steps: 600, batchSize: 32, learningRate: 3e-3 },
  preference: { prompts: 2000, k: 4, maxNewTokens: 12, labels: "deterministic" },
  rewardModel: { epochs: 3, batchSize: 32, learningRate: 1e-3, heldOutPrompts: 256, evalsPerEpoch: 4 },
};

/** The data presets: `full` for the committed run, `ci` small enough for the test command. */
export const FIG2_DATA_PRESETS: Record<string, Fig2DataPreset> = {
  full: FULL,
  ci: {
    ...FULL,
    name: "ci",
    sft: { ...FULL.sft, steps: 60 },
    preference: { ...FULL.preference, prompts: 48, maxNewTokens: 8 },
    rewardModel: { ...FULL.rewardModel, heldOutPrompts: 16, evalsPerEpoch: 2 },
  },
};

export interface Fig2Timings {
  classifier: number;
  sft: number;
  sampling: number;
  rewardModel: number;
  total: number;
}

export interface Fig2Shared {
  preset: Fig2DataPreset;
  seed: number;
  /** Where the artefacts live (and came from, when `fromCache`). */
  cacheDir: string;
  fromCache: boolean;
  split: PrefixSplit;
  classifier: SentimentClassifier;
  /** The classifier on the evaluation sentences (never in its training data). */
  classifierEval: ClassifierEvaluation;
  tokenizer: WordTokenizer;
  reference: Transformer;
  sft: {
    steps: number;
    heldOutPerplexity: Array<[number, number]>;
    finalHeldOutPerplexity: number;
    trainPerplexity: number;
    losses: number[];
  };
  /** The trainers' data, as read back from the TRL files through the data layer's loaders. */
  data: RlaifData;
  pairStats: PairStats;
  trlFiles: TrlFiles;
  /** Pairs of the reward model's held-out prefixes (never trained on by anything). */
  rewardModelHeldOut: RlaifData["pairs"];
  rewardModel: LearnedRewardModel;
  rewardModelEval: {
    /** Held-out accuracy of the kept (best held-out loss) checkpoint, at training step `step`. */
    heldOut: PairAccuracy & { step: number };
    /** Gradient steps in all (epochs × pairs / batch size). */
    steps: number;
    train: PairAccuracy;
    logs: RewardModelLog[];
    heldOutCurve: Array<{ step: number } & PairAccuracy>;
  };
  splitSummary: Record<string, number>;
  timings: Fig2Timings;
}

/** The cache folder of (preset, seed): changes whenever any preset field changes. */
export function fig2CacheDir(preset: Fig2DataPreset, seed: number, root = path.join(dataCacheDir(), "fig2")): string {
  return path.join(
    root,
    `${preset.name}-seed${seed}-${hashString(JSON.stringify(preset)).toString(16).padStart(8, "0")}`,
  );
}

/** Bump when a change to the build code changes its artefacts for the same preset (old caches are then rebuilt). */
// 2: the fused LM kernels (issue 13) change float rounding; 3: the reward model trains 3 epochs and keeps its
// best held-out checkpoint (issue 23), its accuracy CI clustered by prompt.
export const FIG2_CACHE_VERSION = 3;

interface Summary {
  version: number;
  preset: Fig2DataPreset;
  seed: number;
  classifierHash: string;
  classifierEval: ClassifierEvaluation;
  sft: Fig2Shared["sft"];
  pairStats: PairStats;
  rewardModelEval: Fig2Shared["rewardModelEval"];
  splitSummary: Record<string, number>;
  timings: Fig2Timings;
}

function writeJsonAtomic(file: string, value: unknown): void {
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, JSON.stringify(value));
  fs.renameSync(tmp, file);
}

function saveRewardModel(file: string, rm: LearnedRewardModel, tokenizer: WordTokenizer): void {
  const tmp = `${file}.tmp-${process.pid}`;
  saveCheckpoint(tmp, rm.body, tokenizer, {
    headWeight: Array.from(rm.headWeight.dataSync()),
    headBias: rm.headBias.dataSync()[0],
  });
  fs.renameSync(tmp, file);
}

function loadRewardModel(file: string): LearnedRewardModel {
  const { model, meta } = loadCheckpoint(file);
  const w = meta?.headWeight as number[] | undefined;
  const b = meta?.headBias as number | undefined;
  if (!Array.isArray(w) || w.length !== model.config.dModel || typeof b !== "number") {
    model.dispose();
    throw new Error(
      `loadRewardModel: ${file}: meta.headWeight must be ${model.config.dModel} numbers and meta.headBias a number`,
    );
  }
  const rm = new LearnedRewardModel(model, 0); // clones the body; then set the head and free the loaded copy
  model.dispose();
  rm.headWeight.assign(tf.tensor2d(w, [w.length, 1]));
  rm.headBias.assign(tf.tensor1d([b]));
  return rm;
}

async function loadFromCache(dir: string, preset: Fig2DataPreset, seed: number): Promise<Fig2Shared | null> {
  const summaryFile = path.join(dir, "summary.json");
  if (!fs.existsSync(summaryFile)) return null;
  const summary = JSON.parse(fs.readFileSync(summaryFile, "utf8")) as Summary;
  // Built by code whose artefacts differ from this code's: rebuild rather than mix versions.
  if (summary.version !== FIG2_CACHE_VERSION) return null;
  const split = JSON.parse(fs.readFileSync(path.join(dir, "split.json"), "utf8")) as PrefixSplit;
  const classifier = readClassifier(path.join(dir, "classifier.json"));
  if (classifier.hash !== summary.classifierHash)
    throw new Error(
      `${dir}: classifier.json has hash ${classifier.hash}, summary.json says ${summary.classifierHash}; delete the folder to rebuild`,
    );
  const { model: reference, tokenizer } = loadCheckpoint(path.join(dir, "sft.json"));
  const trlFiles: TrlFiles = {
    preferences: path.join(dir, "trl", "preferences.jsonl"),
    unpaired: path.join(dir, "trl", "unpaired.jsonl"),
    rankings: path.join(dir, "trl", "rankings.jsonl"),
  };
  const ctx = preset.model.contextLength;
  const read = (await readTrlFiles(trlFiles, tokenizer, ctx)).data;
  const st = summary.pairStats;
  const data: RlaifData = {
    ...read,
    tiedPrompts: st.tiedPrompts,
    tiedLists: st.tiedLists,
    flippedFraction: st.pairs ? st.flippedPairs / st.pairs : 0,
  };
  const held = (
    await readTrlFiles({ preferences: path.join(dir, "trl-rm-heldout", "preferences.jsonl") }, tokenizer, ctx)
  ).data.pairs;
  const rewardModel = loadRewardModel(path.join(dir, "reward-model.json"));
  return {
    preset,
    seed,
    cacheDir: dir,
    fromCache: true,
    split,
    classifier,
    classifierEval: summary.classifierEval,
    tokenizer,
    reference,
    sft: summary.sft,
    data,
    pairStats: summary.pairStats,
    trlFiles,
    rewardModelHeldOut: held,
    rewardModel,
    rewardModelEval: summary.rewardModelEval,
    splitSummary: summary.splitSummary,
    timings: summary.timings,
  };
}

function sequencesEqual(
  a: { prompt: readonly number[]; completion: readonly number[]; ended: boolean },
  b: typeof a,
): boolean {
  return (
    a.ended === b.ended &&
    a.prompt.join(",") === b.prompt.join(",") &&
    a.completion.join(",") === b.completion.join(",")
  );
}

/**
 * Build (or load from the cache) the shared stages for `preset` and data seed `seed`. `log` receives one
 * line per stage when `verbose` (stderr, or one display updated in place in a notebook).
 */
export async function buildFig2Shared(
  preset: Fig2DataPreset,
  seed: number,
  opts: { cacheDir?: string; verbose?: boolean; useCache?: boolean } = {},
): Promise<Fig2Shared> {
  const dir = opts.cacheDir ?? fig2CacheDir(preset, seed);
  const log = (msg: string) => {
    if (opts.verbose) reportStage(`fig2 data [${preset.name} seed ${seed}]`, msg); // in place in a notebook
  };
  if (opts.useCache !== false) {
    const cached = await loadFromCache(dir, preset, seed);
    if (cached) {
      log(`loaded from ${dir}`);
      return cached;
    }
  }
  const t0 = Date.now();
  const examples = await loadSentimentExamples(); // throws with `npm run data -- fetch rt-polarity` when absent
  const split = makePrefixSplit(examples, { ...preset.split, seed });
  const splitSummary = prefixSplitSummary(split);
  log(
    `split: ${splitSummary.trainSentences} train / ${splitSummary.evalSentences} eval sentences, ${splitSummary.trainPrompts} / ${splitSummary.evalPrompts} prompts`,
  );

  let t = Date.now();
  const classifier = SentimentClassifier.fit(split.trainSentences, preset.classifier, {
    splitSeed: seed,
    split: "fig2 prefix split: train sentences",
  });
  const classifierEval = evaluateClassifier(classifier, split.evalSentences);
  const tClassifier = (Date.now() - t) / 1000;
  log(
    `classifier: held-out accuracy ${(100 * classifierEval.accuracy).toFixed(1)}% [${classifierEval.ci95.map((x) => (100 * x).toFixed(1)).join(", ")}], ECE ${classifierEval.ece.toFixed(3)} (${tClassifier.toFixed(1)} s)`,
  );

  t = Date.now();
  const trainDocs = trainDocuments(split);
  const heldDocs = evalDocuments(split);
  const tokenizer = WordTokenizer.fit(
    trainDocs.map((d) => d.text),
    preset.maxVocab,
  );
  const ctx = preset.model.contextLength;
  const rows = (ds: typeof trainDocs) => ds.map((d) => sftRow(tokenizer.encode(d.text), !d.truncated, ctx));
  const reference = new Transformer({ ...preset.model, vocabSize: tokenizer.size }, seed);
  const sftRes = trainSft(reference, rows(trainDocs), rows(heldDocs), {
    ...preset.sft,
    seed,
    verbose: opts.verbose,
    evalEvery: Math.max(1, Math.floor(preset.sft.steps / 4)),
  });
  const tSft = (Date.now() - t) / 1000;
  log(`SFT: held-out perplexity ${sftRes.finalHeldOutPerplexity.toFixed(1)} (${tSft.toFixed(1)} s)`);

  t = Date.now();
  const { prompts: nPrompts, k, maxNewTokens, ...pairOpts } = preset.preference;
  const nHeld = preset.rewardModel.heldOutPrompts;
  if (split.trainPrompts.length < nPrompts + nHeld)
    throw new Error(
      `buildFig2Shared: ${split.trainPrompts.length} training prompts, fewer than preference.prompts + rewardModel.heldOutPrompts = ${nPrompts + nHeld}`,
    );
  const prefPrompts = split.trainPrompts.slice(0, nPrompts).map((p) => p.prompt);
  const rmPrompts = split.trainPrompts.slice(nPrompts, nPrompts + nHeld).map((p) => p.prompt);
  const reward = (p: readonly string[], c: readonly string[]) => classifier.reward(p, c);
  const groups = sampleScoredGroups(reference, tokenizer, [...prefPrompts, ...rmPrompts], reward, {
    k,
    maxNewTokens,
    seed: seed + 1,
  });
  const built = buildPairwiseData(groups.slice(0, nPrompts), { ...pairOpts, seed: seed + 2 });
  const builtHeld = buildPairwiseData(groups.slice(nPrompts), { ...pairOpts, seed: seed + 3 });
  fs.mkdirSync(dir, { recursive: true });
  const trlFiles = await writeTrlFiles(path.join(dir, "trl"), built);
  const heldFiles = await writeTrlFiles(path.join(dir, "trl-rm-heldout"), builtHeld);
  const read = await readTrlFiles(trlFiles, tokenizer, ctx);
  const heldRead = await readTrlFiles({ preferences: heldFiles.preferences }, tokenizer, ctx);
  // The trainers must see exactly the sampled token sequences: check the TRL round trip token by token.
  const bad =
    read.data.pairs.filter(
      (p, i) =>
        !sequencesEqual(p.chosenSeq, built.pairs[i].chosenSeq) ||
        !sequencesEqual(p.rejectedSeq, built.pairs[i].rejectedSeq),
    ).length +
    read.data.unpaired.filter((e, i) => !sequencesEqual(e.seq, built.unpaired[i].seq)).length +
    read.data.rankings.filter((r, i) =>
      r.ranking.some((c, j) => !sequencesEqual(c.seq, built.rankings[i].ranking[j].seq)),
    ).length;
  if (bad > 0 || read.data.pairs.length !== built.pairs.length)
    throw new Error(
      `buildFig2Shared: ${bad} record(s) of the TRL files in ${dir}/trl read back as different token sequences`,
    );
  const data: RlaifData = {
    ...read.data,
    tiedPrompts: built.tiedPrompts,
    tiedLists: built.tiedLists,
    flippedFraction: built.flippedFraction,
  };
  // Nothing any trainer sees may start with an evaluation prompt.
  const trainTexts = [
    ...split.trainSentences.map((s) => s.text),
    ...groups.flatMap((g) => g.samples.map((s) => `${g.prompt} ${s.text}`)),
  ];
  assertNoPrefixLeak(
    split.evalPrompts.map((p) => p.prompt),
    trainTexts,
    [...prefPrompts, ...rmPrompts, ...split.trainPrompts.map((p) => p.prompt)],
    "buildFig2Shared",
  );
  const tSampling = (Date.now() - t) / 1000;
  log(
    `preference data: ${built.stats.pairs} pairs (${built.stats.tiedPairs} ties, ${built.stats.identicalPairs} identical), ${built.stats.rankings} rankings, ${built.stats.desirable}/${built.stats.undesirable} KTO (${tSampling.toFixed(1)} s)`,
  );

  t = Date.now();
  const rewardModel = new LearnedRewardModel(reference, seed);
  // The same pairs DPO trains on (data.pairs), `epochs` passes, the best held-out checkpoint kept.
  const { epochs, evalsPerEpoch, heldOutPrompts: _h, ...rmOpts } = preset.rewardModel;
  const stepsPerEpoch = Math.ceil(data.pairs.length / Math.min(rmOpts.batchSize, data.pairs.length));
  const rmRes = trainLearnedRewardModel(rewardModel, data.pairs, heldRead.data.pairs, {
    ...rmOpts,
    epochs,
    keepBest: true,
    seed: seed + 4,
    verbose: opts.verbose,
    evalEvery: Math.max(1, Math.floor(stepsPerEpoch / evalsPerEpoch)),
  });
  const tRm = (Date.now() - t) / 1000;
  const rmHeld = rmRes.kept;
  if (!rmHeld) throw new Error("buildFig2Shared: the reward model has no held-out pairs");
  const rmSteps = rmRes.logs.length;
  log(
    `reward model: ${epochs} epochs (${rmSteps} steps), kept step ${rmHeld.step}: held-out pair accuracy ${(100 * rmHeld.accuracy).toFixed(1)}% [${rmHeld.ci95.map((x) => (100 * x).toFixed(1)).join(", ")}] clustered by ${rmHeld.prompts} prompts, on ${rmHeld.n} pairs (${tRm.toFixed(1)} s)`,
  );

  const sft = {
    steps: preset.sft.steps,
    heldOutPerplexity: sftRes.heldOutPerplexity,
    finalHeldOutPerplexity: sftRes.finalHeldOutPerplexity,
    trainPerplexity: sftRes.trainPerplexity,
    losses: sftRes.losses,
  };
  const rewardModelEval = {
    heldOut: rmHeld,
    steps: rmSteps,
    train: rmRes.train,
    logs: rmRes.logs,
    heldOutCurve: rmRes.heldOut,
  };
  const timings: Fig2Timings = {
    classifier: tClassifier,
    sft: tSft,
    sampling: tSampling,
    rewardModel: tRm,
    total: (Date.now() - t0) / 1000,
  };
  // Cache: artefacts first, summary.json last (its presence marks a complete cache).
  writeJsonAtomic(path.join(dir, "split.json"), split);
  writeClassifier(path.join(dir, "classifier.json"), classifier);
  const sftTmp = path.join(dir, `sft.json.tmp-${process.pid}`);
  saveCheckpoint(sftTmp, reference, tokenizer, { preset: preset.name, seed });
  fs.renameSync(sftTmp, path.join(dir, "sft.json"));
  saveRewardModel(path.join(dir, "reward-model.json"), rewardModel, tokenizer);
  const summary: Summary = {
    version: FIG2_CACHE_VERSION,
    preset,
    seed,
    classifierHash: classifier.hash,
    classifierEval,
    sft,
    pairStats: built.stats,
    rewardModelEval,
    splitSummary,
    timings,
  };
  writeJsonAtomic(path.join(dir, "summary.json"), summary);
  return {
    preset,
    seed,
    cacheDir: dir,
    fromCache: false,
    split,
    classifier,
    classifierEval,
    tokenizer,
    reference,
    sft,
    data,
    pairStats: built.stats,
    trlFiles,
    rewardModelHeldOut: heldRead.data.pairs,
    rewardModel,
    rewardModelEval,
    splitSummary,
    timings,
  };
}

/** Free the models of a Fig2Shared (reference and reward model). */
export function disposeFig2Shared(s: Fig2Shared): void {
  s.reference.dispose();
  s.rewardModel.dispose();
}
