// C = Aᵀ·B for row-major A (K, M) and B (K, N): the weight gradient of a linear layer, dW = Xᵀ·dY.
//
// tfjs computes it as transpose(X)·dY, and XNNPACK then packs dY, its large right operand, for a product
// with only M = d rows to amortise it over: measured 7–8 GFLOP/s for (128, 4096)·(4096, 512) against ~20
// for the forward products. Aᵀ·B needs no transpose at all when read as a sum of outer products,
// C = Σ_k A[k, :]ᵀ B[k, :]: this kernel keeps a 4 × 8 tile of C in eight f32x4 registers and, for each k,
// loads A[k, m:m+4] and B[k, n:n+8] and does 8 multiply-adds, with k and n blocked so the block of B it
// sweeps stays in cache. The same tile with A read row-major (four load32_splat per k) is gemmNN, C = A·B,
// batched: attention's batched products (batchMatMulSimd.ts). Both take any shape (M and N are padded to
// multiples of 4 and 8 with zeros in the kernel's memory); fastMatMul.ts sends aᵀ·b here only where no
// padding is needed (`gemmSupports`). `gemmStatus` says whether the kernels compiled, and why not;
// `gemmCalls` counts the calls, so tests can check the kernels actually ran (test/gemm.test.ts).
import {
  compileKernel,
  type WasmMemory,
  F32X4_ADD,
  F32X4_MUL,
  forRange,
  get,
  heapOf,
  i32,
  I32,
  I32_ADD,
  I32_GE_U,
  I32_MUL,
  inc,
  loopUntil,
  set,
  SPLAT_LANE,
  tee,
  V128,
  V128_LOAD,
  V128_LOAD32_SPLAT,
  V128_STORE,
  V128_ZERO,
} from "./wasmAsm";

/** Rows of A and B per k-block and columns of B per n-block: a (KC, NC) block of B is 256 KiB. */
const KC = 128;
const NC = 512;

// Parameters: a, b, c (byte offsets), K, M, N. i32 locals from 6, v128 locals after them.
const [A, B, C, K, M, N] = [0, 1, 2, 3, 4, 5];
const [kb, kEnd, m, n, kk, ap, bp, cp, aStride, bStride, nb, nEnd, ap1, ap2, ap3, aRow] = [
  6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21,
];
const I32_LOCALS = 16;
const ACC = 22; // acc0..acc7: 22..29
const [AV, B0, B1, S] = [30, 31, 32, 33];
const V128_LOCALS = 12;

/** min(start + step, bound) for i32 locals start, bound and a constant step. */
function min(start: number, step: number, bound: number): number[] {
  const SELECT = 0x1b;
  const I32_GT_U = 0x4b;
  const end = [...get(start), ...i32(step), I32_ADD];
  return [...get(bound), ...end, ...end, ...get(bound), I32_GT_U, SELECT];
}

/**
 * The kernel's code. transposedA: A is (K, M) and its four values for a k are one v128 load and four lane
 * splats, stepping M·4 bytes per k; otherwise A is (M, K) and they are four load32_splat from four rows.
 */
