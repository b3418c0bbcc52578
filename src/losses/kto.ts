// Kahneman–Tversky Optimisation (KTO): a loss on single judged responses (desirable / undesirable), with a
// reference point z0 estimated from mismatched prompt–response pairs. Elementwise on [..., B].
import * as tf from "@tensorflow/tfjs";
import type { Rng } from "../random";
import { checkBeta, checkSameShape, stopGradient } from "./common";

export interface KtoOptions {
  beta: number;
  /** λ_D (default 1). */
  desirableWeight?: number;
  /** λ_U (default 1). */
  undesirableWeight?: number;
  /** log π(y_{j}|x_i) on mismatched pairs (see ktoMismatchedPairs), shape [..., M]; M may be 0. */
  klPolicyLogps?: tf.Tensor;
  /** log π_ref on the same mismatched pairs, shape [..., M]. */
  klRefLogps?: tf.Tensor;
  /** The reference point as a constant instead (a number, or a tensor of the leading shape [...]). */
  z0?: number | tf.Tensor;
  /**
   * Warn when this batch's λ_D n_D / (λ_U n_U) is outside [1, 4/3] (default true). Trainers that sample
   * minibatches check the whole dataset once with checkKtoWeightRatio and turn this off, since a balanced
   * dataset still yields unbalanced minibatches.
   */
  checkWeightRatio?: boolean;
}

export interface KtoLossOutput {
  /** Per-example losses, shape [..., B]. */
  losses: tf.Tensor;
  /** β(log π − log π_ref) of the desirable examples (last axis restricted to them; flat for a mask tensor), no gradient. */
  chosenRewards: tf.Tensor;
  /** β(log π − log π_ref) of the undesirable examples, no gradient. */
  rejectedRewards: tf.Tensor;
  /** The reference point z0 used, shape [...] (the leading axes), no gradient. */
  kl: tf.Tensor;
  /** λ_D n_D / (λ_U n_U) in this batch; Eq. 8's advice is to keep it in [1, 4/3]. */
  weightRatio: number;
}

let warnedRatio = false;

/**
 * KTO loss per example (Ethayarajh et al. 2024, "KTO: Model Alignment as Prospect Theoretic
 * Optimization", Eq. 8), with Δ = log π(y|x) − log π_ref(y|x):
 *   desirable:   λ_D (1 − σ(β(Δ − z0)))
 *   undesirable: λ_U (1 − σ(β(z0 − Δ)))
 *   z0 = max(0, mean_j [log π(y_j|x_i) − log π_ref(y_j|x_i)]) over mismatched pairs (last axis),
 * held constant (no gradient), 0 for an empty mismatched set. `desirable[b]` labels position b of the last
 * axis (shared by every leading index); or pass a 0/1 (or bool) mask tensor of the inputs' shape when the
 * labels differ between leading rows (e.g. seeds with their own minibatches). Warns once per process when
 * λ_D n_D / (λ_U n_U) ∉ [1, 4/3] (the paper's advice next to Eq. 8) and returns the ratio.
 */
