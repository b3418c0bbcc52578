// A SIMD batched matrix product for the wasm backend's batched case.
//
// tfjs-backend-wasm runs BatchMatMul through XNNPACK only when the batch is 1; with a batch (attention's
// (B·H, T, d_h) products) it falls back to a scalar triple loop, measured at ~0.5 GFLOP/s: the 12 attention
// products of a bench DPO step took ~1 s. This module is a small hand-assembled WebAssembly function,
//
//   C[g] = A[g] · B[g]     A: (G, M, K), B: (G, K, Np), C: (G, M, Np), Np a multiple of 16,
//
// computing 16 output columns at a time with four f32x4 accumulators (one broadcast of A[g, i, k] per
// four vector multiply-adds). It runs in its own memory: inputs are copied in and the result copied out,
// which costs far less than the products. `registerBatchMatMulSimd` puts it in front of the wasm
// BatchMatMul kernel for batched, untransposed float32 products; everything else goes to the original.
import * as tf from "@tensorflow/tfjs";

// --- a minimal WebAssembly assembler -------------------------------------------------------------
function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}
function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) return out.concat(byte);
    out.push(byte | 0x80);
  }
}
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
const get = (i: number) => [0x20, ...uleb(i)];
const set = (i: number) => [0x21, ...uleb(i)];
const i32 = (n: number) => [0x41, ...sleb(n)];
const simd = (op: number, ...imm: number[]) => [0xfd, ...uleb(op), ...imm];
const ADD = 0x6a,
  MUL = 0x6c,
  GE_U = 0x4f,
  BLOCK = [0x02, 0x40],
  LOOP = [0x03, 0x40],
  END = 0x0b;
const brIf = (d: number) => [0x0d, ...uleb(d)];
const br = (d: number) => [0x0c, ...uleb(d)];
const V128_LOAD = (offset: number) => simd(0, 2, ...uleb(offset));
const V128_STORE = (offset: number) => simd(11, 2, ...uleb(offset));
const F32X4_SPLAT = simd(19),
  F32X4_ADD = simd(228),
  F32X4_MUL = simd(230);
const V128_ZERO = simd(12, ...new Array(16).fill(0));

// Parameters 0-6: a, b, c (byte offsets), G, M, K, Np. Locals: g 7, i 8, j 9, k 10, ap 11, bp 12, rowBytes 13 (Np·4),
// acc0-3 14-17, av 18.
const [A, Bp, C, G, M, K, N, g, i, j, k, ap, bp, rowBytes, acc, av] = [
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 18,
];
function kernelBody(): number[] {
  const inc = (v: number, by: number[]) => [...get(v), ...by, ADD, ...set(v)];
  const kLoop = [
    ...BLOCK,
    ...LOOP,
    ...get(k),
    ...get(K),
    GE_U,
    ...brIf(1),
    ...get(ap),
    0x2a,
    2,
    0,
    ...F32X4_SPLAT,
    ...set(av), // av = splat(A[g, i, k])
    ...[0, 1, 2, 3].flatMap((q) => [
      ...get(acc + q),
      ...get(av),
      ...get(bp),
      ...V128_LOAD(16 * q),
      ...F32X4_MUL,
      ...F32X4_ADD,
      ...set(acc + q),
    ]),
    ...inc(ap, i32(4)),
    ...inc(bp, get(rowBytes)),
    ...inc(k, i32(1)),
    ...br(0),
    END,
    END,
  ];
  const cAddr = [
    ...get(C),
    ...get(g),
    ...get(M),
    MUL,
    ...get(i),
    ADD,
    ...get(N),
    MUL,
    ...get(j),
    ADD,
    ...i32(4),
    MUL,
    ADD,
  ];
  const jLoop = [
    ...BLOCK,
    ...LOOP,
    ...get(j),
    ...get(N),
    GE_U,
    ...brIf(1),
    ...[0, 1, 2, 3].flatMap((q) => [...V128_ZERO, ...set(acc + q)]),
    ...i32(0),
    ...set(k),
    // ap = a + ((g·M + i)·K)·4;  bp = b + (g·K·Np + j)·4
    ...get(A),
    ...get(g),
    ...get(M),
    MUL,
    ...get(i),
    ADD,
    ...get(K),
    MUL,
    ...i32(4),
    MUL,
    ADD,
    ...set(ap),
    ...get(Bp),
    ...get(g),
    ...get(K),
    MUL,
    ...get(N),
    MUL,
    ...get(j),
    ADD,
    ...i32(4),
    MUL,
    ADD,
    ...set(bp),
    ...kLoop,
    ...[0, 1, 2, 3].flatMap((q) => [...cAddr, ...get(acc + q), ...V128_STORE(16 * q)]),
    ...inc(j, i32(16)),
    ...br(0),
    END,
    END,
  ];
  const iLoop = [
    ...BLOCK,
    ...LOOP,
    ...get(i),
    ...get(M),
    GE_U,
    ...brIf(1),
    ...i32(0),
    ...set(j),
    ...jLoop,
    ...inc(i, i32(1)),
    ...br(0),
    END,
    END,
  ];
  const gLoop = [
    ...BLOCK,
    ...LOOP,
    ...get(g),
    ...get(G),
    GE_U,
    ...brIf(1),
    ...i32(0),
    ...set(i),
    ...iLoop,
    ...inc(g, i32(1)),
    ...br(0),
    END,
    END,
  ];
  const code = [...get(N), ...i32(4), MUL, ...set(rowBytes), ...i32(0), ...set(g), ...gLoop, END];
  const locals = [2, 7, 0x7f, 5, 0x7b]; // 7 × i32, 5 × v128
  const body = [...locals, ...code];
  return [...uleb(body.length), ...body];
}