function code(transposedA: boolean): number[] {
  const aValue = (i: number) =>
    transposedA
      ? [...get(AV), ...get(AV), ...SPLAT_LANE(i)]
      : [...get([ap, ap1, ap2, ap3][i]), ...V128_LOAD32_SPLAT(0)];
  // acc[2i] += splat(a_i)·b0, acc[2i+1] += splat(a_i)·b1
  const fma = [0, 1, 2, 3].flatMap((i) => [
    ...aValue(i),
    ...tee(S),
    ...get(B0),
    ...F32X4_MUL,
    ...get(ACC + 2 * i),
    ...F32X4_ADD,
    ...set(ACC + 2 * i),
    ...get(S),
    ...get(B1),
    ...F32X4_MUL,
    ...get(ACC + 2 * i + 1),
    ...F32X4_ADD,
    ...set(ACC + 2 * i + 1),
  ]);
  const kLoop = [
    ...get(kb),
    ...set(kk),
    ...loopUntil(
      [...get(kk), ...get(kEnd), I32_GE_U],
      [
        ...(transposedA ? [...get(ap), ...V128_LOAD(0), ...set(AV)] : []),
        ...get(bp),
        ...V128_LOAD(0),
        ...set(B0),
        ...get(bp),
        ...V128_LOAD(16),
        ...set(B1),
        ...fma,
        ...(transposedA ? inc(ap, get(aStride)) : [ap, ap1, ap2, ap3].flatMap((p) => inc(p, i32(4)))),
        ...inc(bp, get(bStride)),
        ...inc(kk, i32(1)),
      ],
    ),
  ];
  // C[m+i, n:n+8] += acc[2i], acc[2i+1]
  const storeTile = [0, 1, 2, 3].flatMap((i) => [
    ...[0, 1].flatMap((h) => [
      ...get(cp),
      ...get(cp),
      ...V128_LOAD(16 * h),
      ...get(ACC + 2 * i + h),
      ...F32X4_ADD,
      ...V128_STORE(16 * h),
    ]),
    ...inc(cp, get(bStride)),
  ]);
  const tile = [
    ...Array.from({ length: 8 }, (_, q) => [...V128_ZERO, ...set(ACC + q)]).flat(),
    // ap = a + (kb·M + m)·4 (Aᵀ) or a + (m·K + kb)·4, ap_i = ap + i·K·4 (A);  bp = b + (kb·N + n)·4;
    // cp = c + (m·N + n)·4
    ...(transposedA
      ? [...get(A), ...get(kb), ...get(M), I32_MUL, ...get(m), I32_ADD, ...i32(4), I32_MUL, I32_ADD, ...set(ap)]
      : [
          ...[...get(A), ...get(m), ...get(K), I32_MUL, ...get(kb), I32_ADD, ...i32(4), I32_MUL, I32_ADD, ...set(ap)],
          ...[ap1, ap2, ap3].flatMap((p, i) => [...get([ap, ap1, ap2][i]), ...get(aRow), I32_ADD, ...set(p)]),
        ]),
    ...[...get(B), ...get(kb), ...get(N), I32_MUL, ...get(n), I32_ADD, ...i32(4), I32_MUL, I32_ADD, ...set(bp)],
    ...kLoop,
    ...[...get(C), ...get(m), ...get(N), I32_MUL, ...get(n), I32_ADD, ...i32(4), I32_MUL, I32_ADD, ...set(cp)],
    ...storeTile,
  ];
  return [
    ...[...get(M), ...i32(4), I32_MUL, ...set(aStride)],
    ...[...get(K), ...i32(4), I32_MUL, ...set(aRow)],
    ...[...get(N), ...i32(4), I32_MUL, ...set(bStride)],
    // for each n-block, k-block, 4 rows of C, 8 columns of the n-block: one tile
    ...forRange(nb, get(N), i32(NC), [
      ...min(nb, NC, N),
      ...set(nEnd),
      ...forRange(kb, get(K), i32(KC), [
        ...min(kb, KC, K),
        ...set(kEnd),
        ...forRange(m, get(M), i32(4), [
          ...get(nb),
          ...set(n),
          ...loopUntil([...get(n), ...get(nEnd), I32_GE_U], [...tile, ...inc(n, i32(8))]),
        ]),
      ]),
    ]),
  ];
}

type Compiled = ReturnType<typeof compileKernel>;
const compiled = new Map<boolean, Compiled | string>();

/** The compiled kernel, or the reason it could not be compiled (the runtime's error). */
function kernel(transposedA: boolean): Compiled | string {
  if (!compiled.has(transposedA)) {
    const locals: Array<[number, number]> = [
      [I32_LOCALS, I32],
      [V128_LOCALS, V128],
    ];
    try {
      compiled.set(transposedA, compileKernel("gemm", 6, locals, code(transposedA)));
    } catch (err) {
      compiled.set(transposedA, `WebAssembly rejected the SIMD kernel: ${err instanceof Error ? err.message : err}`);
    }
  }
  return compiled.get(transposedA) as Compiled | string;
}

