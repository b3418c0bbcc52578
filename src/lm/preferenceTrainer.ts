// Offline preference optimisation of a causal LM from a frozen SFT reference, with any registered loss
// (src/losses/registry.ts): pair losses on the RLAIF pairs, listwise on the rankings, kto on the unpaired
// judgements. The reference log-probs are computed once per dataset and cached (the reference never
// changes); every step scores all sequences of a batch (chosen and rejected, or the whole list) in ONE
// concatenated forward pass, as in the reference DPO implementation. Plan (units, reference log-probs,
// minibatch order) → step (one forward pass, the loss, Adam) → record (TRL-named metrics from the loss's
// own rewards and extras).
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../random";
import { throwIfInterrupted } from "../interrupt";
import { packSequences, disposeBatch, type Sequence } from "./batching";
import { modelTokenLogProbs, maskedSequenceSum } from "./logprobs";
import "../losses/all";
import { checkKtoWeightRatio, ktoMismatchedPairs } from "../losses/kto";
import { preferenceMetrics } from "../losses/metrics";
import {
  getLoss,
  resolveLossOptions,
  type LossEntry,
  type LossOptions,
  type LossOutput,
  type LossState,
  type PairLossEntry,
  type RankingLossEntry,
  type UnpairedLossEntry,
} from "../losses/registry";
import { adamStep, makeAdam, progress } from "./optim";
import type { RlaifData } from "./rlaif";
import type { Transformer, TransformerConfig } from "./transformer";

/** A registered loss name (listLossTypes()); the LM trains pair, ranking and unpaired losses. */
export type PreferenceMethod = string;

export interface PreferenceTrainOptions {
  method: PreferenceMethod;
  /** The loss's options, checked against its registry entry (e.g. {beta: 0.1, labelSmoothing: 0.1}). */
  lossOptions?: Record<string, unknown>;
  steps: number;
  /** Preference pairs per step (KTO: examples; listwise: ranked lists). */
  batchSize: number;
  learningRate?: number;
  clipNorm?: number;
  seed?: number;
  /** Log every this many steps (default 10). */
  logEvery?: number;
  verbose?: boolean;
  /** Called after every step with its wall time in milliseconds (benchmarks). */
  onStep?: (step: number, ms: number) => void;
}

/**
 * One training log row, with TRL's metric names: loss, grad_norm, rewards/chosen, rewards/rejected,
 * rewards/margins, rewards/accuracies (pairs and rankings), logps/chosen, logps/rejected, and the loss's
 * extras (KTO's kl, BCO's bco/delta, ORPO's log_odds_ratio, …).
 */
export type PreferenceLog = { step: number; loss: number; grad_norm: number } & Record<string, number>;

/** The memory one scoring batch may take (the wasm heap ends at 4 GiB, and it fragments). */
export const SCORING_BUDGET_BYTES = 2 ** 30;

/**
 * Sequences per scoring batch: at most `maxBatch`, and at most as many as fit `budget` bytes, counting per
 * sequence of T = contextLength tokens the head's logits three times (logits, biased logits, softmax: T·V
 * floats each) and one block's attention tensors, ~8 of (H, T, T) floats (the forward frees each block's
 * intermediates when it ends): 4·T·(3V + 8HT) bytes. 128 for the Figure-2 and HH sizes; 64 at the large
 * benchmark size, where 128 ran the wasm heap out (issue 26).
 */
export function scoringBatchSize(config: TransformerConfig, maxBatch = 128, budget = SCORING_BUDGET_BYTES): number {
  const T = config.contextLength;
  const perSequence = 4 * T * (3 * config.vocabSize + 8 * config.nHeads * T);
  return Math.max(1, Math.min(maxBatch, Math.floor(budget / perSequence)));
}

/**
 * log π(y|x) for each sequence, in batches of at most `batchSize` (fewer where `scoringBatchSize` says a
 * batch would not fit), without gradients → Float32Array.
 */
export function sequenceLogps(model: Transformer, seqs: readonly Sequence[], maxBatch = 128): Float32Array {
  const out = new Float32Array(seqs.length);
  const batchSize = scoringBatchSize(model.config, maxBatch);
  for (let s = 0; s < seqs.length; s += batchSize) {
    throwIfInterrupted();
    const batch = packSequences(seqs.slice(s, s + batchSize), model.config.contextLength);
    const v = tf.tidy(() => maskedSequenceSum(modelTokenLogProbs(model, batch.ids, batch.mask), batch.mask).dataSync());
    disposeBatch(batch);
    out.set(v, s);
  }
  return out;
}

