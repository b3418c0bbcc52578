// trainBandit's configuration and the plan both engines share: the checked config with defaults, each
// seed's minibatch indices, the recorded steps. Engines: src/bandit/trainerJs.ts, src/bandit/trainerTfjs.ts.
import { Rng } from "../random";
import "../losses/all";
import { getLoss, resolveLossOptions, type LossEntry, type LossOptions } from "../losses/registry";
import { datasetSize, type BanditDataset } from "./datasets";
import { policyLogits, uniformPolicy, type PolicyTable } from "./tabular";

/** Any registered loss (src/losses/registry.ts): its data kind decides which dataset it trains on. */
export type BanditMethod = string;

/** Options of the method's loss, checked against its registry entry (beta is IPO's τ for "ipo"). */
export type BanditLossOptions = Record<string, unknown>;

export interface AdamOptions {
  beta1: number;
  beta2: number;
  /** Default 1e-7, tfjs's float32 epsilon, so both engines take the same steps. */
  epsilon: number;
}

export interface TrainBanditConfig {
  /** A registered loss name (listLossTypes()); e.g. dpo, ipo, kto, listwise, sigmoid, simpo, … */
  method: BanditMethod;
  lossOptions?: BanditLossOptions;
  /** Pairs for pair losses, rankings for listwise, unpaired judgements for kto (the loss's `data`). */
  dataset: BanditDataset;
  steps: number;
  /** Examples per step, drawn uniformly with replacement; ignored when fullBatch. */
  batchSize: number;
  /** Adam's step size. */
  learningRate: number;
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

/** The config checked, with defaults, the loss's entry and its resolved options. */
export interface BanditPlan {
  config: TrainBanditConfig;
  entry: LossEntry;
  options: LossOptions;
  refPolicy: PolicyTable;
  initLogits: number[][];
  fullBatch: boolean;
  recordEvery: number;
  engine: "js" | "tfjs";
  adam: AdamOptions;
  /** Examples per step (the dataset size when fullBatch). */
  batch: number;
  /** Recorded steps, ascending. */
  recorded: number[];
  /** Per seed: steps × batch example indices (null when fullBatch: every example, in order). */
  indices: Array<Int32Array | null>;
}

/** Checks the config, resolves the loss and its options through the registry, and draws the minibatches. */
export function planBandit(c: TrainBanditConfig): BanditPlan {
  const where = "trainBandit";
  if ((c as unknown as Record<string, unknown>).lr !== undefined)
    throw new Error(`${where}: lr was renamed learningRate (one name in every trainer)`);
  const entry = getLoss(c.method);
  if (c.dataset.kind !== entry.data)
    throw new Error(`${where}: method "${c.method}" needs a "${entry.data}" dataset, got "${c.dataset.kind}"`);
  const options = resolveLossOptions(entry.name, c.lossOptions ?? {}, (option, problem) => {
    throw new Error(`${where}: lossOptions.${option} ${problem}`);
  });
  const n = datasetSize(c.dataset);
  if (n === 0) throw new Error(`${where}: the dataset is empty`);
  for (const [k, v] of [
    ["steps", c.steps],
    ["batchSize", c.batchSize],
  ] as const) {
    if (!(Number.isInteger(v) && v > 0)) throw new Error(`${where}: ${k} must be a positive integer, got ${v}`);
  }
  if (!(c.learningRate > 0)) throw new Error(`${where}: learningRate must be > 0, got ${c.learningRate}`);
  if (!Array.isArray(c.seeds) || c.seeds.length === 0) throw new Error(`${where}: seeds must be a non-empty array`);
  const { nPrompts: K, nResponses: M } = c.dataset;
  const ref = c.refPolicy ?? uniformPolicy(K, M);
  if (ref.length !== K || ref.some((r) => r.length !== M)) throw new Error(`${where}: refPolicy must be [${K}][${M}]`);
  const init = c.initLogits ?? policyLogits(ref);
  if (init.length !== K || init.some((r) => r.length !== M))
    throw new Error(`${where}: initLogits must be [${K}][${M}]`);
  const fullBatch = c.fullBatch ?? false;
  const batch = fullBatch ? n : c.batchSize;
  const recordEvery = c.recordEvery ?? Math.max(1, Math.round(c.steps / 200));
  return {
    config: c,
    entry,
    options,
    refPolicy: ref,
    initLogits: init,
    fullBatch,
    recordEvery,
    engine: c.engine ?? "js",
    adam: { beta1: 0.9, beta2: 0.999, epsilon: 1e-7, ...(c.adam ?? {}) },
    batch,
    recorded: recordedSteps(c.steps, recordEvery),
    indices: c.seeds.map((seed) => (fullBatch ? null : minibatchIndices(seed, c.steps, batch, n))),
  };
}

/** Example b of step t for a seed's index plan (in order when fullBatch). */
export function exampleAt(indices: Int32Array | null, batch: number, t: number, b: number): number {
  return indices ? indices[t * batch + b] : b;
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
