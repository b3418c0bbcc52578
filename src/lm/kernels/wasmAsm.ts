// A minimal WebAssembly assembler for the hand-written SIMD kernels (gemm.ts: gemmNN and gemmTN).
//
// Each kernel is one exported function over its own memory: code is a flat list of bytes built from the
// helpers below, and `compileKernel` wraps it into a module (type, function, memory, exports, code).
// Only what the kernels use is here; opcode numbers are from the WebAssembly core and SIMD specs.

export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n >>>= 7;
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) return out.concat(byte);
    out.push(byte | 0x80);
  }
}

const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];

// Locals, constants and i32 arithmetic.
export const get = (i: number) => [0x20, ...uleb(i)];
export const set = (i: number) => [0x21, ...uleb(i)];
export const tee = (i: number) => [0x22, ...uleb(i)];
export const i32 = (n: number) => [0x41, ...sleb(n)];
export const I32_ADD = 0x6a;
export const I32_MUL = 0x6c;
export const I32_GE_U = 0x4f;
/** local += by */
export const inc = (v: number, by: number[]) => [...get(v), ...by, I32_ADD, ...set(v)];

// Control flow.
export const END = 0x0b;
export const brIf = (depth: number) => [0x0d, ...uleb(depth)];
export const br = (depth: number) => [0x0c, ...uleb(depth)];
/** while (!(cond)) { body }: `exitWhen` leaves an i32 on the stack; the loop ends when it is non-zero. */
export const loopUntil = (exitWhen: number[], body: number[]) => [
  0x02,
  0x40,
  0x03,
  0x40,
  ...exitWhen,
  ...brIf(1),
  ...body,
  ...br(0),
  END,
  END,
];
/** for (v = 0; v < bound; v += step) body, with bound and step i32 expressions. */
export const forRange = (v: number, bound: number[], step: number[], body: number[]) => [
  ...i32(0),
  ...set(v),
  ...loopUntil([...get(v), ...bound, I32_GE_U], [...body, ...inc(v, step)]),
];

// SIMD (prefix 0xfd).
export const simd = (op: number, ...imm: number[]) => [0xfd, ...uleb(op), ...imm];
export const V128_LOAD = (offset = 0) => simd(0, 2, ...uleb(offset));
export const V128_LOAD32_SPLAT = (offset = 0) => simd(9, 2, ...uleb(offset));
export const V128_STORE = (offset = 0) => simd(11, 2, ...uleb(offset));
export const V128_ZERO = simd(12, ...new Array(16).fill(0));
export const F32X4_ADD = simd(228);
export const F32X4_MUL = simd(230);
/** i8x16.shuffle broadcasting 32-bit lane `lane` of its (first) operand to all four lanes. */
export const SPLAT_LANE = (lane: number) =>
  simd(13, ...[0, 1, 2, 3].flatMap(() => [4 * lane, 4 * lane + 1, 4 * lane + 2, 4 * lane + 3]));

export const I32 = 0x7f;
export const V128 = 0x7b;

// The WebAssembly global exists in Node but not in this project's TypeScript libs: the little we use.
export interface WasmMemory {
  buffer: ArrayBuffer;
  grow(pages: number): number;
}
const Wasm = (
  globalThis as unknown as {
    WebAssembly: {
      Module: new (b: Uint8Array) => object;
      Instance: new (m: object, imports?: object) => { exports: object };
    };
  }
).WebAssembly;

/**
 * Compile one function `name(i32 × params) → ()` with `locals` ([count, type] runs) and body `code`. It runs
 * over its own memory, exported as `mem`, or, given `heap`, over that memory imported (another module's,
 * e.g. tfjs's wasm heap, so the kernel reads and writes tensors where they are; `shared` for the threaded
 * build's shared memory). Throws the runtime's own error where it rejects the module (no SIMD): callers
 * record it as the reason for their fallback (gemm.ts `gemmStatus`).
 */
export function compileKernel(
  name: string,
  params: number,
  locals: Array<[number, number]>,
  code: number[],
  heap?: { memory: WasmMemory; shared: boolean },
): { fn: (...args: number[]) => void; memory: WasmMemory } {
  const str = (s: string) => [...uleb(s.length), ...Array.from(Buffer.from(s, "utf8"))];
  const body = [...uleb(locals.length), ...locals.flatMap(([n, t]) => [...uleb(n), t]), ...code, END];
  // An imported memory: at least 1 page; a shared one must declare a maximum (the largest allowed).
  const limits = heap?.shared ? [0x03, ...uleb(1), ...uleb(65536)] : [0x00, ...uleb(1)];
  const bytes = new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, [1, 0x60, ...uleb(params), ...new Array(params).fill(I32), 0]),
    ...(heap ? section(2, [1, ...str("env"), ...str("mem"), 0x02, ...limits]) : []),
    ...section(3, [1, 0]),
    ...(heap ? [] : section(5, [1, 0x00, 1])),
    ...section(7, heap ? [1, ...str(name), 0x00, 0] : [2, ...str(name), 0x00, 0, ...str("mem"), 0x02, 0]),
    ...section(10, [1, ...uleb(body.length), ...body]),
  ]);
  const instance = new Wasm.Instance(new Wasm.Module(bytes), heap ? { env: { mem: heap.memory } } : undefined);
  const ex = instance.exports as unknown as Record<string, unknown>;
  return { fn: ex[name] as (...args: number[]) => void, memory: heap ? heap.memory : (ex.mem as WasmMemory) };
}

/** Grow `memory` to hold at least `bytes`; returns a fresh Float32Array view of all of it. */
export function heapOf(memory: WasmMemory, bytes: number): Float32Array {
  const have = memory.buffer.byteLength;
  if (bytes > have) memory.grow(Math.ceil((bytes - have) / 65536));
  return new Float32Array(memory.buffer);
}
