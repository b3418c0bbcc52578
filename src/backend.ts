// Chooses the one tfjs compute backend for the whole process, and patches the gaps that training
// needs on it. Everything in prefopt is written against the `@tensorflow/tfjs` API; this module is the
// only place that knows which implementation runs underneath.
//
// Order of preference:
//   1. `tensorflow` — @tensorflow/tfjs-node (native libtensorflow; an optional dependency, present when
//      its install script could download libtensorflow),
//   2. `wasm`       — @tensorflow/tfjs-backend-wasm (SIMD; ~30x the pure-JS backend on matmuls), multi-threaded
//      in Node when its threaded build starts (see startThreadedWasm below), else single-threaded,
//   3. `cpu`        — the pure-JS reference backend, always available.
// `PREFOPT_BACKEND=tensorflow|wasm|cpu` forces one (tests use it to compare backends).
// `PREFOPT_THREADS=n` sets the wasm thread count (default: one per core; 1 = the single-thread build).
import * as tf from "@tensorflow/tfjs";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { registerWasmCopyKernels } from "./lm/kernels/copyKernels";
import { registerWasmSharingKernels } from "./lm/kernels/jsKernel";
import { registerBatchMatMulSimd } from "./lm/kernels/batchMatMulSimd";
import { guardWasmHeap } from "./lm/kernels/heapGuard";

export type BackendName = "tensorflow" | "wasm" | "cpu";

export interface BackendInfo {
  /** The active tfjs backend. */
  name: BackendName;
  /** Why the backends above it in the preference order were not used. */
  skipped: string[];
  tfjsVersion: string;
  /** Whether the wasm backend runs SIMD code (only meaningful for `wasm`). */
  simd: boolean;
  /** Threads the backend computes with (wasm: XNNPACK's thread pool; 1 = single-thread build). */
  threads: number;
  /** Why the threaded wasm build was not used although more than one thread was asked for. */
  threadFallback?: string;
  /**
   * wasm: why the SIMD kernels of src/lm/kernels/gemm.ts (batched products, weight gradients) are not in use,
   * so that tfjs's own kernels run instead; absent when they are in use.
   */
  kernelFallback?: string;
}

function activeThreads(name: BackendName): number {
  if (name !== "wasm") return name === "cpu" ? 1 : os.cpus().length;
  try {
    // eslint-disable-next-line @typescript-eslint/no-var-requires
    return require("@tensorflow/tfjs-backend-wasm").getThreadsCount();
  } catch {
    return 1;
  }
}

const PREFERENCE: BackendName[] = ["tensorflow", "wasm", "cpu"];
let active: Promise<BackendInfo> | undefined;
let kernelFallback: string | undefined;

function loadModule(name: BackendName): void {
  // `require` at run time: a missing optional package must be a fallback, not a load error.
  if (name === "tensorflow") require("@tensorflow/tfjs-node");
  if (name === "wasm") require("@tensorflow/tfjs-backend-wasm");
  // cpu is registered by @tensorflow/tfjs itself.
}

/** The wasm thread count asked for: PREFOPT_THREADS, else one per core. */
export function requestedThreads(): number {
  const env = process.env.PREFOPT_THREADS;
  if (env === undefined || env === "") return Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
  const n = Number(env);
  if (!Number.isInteger(n) || n < 1) throw new Error(`PREFOPT_THREADS must be a positive integer, got "${env}"`);
  return n;
}

/** Why the threaded wasm build did not start (empty when it did or was not asked for). */
let threadFallback = "";

/**
 * Start the wasm backend with its threaded SIMD build in Node. tfjs turns threads off in Node because
 * Emscripten's pthread workers are created from blob: URLs (the worker script, and the main script the
 * worker imports), which Node's Worker and importScripts cannot load. While the backend initialises, Blob
 * contents are recorded, blob URLs resolve to the same text written to a temporary file, and the
 * worker's "load" message gets that file's path instead of the Blob. Falls back to the single-thread
 * build (and says why) if anything fails.
 */
const BUNDLE_ALIASES =
  "var require$$0 = require('fs'), require$$1 = require('path'), require$$3 = require('perf_hooks'), require$$4 = require('os');" +
  " var commonjsGlobal = globalThis;\n";

