// Matrix products that stay on the wasm backend's fast path.
//
// Measured on wasm (tfjs 4.22, SIMD, 2-core machine): 4096×128 @ 128×2048 runs at ~35 GFLOP/s, but the same
// product with `transposeB: true` runs at ~3 GFLOP/s and with `transposeA: true` at ~1 GFLOP/s, because only
// the untransposed layout reaches XNNPACK. tf.matMul's own gradient uses exactly those flags
// (dA = dY Bᵀ, dB = Aᵀ dY), so training a transformer with plain tf.matMul spends most of its time there.
// `matMulFast` materialises transposes explicitly (tf.transpose is cheap) in the forward and backward pass.
import * as tf from "@tensorflow/tfjs";

function swapLast(x: tf.Tensor): tf.Tensor {
  const r = x.rank;
  const perm = Array.from({ length: r }, (_, i) => i);
  perm[r - 2] = r - 1;
  perm[r - 1] = r - 2;
  return tf.transpose(x, perm);
}

/** a·b for rank-2 or equal-batch rank-3 tensors, with gradients dA = dY·bᵀ, dB = aᵀ·dY (explicit transposes). */
const product = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [a, b, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  save([a, b]);
  return {
    value: tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved;
      return [
        tf.matMul(dy as tf.Tensor2D, swapLast(sb) as tf.Tensor2D),
        tf.matMul(swapLast(sa) as tf.Tensor2D, dy as tf.Tensor2D),
      ];
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;

/**
 * a·bᵀ with gradients dA = dY·b and dB = dYᵀ·a. For the tied LM head (a: (N, d) hidden states, b: (V, d)
 * embedding) dB this way multiplies by the small (N, d) matrix, where (aᵀ·dY)ᵀ multiplies a (d, N) matrix
 * by the large (N, V) one: XNNPACK packs its right operand, and packing and streaming (N, V) made that
 * product ~3x slower than this one (profile: 700 ms vs 210 ms of a 2.6 s DPO step).
 */
const productTransposedB = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [a, b, save] = args as [tf.Tensor, tf.Tensor, tf.GradSaveFunc];
  save([a, b]);
  return {
    value: tf.matMul(a as tf.Tensor2D, swapLast(b) as tf.Tensor2D),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved;
      return [
        tf.matMul(dy as tf.Tensor2D, sb as tf.Tensor2D),
        tf.matMul(swapLast(dy) as tf.Tensor2D, sa as tf.Tensor2D),
      ];
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;

/** tf.matMul(a, b, transposeA, transposeB), computed without the slow transposed kernels. */
export function matMulFast<T extends tf.Tensor>(a: T, b: tf.Tensor, transposeA = false, transposeB = false): T {
  return tf.tidy(() => {
    const aa = transposeA ? swapLast(a) : a;
    if (transposeB) return productTransposedB(aa, b) as T;
    return product(aa, b) as T;
  });
}
