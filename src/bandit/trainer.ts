// The bandit trainer: tabular softmax policies θ ∈ R^{S×K×M} (S seeds), trained by Adam on minibatches
// drawn with replacement from a preference dataset, minimising DPO, IPO, KTO or listwise DPO.
//
// `trainBandit(config)` is a pure function of its config (seeds included): the same config gives the same
// numbers. Two engines compute the identical update:
//   "js"   (default) hand-written Float64 gradients (src/bandit/jsLosses.ts); the tiny tables make tfjs's
//          per-op overhead dominate, and this engine runs the IPO §5.4 reproduction in about a second.
//   "tfjs" the core library's losses under tf autodiff with tf.train.adam on one variable [S, K, M]
//          (src/bandit/trainerTfjs.ts); the reference the JS engine is tested against.
import { Rng } from "../random";
import { datasetSize, type BanditDataset } from "./datasets";
import { dpoPair, ipoPair, ktoExample, listwiseDpo } from "./jsLosses";
import { policyLogits, uniformPolicy, type PolicyTable } from "./tabular";

export type BanditMethod = "dpo" | "ipo" | "kto" | "listwise-dpo";

export interface BanditLossOptions {
  /** DPO/KTO/listwise β; for IPO this is τ (the loss is (h − 1/(2τ))²). */
  beta: number;
  labelSmoothing?: number;
  variant?: "sigmoid" | "robust" | "hinge";
  desirableWeight?: number;
  undesirableWeight?: number;
}

export interface AdamOptions {
  beta1: number;
  beta2: number;
  /** Default 1e-7, tfjs's float32 epsilon, so both engines take the same steps. */
  epsilon: number;
}

export interface TrainBanditConfig {
  method: BanditMethod;
  lossOptions: BanditLossOptions;
  /** pairs for dpo/ipo, rankings for listwise-dpo, unpaired for kto. */
  dataset: BanditDataset;
  steps: number;
  /** Examples per step, drawn uniformly with replacement; ignored when fullBatch. */
  batchSize: number;
  lr: number;
  /** One run per seed; the seed decides the minibatch sequence (the same across methods and datasets of equal size). */
  seeds: number[];
  /** π_ref as a [K][M] table (default uniform). */
  refPolicy?: PolicyTable;
  /** Initial logits [K][M] (default log π_ref, so training starts at π = π_ref). */
  initLogits?: number[][];
  /** Use every example every step (deterministic gradient descent on the empirical loss). */
  fullBatch?: boolean;
  /** Record the policy every this many steps (default: about 200 points). Step 0 and the last step are always recorded. */
  recordEvery?: number;
  engine?: "js" | "tfjs";
  adam?: Partial<AdamOptions>;
}

export interface TrainBanditResult {
  /** π per seed at the end: [S][K][M]. */
  finalPolicies: PolicyTable[];
  finalLogits: number[][][];
  curves: {
    steps: number[];
    /** policies[t][s] = π of seed s at steps[t] ([K][M]). */
    policies: PolicyTable[][];
    /** Mean minibatch loss per recorded step and seed ([T][S]); at step 0, the loss before any update. */
    losses: number[][];
  };
  engine: "js" | "tfjs";
  seconds: number;
}

const METHOD_DATA: Record<BanditMethod, BanditDataset["kind"]> = { dpo: "pairs", ipo: "pairs", kto: "unpaired", "listwise-dpo": "rankings" };

/** Checks the config and fills defaults (shared by both engines). */
export function resolveConfig(c: TrainBanditConfig): Required<Omit<TrainBanditConfig, "adam" | "initLogits">> & { adam: AdamOptions; initLogits: number[][] } {
  const want = METHOD_DATA[c.method];
  if (!want) throw new Error(`trainBandit: unknown method "${String(c.method)}" (dpo, ipo, kto, listwise-dpo)`);
  if (c.dataset.kind !== want) throw new Error(`trainBandit: method "${c.method}" needs a "${want}" dataset, got "${c.dataset.kind}"`);
  const n = datasetSize(c.dataset);
  if (n === 0) throw new Error("trainBandit: the dataset is empty");
  if (!(c.lossOptions && c.lossOptions.beta > 0)) throw new Error(`trainBandit: lossOptions.beta must be > 0, got ${c.lossOptions?.beta}`);
  for (const [k, v] of [["steps", c.steps], ["batchSize", c.batchSize]] as const) {
    if (!(Number.isInteger(v) && v > 0)) throw new Error(`trainBandit: ${k} must be a positive integer, got ${v}`);
  }
  if (!(c.lr > 0)) throw new Error(`trainBandit: lr must be > 0, got ${c.lr}`);
  if (!Array.isArray(c.seeds) || c.seeds.length === 0) throw new Error("trainBandit: seeds must be a non-empty array");
  const { nPrompts: K, nResponses: M } = c.dataset;
  const ref = c.refPolicy ?? uniformPolicy(K, M);
  if (ref.length !== K || ref.some((r) => r.length !== M)) throw new Error(`trainBandit: refPolicy must be [${K}][${M}]`);
  const init = c.initLogits ?? policyLogits(ref);
  if (init.length !== K || init.some((r) => r.length !== M)) throw new Error(`trainBandit: initLogits must be [${K}][${M}]`);
  return {
    ...c,
    refPolicy: ref,
    initLogits: init,
    fullBatch: c.fullBatch ?? false,
    recordEvery: c.recordEvery ?? Math.max(1, Math.round(c.steps / 200)),
    engine: c.engine ?? "js",
    adam: { beta1: 0.9, beta2: 0.999, epsilon: 1e-7, ...(c.adam ?? {}) },
  };
}

