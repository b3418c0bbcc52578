// Matrix products that stay on the wasm backend's fast path.
//
// Measured on wasm (tfjs 4.22, SIMD, 2-core machine): 4096×128 @ 128×2048 runs at ~35 GFLOP/s, but the same
// product with `transposeB: true` runs at ~3 GFLOP/s and with `transposeA: true` at ~1 GFLOP/s, because only
// the untransposed layout reaches XNNPACK. tf.matMul's own gradient uses exactly those flags
// (dA = dY Bᵀ, dB = Aᵀ dY), so training a transformer with plain tf.matMul spends most of its time there.
// `matMulFast` materialises transposes explicitly (tf.transpose is cheap) in the forward and backward pass.
import * as tf from "@tensorflow/tfjs";
import { gemmSupports, gemmTN } from "./kernels/gemm";
import { defineJsKernel, hasJsKernel, runJsKernel } from "./kernels/jsKernel";

// aᵀ·b for rank-2 a (K, M), b (K, N) through the SIMD kernel in kernels/gemm.ts (the weight gradients).
defineJsKernel({
  name: "PrefoptMatMulTN",
  outputShapes: ([a, b]) => [[a.shape[1], b.shape[1]]],
  body: ([a, b], [out], [sa, sb]) => gemmTN(a as Float32Array, b as Float32Array, out, sa[0], sa[1], sb[1]),
});

const isMatrix = (t: tf.Tensor) => t.rank === 2 && t.dtype === "float32";

/**
 * aᵀ·b, the weight gradients. (Products a·b stay with XNNPACK: gemm.ts's a·b kernel won only for K, N ≤ 384
 * on one thread, by 1.15–1.4x, and lost on two; it runs the batched products, where wasm has no XNNPACK
 * path.) Measured with fresh operands the kernel takes 0.4–0.6x the time of
 * transpose + XNNPACK for the layers' shapes (M = d, 3d, 4d), on 1 thread and on 2. The tied head's
 * (M = V = 2048) stays with XNNPACK: inside a step, copying its (N, V) operand into the kernel's memory
 * made it slower. The choice depends on shapes only, so results do not depend on the thread count.
 */
function transposedAProduct(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const [M, N] = [a.shape[1] as number, b.shape[1] as number];
  const fits = isMatrix(a) && isMatrix(b) && M <= 1024;
  if (fits && hasJsKernel("PrefoptMatMulTN") && gemmSupports(M, N)) return runJsKernel("PrefoptMatMulTN", [a, b])[0];
  return tf.matMul(swapLast(a) as tf.Tensor2D, b as tf.Tensor2D);
}

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
      return [tf.matMul(dy as tf.Tensor2D, swapLast(sb) as tf.Tensor2D), transposedAProduct(sa, dy)];
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
      return [tf.matMul(dy as tf.Tensor2D, sb as tf.Tensor2D), transposedAProduct(dy, sa)];
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;

/** Σ_rows x for x (K, N): the bias gradient, as 1ᵀ·x through the aᵀ·b kernel (5x tfjs's Sum over axis 0). */
export function columnSum(x: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const [K, N] = x.shape;
    if (!(hasJsKernel("PrefoptMatMulTN") && gemmSupports(4, N))) return tf.sum(x, 0) as tf.Tensor1D;
    return tf
      .slice(runJsKernel("PrefoptMatMulTN", [tf.ones([K, 4]), x])[0], [0, 0], [1, N])
      .reshape([N]) as tf.Tensor1D;
  });
}

/** tf.matMul(a, b, transposeA, transposeB), computed without the slow transposed kernels. */
export function matMulFast<T extends tf.Tensor>(a: T, b: tf.Tensor, transposeA = false, transposeB = false): T {
  return tf.tidy(() => {
    const aa = transposeA ? swapLast(a) : a;
    if (transposeB) return productTransposedB(aa, b) as T;
    return product(aa, b) as T;
  });
}
