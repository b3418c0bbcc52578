// Log-probabilities of token sequences under a causal LM.
//
//   log π(y | x) = Σ_t m_t · log softmax(logits_t)[ids_{t+1}]
//
// where m_t masks the scored positions (completion tokens and <eos>). This is the quantity every
// preference loss compares (DPO, Rafailov et al. 2023, eq. 7, uses log π_θ(y|x) − log π_ref(y|x)).
// `excluded` tokens (the LM track passes NON_EMITTED: <pad>, <bos>) are left out of the softmax, i.e. the
// log-probs are those of softmax over the other tokens, the distribution the sampler draws from.
import * as tf from "@tensorflow/tfjs";
import { NON_EMITTED } from "./tokenizer";
import { exclusionBias, hasFusedPickLogProbs, pickLogProbs } from "./kernels/fused";
import type { Transformer } from "./transformer";

/**
 * log Σ_v exp(x_v) over the last axis of a 2-D tensor, with the gradient written directly as
 * softmax(x)·dy. tf.logSumExp's own gradient goes through tf.max's, whose broadcast Equal kernel takes
 * ~0.45 s on a 4032×2048 logit matrix on wasm (a quarter of a DPO step at the benchmark size).
 */
const logSumExpRows = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [x, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
  save([x]);
  return {
    value: tf.logSumExp(x, -1),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(tf.softmax(saved[0]), tf.expandDims(dy, -1)),
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor2D) => tf.Tensor1D;

/**
 * Per-position log p(ids[:, t+1] | ids[:, ≤t]) for logits (B, T, V) → (B, T−1).
 * Computed as picked logit − logsumexp over the vocabulary, picking with one flat gather so the full
 * (B, T, V) log-softmax is never materialised twice. With `excluded` token ids the normaliser runs over the
 * other tokens only, i.e. log-probs under softmax restricted to the allowed tokens (the sampler's
 * distribution). A position whose target is itself excluded (only padding, which every caller masks out)
 * gets its raw logit minus that normaliser: finite and moderate, so masked ratios such as PPO's
 * exp(lp − lp_old) cannot overflow.
 */
export function tokenLogProbs(logits: tf.Tensor3D, ids: tf.Tensor2D, excluded: readonly number[] = []): tf.Tensor2D {
  const [B, T, V] = logits.shape;
  return tf.tidy(() =>
    nextTokenLogProbs(
      tf.slice(logits, [0, 0, 0], [B, T - 1, V]).reshape([B * (T - 1), V]) as tf.Tensor2D,
      ids,
      excluded,
    ),
  );
}

/** The token each position 0…T−2 predicts, ids[:, 1:] flattened to (B·(T−1)). */
function nextTokens(ids: tf.Tensor2D): tf.Tensor1D {
  const [B, T] = ids.shape;
  return tf.slice(ids, [0, 1], [B, T - 1]).reshape([B * (T - 1)]) as tf.Tensor1D;
}

/** tokenLogProbs given the logits of positions 0…T−2 only, flattened row-major to (B·(T−1), V). */
function nextTokenLogProbs(head: tf.Tensor2D, ids: tf.Tensor2D, excluded: readonly number[]): tf.Tensor2D {
  const [B, T] = ids.shape;
  return tf.tidy(() => pickedLogProbs(head, nextTokens(ids), excluded).reshape([B, T - 1]) as tf.Tensor2D);
}

/** log softmax(head[r])[targets[r]] for head (N, V), targets (N) int32 → (N), normalised over allowed tokens. */
function pickedLogProbs(head: tf.Tensor2D, targets: tf.Tensor1D, excluded: readonly number[]): tf.Tensor1D {
  const [N, V] = head.shape;
  return tf.tidy(() => {
    const bias = exclusionBias(V, excluded);
    if (hasFusedPickLogProbs()) return pickLogProbs(head, targets, bias);
    const normalised = excluded.length > 0 ? tf.add(head, tf.tensor1d(bias)) : head;
    const flatIndex = tf.add(tf.mul(tf.range(0, N, 1, "int32"), tf.scalar(V, "int32")), targets);
    const picked = tf.gather(head.reshape([N * V]), flatIndex);
    return tf.sub(picked, logSumExpRows(normalised as tf.Tensor2D)) as tf.Tensor1D;
  });
}

/**
 * Per-position log π(ids[:, t+1] | ids[:, ≤t]) of `model` under the distribution its samples come from:
 * softmax over the tokens it may emit (NON_EMITTED left out). Every LM-track loss and estimate scores
 * through this, so no caller can score a different distribution from the one sampled.
 *
 * With `scored` (the batch's (B, T−1) loss mask) only positions where it is non-zero go through the
 * vocabulary head and the log-softmax, and the others are 0: prompt and padding positions are a large
 * share of a preference batch, and the head is ~40% of the model's FLOPs at the bench size. Callers that
 * pass it multiply by the same mask, so their losses and gradients are unchanged.
 */
export function modelTokenLogProbs(model: Transformer, ids: tf.Tensor2D, scored?: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tokenLogProbsFromHidden(model, model.hidden(ids), ids, scored));
}