function moduleBytes(): Uint8Array {
  const name = (s: string) => [...uleb(s.length), ...Array.from(Buffer.from(s, "utf8"))];
  return new Uint8Array([
    0x00,
    0x61,
    0x73,
    0x6d,
    0x01,
    0x00,
    0x00,
    0x00,
    ...section(1, [1, 0x60, 7, ...new Array(7).fill(0x7f), 0]), // type: (i32 × 7) → ()
    ...section(3, [1, 0]), // one function of type 0
    ...section(5, [1, 0x00, 1]), // one memory, initially 1 page
    ...section(7, [2, ...name("bmm"), 0x00, 0, ...name("mem"), 0x02, 0]),
    ...section(10, [1, ...kernelBody()]),
  ]);
}

// The WebAssembly global exists in Node but not in this project's TypeScript libs: the little we use.
interface WasmMemory {
  buffer: ArrayBuffer;
  grow(pages: number): number;
}
const Wasm = (
  globalThis as unknown as {
    WebAssembly: { Module: new (b: Uint8Array) => object; Instance: new (m: object) => { exports: object } };
  }
).WebAssembly;

interface Kernel {
  memory: WasmMemory;
  bmm: (a: number, b: number, c: number, G: number, M: number, K: number, N: number) => void;
}
let kernel: Kernel | null | undefined;

/** The compiled kernel, or null where this runtime has no WebAssembly SIMD. */
export function simdKernel(): Kernel | null {
  if (kernel !== undefined) return kernel;
  try {
    const bytes = moduleBytes();
    const instance = new Wasm.Instance(new Wasm.Module(bytes));
    const ex = instance.exports as unknown as { bmm: Kernel["bmm"]; mem: WasmMemory };
    kernel = { memory: ex.mem, bmm: ex.bmm };
  } catch {
    kernel = null;
  }
  return kernel;
}

/** C = A·B for A (G, M, K), B (G, K, N) as flat Float32Arrays → C (G, M, N), with the SIMD kernel. */
export function batchMatMulSimd(
  a: Float32Array,
  b: Float32Array,
  G: number,
  M: number,
  K: number,
  N: number,
): Float32Array {
  const kern = simdKernel();
  if (!kern) throw new Error("batchMatMulSimd: WebAssembly SIMD is not available");
  const Np = Math.ceil(N / 16) * 16;
  const aBytes = G * M * K * 4;
  const bBytes = G * K * Np * 4;
  const cBytes = G * M * Np * 4;
  const need = aBytes + bBytes + cBytes;
  const have = kern.memory.buffer.byteLength;
  if (need > have) kern.memory.grow(Math.ceil((need - have) / 65536));
  const heap = new Float32Array(kern.memory.buffer);
  const aOff = 0;
  const bOff = aBytes / 4;
  const cOff = bOff + bBytes / 4;
  heap.set(a, aOff);
  if (Np === N) heap.set(b, bOff);
  else {
    for (let r = 0; r < G * K; r++) {
      heap.set(b.subarray(r * N, (r + 1) * N), bOff + r * Np);
      heap.fill(0, bOff + r * Np + N, bOff + (r + 1) * Np);
    }
  }
  kern.bmm(aOff * 4, bOff * 4, cOff * 4, G, M, K, Np);
  if (Np === N) return heap.slice(cOff, cOff + G * M * N);
  const out = new Float32Array(G * M * N);
  for (let r = 0; r < G * M; r++) out.set(heap.subarray(cOff + r * Np, cOff + r * Np + N), r * N);
  return out;
}

let registered = false;

/**
 * Route the wasm backend's batched, untransposed float32 BatchMatMul (equal batch sizes > 1) through the
 * SIMD kernel; every other case calls the original kernel. Returns whether the kernel is active.
 */
export function registerBatchMatMulSimd(): boolean {
  if (registered) return true;
  const original = tf.getKernel("BatchMatMul", "wasm");
  if (!original || !simdKernel()) return false;
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
      ) {
        return original.kernelFunc(args);
      }
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const backend = args.backend as any;
      const [G, M, K] = a.shape;
      const N = b.shape[2];
      const out = batchMatMulSimd(
        backend.readSync(a.dataId) as Float32Array,
        backend.readSync(b.dataId) as Float32Array,
        G,
        M,
        K,
        N,
      );
      return backend.makeOutput([G, M, N], "float32", undefined, out);
    },
  });
  return true;
}