/**
 * Minibatch indices for one seed: steps × batchSize draws, uniform with replacement from [0, n). Drawn from
 * Rng(seed).fork("minibatch"), so a seed gives the same batches to every method on datasets of equal size.
 */
export function minibatchIndices(seed: number, steps: number, batchSize: number, n: number): Int32Array {
  const rng = new Rng(seed).fork("minibatch");
  const out = new Int32Array(steps * batchSize);
  for (let i = 0; i < out.length; i++) out[i] = rng.int(n);
  return out;
}

/** The steps at which curves are recorded: 0, every `every`, and the last. */
export function recordedSteps(steps: number, every: number): number[] {
  const s: number[] = [];
  for (let t = 0; t <= steps; t += every) s.push(t);
  if (s[s.length - 1] !== steps) s.push(steps);
  return s;
}

/** Train tabular policies on a preference dataset; see TrainBanditConfig. */
export function trainBandit(config: TrainBanditConfig): TrainBanditResult {
  const c = resolveConfig(config);
  if (c.engine === "tfjs") {
    // Loaded lazily so the JS engine works without the tfjs backend being initialised.
    const { trainBanditTfjs } = require("./trainerTfjs") as typeof import("./trainerTfjs");
    return trainBanditTfjs(config);
  }
  const t0 = performance.now();
  const { nPrompts: K, nResponses: M } = c.dataset;
  const KM = K * M;
  const S = c.seeds.length;
  const n = datasetSize(c.dataset);
  const B = c.fullBatch ? n : c.batchSize;
  const logRef = new Float64Array(KM);
  c.refPolicy.forEach((row, x) => row.forEach((p, y) => (logRef[x * M + y] = Math.log(p))));
  const { beta1, beta2, epsilon } = c.adam;
  const record = new Set(recordedSteps(c.steps, c.recordEvery));
  const curveSteps = [...record].sort((a, b) => a - b);
  const curvePolicies: PolicyTable[][] = curveSteps.map(() => []);
  const curveLosses: number[][] = curveSteps.map(() => []);
  const finalPolicies: PolicyTable[] = [];
  const finalLogits: number[][][] = [];

  const theta = new Float64Array(KM);
  const logp = new Float64Array(KM);
  const probs = new Float64Array(KM);
  const dLogp = new Float64Array(KM);
  const m1 = new Float64Array(KM);
  const m2 = new Float64Array(KM);
  const tmpH = new Float64Array(M);
  const tmpG = new Float64Array(M);

  const refreshPolicy = () => {
    for (let x = 0; x < K; x++) {
      let max = -Infinity;
      for (let y = 0; y < M; y++) max = Math.max(max, theta[x * M + y]);
      let z = 0;
      for (let y = 0; y < M; y++) z += Math.exp(theta[x * M + y] - max);
      const lz = max + Math.log(z);
      for (let y = 0; y < M; y++) {
        logp[x * M + y] = theta[x * M + y] - lz;
        probs[x * M + y] = Math.exp(logp[x * M + y]);
      }
    }
  };
  const h = (x: number, y: number) => logp[x * M + y] - logRef[x * M + y];
  const policyTable = (): PolicyTable => Array.from({ length: K }, (_, x) => Array.from(probs.subarray(x * M, x * M + M)));

  // Accumulates Σ_i dloss_i/dlog π into dLogp for the examples idx[off … off+B) and returns the mean loss.
  const accumulate = (idx: Int32Array | null, off: number): number => {
    dLogp.fill(0);
    let loss = 0;
    let z0 = 0;
    const d = c.dataset;
    const o = c.lossOptions;
    if (d.kind === "unpaired") {
      // KTO's reference point: the batch's KL(π‖π_ref), clamped at 0 and held constant (no gradient).
      for (let b = 0; b < B; b++) {
        const x = d.examples[idx ? idx[off + b] : b].prompt;
        for (let y = 0; y < M; y++) z0 += probs[x * M + y] * h(x, y);
      }
      z0 = Math.max(0, z0 / B);
    }
    for (let b = 0; b < B; b++) {
      const i = idx ? idx[off + b] : b;
      if (d.kind === "pairs") {
        const p = d.pairs[i];
        const hm = h(p.prompt, p.chosen) - h(p.prompt, p.rejected);
        const [l, g] = c.method === "ipo" ? ipoPair(hm, o.beta) : dpoPair(hm, o);
        loss += l;
        dLogp[p.prompt * M + p.chosen] += g;
        dLogp[p.prompt * M + p.rejected] -= g;
      } else if (d.kind === "unpaired") {
        const e = d.examples[i];
        const [l, g] = ktoExample(h(e.prompt, e.response), e.desirable, z0, o);
        loss += l;
        dLogp[e.prompt * M + e.response] += g;
      } else {
        const r = d.rankings[i];
        const N = r.order.length;
        for (let j = 0; j < N; j++) tmpH[j] = h(r.prompt, r.order[j]);
        loss += listwiseDpo(tmpH.subarray(0, N), o.beta, tmpG);
        for (let j = 0; j < N; j++) dLogp[r.prompt * M + r.order[j]] += tmpG[j];
      }
    }
    return loss / B;
  };

  for (let s = 0; s < S; s++) {
    c.initLogits.forEach((row, x) => row.forEach((v, y) => (theta[x * M + y] = v)));
    m1.fill(0);
    m2.fill(0);
    const idx = c.fullBatch ? null : minibatchIndices(c.seeds[s], c.steps, B, n);
    let b1t = 1;
    let b2t = 1;
    let ci = 0;
    for (let t = 0; t <= c.steps; t++) {
      refreshPolicy();
      if (t === c.steps) {
        if (record.has(t)) {
          curvePolicies[ci].push(policyTable());
          curveLosses[ci++].push(accumulate(idx ? idx : null, Math.max(0, t - 1) * (idx ? B : 0)));
        }
        break;
      }
      const loss = accumulate(idx, t * B);
      if (record.has(t)) {
        curvePolicies[ci].push(policyTable());
        curveLosses[ci++].push(loss);
      }
      // Chain rule through log-softmax: dL/dθ[x,m] = (1/B)(a[x,m] − π[x,m] Σ_y a[x,y]), a = dL/dlog π.
      b1t *= beta1;
      b2t *= beta2;
      for (let x = 0; x < K; x++) {
        let sa = 0;
        for (let y = 0; y < M; y++) sa += dLogp[x * M + y];
        for (let y = 0; y < M; y++) {
          const j = x * M + y;
          const g = (dLogp[j] - probs[j] * sa) / B;
          m1[j] = beta1 * m1[j] + (1 - beta1) * g;
          m2[j] = beta2 * m2[j] + (1 - beta2) * g * g;
          // tf.train.adam's update: θ −= lr·m̂/(√v̂ + ε), m̂ = m/(1−β1^t), v̂ = v/(1−β2^t).
          theta[j] -= (c.lr * (m1[j] / (1 - b1t))) / (Math.sqrt(m2[j] / (1 - b2t)) + epsilon);
        }
      }
    }
    finalPolicies.push(policyTable());
    finalLogits.push(Array.from({ length: K }, (_, x) => Array.from(theta.subarray(x * M, x * M + M))));
  }
  return {
    finalPolicies,
    finalLogits,
    curves: { steps: curveSteps, policies: curvePolicies, losses: curveLosses },
    engine: "js",
    seconds: (performance.now() - t0) / 1000,
  };
}

/** Element [x][y] of each seed's final policy: e.g. finalProbabilities(result, 0, 0) = π(a) per seed. */
export function finalProbabilities(result: TrainBanditResult, prompt: number, response: number): number[] {
  return result.finalPolicies.map((p) => p[prompt][response]);
}

/** Mean over seeds of the final policies. */
export function meanPolicy(policies: PolicyTable[]): PolicyTable {
  return policies[0].map((row, x) => row.map((_, y) => policies.reduce((s, p) => s + p[x][y], 0) / policies.length));
}
