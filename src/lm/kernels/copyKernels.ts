// Data-movement kernels for the wasm backend that work on views of its heap.
//
// tfjs-backend-wasm's Slice (and SplitV, built on it) starts with `readSync`, which copies the whole input
// out of the heap before copying the slice back in: splitting a (4096, 384) qkv tensor in three copied it
// three times (profile: ~30 ms per split). Its GatherV2 goes through a generic strided loop (~25 ms for an
// embedding lookup of 4096 rows of 128), and it has no UnsortedSegmentSum at all (tf.gather's gradient).
// These replacements copy contiguous runs with TypedArray.set (memcpy) from heap views; a case they do not
// cover (strings) goes to the original kernel.
import * as tf from "@tensorflow/tfjs";

/* eslint-disable @typescript-eslint/no-explicit-any */
type Backend = any;
type Heap = Float32Array | Int32Array | Uint8Array;
type KernelArgs = Parameters<tf.KernelFunc>[0];
type Args = { inputs: tf.NamedTensorInfoMap; attrs?: tf.NamedAttrMap; backend: Backend };

const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
const view = (backend: Backend, t: tf.TensorInfo): Heap => backend.typedArrayFromHeap(t);

/** dst[at : at + n] ← src[from : from + n]: a loop for short runs (a subarray per run costs more), else memcpy. */
function copyRun(dst: Heap, at: number, src: Heap, from: number, n: number): void {
  if (n < 512) for (let j = 0; j < n; j++) dst[at + j] = src[from + j];
  else dst.set(src.subarray(from, from + n), at);
}

/** out ← x[begin : begin + extent] for any rank: runs along the last axis, copied with set(). */
function sliceInto(x: Heap, shape: number[], begin: number[], extent: number[], out: Heap): void {
  const rank = shape.length;
  const strides = new Array<number>(rank);
  strides[rank - 1] = 1;
  for (let d = rank - 2; d >= 0; d--) strides[d] = strides[d + 1] * shape[d + 1];
  const run = extent[rank - 1];
  const runs = size(extent.slice(0, rank - 1));
  const idx = new Array<number>(Math.max(rank - 1, 0)).fill(0);
  for (let r = 0; r < runs; r++) {
    let src = begin[rank - 1];
    for (let d = 0; d < rank - 1; d++) src += (begin[d] + idx[d]) * strides[d];
    copyRun(out, r * run, x, src, run);
    for (let d = rank - 2; d >= 0; d--) {
      if (++idx[d] < extent[d]) break;
      idx[d] = 0;
    }
  }
}

function sliceOut(backend: Backend, x: tf.TensorInfo, begin: number[], extent: number[]): tf.TensorInfo {
  const out = backend.makeOutput(extent, x.dtype);
  if (size(extent) > 0) sliceInto(view(backend, x), x.shape, begin, extent, view(backend, out));
  return out;
}

function override(name: string, handles: (args: KernelArgs) => boolean, fast: tf.KernelFunc): void {
  const original = tf.getKernel(name, "wasm");
  if (!original) return;
  tf.unregisterKernel(name, "wasm");
  tf.registerKernel({ ...original, kernelFunc: (args) => (handles(args) ? fast(args) : original.kernelFunc(args)) });
}

const notString = (args: KernelArgs) =>
  Object.values(args.inputs as Record<string, tf.TensorInfo>).every((t) => t.dtype !== "string");

let registered = false;

/**
 * Put the heap-view Slice, SplitV, Concat, GatherV2 and UnsortedSegmentSum in front of wasm's own (not
 * with PREFOPT_FUSED=0, except UnsortedSegmentSum, which wasm lacks).
 */