export function ktoLoss(
  policyLogps: tf.Tensor,
  refLogps: tf.Tensor,
  desirable: boolean[] | tf.Tensor,
  options: KtoOptions,
): KtoLossOutput {
  const where = "ktoLoss (src/losses/kto.ts)";
  const { beta, desirableWeight: wD = 1, undesirableWeight: wU = 1 } = options;
  checkBeta(where, beta);
  if (!(wD >= 0 && wU >= 0 && Number.isFinite(wD) && Number.isFinite(wU))) {
    throw new Error(`${where}: desirableWeight and undesirableWeight must be finite and >= 0, got ${wD}, ${wU}`);
  }
  checkSameShape(where, { policyLogps, refLogps });
  const batch = policyLogps.shape[policyLogps.rank - 1];
  let flags: boolean[];
  if (Array.isArray(desirable)) {
    if (policyLogps.rank === 0 || desirable.length !== batch) {
      throw new Error(
        `${where}: desirable has ${desirable.length} flags but the last axis of policyLogps has ${batch} entries`,
      );
    }
    flags = desirable;
  } else {
    if (desirable.shape.length !== policyLogps.rank || desirable.shape.some((d, i) => d !== policyLogps.shape[i])) {
      throw new Error(
        `${where}: the desirable mask has shape [${desirable.shape}], policyLogps has shape [${policyLogps.shape}]`,
      );
    }
    flags = Array.from(desirable.dataSync(), (v) => v !== 0);
  }
  const nD = flags.filter(Boolean).length;
  const nU = flags.length - nD;
  const weightRatio =
    options.checkWeightRatio === false
      ? (wD * nD) / (wU * nU)
      : checkKtoWeightRatio(nD, nU, wD, wU, `${where}, this batch`);
  const leading = policyLogps.shape.slice(0, -1);
  return tf.tidy(() => {
    const z0 = referencePoint(where, options, leading); // shape [..., 1]
    const delta = tf.sub(policyLogps, refLogps);
    const isD = Array.isArray(desirable)
      ? tf.tensor1d(
          flags.map((d) => (d ? 1 : 0)),
          "float32",
        )
      : tf.cast(tf.notEqual(desirable, 0), "float32");
    const margin = tf.mul(tf.sub(delta, z0), beta); // β(Δ − z0)
    const lossD = tf.mul(wD, tf.sigmoid(tf.neg(margin))); // λ_D (1 − σ(β(Δ − z0)))
    const lossU = tf.mul(wU, tf.sigmoid(margin)); // λ_U (1 − σ(β(z0 − Δ)))
    const losses = tf.add(tf.mul(isD, lossD), tf.mul(tf.sub(1, isD), lossU));
    const rewards = stopGradient(tf.mul(delta, beta));
    // Restrict the rewards to one class: along the last axis for a flag array (shape [..., n]); flattened
    // to [n] for a mask tensor, whose classes differ between leading rows.
    const pick = (want: boolean) => {
      const idx = flags.flatMap((d, i) => (d === want ? [i] : []));
      if (Array.isArray(desirable)) return tf.gather(rewards, tf.tensor1d(idx, "int32"), rewards.rank - 1);
      return tf.gather(tf.reshape(rewards, [-1]), tf.tensor1d(idx, "int32"));
    };
    return {
      losses,
      chosenRewards: pick(true),
      rejectedRewards: pick(false),
      kl: tf.reshape(tf.broadcastTo(z0, [...leading, 1]), leading),
      weightRatio,
    };
  });
}

/**
 * λ_D n_D / (λ_U n_U), warning once per process when it is outside [1, 4/3], the range the KTO paper
 * recommends next to Eq. 8 (Ethayarajh et al. 2024). Call it on the whole dataset before training.
 */
export function checkKtoWeightRatio(
  nDesirable: number,
  nUndesirable: number,
  desirableWeight = 1,
  undesirableWeight = 1,
  where = "KTO data",
): number {
  const ratio = (desirableWeight * nDesirable) / (undesirableWeight * nUndesirable);
  if (!(ratio >= 1 && ratio <= 4 / 3) && !warnedRatio) {
    warnedRatio = true;
    console.warn(
      `${where}: λ_D·n_D/(λ_U·n_U) = ${desirableWeight}·${nDesirable}/(${undesirableWeight}·${nUndesirable}) = ${ratio.toFixed(3)} ` +
        "is outside [1, 4/3] (KTO paper, Eq. 8 advice); set desirableWeight/undesirableWeight to rebalance (warned once)",
    );
  }
  return ratio;
}

