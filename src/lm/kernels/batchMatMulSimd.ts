// Batched matrix products on the wasm backend through the SIMD kernel in gemm.ts.
//
// tfjs-backend-wasm runs BatchMatMul through XNNPACK only when the batch is 1; with a batch (attention's
// (B·H, T, d_h) products) it falls back to a scalar triple loop, measured at ~0.5 GFLOP/s: the 12 attention
// products of a bench DPO step took ~1 s. `registerBatchMatMulSimd` puts gemm.ts's kernel (4 × 8 tiles of
// f32x4 accumulators, ~15–18 GFLOP/s on (64, 64)·(64, 32)) in front of the wasm BatchMatMul for batched,
// untransposed float32 products; everything else goes to the original kernel. Where it cannot register,
// `registerBatchMatMulSimd` says why, and src/backend.ts reports it in BackendInfo.kernelFallback.
import * as tf from "@tensorflow/tfjs";
import { attachHeap, gemmNN, gemmStatus } from "./gemm";

let registered = false;
/** Why the kernels copy operands in and out instead of running on the backend's heap; null when they do not. */
let heapNote: string | null = null;

/**
 * Route wasm's batched, untransposed float32 BatchMatMul (equal batches > 1) through the SIMD kernel.
 * Returns null once registered, else why it could not be (no wasm BatchMatMul, or the kernel did not compile).
 */
export function registerBatchMatMulSimd(): string | null {
  if (registered) return null;
  const original = tf.getKernel("BatchMatMul", "wasm");
  if (!original) return "the wasm backend has no BatchMatMul kernel to route";
  const status = gemmStatus();
  if (!status.simd) return status.reason;
  // Run over the backend's own heap where its memory can be reached (else the kernels copy in and out).
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const module = (tf.findBackend("wasm") as any)?.wasm;
  const memory = module?.wasmMemory ?? module?.asm?.memory;
  heapNote = memory ? attachHeap(memory) : "the wasm backend's memory was not found";
  registered = true;
  tf.unregisterKernel("BatchMatMul", "wasm");
  tf.registerKernel({
    ...original,
    kernelFunc: (args) => {
      const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
      const batched = a.shape.length === 3 && b.shape.length === 3 && a.shape[0] > 1 && a.shape[0] === b.shape[0];
      if (
        !batched ||
        transposeA ||
        transposeB ||
        a.dtype !== "float32" ||
        b.dtype !== "float32" ||
        a.shape[2] !== b.shape[1]
      )
        return original.kernelFunc(args);
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const backend = args.backend as any;
      const [G, M, K] = a.shape;
      const N = b.shape[2];
      const out = backend.makeOutput([G, M, N], "float32") as tf.TensorInfo;
      // Views of the backend's heap, taken after the allocation (which may grow it).
      const [av, bv, ov] = [a, b, out].map((t) => backend.typedArrayFromHeap(t) as Float32Array);
      gemmNN(av, bv, ov, M, K, N, G);
      return out;
    },
  });
  return null;
}

/** Whether wasm's batched products go through the SIMD kernel in this process. */
export function batchMatMulSimdActive(): boolean {
  return registered;
}

/** Why the kernels do not run in place on the wasm heap (they copy instead), or null when they do. */
export function gemmHeapNote(): string | null {
  return heapNote;
}