/** Whether both kernels compiled here; where not, `reason` is the runtime's error (never a silent fallback). */
export function gemmStatus(): { simd: true } | { simd: false; reason: string } {
  for (const transposedA of [false, true]) {
    const k = kernel(transposedA);
    if (typeof k === "string") return { simd: false, reason: k };
  }
  return { simd: true };
}

const calls = { nn: 0, tn: 0, inPlace: 0 };

/**
 * Kernel calls so far (gemmNN counts one per call, whatever its batch), and how many of them ran in place
 * on an attached heap: tests check the kernels ran.
 */
export function gemmCalls(): { nn: number; tn: number; inPlace: number } {
  return { ...calls };
}

/** Both kernels compiled over an imported memory (tfjs's wasm heap), once `attachHeap` has been called. */
let onHeap: { memory: WasmMemory; nn: Compiled; tn: Compiled } | undefined;

/**
 * Compile the kernels a second time over `memory` (the wasm backend's heap), so that products whose
 * operands and output all live there and need no padding (M a multiple of 4, N of 8: every shape the
 * transformer has) run where the tensors are, without copying them into the kernel's own memory and the
 * result out (profile: the copies were a third of the kernels' time at the Figure-2 size). The same
 * kernel on the same numbers: results are bit-identical to the copying path. Returns the runtime's error,
 * or null once attached.
 */
export function attachHeap(memory: WasmMemory): string | null {
  if (onHeap?.memory === memory) return null;
  const shared = typeof SharedArrayBuffer !== "undefined" && memory.buffer instanceof SharedArrayBuffer;
  const locals: Array<[number, number]> = [
    [I32_LOCALS, I32],
    [V128_LOCALS, V128],
  ];
  try {
    const [nn, tn] = [false, true].map((t) => compileKernel("gemm", 6, locals, code(t), { memory, shared }));
    onHeap = { memory, nn, tn };
    return null;
  } catch (err) {
    return `the SIMD kernel could not use the backend's memory: ${err instanceof Error ? err.message : err}`;
  }
}

/** The attached kernel where a, b and out are all views of the attached heap and M, N need no padding. */
function inPlace(transposedA: boolean, arrays: Float32Array[], M: number, N: number): Compiled | undefined {
  if (!onHeap || M % 4 !== 0 || N % 8 !== 0) return undefined;
  const buffer = onHeap.memory.buffer;
  if (!arrays.every((x) => x.buffer === buffer)) return undefined;
  calls.inPlace++;
  return transposedA ? onHeap.tn : onHeap.nn;
}

/** Whether the kernels compile here and these shapes need no padding (M a multiple of 4, N of 8). */
export function gemmSupports(M: number, N: number): boolean {
  return M % 4 === 0 && N % 8 === 0 && M > 0 && N > 0 && gemmStatus().simd;
}

function compiledOrThrow(transposedA: boolean): Compiled {
  const k = kernel(transposedA);
  if (typeof k === "string") throw new Error(`gemm: ${k}`);
  return k;
}

function checkShapes(name: string, sizes: Record<string, number>): void {
  for (const [key, v] of Object.entries(sizes))
    if (!Number.isInteger(v) || v < 0) throw new Error(`${name}: ${key} must be a non-negative integer, got ${v}`);
}

/**
 * Copy `rows` rows of `cols` values from `src` (row-major, starting at element `from`) into `heap` at `at`
 * with row stride `stride` ≥ cols, zeroing the padding columns.
 */
function copyPadded(
  heap: Float32Array,
  at: number,
  src: Float32Array,
  from: number,
  rows: number,
  cols: number,
  stride: number,
): void {
  if (stride === cols) {
    heap.set(src.subarray(from, from + rows * cols), at);
    return;
  }
  for (let r = 0; r < rows; r++) {
    heap.set(src.subarray(from + r * cols, from + (r + 1) * cols), at + r * stride);
    heap.fill(0, at + r * stride + cols, at + (r + 1) * stride);
  }
}

