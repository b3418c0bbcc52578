// Offline preference optimisation of a causal LM from a frozen SFT reference: DPO, IPO, KTO and listwise
// DPO. The reference log-probs are computed once per dataset and cached (the reference never changes);
// every step scores all sequences of a batch (chosen and rejected, or the whole list) in ONE
// concatenated forward pass, as in the reference DPO implementation.
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../random";
import { packSequences, disposeBatch, type Sequence } from "./batching";
import { modelTokenLogProbs, maskedSequenceSum } from "./logprobs";
import { dpoLoss, ipoLoss, ktoLoss, listwiseDpoLoss, checkKtoWeightRatio } from "../losses/index";
import { preferenceLoss } from "../losses/preferenceLoss";
import { adamStep, makeAdam, progress } from "./optim";
import type { RlaifData } from "./rlaif";
import type { Transformer } from "./transformer";

export type PreferenceMethod = "dpo" | "ipo" | "kto" | "listwise";

export interface PreferenceTrainOptions {
  method: PreferenceMethod;
  beta: number;
  steps: number;
  /** Preference pairs per step (KTO: examples; listwise: ranked lists). */
  batchSize: number;
  learningRate?: number;
  clipNorm?: number;
  seed?: number;
  labelSmoothing?: number;
  desirableWeight?: number;
  undesirableWeight?: number;
  /**
   * Pair data only (method "dpo"'s units): train with this loss from the loss registry instead (TRL's
   * loss_type names, e.g. "sft" = Preferred-FT, "unlikelihood"), with `lossOptions` validated by it.
   */
  lossType?: string;
  lossOptions?: Record<string, unknown>;
  /** Log every this many steps (default 10). */
  logEvery?: number;
  verbose?: boolean;
  /** Called after every step with its wall time in milliseconds (benchmarks). */
  onStep?: (step: number, ms: number) => void;
}

/** One training log row, with TRL's metric names. */
export interface PreferenceLog {
  step: number;
  loss: number;
  "rewards/chosen": number;
  "rewards/rejected": number;
  "rewards/margins": number;
  "rewards/accuracies": number;
  "logps/chosen": number;
  "logps/rejected": number;
  grad_norm: number;
  kl?: number;
}

/** log π(y|x) for each sequence, in batches, without gradients → Float32Array. */
export function sequenceLogps(model: Transformer, seqs: readonly Sequence[], batchSize = 128): Float32Array {
  const out = new Float32Array(seqs.length);
  for (let s = 0; s < seqs.length; s += batchSize) {
    const batch = packSequences(seqs.slice(s, s + batchSize), model.config.contextLength);
    const v = tf.tidy(() => maskedSequenceSum(modelTokenLogProbs(model, batch.ids), batch.mask).dataSync());
    disposeBatch(batch);
    out.set(v, s);
  }
  return out;
}

/** The flat list of sequences a method trains on, grouped into units (a pair, an example, a list). */
interface TrainingUnits {
  /** Sequences per unit, in the order the loss expects. */
  units: Sequence[][];
  /** KTO: desirable flag per unit. */
  labels?: boolean[];
}

function unitsFor(method: PreferenceMethod, data: RlaifData, contextLength: number): TrainingUnits {
  if (method === "dpo" || method === "ipo") return { units: data.pairs.map((p) => [p.chosenSeq, p.rejectedSeq]) };
  if (method === "listwise") {
    const n = Math.min(...data.rankings.map((r) => r.ranking.length));
    return { units: data.rankings.map((r) => r.ranking.slice(0, n).map((c) => c.seq)) };
  }
  // KTO: each example plus a mismatched (x_i, y_j) pair for the KL reference point; the partner is two
  // places on (the neighbour is usually the same prompt's other completion), fixed so it can be cached.
  const ex = data.unpaired;
  const units = ex.map((e, i) => {
    const other = ex[(i + 2) % ex.length].seq;
    const room = contextLength - 2 - e.seq.prompt.length;
    const mismatched: Sequence = { prompt: e.seq.prompt, completion: other.completion.slice(0, Math.max(0, room)), ended: other.ended && other.completion.length <= room };
    return [e.seq, mismatched];
  });
  return { units, labels: ex.map((e) => e.label) };
}

export interface PreferenceTrainResult {
  logs: PreferenceLog[];
  seconds: number;
  /** Reference log-probs cached before training (one per sequence of every unit). */
  cachedReferenceLogps: number;
}

