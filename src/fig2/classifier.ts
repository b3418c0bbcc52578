// The ground-truth reward of the Figure 2 reproduction (DPO, Rafailov et al. 2023, §6.1): a sentiment
// classifier p(positive | text) ∈ [0, 1]. The paper uses an off-the-shelf classifier; we TRAIN one on
// rt-polarity's labels: L2-regularised logistic regression on binary word uni- and bigram features,
//
//   p(positive | x) = σ(w·φ(x) + b),   minimise  Σ_i −log p(y_i | x_i) + (λ/2)‖w‖²   (b unpenalised),
//
// fitted by L-BFGS from w = 0 (the objective is strictly convex, so the fit is a deterministic function of
// the training sentences; the seed only decides the split). Features: wordTokens (src/data/textFeatures)
// and adjacent pairs "a b"; the vocabulary comes from training sentences only (buildVocabulary), so no
// held-out text shapes it.
import * as fs from "fs";
import * as path from "path";
import { hashString } from "../random";
import { buildVocabulary, wordTokens } from "../data/textFeatures";
import { loadRtPolarityData } from "../data/datasets";
import type { LabelledText } from "../data/types";
import { minimiseLbfgs } from "./lbfgs";

/** One labelled sentence: label 1 = positive, 0 = negative (rt-polarity's .pos / .neg files). */
export interface SentimentExample {
  text: string;
  label: 0 | 1;
}

export interface ClassifierOptions {
  /**
   * L2 strength λ on the summed log-loss (default 3: on a seeded random 2,000-sentence hold-out of
   * rt-polarity, λ ∈ {0.3, 1, 3, 10} gave accuracy 76.9 / 77.3 / 77.4 / 76.0 % and ECE 0.074 / 0.035 /
   * 0.029 / 0.069 with bigrams; unigrams alone were ~1.5 points worse).
   */
  l2?: number;
  /** Include word bigrams (default true). */
  bigrams?: boolean;
  /** Keep features seen in at least this many training sentences (default 2). */
  minDocs?: number;
  /** Cap on the number of features, most frequent first (default 50,000). */
  maxFeatures?: number;
  /** L-BFGS iterations (default 300) and tolerance on ‖∇f‖∞ of the summed objective (default 1e-4). */
  iterations?: number;
  tolerance?: number;
}

const DEFAULTS: Required<ClassifierOptions> = {
  l2: 3,
  bigrams: true,
  minDocs: 2,
  maxFeatures: 50_000,
  iterations: 300,
  tolerance: 1e-4,
};

/** Serialised classifier: everything needed to score text, plus how it was made (pinned by `hash`). */
export interface SentimentClassifierJson {
  kind: "logistic-ngram";
  version: 1;
  features: string[];
  weights: number[];
  bias: number;
  options: Required<ClassifierOptions>;
  /** Free-form provenance (split seed, sizes, fit diagnostics). */
  provenance: Record<string, unknown>;
}

/** The feature strings of a text: its word tokens, and (with `bigrams`) "a b" for adjacent tokens. */
export function textNgrams(text: string, bigrams = true): string[] {
  const w = wordTokens(text);
  const out = w.slice();
  if (bigrams) for (let i = 0; i + 1 < w.length; i++) out.push(`${w[i]} ${w[i + 1]}`);
  return out;
}

function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/** log(1 + e^z), stable. */
function softplus(z: number): number {
  return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
}

export class SentimentClassifier {
  /** FNV-1a hash (hex) of features, weights and bias: results and caches pin the classifier by it. */
  readonly hash: string;
  private readonly index: Map<string, number>;
  private readonly w: Float64Array;

  constructor(private readonly json: SentimentClassifierJson) {
    if (json.kind !== "logistic-ngram" || json.version !== 1)
      throw new Error(
        `SentimentClassifier: expected kind "logistic-ngram" version 1, got ${JSON.stringify(json.kind)} version ${json.version}`,
      );
    if (!Array.isArray(json.features) || !Array.isArray(json.weights) || json.features.length !== json.weights.length) {
      throw new Error(
        `SentimentClassifier: "features" and "weights" must be arrays of equal length (got ${json.features?.length} and ${json.weights?.length})`,
      );
    }
    json.weights.forEach((v, i) => {
      if (!Number.isFinite(v))
        throw new Error(`SentimentClassifier: weights[${i}] (feature "${json.features[i]}") is ${v}`);
    });
    if (!Number.isFinite(json.bias)) throw new Error(`SentimentClassifier: "bias" is ${json.bias}`);
    this.index = new Map(json.features.map((f, i) => [f, i]));
    if (this.index.size !== json.features.length) throw new Error("SentimentClassifier: duplicate features");
    this.w = Float64Array.from(json.weights);
    this.hash = hashString(JSON.stringify([json.features, json.weights, json.bias, json.options.bigrams]))
      .toString(16)
      .padStart(8, "0");
  }