async function startWasm(threads: number): Promise<boolean> {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const wasmPkg = require("@tensorflow/tfjs-backend-wasm");
  if (threads <= 1) {
    tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
    return tf.setBackend("wasm");
  }
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const wt = require("worker_threads");
  const OrigBlob = globalThis.Blob;
  const origCreate = URL.createObjectURL;
  const OrigWorker = wt.Worker;
  const texts = new WeakMap<object, string>();
  const files = new Map<string, string>();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "prefopt-wasm-"));
  // The worker scripts are read when a pool thread starts, which may happen after start-up: remove them
  // when this process (or worker thread) exits, not before.
  process.once("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
  const fileFor = (blob: object): string => {
    const text = texts.get(blob);
    if (text === undefined) throw new Error("unrecorded Blob");
    const file = path.join(dir, `script${files.size}-${Math.random().toString(36).slice(2)}.js`);
    // The main script is the factory's source, cut out of tfjs's Node bundle: it names the bundle's
    // module aliases, which the worker must define before evaluating it.
    fs.writeFileSync(file, text.startsWith("var WasmBackendModuleThreadedSimd") ? BUNDLE_ALIASES + text : text);
    return file;
  };
  class RecordingBlob extends OrigBlob {
    constructor(parts: ConstructorParameters<typeof Blob>[0], opts?: ConstructorParameters<typeof Blob>[1]) {
      super(parts, opts);
      if (parts && parts.every((p) => typeof p === "string")) texts.set(this, parts.join(""));
    }
  }
  class FileWorker extends OrigWorker {
    constructor(url: string | URL, opts?: object) {
      // execArgv []: the workers run plain Emscripten JavaScript; inheriting the parent's loaders
      // (`--import tsx`) costs seconds per worker.
      super(files.get(String(url)) ?? url, { ...opts, execArgv: [] });
      this.unref();
    }
    // The pool's threads live as long as the process and only work while the main thread waits on them:
    // they must not keep a finished script alive.
    ref(): void {}
    postMessage(msg: { cmd?: string; urlOrBlob?: unknown }, transfer?: unknown): void {
      if (msg && msg.cmd === "load" && msg.urlOrBlob instanceof OrigBlob)
        msg = { ...msg, urlOrBlob: fileFor(msg.urlOrBlob) };
      super.postMessage(msg, transfer);
    }
  }
  globalThis.Blob = RecordingBlob as typeof Blob;
  URL.createObjectURL = (obj: Blob): string => {
    const url = origCreate.call(URL, obj);
    if (texts.has(obj)) files.set(url, fileFor(obj));
    return url;
  };
  wt.Worker = FileWorker;
  // The C side caps the pool at emscripten_num_logical_cores() / 2 (it assumes two hyper-threads per
  // core), which Node answers with os.cpus().length: report 2·threads logical cores while it starts.
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  const osModule: { cpus: () => os.CpuInfo[] } = require("os");
  const origCpus = osModule.cpus;
  const cpus = origCpus.call(osModule);
  osModule.cpus = () => Array.from({ length: 2 * threads }, (_, i) => cpus[i % cpus.length]);
  try {
    tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", true);
    wasmPkg.setThreadsCount(threads);
    const ok = await tf.setBackend("wasm");
    if (!ok || wasmPkg.getThreadsCount() < 2)
      throw new Error(`threaded build did not start (threads ${ok ? wasmPkg.getThreadsCount() : "-"})`);
    // Workers keep the event loop alive; a script should still exit when its work is done.
    return true;
  } finally {
    globalThis.Blob = OrigBlob;
    URL.createObjectURL = origCreate;
    wt.Worker = OrigWorker;
    osModule.cpus = origCpus;
  }
}

let warnedKernelFallback = false;

/**
 * A GEMM kernel fallback is reported, never silent: once per process on stderr (which the Jupyter kernel
 * shows in the cell), besides BackendInfo.kernelFallback.
 */
function warnKernelFallback(): void {
  if (kernelFallback === undefined || warnedKernelFallback) return;
  warnedKernelFallback = true;
  process.stderr.write(`prefopt: warning: ${kernelFallback}; training runs, more slowly (src/backend.ts)\n`);
}

async function tryBackend(name: BackendName): Promise<string | null> {
  try {
    loadModule(name);
    if (name === "wasm" && tf.findBackend("wasm") === null) {
      const threads = requestedThreads();
      let started = false;
      try {
        started = await startWasm(threads);
      } catch (err) {
        threadFallback = `threaded wasm (${threads} threads) did not start: ${err instanceof Error ? err.message.split("\n")[0] : String(err)}`;
      }
      if (!started) {
        tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
        if (!(await tf.setBackend("wasm"))) return `${name}: setBackend returned false`;
      }
    } else if (!(await tf.setBackend(name))) return `${name}: setBackend returned false`;
    await tf.ready();
    if (name === "wasm") {
      // A full heap throws a clear error instead of placing a tensor at address 0 (tfjs does not check).
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      guardWasmHeap((tf.findBackend("wasm") as any).wasm);
      // Heap-view Slice/SplitV/Concat/GatherV2 and the missing UnsortedSegmentSum (tf.gather's gradient).
      registerWasmCopyKernels();
      // Identity and same-dtype Cast share memory instead of copying it (every saved activation is one).
      registerWasmSharingKernels();
      // Batched products (attention) through a SIMD kernel instead of wasm's scalar fallback; opt out
      // with PREFOPT_WASM_BMM=plain (to measure, or should it ever misbehave).
      if (process.env.PREFOPT_WASM_BMM === "plain") kernelFallback = "batched products: PREFOPT_WASM_BMM=plain";
      else {
        const why = registerBatchMatMulSimd();
        kernelFallback = why === null ? undefined : `SIMD gemm kernels unavailable (tfjs kernels run): ${why}`;
      }
      warnKernelFallback();
    }
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
  // Bad settings reject the returned promise (never a synchronous throw from a function returning a Promise).
  if (want !== undefined && !PREFERENCE.includes(want)) {
    return Promise.reject(new Error(`PREFOPT_BACKEND must be one of ${PREFERENCE.join(", ")}, got "${want}"`));
  }
  // A bad PREFOPT_THREADS is the user's error, not a reason to skip wasm for the 10-50x slower cpu backend
  // (tryBackend turns any throw into a fallback): check it here, where it rejects.
  try {
    requestedThreads();
  } catch (err) {
    return Promise.reject(err);
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
          threads: activeThreads(name),
          ...(threadFallback ? { threadFallback } : {}),
          ...(name === "wasm" && kernelFallback ? { kernelFallback } : {}),
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