/** z0 of shape [...leading, 1], no gradient. */
function referencePoint(where: string, o: KtoOptions, leading: number[]): tf.Tensor {
  if (o.z0 !== undefined) {
    if (typeof o.z0 === "number" && !Number.isFinite(o.z0))
      throw new Error(`${where}: options.z0 must be a finite number, got ${o.z0}`);
    const z = typeof o.z0 === "number" ? tf.scalar(o.z0) : o.z0;
    if (z.size !== 1 && z.size !== leading.reduce((a, b) => a * b, 1)) {
      throw new Error(
        `${where}: options.z0 has shape [${z.shape}], expected a scalar or the leading shape [${leading}]`,
      );
    }
    if (typeof o.z0 !== "number") {
      // A held-constant reference point: one read is cheap, and a NaN or ∞ here makes every loss NaN.
      const bad = Array.from(o.z0.dataSync()).findIndex((v) => !Number.isFinite(v));
      if (bad >= 0)
        throw new Error(`${where}: options.z0 must be finite, got ${o.z0.dataSync()[bad]} at flat index ${bad}`);
    }
    return stopGradient(tf.reshape(z, z.size === 1 ? [] : [...leading, 1]));
  }
  if (o.klPolicyLogps === undefined || o.klRefLogps === undefined) {
    throw new Error(`${where}: pass options.klPolicyLogps and options.klRefLogps (mismatched pairs), or options.z0`);
  }
  checkSameShape(where, { klPolicyLogps: o.klPolicyLogps, klRefLogps: o.klRefLogps });
  const kl = o.klPolicyLogps;
  const lead = kl.shape.slice(0, -1);
  if (kl.rank === 0 || lead.length !== leading.length || lead.some((d, i) => d !== leading[i])) {
    throw new Error(`${where}: klPolicyLogps has shape [${kl.shape}], expected [${leading}, M]`);
  }
  if (kl.shape[kl.rank - 1] === 0) return tf.zeros([...leading, 1]); // empty mismatched set: z0 = 0
  return stopGradient(tf.relu(tf.mean(tf.sub(o.klPolicyLogps, o.klRefLogps), -1, true)));
}

/**
 * The mismatched pairs KTO estimates z0 from, as [promptIndex, completionIndex] for prompt 0 … n − 1.
 * Without `rng`, prompt x_i takes the completion of the example before it, y_{(i−1) mod n}: TRL's "+1 offset
 * to the order of completions", (x_1, y_n), (x_2, y_1), …, (x_n, y_{n−1}). With `rng`, the examples are first
 * put in a random order and each takes the completion of the one before it in that order, so examples
 * listed by prompt do not get partners of their own prompt. Empty when n < 2 (no mismatched pair; z0 = 0).
 *
 * How this differs from TRL's KTOTrainer (trl/trainer/kto_trainer.py): TRL applies `_get_kl_dataset` with
 * `dataset.map(…, batched=True, batch_size=per_device_train_batch_size)`, so the rotation is within each
 * consecutive chunk of per_device_train_batch_size rows (of the dataset shuffled with `data_seed`, in the
 * versions that shuffle it), and it reads the rows in order, so the mismatched completions of a training
 * batch are that batch's own completions, re-paired (a last chunk of one row is paired with itself). Here
 * the rotation runs once across the whole shuffled dataset and minibatches are drawn in another random
 * order (src/lm/preferenceTrainer.ts), so a batch's mismatched completions come from anywhere in the data.
 * Both pair each example with a random other example's completion (never its own when n ≥ 2), fixed for
 * the run, and z0 is estimated the same way: max(0, mean over the batch's mismatched pairs of
 * log π(y'|x) − log π_ref(y'|x)), held constant (ktoLoss above).
 */
export function ktoMismatchedPairs(n: number, rng?: Rng): Array<[number, number]> {
  if (!Number.isInteger(n) || n < 0)
    throw new Error(`ktoMismatchedPairs (src/losses/kto.ts): n must be an integer >= 0, got ${n}`);
  if (n < 2) return [];
  const order = Array.from({ length: n }, (_, i) => i);
  if (rng) rng.shuffle(order);
  const pairs = new Array<[number, number]>(n);
  order.forEach((i, p) => (pairs[i] = [i, order[(p - 1 + n) % n]]));
  return pairs;
}

/** Resets the once-per-process weight-ratio warning (for tests). */
export function resetKtoWarnings(): void {
  warnedRatio = false;
}