/** Train `policy` in place from the frozen `reference` on RLAIF data with one of the offline methods. */
export function trainPreference(policy: Transformer, reference: Transformer, data: RlaifData, opts: PreferenceTrainOptions): PreferenceTrainResult {
  const t0 = Date.now();
  const { method, beta } = opts;
  if (opts.lossType !== undefined && method !== "dpo") throw new Error(`trainPreference: lossType "${opts.lossType}" trains on pairs; use method "dpo" (its units), got "${method}"`);
  const { units, labels } = unitsFor(method, data, policy.config.contextLength);
  if (units.length === 0) throw new Error(`trainPreference(${method}): the dataset has no training units`);
  const per = units[0].length;
  if (labels) {
    // The paper's [1, 4/3] advice is about the dataset; minibatches of a balanced set still vary.
    const nD = labels.filter(Boolean).length;
    checkKtoWeightRatio(nD, labels.length - nD, opts.desirableWeight, opts.undesirableWeight, `trainPreference(kto) on ${labels.length} examples`);
  }
  // Reference log-probs, once: unit u's j-th sequence is refLogps[u·per + j].
  const refLogps = sequenceLogps(reference, units.flat());
  const rng = new Rng(opts.seed ?? 0).fork(`pref-${method}`);
  const optimizer = makeAdam(opts.learningRate ?? 5e-4);
  const logs: PreferenceLog[] = [];
  const logEvery = opts.logEvery ?? 10;
  let order: number[] = [];
  for (let step = 1; step <= opts.steps; step++) {
    if (order.length < opts.batchSize) order = order.concat(rng.shuffle(Array.from(units.keys())));
    const idx = order.splice(0, Math.min(opts.batchSize, units.length));
    const B = idx.length;
    const stepStart = performance.now();
    // Column-major concatenation: rows [seq 0 of every unit; seq 1 of every unit; …] in one forward pass.
    const rows: Sequence[] = [];
    const refs: number[] = [];
    for (let j = 0; j < per; j++)
      for (const u of idx) {
        rows.push(units[u][j]);
        refs.push(refLogps[u * per + j]);
      }
    const batch = packSequences(rows, policy.config.contextLength);
    let saved: tf.Tensor1D | undefined;
    let z0 = 0;
    const r = adamStep(
      optimizer,
      policy.variables,
      () => tf.tidy(() => {
        const logps = maskedSequenceSum(modelTokenLogProbs(policy, batch.ids), batch.mask);
        saved = tf.keep(logps.clone());
        const ref = tf.tensor1d(refs);
        const col = (t: tf.Tensor1D, j: number) => tf.slice(t, [j * B], [B]);
        // The shared library's losses (src/losses), per example.
        let losses: tf.Tensor;
        if (opts.lossType !== undefined) {
          const lengths = (j: number) => batch.lengths.slice(j * B, (j + 1) * B);
          losses = preferenceLoss(opts.lossType, { policyChosen: col(logps, 0), policyRejected: col(logps, 1), refChosen: col(ref, 0), refRejected: col(ref, 1), chosenLengths: lengths(0), rejectedLengths: lengths(1) }, opts.lossOptions ?? {}).losses;
        } else if (method === "dpo") losses = dpoLoss(col(logps, 0), col(logps, 1), col(ref, 0), col(ref, 1), { beta, labelSmoothing: opts.labelSmoothing ?? 0 }).losses;
        else if (method === "ipo") losses = ipoLoss(col(logps, 0), col(logps, 1), col(ref, 0), col(ref, 1), { beta }).losses;
        else if (method === "kto") {
          const k = ktoLoss(col(logps, 0), col(ref, 0), idx.map((u) => labels![u]), { beta, desirableWeight: opts.desirableWeight, undesirableWeight: opts.undesirableWeight, klPolicyLogps: col(logps, 1), klRefLogps: col(ref, 1), checkWeightRatio: false });
          z0 = k.kl.dataSync()[0];
          losses = k.losses;
        } else losses = listwiseDpoLoss(tf.transpose(logps.reshape([per, B])), tf.transpose(ref.reshape([per, B])), { beta }).losses;
        return tf.mean(losses) as tf.Scalar;
      }),
      opts.clipNorm ?? 1,
    );
    const pol = saved!.dataSync();
    saved!.dispose();
    disposeBatch(batch);
    opts.onStep?.(step, performance.now() - stepStart);
    if (step % logEvery === 0 || step === 1 || step === opts.steps) logs.push(metricsRow(step, r.loss, r.gradNorm, method, pol, refs, B, per, labels && idx.map((u) => labels[u]), beta, z0));
    if (opts.verbose !== false) progress(`${method} β=${beta}`, step, opts.steps, `loss ${r.loss.toFixed(4)}`, 25);
  }
  optimizer.dispose();
  return { logs, seconds: (Date.now() - t0) / 1000, cachedReferenceLogps: refLogps.length };
}

function mean(xs: number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}

/** TRL-named metrics from a batch's policy and reference log-probs (column-major, `per` per unit). */
function metricsRow(step: number, loss: number, gradNorm: number, method: PreferenceMethod, pol: ArrayLike<number>, ref: number[], B: number, per: number, labels: boolean[] | undefined, beta: number, z0: number): PreferenceLog {
  const at = (j: number, b: number) => j * B + b;
  let chosen: number[] = [];
  let rejected: number[] = [];
  let lc: number[] = [];
  let lr: number[] = [];
  let acc: number[] = [];
  if (method === "kto") {
    for (let b = 0; b < B; b++) {
      const rw = beta * (pol[at(0, b)] - ref[at(0, b)]);
      (labels![b] ? chosen : rejected).push(rw);
      (labels![b] ? lc : lr).push(pol[at(0, b)]);
    }
  } else {
    const last = per - 1; // DPO/IPO: rejected is column 1; listwise: the worst of the list
    chosen = Array.from({ length: B }, (_, b) => beta * (pol[at(0, b)] - ref[at(0, b)]));
    rejected = Array.from({ length: B }, (_, b) => beta * (pol[at(last, b)] - ref[at(last, b)]));
    lc = Array.from({ length: B }, (_, b) => pol[at(0, b)]);
    lr = Array.from({ length: B }, (_, b) => pol[at(last, b)]);
    acc = chosen.map((c, b) => (c > rejected[b] ? 1 : 0));
  }
  const row: PreferenceLog = {
    step,
    loss,
    "rewards/chosen": mean(chosen),
    "rewards/rejected": mean(rejected),
    "rewards/margins": mean(chosen) - mean(rejected),
    "rewards/accuracies": method === "kto" ? NaN : mean(acc),
    "logps/chosen": mean(lc),
    "logps/rejected": mean(lr),
    grad_norm: gradNorm,
  };
  if (method === "kto") row.kl = z0;
  return row;
}