/** The flat list of sequences a loss trains on, grouped into units (a pair, an example, a list). */
interface TrainingUnits {
  /** Sequences per unit, in the order the loss expects (rankings: each its own length, best first). */
  units: Sequence[][];
  /** Unpaired data: desirable flag per unit. */
  labels?: boolean[];
}

/** The training units of a loss on `data` (exported for tests: KTO's partners, ragged rankings). */
export function trainingUnits(
  entry: LossEntry,
  data: RlaifData,
  contextLength: number,
  seed: number,
  where: string,
): TrainingUnits {
  if (entry.data === "pairs") return { units: data.pairs.map((p) => [p.chosenSeq, p.rejectedSeq]) };
  if (entry.data === "rankings") {
    // Every ranking keeps its own length: the step groups a batch's rankings by length (stepRows).
    data.rankings.forEach((r, i) => {
      if (r.ranking.length < 2)
        throw new Error(
          `${where}: rankings[${i}] (prompt ${JSON.stringify(r.prompt)}) ranks ${r.ranking.length} response(s); a ranking needs at least 2`,
        );
    });
    return { units: data.rankings.map((r) => r.ranking.map((c) => c.seq)) };
  }
  // Unpaired: each example plus a mismatched (x_i, y_j) pair for KTO's KL reference point: shuffle (with this
  // run's seed), then each example takes the completion of the one before it in the shuffled order
  // (ktoMismatchedPairs), so a file that lists a prompt's samples together does not give partners of the same
  // prompt. TRL rotates within chunks of the per-device batch instead (ktoMismatchedPairs says how that
  // differs). Fixed for the run, so the reference log-probs can be cached.
  const ex = data.unpaired;
  const partners = ktoMismatchedPairs(ex.length, new Rng(seed).fork("kto-partners"));
  const units = ex.map((e, i) => {
    const other = ex[partners.length ? partners[i][1] : i].seq;
    const room = contextLength - 2 - e.seq.prompt.length;
    const mismatched: Sequence = {
      prompt: e.seq.prompt,
      completion: other.completion.slice(0, Math.max(0, room)),
      ended: other.ended && other.completion.length <= room,
    };
    return [e.seq, mismatched];
  });
  return { units, labels: ex.map((e) => e.label) };
}

export interface PreferenceTrainResult {
  logs: PreferenceLog[];
  seconds: number;
  /** Reference log-probs cached before training (one per sequence of every unit; 0 for policy-only losses). */
  cachedReferenceLogps: number;
}

/** The loss on one group's units: column j of `logps` / `ref` / `lengths` holds sequence j of every unit. */
function batchLoss(
  entry: LossEntry,
  o: LossOptions,
  state: LossState | undefined,
  logps: tf.Tensor1D,
  ref: tf.Tensor1D,
  lengths: tf.Tensor1D,
  per: number,
  B: number,
  labels: boolean[] | undefined,
  tokens?: { tokenLogps: tf.Tensor2D; mask: tf.Tensor2D },
): LossOutput {
  const col = (t: tf.Tensor1D, j: number) => tf.slice(t, [j * B], [B]);
  // Rows of sequence j of every unit are j·B … j·B + B − 1 (the rejected completion is sequence 1).
  const rows2d = (t: tf.Tensor2D, j: number) => tf.slice(t, [j * B, 0], [B, -1]);
  if (entry.data === "pairs") {
    return (entry as PairLossEntry).loss(
      {
        policyChosen: col(logps, 0),
        policyRejected: col(logps, 1),
        refChosen: col(ref, 0),
        refRejected: col(ref, 1),
        chosenLengths: col(lengths, 0),
        rejectedLengths: col(lengths, 1),
        rejectedTokenLogps: tokens && rows2d(tokens.tokenLogps, 1),
        rejectedTokenMask: tokens && rows2d(tokens.mask, 1),
      },
      o,
      state,
    );
  }
  if (entry.data === "unpaired") {
    return (entry as UnpairedLossEntry).loss(
      {
        policy: col(logps, 0),
        ref: col(ref, 0),
        desirable: labels!,
        klPolicy: tf.reshape(col(logps, 1), [B]),
        klRef: col(ref, 1),
      },
      o,
      state,
    );
  }
  return (entry as RankingLossEntry).loss(
    { policy: tf.transpose(logps.reshape([per, B])), ref: tf.transpose(ref.reshape([per, B])) },
    o,
    state,
  );
}

/** The units of one step with the same number of sequences: rows [offset, offset + per·members.length). */
interface StepGroup {
  per: number;
  members: number[];
  offset: number;
}

