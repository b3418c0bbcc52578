// Per-sequence log-probabilities of label tokens under a causal language model's logits.
import * as tf from "@tensorflow/tfjs";

export interface SequenceLogProbsOptions {
  /** Mean over the counted tokens instead of the sum (a sequence with none gives 0). Default false. */
  average?: boolean;
  /** Label value that marks positions to skip (prompt, padding). Default −100. */
  ignoreIndex?: number;
}

/**
 * Σ_t log p(labels[b, t+1] | logits[b, t]) over positions whose label is not `ignoreIndex` (or the mean over
 * them), shape (B). logits (B, T, V) float32, labels (B, T) int32: the target of logits[:, t] is
 * labels[:, t+1], the convention of the reference DPO implementation (eric-mitchell/
 * direct-preference-optimization, `_get_batch_logps`). Token log-probs are oneHot(label) · logSoftmax(logits)
 * summed over V, whose gradient is exact on every backend. Labels must be in [0, V) or ignoreIndex.
 */
export function sequenceLogProbs(
  logits: tf.Tensor,
  labels: tf.Tensor,
  options: SequenceLogProbsOptions = {},
): tf.Tensor1D {
  const where = "sequenceLogProbs (src/logprobs.ts)";
  const { average = false, ignoreIndex = -100 } = options;
  if (logits.rank !== 3) throw new Error(`${where}: logits must be (B, T, V), got shape [${logits.shape}]`);
  if (labels.rank !== 2 || labels.shape[0] !== logits.shape[0] || labels.shape[1] !== logits.shape[1]) {
    throw new Error(`${where}: labels must be (B, T) = [${logits.shape.slice(0, 2)}], got shape [${labels.shape}]`);
  }
  if (labels.dtype !== "int32") throw new Error(`${where}: labels must be int32, got ${labels.dtype}`);
  const [b, t, v] = logits.shape;
  const targets = labels.dataSync();
  for (let i = 0; i < b; i++) {
    for (let j = 1; j < t; j++) {
      const y = targets[i * t + j];
      if (y !== ignoreIndex && !(y >= 0 && y < v)) {
        throw new Error(`${where}: labels[${i}][${j}] = ${y} is neither in [0, ${v}) nor ignoreIndex (${ignoreIndex})`);
      }
    }
  }
  return tf.tidy(() => {
    if (t < 2) return tf.zeros([b]) as tf.Tensor1D;
    const shifted = tf.slice(labels, [0, 1], [b, t - 1]); // targets of positions 0 … T−2
    const inputs = tf.slice(logits, [0, 0, 0], [b, t - 1, v]);
    const keep = tf.notEqual(shifted, tf.scalar(ignoreIndex, "int32"));
    const safe = tf.where(keep, shifted, tf.zerosLike(shifted));
    const tokenLogps = tf.sum(tf.mul(tf.logSoftmax(inputs), tf.oneHot(safe, v)), -1); // (B, T−1)
    const mask = tf.cast(keep, "float32");
    const total = tf.sum(tf.mul(tokenLogps, mask), -1);
    if (!average) return total as tf.Tensor1D;
    return tf.div(total, tf.maximum(tf.sum(mask, -1), 1)) as tf.Tensor1D;
  });
}

/** Number of counted target tokens per sequence (labels[:, 1:] ≠ ignoreIndex), shape (B): IPO's lengths. */
export function sequenceTokenCounts(labels: tf.Tensor, ignoreIndex = -100): tf.Tensor1D {
  if (labels.rank !== 2)
    throw new Error(`sequenceTokenCounts (src/logprobs.ts): labels must be (B, T), got [${labels.shape}]`);
  const [b, t] = labels.shape;
  return tf.tidy(() => {
    if (t < 2) return tf.zeros([b]) as tf.Tensor1D;
    const shifted = tf.slice(labels, [0, 1], [b, t - 1]);
    return tf.sum(tf.cast(tf.notEqual(shifted, tf.scalar(ignoreIndex, "int32")), "float32"), -1) as tf.Tensor1D;
  });
}
