// Numerically stable building blocks shared by the losses and models, each safe on every backend.
import * as tf from "@tensorflow/tfjs";

/**
 * log σ(x) = −softplus(−x), computed as −softplus(−x) so it is finite for |x| up to float32's range.
 * d/dx log σ(x) = σ(−x) (exactly ½ at x = 0, where DPO starts). Use this instead of tf.logSigmoid, whose
 * gradient threw inside larger graphs on the wasm backend.
 */
export function logSigmoid(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.neg(tf.softplus(tf.neg(x))));
}

/** log Σ exp(x) over `axis`, stable (max-shifted). */
export function logSumExp(x: tf.Tensor, axis: number | number[] = -1, keepDims = false): tf.Tensor {
  return tf.logSumExp(x, axis, keepDims);
}