/**
 * The step's rows, grouped by units' sequence count (pairs and unpaired: one group; rankings of several
 * lengths: one group per length, so each ranking is scored over its own length), column-major within a
 * group [seq 0 of every unit; seq 1 of every unit; …], with their reference log-probs (unit u's j-th
 * sequence is refLogps[starts[u] + j]).
 */
function stepRows(
  units: Sequence[][],
  idx: number[],
  starts: number[],
  refLogps: Float32Array,
): { rows: Sequence[]; refs: number[]; groups: StepGroup[] } {
  const bySize = new Map<number, number[]>();
  for (const u of idx) {
    const n = units[u].length;
    if (!bySize.has(n)) bySize.set(n, []);
    bySize.get(n)!.push(u);
  }
  const rows: Sequence[] = [];
  const refs: number[] = [];
  const groups: StepGroup[] = [];
  for (const [per, members] of bySize) {
    groups.push({ per, members, offset: rows.length });
    for (let j = 0; j < per; j++)
      for (const u of members) {
        rows.push(units[u][j]);
        refs.push(refLogps[starts[u] + j]);
      }
  }
  return { rows, refs, groups };
}

/**
 * The loss over every group of the step: per-unit losses, rewards and extras concatenated in group order,
 * with each unit's first and last sequence log-probs (logged as logps/chosen, logps/rejected).
 */
function stepLoss(
  entry: LossEntry,
  o: LossOptions,
  state: LossState | undefined,
  groups: StepGroup[],
  logps: tf.Tensor1D,
  ref: tf.Tensor1D,
  lengths: tf.Tensor1D,
  labels: boolean[] | undefined,
  tokens?: { tokenLogps: tf.Tensor2D; mask: tf.Tensor2D },
): { out: LossOutput; first: tf.Tensor; last: tf.Tensor } {
  const parts = groups.map((g) => {
    const B = g.members.length;
    const one = groups.length === 1; // the whole batch: no slicing
    const rows1 = (t: tf.Tensor1D) => (one ? t : tf.slice(t, [g.offset], [g.per * B]));
    const rows2 = (t: tf.Tensor2D) => (one ? t : tf.slice(t, [g.offset, 0], [g.per * B, -1]));
    const out = batchLoss(
      entry,
      o,
      state,
      rows1(logps),
      rows1(ref),
      rows1(lengths),
      g.per,
      B,
      labels && g.members.map((u) => labels[u]),
      tokens && { tokenLogps: rows2(tokens.tokenLogps), mask: rows2(tokens.mask) },
    );
    return {
      out,
      first: tf.slice(logps, [g.offset], [B]),
      last: tf.slice(logps, [g.offset + (g.per - 1) * B], [B]),
    };
  });
  if (parts.length === 1) return parts[0];
  const cat = (ts: tf.Tensor[]) => tf.concat(ts.map((t) => tf.reshape(t, [-1])));
  const out: LossOutput = {
    losses: cat(parts.map((p) => p.out.losses)),
    chosenRewards: cat(parts.map((p) => p.out.chosenRewards)),
    rejectedRewards: cat(parts.map((p) => p.out.rejectedRewards)),
    extras: Object.fromEntries(
      Object.keys(parts[0].out.extras).map((k) => [k, cat(parts.map((p) => p.out.extras[k]))]),
    ),
  };
  return { out, first: cat(parts.map((p) => p.first)), last: cat(parts.map((p) => p.last)) };
}

/**
 * TRL-named metrics from what the loss returned: its rewards (`kept` = chosen rewards, rejected rewards,
 * first and last sequences' log-probs, then the extras named `extraNames`), each a mean over the batch.
 */
function lossMetrics(entry: LossEntry, kept: tf.Tensor[], extraNames: string[]): Record<string, number> {
  const [chosenRewards, rejectedRewards, first, last, ...extras] = kept;
  const paired = entry.data !== "unpaired";
  const metrics = preferenceMetrics({
    chosenRewards,
    rejectedRewards,
    policyChosen: paired ? first : undefined,
    policyRejected: paired ? last : undefined,
  });
  // KTO's desirable and undesirable sets differ in size: TRL still logs the difference of their means.
  if (!paired) metrics["rewards/margins"] = metrics["rewards/chosen"] - metrics["rewards/rejected"];
  extras.forEach((t, i) => {
    const v = Array.from(t.dataSync() as Float32Array);
    metrics[extraNames[i]] = v.reduce((s, x) => s + x, 0) / v.length;
  });
  return metrics;
}

