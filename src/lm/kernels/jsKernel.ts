// Kernels written as plain loops over a backend's own memory, registered for the wasm and cpu backends.
//
// On wasm a tensor lives in the module's heap; `typedArrayFromHeap` gives a view of it, so a JS loop can read
// inputs and write outputs in place, with no copy in or out. One such loop replaces a chain of tfjs kernels
// that would each make a separate pass over memory (profile: a fused layer norm or GELU gradient is 10–25
// kernel calls in plain tfjs). The cpu backend keeps tensors as typed arrays, so the same body runs there.
// Other backends (tfjs-node) get no registration: callers check `hasJsKernel` and fall back to plain ops.
import * as tf from "@tensorflow/tfjs";

export type JsArray = Float32Array | Int32Array;

export interface JsKernelSpec {
  name: string;
  /** Shapes of the float32 outputs, from the inputs' shapes and the attributes. */
  outputShapes: (inputs: tf.TensorInfo[], attrs: Record<string, unknown>) => number[][];
  /** Reads `inputs`, writes every element of `outputs` (they start uninitialised on wasm). */
  body: (inputs: JsArray[], outputs: Float32Array[], shapes: number[][], attrs: Record<string, unknown>) => void;
}

const BACKENDS = ["wasm", "cpu"] as const;
const KERNEL_NAMES = new Set<string>();

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** Where a kernel's inputs are read and its outputs written, on one backend. */
interface Placement {
  inputs: JsArray[];
  outputs: Float32Array[];
  /** The outputs as tensor infos, once written. */
  done(): tf.TensorInfo[];
  /** Free whatever was allocated (the body threw). */
  fail(): void;
}

/* eslint-disable @typescript-eslint/no-explicit-any */
/** wasm: outputs allocated on the heap first, then views of everything (growing the heap detaches older views). */
function onWasmHeap(wasm: any, ins: tf.TensorInfo[], shapes: number[][]): Placement {
  const outs = shapes.map((s) => wasm.makeOutput(s, "float32") as tf.TensorInfo);
  return {
    inputs: ins.map((t) => wasm.typedArrayFromHeap(t) as JsArray),
    outputs: outs.map((t) => wasm.typedArrayFromHeap(t) as Float32Array),
    done: () => outs,
    fail: () => outs.forEach((t) => wasm.disposeData(t.dataId)),
  };
}

/** cpu: tensors are typed arrays; outputs become tensors after the body has filled them. */
function onCpu(cpu: any, ins: tf.TensorInfo[], shapes: number[][]): Placement {
  const outputs = shapes.map((s) => new Float32Array(size(s)));
  return {
    inputs: ins.map((t) => cpu.data.get(t.dataId).values as JsArray),
    outputs,
    done: () => shapes.map((s, i) => cpu.makeTensorInfo(s, "float32", outputs[i]) as tf.TensorInfo),
    fail: () => undefined,
  };
}

function kernelFunc(
  spec: JsKernelSpec,
  place: (backend: any, ins: tf.TensorInfo[], shapes: number[][]) => Placement,
): tf.KernelFunc {
  return ({ inputs, backend, attrs }) => {
    const ins = Object.values(inputs) as tf.TensorInfo[];
    const a = (attrs ?? {}) as Record<string, unknown>;
    const shapes = spec.outputShapes(ins, a);
    const at = place(backend, ins, shapes);
    try {
      spec.body(
        at.inputs,
        at.outputs,
        ins.map((t) => t.shape),
        a,
      );
    } catch (err) {
      at.fail(); // nothing half-written stays allocated
      throw err;
    }
    const outs = at.done();
    return outs.length === 1 ? outs[0] : outs;
  };
}
/* eslint-enable @typescript-eslint/no-explicit-any */

/** Register `spec` on the wasm and cpu backends (once; later calls are no-ops). */
export function defineJsKernel(spec: JsKernelSpec): void {
  if (KERNEL_NAMES.has(spec.name)) return;
  KERNEL_NAMES.add(spec.name);
  for (const backendName of BACKENDS) {
    if (tf.getKernel(spec.name, backendName)) continue;
    tf.registerKernel({
      kernelName: spec.name,
      backendName,
      kernelFunc: kernelFunc(spec, backendName === "wasm" ? onWasmHeap : onCpu),
    });
  }
}

/**
 * Whether the fused kernel `name` runs on the active backend. PREFOPT_FUSED=0 (read at each call) turns every
 * fused path off, and at backend start the memory-sharing kernels below: to measure them, or to compare
 * against plain tfjs.
 */
export function hasJsKernel(name: string): boolean {
  if (process.env.PREFOPT_FUSED === "0") return false;
  return tf.getKernel(name, tf.getBackend()) !== undefined;
}

/** Run a registered JS kernel on tensors; one output is returned as a tensor, several as an array. */
export function runJsKernel(name: string, inputs: tf.Tensor[], attrs: Record<string, unknown> = {}): tf.Tensor[] {
  const named: tf.NamedTensorMap = {};
  inputs.forEach((t, i) => (named[`x${i}`] = t));
  const out = tf.engine().runKernel(name, named, attrs as tf.NamedAttrMap) as tf.Tensor | tf.Tensor[];
  return Array.isArray(out) ? out : [out];
}

let sharingRegistered = false;

/**
 * wasm's Identity and same-dtype Cast copy the tensor's memory. tfjs calls Identity for every tensor a
 * gradient saves (engine.clone) and Cast(float32 → float32) in the gradients of mul and div, so a training
 * step copied ~250 activations (profile: ~130 ms of a 1.9 s DPO step). Tensors are immutable (a Variable's
 * assign swaps its data id), so sharing the data with a reference count is safe; the cpu backend's own
 * Identity does the same. A Cast that changes the dtype still converts.
 */
export function registerWasmSharingKernels(): void {
  if (sharingRegistered || process.env.PREFOPT_FUSED === "0") return;
  const identity = tf.getKernel("Identity", "wasm");
  const cast = tf.getKernel("Cast", "wasm");
  if (!identity || !cast) return;
  sharingRegistered = true;
  const share: tf.KernelFunc = ({ inputs, backend }) => {
    const x = (inputs as { x: tf.TensorInfo }).x;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    (backend as any).incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
  tf.unregisterKernel("Identity", "wasm");
  tf.registerKernel({
    ...identity,
    kernelFunc: (args) => {
      const x = (args.inputs as { x: tf.TensorInfo }).x;
      return x.dtype === "string" ? identity.kernelFunc(args) : share(args);
    },
  });
  tf.unregisterKernel("Cast", "wasm");
  tf.registerKernel({
    ...cast,
    kernelFunc: (args) => {
      const x = (args.inputs as { x: tf.TensorInfo }).x;
      const dtype = (args.attrs as unknown as { dtype: string }).dtype;
      return dtype === x.dtype && dtype !== "string" ? share(args) : cast.kernelFunc(args);
    },
  });
}