export function registerWasmCopyKernels(): void {
  if (registered || !tf.getKernel("Slice", "wasm")) return;
  registered = true;
  registerSegmentSum();
  if (process.env.PREFOPT_FUSED === "0") return;

  override("Slice", notString, ({ inputs, attrs, backend }: Args) => {
    const x = (inputs as { x: tf.TensorInfo }).x;
    const a = attrs as unknown as { begin: number | number[]; size: number | number[] };
    const [begin, extent] = tf.slice_util.parseSliceParams(x as tf.TensorInfo as tf.Tensor, a.begin, a.size);
    tf.slice_util.assertParamsValid(x as tf.TensorInfo as tf.Tensor, begin, extent);
    return sliceOut(backend, x, begin, extent);
  });

  override("SplitV", notString, ({ inputs, attrs, backend }: Args) => {
    const x = (inputs as { x: tf.TensorInfo }).x;
    const a = attrs as unknown as { numOrSizeSplits: number | number[]; axis: number };
    const axis = tf.util.parseAxisParam(a.axis, x.shape)[0];
    const sizes = tf.backend_util.prepareSplitSize(x as tf.TensorInfo as tf.Tensor, a.numOrSizeSplits, axis);
    const begin = new Array<number>(x.shape.length).fill(0);
    return sizes.map((s) => {
      const extent = x.shape.slice();
      extent[axis] = s;
      const out = sliceOut(backend, x, begin.slice(), extent);
      begin[axis] += s;
      return out;
    });
  });

  override(
    "Concat",
    (args) => (args.inputs as unknown as tf.TensorInfo[]).every((t) => t.dtype !== "string"),
    ({ inputs, attrs, backend }: Args) => {
      const ins = (inputs as unknown as tf.TensorInfo[]).filter((t) => size(t.shape) > 0);
      const all = inputs as unknown as tf.TensorInfo[];
      const axis = tf.util.parseAxisParam((attrs as unknown as { axis: number }).axis, all[0].shape)[0];
      tf.backend_util.assertParamsConsistent(
        all.map((t) => t.shape),
        axis,
      );
      const outShape = tf.backend_util.computeOutShape(
        all.map((t) => t.shape),
        axis,
      );
      const out = backend.makeOutput(outShape, all[0].dtype);
      if (size(outShape) === 0) return out;
      const outer = size(outShape.slice(0, axis));
      const inner = ins.map((t) => size(t.shape.slice(axis)));
      const row = inner.reduce((a, b) => a + b, 0);
      const views = ins.map((t) => view(backend, t));
      const o = view(backend, out);
      for (let r = 0; r < outer; r++) {
        let at = r * row;
        for (let i = 0; i < ins.length; i++) {
          copyRun(o, at, views[i], r * inner[i], inner[i]);
          at += inner[i];
        }
      }
      return out;
    },
  );

  override(
    "GatherV2",
    (args) => {
      const a = args.attrs as unknown as { axis: number; batchDims: number };
      const x = (args.inputs as { x: tf.TensorInfo }).x;
      return notString(args) && (a.batchDims ?? 0) === 0 && tf.util.parseAxisParam(a.axis, x.shape)[0] === 0;
    },
    ({ inputs, backend }: Args) => {
      const { x, indices } = inputs as { x: tf.TensorInfo; indices: tf.TensorInfo };
      const inner = size(x.shape.slice(1));
      const n = size(indices.shape);
      const out = backend.makeOutput([...indices.shape, ...x.shape.slice(1)], x.dtype);
      const ids = view(backend, indices);
      const xs = view(backend, x);
      const o = view(backend, out);
      for (let i = 0; i < n; i++) {
        const id = ids[i];
        if (!(id >= 0 && id < x.shape[0])) {
          backend.disposeData(out.dataId);
          throw new Error(`GatherV2: the index value ${id} is not in [0, ${x.shape[0] - 1}]`);
        }
        copyRun(o, i * inner, xs, id * inner, inner);
      }
      return out;
    },
  );
}

/** out[s, ...] = Σ_{i: ids[i] = s} x[i, ...]; segment ids outside [0, numSegments) are ignored, as in TensorFlow. */
function registerSegmentSum(): void {
  if (!tf.getKernel("UnsortedSegmentSum", "wasm"))
    tf.registerKernel({
      kernelName: "UnsortedSegmentSum",
      backendName: "wasm",
      kernelFunc: ({ inputs, backend, attrs }: Args) => {
        const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
        const numSegments = (attrs as unknown as { numSegments: number }).numSegments;
        const inner = size(segmentIds.shape) === 0 ? 0 : size(x.shape) / size(segmentIds.shape);
        const out = backend.makeOutput([numSegments, ...x.shape.slice(segmentIds.shape.length)], x.dtype);
        const xs = view(backend, x);
        const ids = view(backend, segmentIds);
        const o = view(backend, out);
        o.fill(0);
        for (let i = 0; i < ids.length; i++) {
          const s = ids[i];
          if (s < 0 || s >= numSegments) continue;
          const src = i * inner;
          const dst = s * inner;
          for (let j = 0; j < inner; j++) o[dst + j] += xs[src + j];
        }
        return out;
      },
    });
}
/* eslint-enable @typescript-eslint/no-explicit-any */