/** Copy a (rows, cols) block out of a (·, stride) padded result at `at` into `out` from element `to`. */
function copyOut(
  out: Float32Array,
  to: number,
  heap: Float32Array,
  at: number,
  rows: number,
  cols: number,
  stride: number,
): void {
  if (stride === cols) {
    out.set(heap.subarray(at, at + rows * cols), to);
    return;
  }
  for (let r = 0; r < rows; r++) out.set(heap.subarray(at + r * stride, at + r * stride + cols), to + r * cols);
}

function heap(memory: WasmMemory, floats: number): Float32Array {
  return heapOf(memory, floats * 4);
}

/**
 * out (G, M, N) = a·b for a (G, M, K), b (G, K, N), all row-major Float32Arrays (G = 1: one product);
 * `out` is overwritten. Any M and N: A's rows are padded to a multiple of 4 and B's columns to one of 8
 * with zeros in the kernel's memory, and only the real rows and columns are copied out.
 */
export function gemmNN(
  a: Float32Array,
  b: Float32Array,
  out: Float32Array,
  M: number,
  K: number,
  N: number,
  G = 1,
): void {
  checkShapes("gemmNN", { M, K, N, G });
  const k = compiledOrThrow(false);
  calls.nn++;
  const here = inPlace(false, [a, b, out], M, N);
  if (here) {
    out.fill(0, 0, G * M * N); // the kernel adds into C
    const [A4, B4, C4] = [a.byteOffset, b.byteOffset, out.byteOffset];
    for (let g = 0; g < G; g++) here.fn(A4 + g * M * K * 4, B4 + g * K * N * 4, C4 + g * M * N * 4, K, M, N);
    return;
  }
  const [Mp, Np] = [Math.ceil(M / 4) * 4, Math.ceil(N / 8) * 8];
  const [aSize, bSize, cSize] = [Mp * K, K * Np, Mp * Np];
  const [aOff, bOff, cOff] = [0, G * aSize, G * (aSize + bSize)];
  const h = heap(k.memory, cOff + G * cSize);
  for (let g = 0; g < G; g++) {
    // A (M, K) → (Mp, K): the padding rows are zero.
    h.set(a.subarray(g * M * K, (g + 1) * M * K), aOff + g * aSize);
    h.fill(0, aOff + g * aSize + M * K, aOff + (g + 1) * aSize);
  }
  copyPadded(h, bOff, b, 0, G * K, N, Np);
  h.fill(0, cOff, cOff + G * cSize);
  for (let g = 0; g < G; g++) k.fn((aOff + g * aSize) * 4, (bOff + g * bSize) * 4, (cOff + g * cSize) * 4, K, Mp, Np);
  for (let g = 0; g < G; g++) copyOut(out, g * M * N, h, cOff + g * cSize, M, N, Np);
}

/**
 * out (M, N) = aᵀ·b for a (K, M), b (K, N), all row-major Float32Arrays; `out` is overwritten. Any M and N:
 * A's and B's rows are padded to multiples of 4 and 8 columns with zeros in the kernel's memory.
 */
export function gemmTN(a: Float32Array, b: Float32Array, out: Float32Array, K: number, M: number, N: number): void {
  checkShapes("gemmTN", { K, M, N });
  const k = compiledOrThrow(true);
  calls.tn++;
  const here = inPlace(true, [a, b, out], M, N);
  if (here) {
    out.fill(0, 0, M * N);
    here.fn(a.byteOffset, b.byteOffset, out.byteOffset, K, M, N);
    return;
  }
  const [Mp, Np] = [Math.ceil(M / 4) * 4, Math.ceil(N / 8) * 8];
  const aOff = 0;
  const bOff = K * Mp;
  const cOff = bOff + K * Np;
  const h = heap(k.memory, cOff + Mp * Np);
  copyPadded(h, aOff, a, 0, K, M, Mp);
  copyPadded(h, bOff, b, 0, K, N, Np);
  h.fill(0, cOff, cOff + Mp * Np);
  k.fn(aOff * 4, bOff * 4, cOff * 4, K, Mp, Np);
  copyOut(out, 0, h, cOff, M, N, Np);
}
