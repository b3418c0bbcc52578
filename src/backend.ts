// Chooses the one tfjs compute backend for the whole process, and patches the gaps that training
// needs on it. Everything in prefopt is written against the `@tensorflow/tfjs` API; this module is the
// only place that knows which implementation runs underneath.
//
// Order of preference:
//   1. `tensorflow` — @tensorflow/tfjs-node (native libtensorflow; an optional dependency, present when
//      its install script could download libtensorflow),
//   2. `wasm`       — @tensorflow/tfjs-backend-wasm (SIMD; ~30x the pure-JS backend on matmuls),
//   3. `cpu`        — the pure-JS reference backend, always available.
// `PREFOPT_BACKEND=tensorflow|wasm|cpu` forces one (tests use it to compare backends).
import * as tf from "@tensorflow/tfjs";

export type BackendName = "tensorflow" | "wasm" | "cpu";

export interface BackendInfo {
  /** The active tfjs backend. */
  name: BackendName;
  /** Why the backends above it in the preference order were not used. */
  skipped: string[];
  tfjsVersion: string;
  /** Whether the wasm backend runs SIMD code (only meaningful for `wasm`). */
  simd: boolean;
}

const PREFERENCE: BackendName[] = ["tensorflow", "wasm", "cpu"];
let active: Promise<BackendInfo> | undefined;

function loadModule(name: BackendName): void {
  // `require` at run time: a missing optional package must be a fallback, not a load error.
  if (name === "tensorflow") require("@tensorflow/tfjs-node");
  if (name === "wasm") require("@tensorflow/tfjs-backend-wasm");
  // cpu is registered by @tensorflow/tfjs itself.
}

async function tryBackend(name: BackendName): Promise<string | null> {
  try {
    loadModule(name);
    if (!(await tf.setBackend(name))) return `${name}: setBackend returned false`;
    await tf.ready();
    if (name === "wasm") registerWasmGapKernels();
    return null;
  } catch (err) {
    const msg = err instanceof Error ? err.message.split("\n")[0] : String(err);
    return `${name}: ${msg}`;
  }
}

/**
 * Select and initialise the backend once per process (later calls return the same promise).
 * Pass a name, or set PREFOPT_BACKEND, to force one; a forced backend that fails is an error.
 */
export function initBackend(forced?: BackendName): Promise<BackendInfo> {
  const want = forced ?? (process.env.PREFOPT_BACKEND as BackendName | undefined);
  if (want !== undefined && !PREFERENCE.includes(want)) {
    throw new Error(`PREFOPT_BACKEND must be one of ${PREFERENCE.join(", ")}, got "${want}"`);
  }
  if (active && want === undefined) return active;
  active = (async () => {
    const skipped: string[] = [];
    for (const name of want ? [want] : PREFERENCE) {
      const failure = await tryBackend(name);
      if (failure === null) {
        return {
          name,
          skipped,
          tfjsVersion: tf.version.tfjs,
          simd: name === "wasm" && Boolean(tf.env().getBool("WASM_HAS_SIMD_SUPPORT")),
        };
      }
      if (want) throw new Error(`backend "${want}" could not start: ${failure}`);
      skipped.push(failure);
    }
    throw new Error(`no tfjs backend could start: ${skipped.join("; ")}`);
  })();
  return active;
}

/** Names of the backends that can start in this process (each is tried; the active one is restored). */
export async function availableBackends(): Promise<BackendName[]> {
  const current = tf.getBackend() as BackendName | undefined;
  const ok: BackendName[] = [];
  for (const name of PREFERENCE) if ((await tryBackend(name)) === null) ok.push(name);
  if (current) await tf.setBackend(current);
  return ok;
}

let wasmPatched = false;

/**
 * The wasm backend has no `UnsortedSegmentSum` kernel, and `tf.gather`'s gradient is built on it, so
 * embeddings could not train. This registers a JS implementation on wasm: out[s, ...] = Σ_{i: ids[i]=s} x[i, ...].
 * (Segment ids outside [0, numSegments) are ignored, as in TensorFlow.)
 */
function registerWasmGapKernels(): void {
  if (wasmPatched || tf.getKernel("UnsortedSegmentSum", "wasm")) return;
  wasmPatched = true;
  tf.registerKernel({
    kernelName: "UnsortedSegmentSum",
    backendName: "wasm",
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
      const numSegments = (attrs as unknown as { numSegments: number }).numSegments;
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const wasm = backend as any;
      const xs = wasm.readSync(x.dataId) as Float32Array | Int32Array;
      const ids = wasm.readSync(segmentIds.dataId) as Int32Array | Float32Array;
      const inner = ids.length === 0 ? 0 : xs.length / ids.length;
      const outShape = [numSegments, ...x.shape.slice(segmentIds.shape.length)];
      const out = x.dtype === "int32" ? new Int32Array(numSegments * inner) : new Float32Array(numSegments * inner);
      for (let i = 0; i < ids.length; i++) {
        const s = ids[i];
        if (s < 0 || s >= numSegments) continue;
        const src = i * inner;
        const dst = s * inner;
        for (let j = 0; j < inner; j++) out[dst + j] += xs[src + j];
      }
      return wasm.makeOutput(outShape, x.dtype, undefined, out);
    },
  });
}