  /** Fit on labelled sentences (deterministic: same sentences and options → same weights). */
  static fit(
    train: readonly SentimentExample[],
    opts: ClassifierOptions = {},
    provenance: Record<string, unknown> = {},
  ): SentimentClassifier {
    const o: Required<ClassifierOptions> = { ...DEFAULTS, ...opts };
    if (train.length === 0) throw new Error("SentimentClassifier.fit: no training sentences");
    if (!(o.l2 > 0))
      throw new Error(`SentimentClassifier.fit: l2 must be > 0 (the objective is then strictly convex), got ${o.l2}`);
    const labels = train.map((e, i) => {
      if (e.label !== 0 && e.label !== 1)
        throw new Error(`SentimentClassifier.fit: train[${i}].label must be 0 or 1, got ${JSON.stringify(e.label)}`);
      return e.label;
    });
    const grams = train.map((e) => textNgrams(e.text, o.bigrams));
    const vocab = buildVocabulary(grams, { minDocs: o.minDocs, maxSize: o.maxFeatures });
    // Sparse binary design matrix: the distinct feature ids of each sentence.
    const rows = grams.map((g) =>
      Int32Array.from(new Set(g.map((t) => vocab.index.get(t)).filter((j): j is number => j !== undefined))),
    );
    const d = vocab.words.length;
    const z = new Float64Array(train.length);
    // Parameters x = [w_0 … w_{d−1}, b].
    const fg = (x: Float64Array, grad: Float64Array): number => {
      grad.fill(0);
      let f = 0;
      for (let i = 0; i < rows.length; i++) {
        let zi = x[d];
        for (const j of rows[i]) zi += x[j];
        z[i] = zi;
        f += softplus(zi) - labels[i] * zi;
        const r = sigmoid(zi) - labels[i];
        for (const j of rows[i]) grad[j] += r;
        grad[d] += r;
      }
      for (let j = 0; j < d; j++) {
        f += 0.5 * o.l2 * x[j] * x[j];
        grad[j] += o.l2 * x[j];
      }
      return f;
    };
    const t0 = Date.now();
    const fit = minimiseLbfgs(fg, new Float64Array(d + 1), { iterations: o.iterations, tolerance: o.tolerance });
    return new SentimentClassifier({
      kind: "logistic-ngram",
      version: 1,
      features: vocab.words,
      weights: Array.from(fit.x.subarray(0, d)),
      bias: fit.x[d],
      options: o,
      provenance: {
        ...provenance,
        trainSentences: train.length,
        objective: fit.value,
        gradInfNorm: fit.gradInfNorm,
        iterations: fit.iterations,
        converged: fit.converged,
        fitSeconds: (Date.now() - t0) / 1000,
      },
    });
  }

  static fromJSON(json: SentimentClassifierJson): SentimentClassifier {
    return new SentimentClassifier(json);
  }

  toJSON(): SentimentClassifierJson {
    return { ...this.json, features: [...this.json.features], weights: Array.from(this.w) };
  }

  get options(): Required<ClassifierOptions> {
    return this.json.options;
  }

  get provenance(): Record<string, unknown> {
    return this.json.provenance;
  }

  get featureCount(): number {
    return this.w.length;
  }

  /** The logit w·φ(x) + b. */
  logit(text: string): number {
    let z = this.json.bias;
    for (const g of new Set(textNgrams(text, this.json.options.bigrams))) {
      const j = this.index.get(g);
      if (j !== undefined) z += this.w[j];
    }
    return z;
  }

  /** p(positive | text). */
  probPositive(text: string): number {
    return sigmoid(this.logit(text));
  }

  /** p(positive) for many texts. */
  scoreTexts(texts: readonly string[]): Float64Array {
    return Float64Array.from(texts, (t) => this.probPositive(t));
  }

  /**
   * The ground-truth reward of a completion: p(positive | prompt + " " + completion), the whole text as
   * the paper's classifier sees it. Batched: (prompts[i], completions[i]) → reward[i].
   */
  reward(prompts: readonly string[], completions: readonly string[]): Float64Array {
    if (prompts.length !== completions.length)
      throw new Error(`SentimentClassifier.reward: ${prompts.length} prompts but ${completions.length} completions`);
    return Float64Array.from(prompts, (p, i) => this.probPositive(`${p} ${completions[i]}`));
  }

  /** The features with the largest |weight| (for the notebook's "what the judge looks at" table). */
  topFeatures(n: number): Array<{ feature: string; weight: number }> {
    return Array.from(this.w.keys())
      .sort((a, b) => Math.abs(this.w[b]) - Math.abs(this.w[a]) || a - b)
      .slice(0, n)
      .map((j) => ({ feature: this.json.features[j], weight: this.w[j] }));
  }
}

export interface ReliabilityBin {
  lo: number;
  hi: number;
  count: number;
  meanPredicted: number;
  fractionPositive: number;
}

export interface ClassifierEvaluation {
  n: number;
  accuracy: number;
  /** Wilson 95 % interval for the accuracy. */
  ci95: [number, number];
  /** Mean negative log-likelihood (nats). */
  logLoss: number;
  /** Expected calibration error over equal-width bins: Σ_b (n_b/n)·|acc_b − conf_b| on p(positive). */
  ece: number;
  bins: ReliabilityBin[];
}