/** Train `policy` in place from the frozen `reference` on RLAIF data with a registered offline loss. */
export function trainPreference(
  policy: Transformer,
  reference: Transformer,
  data: RlaifData,
  opts: PreferenceTrainOptions,
): PreferenceTrainResult {
  const where = `trainPreference(${opts.method})`;
  for (const old of ["beta", "labelSmoothing", "desirableWeight", "undesirableWeight"]) {
    if ((opts as unknown as Record<string, unknown>)[old] !== undefined)
      throw new Error(
        `${where}: ${old} moved into lossOptions (one vocabulary for both tracks): {lossOptions: {${old}: …}}`,
      );
  }
  const t0 = Date.now();
  // ---- plan
  const entry = getLoss(opts.method);
  const o = resolveLossOptions(entry.name, opts.lossOptions ?? {}, (option, problem) => {
    throw new Error(`${where}: lossOptions.${option} ${problem}`);
  });
  const { units, labels } = trainingUnits(entry, data, policy.config.contextLength, opts.seed ?? 0, where);
  if (units.length === 0) throw new Error(`${where}: the dataset has no training units`);
  const starts: number[] = [];
  let total = 0;
  for (const u of units) {
    starts.push(total);
    total += u.length;
  }
  if (labels) {
    // The paper's [1, 4/3] advice is about the dataset; minibatches of a balanced set still vary.
    const nD = labels.filter(Boolean).length;
    checkKtoWeightRatio(
      nD,
      labels.length - nD,
      o.desirableWeight as number,
      o.undesirableWeight as number,
      `${where} on ${labels.length} examples`,
    );
  }
  // Reference log-probs, once: unit u's j-th sequence is refLogps[starts[u] + j] (zeros for policy-only losses).
  const refLogps = entry.needsReference ? sequenceLogps(reference, units.flat()) : new Float32Array(total);
  const rng = new Rng(opts.seed ?? 0).fork(`pref-${opts.method}`);
  const optimizer = makeAdam(opts.learningRate ?? 5e-4);
  const state = entry.createState?.();
  const logs: PreferenceLog[] = [];
  const logEvery = opts.logEvery ?? 10;
  const label = `${entry.name}${typeof o.beta === "number" ? ` β=${o.beta}` : ""}`;
  let order: number[] = [];
  try {
    for (let step = 1; step <= opts.steps; step++) {
      throwIfInterrupted();
      if (order.length < opts.batchSize) order = order.concat(rng.shuffle(Array.from(units.keys())));
      const idx = order.splice(0, Math.min(opts.batchSize, units.length));
      const stepStart = performance.now();
      // ---- step: one forward pass over every sequence of the batch's units.
      const { rows, refs, groups } = stepRows(units, idx, starts, refLogps);
      const batch = packSequences(rows, policy.config.contextLength);
      const record = step % logEvery === 0 || step === 1 || step === opts.steps;
      let kept: tf.Tensor[] = [];
      let extraNames: string[] = [];
      const r = adamStep(
        optimizer,
        policy.variables,
        () =>
          tf.tidy(() => {
            const tokenLogps = modelTokenLogProbs(policy, batch.ids, batch.mask);
            const logps = maskedSequenceSum(tokenLogps, batch.mask);
            // Completion tokens scored per row, at least 1 (as TRL clamps them) so an empty completion divides safely.
            const lengths = tf.maximum(tf.sum(batch.mask, 1), 1) as tf.Tensor1D;
            const { out, first, last } = stepLoss(
              entry,
              o,
              state,
              groups,
              logps,
              tf.tensor1d(refs),
              lengths,
              labels,
              entry.tokenLevel ? { tokenLogps, mask: batch.mask } : undefined,
            );
            if (record) {
              extraNames = Object.keys(out.extras);
              kept = [out.chosenRewards, out.rejectedRewards, first, last, ...Object.values(out.extras)].map((t) =>
                tf.keep(tf.clone(t)),
              );
            }
            return tf.mean(out.losses) as tf.Scalar;
          }),
        opts.clipNorm ?? 1,
      );
      disposeBatch(batch);
      opts.onStep?.(step, performance.now() - stepStart);
      // ---- record: the loss's own rewards and extras under TRL's names.
      if (record) {
        logs.push({ step, loss: r.loss, grad_norm: r.gradNorm, ...lossMetrics(entry, kept, extraNames) });
        tf.dispose(kept);
      }
      if (opts.verbose !== false) progress(label, step, opts.steps, `loss ${r.loss.toFixed(4)}`, 25);
    }
  } finally {
    optimizer.dispose();
  }
  return { logs, seconds: (Date.now() - t0) / 1000, cachedReferenceLogps: entry.needsReference ? refLogps.length : 0 };
}