/**
 * modelTokenLogProbs given the model's last-block output `hidden` (B·T, d) for `ids` (Transformer.hidden):
 * callers that also read the hidden states (PPO's value head, src/lm/ppoValueHead.ts) run the body once.
 */
export function tokenLogProbsFromHidden(
  model: Transformer,
  hidden: tf.Tensor2D,
  ids: tf.Tensor2D,
  scored?: tf.Tensor2D,
): tf.Tensor2D {
  const [B, T] = ids.shape;
  const d = model.config.dModel;
  if (scored && !(scored.shape[0] === B && scored.shape[1] === T - 1))
    throw new Error(`modelTokenLogProbs: mask shape [${scored.shape}] is not [${B}, ${T - 1}]`);
  // The last position predicts nothing here: drop it from the (B·T, d) hidden states, not from the
  // 16x wider (B, T, V) logits (the same numbers, without slicing and re-padding the logits).
  return tf.tidy(() => {
    const h = tf.slice(hidden.reshape([B, T, d]), [0, 0, 0], [B, T - 1, d]).reshape([B * (T - 1), d]) as tf.Tensor2D;
    const rows: number[] = [];
    if (scored) scored.dataSync().forEach((m, i) => m !== 0 && rows.push(i));
    if (!scored || rows.length === 0 || rows.length === B * (T - 1))
      return nextTokenLogProbs(model.head(h), ids, NON_EMITTED);
    const at = tf.tensor1d(rows, "int32");
    const targets = tf.gather(nextTokens(ids), at) as tf.Tensor1D;
    const lp = pickedLogProbs(model.head(tf.gather(h, at)), targets, NON_EMITTED);
    return tf.unsortedSegmentSum(lp, at, B * (T - 1)).reshape([B, T - 1]) as tf.Tensor2D;
  });
}

/** Σ_t mask·tokenLogps per row → (B). */
export function maskedSequenceSum(tokenLogps: tf.Tensor2D, mask: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => tf.sum(tf.mul(tokenLogps, mask), 1) as tf.Tensor1D);
}

/**
 * The reference-implementation convention, for callers holding labels instead of masks:
 * labels (B, T) int32 with `ignoreIndex` where nothing is scored; the logits at t predict labels[:, t+1].
 * Returns the (B) sum, or the mean over scored tokens if `average`.
 */
export function sequenceLogProbsFromLabels(
  logits: tf.Tensor3D,
  labels: tf.Tensor2D,
  opts: { average?: boolean; ignoreIndex?: number } = {},
): tf.Tensor1D {
  const ignore = opts.ignoreIndex ?? -100;
  return tf.tidy(() => {
    const [B, T] = labels.shape;
    const next = tf.slice(labels, [0, 1], [B, T - 1]);
    const mask = tf.cast(tf.notEqual(next, ignore), "float32") as tf.Tensor2D;
    const safe = tf.concat(
      [tf.zeros([B, 1], "int32"), tf.where(tf.cast(mask, "bool"), next, tf.zerosLike(next))],
      1,
    ) as tf.Tensor2D;
    const sums = maskedSequenceSum(tokenLogProbs(logits, safe), mask);
    return (opts.average ? tf.div(sums, tf.maximum(tf.sum(mask, 1), 1)) : sums) as tf.Tensor1D;
  });
}