/**
 * Wilson score interval for k successes in n trials (Wilson 1927): centre (p̂ + z²/2n)/(1 + z²/n),
 * half-width z·√(p̂(1−p̂)/n + z²/4n²)/(1 + z²/n). z = 1.96 → 95 %.
 */
export function wilsonInterval(k: number, n: number, z = 1.96): [number, number] {
  if (!(n > 0) || !(k >= 0 && k <= n))
    throw new Error(`wilsonInterval: need 0 ≤ k ≤ n and n > 0, got k = ${k}, n = ${n}`);
  const p = k / n;
  const denom = 1 + (z * z) / n;
  const centre = (p + (z * z) / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / denom;
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

/**
 * Equal-width reliability bins of p(positive) (p = 1 falls in the last bin) and the expected calibration
 * error ECE = Σ_b (n_b / n)·|fractionPositive_b − meanPredicted_b| (Naeini et al. 2015; Guo et al. 2017).
 */
export function reliabilityBins(
  probs: ArrayLike<number>,
  labels: ArrayLike<number>,
  nBins = 10,
): { bins: ReliabilityBin[]; ece: number } {
  if (probs.length !== labels.length)
    throw new Error(`reliabilityBins: ${probs.length} probabilities but ${labels.length} labels`);
  if (probs.length === 0) throw new Error("reliabilityBins: no predictions");
  const count = new Array<number>(nBins).fill(0);
  const sumP = new Array<number>(nBins).fill(0);
  const sumY = new Array<number>(nBins).fill(0);
  for (let i = 0; i < probs.length; i++) {
    const p = probs[i];
    if (!(p >= 0 && p <= 1)) throw new Error(`reliabilityBins: probs[${i}] = ${p} is outside [0, 1]`);
    const b = Math.min(nBins - 1, Math.floor(p * nBins));
    count[b]++;
    sumP[b] += p;
    sumY[b] += labels[i];
  }
  let ece = 0;
  const bins = count.map((c, b) => {
    const meanPredicted = c ? sumP[b] / c : NaN;
    const fractionPositive = c ? sumY[b] / c : NaN;
    if (c) ece += (c / probs.length) * Math.abs(fractionPositive - meanPredicted);
    return { lo: b / nBins, hi: (b + 1) / nBins, count: c, meanPredicted, fractionPositive };
  });
  return { bins, ece };
}

/** Accuracy with a Wilson CI, log-loss and calibration of `clf` on labelled sentences. */
export function evaluateClassifier(
  clf: SentimentClassifier,
  examples: readonly SentimentExample[],
  nBins = 10,
): ClassifierEvaluation {
  if (examples.length === 0) throw new Error("evaluateClassifier: no examples");
  const probs = clf.scoreTexts(examples.map((e) => e.text));
  const labels = examples.map((e) => e.label);
  let correct = 0;
  let nll = 0;
  probs.forEach((p, i) => {
    if ((p > 0.5 ? 1 : 0) === labels[i]) correct++;
    nll -= Math.log(Math.max(1e-15, labels[i] ? p : 1 - p));
  });
  const { bins, ece } = reliabilityBins(probs, labels, nBins);
  return {
    n: examples.length,
    accuracy: correct / examples.length,
    ci95: wilsonInterval(correct, examples.length),
    logLoss: nll / examples.length,
    ece,
    bins,
  };
}

/** LabelledText records (data layer) → SentimentExample, checking labels are 0/1. */
export function toSentimentExamples(records: readonly LabelledText[]): SentimentExample[] {
  return records.map((r, i) => {
    if (r.label !== 0 && r.label !== 1)
      throw new Error(`toSentimentExamples: record ${i} (${r.source}) has label ${r.label}, expected 0 or 1`);
    return { text: r.text, label: r.label };
  });
}

/**
 * rt-polarity's labelled sentences (5,331 positive then 5,331 negative) through the data layer
 * (`loadRtPolarityData`: ../shared/data, or the cache `npm run data -- fetch rt-polarity` fills).
 */
export async function loadSentimentExamples(): Promise<SentimentExample[]> {
  return toSentimentExamples((await loadRtPolarityData()).records);
}

/** Read a serialised classifier (throws naming the file if it is missing or malformed). */
export function readClassifier(file: string): SentimentClassifier {
  if (!fs.existsSync(file)) throw new Error(`readClassifier: ${file} does not exist`);
  let json: SentimentClassifierJson;
  try {
    json = JSON.parse(fs.readFileSync(file, "utf8")) as SentimentClassifierJson;
  } catch (err) {
    throw new Error(`readClassifier: ${file}: invalid JSON (${(err as Error).message})`);
  }
  try {
    return new SentimentClassifier(json);
  } catch (err) {
    throw new Error(`readClassifier: ${file}: ${(err as Error).message}`);
  }
}

/** Write a classifier as JSON, atomically (temp file + rename). */
export function writeClassifier(file: string, clf: SentimentClassifier): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, JSON.stringify(clf.toJSON()));
  fs.renameSync(tmp, file);
}
