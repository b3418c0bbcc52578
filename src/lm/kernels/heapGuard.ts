// A clear error where the wasm backend's heap runs out, instead of a corrupted heap.
//
// tfjs-backend-wasm 4.22 places every tensor with `memoryOffset = wasm._malloc(numBytes) >>> 0` and never
// checks the result. A wasm32 heap ends at 4 GiB (emscripten's getHeapMax: 65535 pages); once it is there,
// `_malloc` returns 0, the tensor is put at address 0, and its kernel writes over the module's static data,
// stack and allocator state. The process then dies at the next `free` with "RuntimeError: memory access out
// of bounds" (issue 26: the large benchmark size, whose reference scoring held 3.8 GiB of tensors). A
// request of 4 GiB or more is worse: wasm truncates the size to 32 bits, so `_malloc` succeeds with a few
// bytes and the tensor overruns them silently. `guardWasmHeap` wraps the module's `_malloc` so that both
// throw an error naming the bytes asked for, the heap in use and what tfjs holds, before anything is written.
// (Allocations made inside the C++ kernels do not pass through it; tensors, the large ones, all do.)
import * as tf from "@tensorflow/tfjs";

/** The most a wasm32 heap can hold (emscripten's getHeapMax for tfjs-backend-wasm: 65535 pages of 64 KiB). */
export const WASM_HEAP_MAX_BYTES = 65535 * 65536;

const MiB = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;

/* eslint-disable @typescript-eslint/no-explicit-any */
interface WasmModule {
  _malloc: (bytes: number) => number;
  _free: (ptr: number) => void;
  HEAPU8: Uint8Array;
  prefoptHeapGuard?: boolean;
}

/** The heap's current size in bytes (it grows, never shrinks: after a run, its peak), or 0 off wasm. */
export function wasmHeapBytes(): number {
  const module = (tf.findBackend("wasm") as any)?.wasm as WasmModule | undefined;
  return module?.HEAPU8?.buffer.byteLength ?? 0;
}

/** The error for a failed allocation of `bytes` with the heap at `heap` bytes. */
export function heapExhaustedMessage(bytes: number, heap: number): string {
  const m = tf.memory();
  const what =
    bytes >= 2 ** 32
      ? `a single tensor of ${MiB(bytes)} (4 GiB or more: a wasm32 address cannot reach it)`
      : `${MiB(bytes)} for a tensor`;
  return (
    `wasm heap exhausted: could not allocate ${what}; the heap is at ${MiB(heap)} of the ` +
    `${MiB(WASM_HEAP_MAX_BYTES)} a wasm32 module can address, tfjs holds ${MiB(m.numBytes)} in ` +
    `${m.numTensors} tensors. Fewer rows per batch (rows × context × vocabulary sizes the logits) or a ` +
    `smaller model fits; the wasm backend cannot use more memory (src/lm/kernels/heapGuard.ts)`
  );
}
/* eslint-enable @typescript-eslint/no-explicit-any */

/**
 * Wrap the wasm module's `_malloc` (once) so that a failed or over-large allocation throws
 * `heapExhaustedMessage` instead of returning address 0. Emscripten's `_malloc` export starts as a stub that
 * replaces itself on its first call: it is called once first, so the wrapper is not overwritten.
 */
export function guardWasmHeap(module: WasmModule): void {
  if (module.prefoptHeapGuard) return;
  module._free(module._malloc(16));
  const malloc = module._malloc;
  module._malloc = (bytes: number) => {
    if (bytes >= 2 ** 32) throw new Error(heapExhaustedMessage(bytes, module.HEAPU8.buffer.byteLength));
    const ptr = malloc(bytes);
    if (ptr === 0 && bytes > 0) throw new Error(heapExhaustedMessage(bytes, module.HEAPU8.buffer.byteLength));
    return ptr;
  };
  module.prefoptHeapGuard = true;
}
