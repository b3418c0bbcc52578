// The hand-assembled SIMD GEMM kernels (src/lm/kernels/gemm.ts) called directly and compared with a naive
// triple loop in float64 on odd shapes (padding in M and N, K across the kernel's 128-row blocks, N across
// its 512-column blocks), and checks that the backend really routes products through them when it says so:
// a kernel that fails to compile must show in BackendInfo.kernelFallback, never pass on tfjs's fallback.
import { describe, test } from "node:test";
import { spawnSync } from "child_process";
import * as path from "path";
import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend";
import { Rng } from "../src/random";
import { gemmCalls, gemmNN, gemmStatus, gemmSupports, gemmTN } from "../src/lm/kernels/gemm";
import { batchMatMulSimdActive, gemmHeapNote } from "../src/lm/kernels/batchMatMulSimd";
import { matMulFast } from "../src/lm/fastMatMul";

function randomArray(n: number, rng: Rng): Float32Array {
  return Float32Array.from({ length: n }, () => rng.normal());
}

/** C[g, i, j] = Σ_k A(g, i, k)·B(g, k, j) in float64, with A read as (M, K) or, transposed, as (K, M). */
function naive(a: Float32Array, b: Float32Array, M: number, K: number, N: number, G: number, transA: boolean) {
  const out = new Float64Array(G * M * N);
  for (let g = 0; g < G; g++)
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        let s = 0;
        for (let k = 0; k < K; k++) {
          const av = transA ? a[g * K * M + k * M + i] : a[g * M * K + i * K + k];
          s += av * b[g * K * N + k * N + j];
        }
        out[(g * M + i) * N + j] = s;
      }
  return out;
}

/** |got − want| ≤ 1e-5·(1 + Σ_k |a||b|) element-wise: float32 accumulation error grows with K and magnitude. */
function assertClose(got: Float32Array, want: Float64Array, K: number, label: string): void {
  assert.equal(got.length, want.length, `${label}: length`);
  for (let i = 0; i < want.length; i++) {
    const tol = 1e-5 * (1 + 4 * Math.sqrt(K) + Math.abs(want[i]));
    assert.ok(Math.abs(got[i] - want[i]) <= tol, `${label}: element ${i} is ${got[i]}, expected ${want[i]}`);
  }
}

// [M, K, N]: 1×1×1, odd everything, K past a 128-row block, N past a 512-column block, an empty K.
const SHAPES: Array<[number, number, number]> = [
  [1, 1, 1],
  [3, 5, 7],
  [17, 33, 65],
  [4, 8, 8],
  [5, 130, 9],
  [6, 3, 517],
  [2, 0, 3],
];

describe("SIMD GEMM kernels against a naive triple loop", () => {
  test("the kernels compile here (Node has WebAssembly SIMD); a failure would say why", () => {
    const status = gemmStatus();
    assert.deepEqual(status, { simd: true }, JSON.stringify(status));
  });

  for (const [M, K, N] of SHAPES) {
    test(`gemmNN, C = A·B, ${M}x${K}x${N}, one product and a batch of 3`, () => {
      const rng = new Rng(M * 1000 + K * 10 + N);
      for (const G of [1, 3]) {
        const a = randomArray(G * M * K, rng);
        const b = randomArray(G * K * N, rng);
        const out = new Float32Array(G * M * N).fill(Number.NaN); // every element must be written
        gemmNN(a, b, out, M, K, N, G);
        assertClose(out, naive(a, b, M, K, N, G, false), K, `gemmNN ${G}x${M}x${K}x${N}`);
      }
    });

    test(`gemmTN, C = Aᵀ·B with A stored (K, M), ${M}x${K}x${N}`, () => {
      const rng = new Rng(7 + M * 1000 + K * 10 + N);
      const a = randomArray(K * M, rng);
      const b = randomArray(K * N, rng);
      const out = new Float32Array(M * N).fill(Number.NaN);
      gemmTN(a, b, out, K, M, N);
      assertClose(out, naive(a, b, M, K, N, 1, true), K, `gemmTN ${M}x${K}x${N}`);
    });
  }

  test("hand-derived 2x2: [[1,2],[3,4]]·[[5,6],[7,8]] = [[19,22],[43,50]]; Aᵀ·B = [[26,30],[38,44]]", () => {
    const a = Float32Array.from([1, 2, 3, 4]);
    const b = Float32Array.from([5, 6, 7, 8]);
    const nn = new Float32Array(4);
    const tn = new Float32Array(4);
    gemmNN(a, b, nn, 2, 2, 2);
    gemmTN(a, b, tn, 2, 2, 2);
    assert.deepEqual([...nn], [19, 22, 43, 50]);
    assert.deepEqual([...tn], [26, 30, 38, 44]);
  });

  test("stale output and stale kernel memory do not leak into a result (a large call, then a small one)", () => {
    const rng = new Rng(3);
    const big = randomArray(64 * 64, rng);
    gemmNN(big, big, new Float32Array(64 * 64), 64, 64, 64);
    gemmTN(big, big, new Float32Array(64 * 64), 64, 64, 64);
    const a = randomArray(3 * 5, rng);
    const b = randomArray(5 * 7, rng);
    const out = new Float32Array(21).fill(1e30);
    gemmNN(a, b, out, 3, 5, 7);
    assertClose(out, naive(a, b, 3, 5, 7, 1, false), 5, "after a large call");
  });

  test("bad sizes are refused with the argument named", () => {
    const z = new Float32Array(4);
    assert.throws(() => gemmNN(z, z, z, -1, 1, 1), /gemmNN: M must be a non-negative integer, got -1/);
    assert.throws(() => gemmTN(z, z, z, 1, 1.5, 1), /gemmTN: M must be a non-negative integer, got 1.5/);
  });

  test("gemmSupports: the shapes fastMatMul sends without padding (M a multiple of 4, N of 8)", () => {
    assert.equal(gemmSupports(4, 8), true);
    assert.equal(gemmSupports(128, 512), true);
    assert.equal(gemmSupports(3, 8), false);
    assert.equal(gemmSupports(4, 12), false);
    assert.equal(gemmSupports(0, 8), false);
  });
});

describe("the backend runs the SIMD kernels when it says so", () => {
  test("wasm: no kernelFallback reported, and batched products and weight gradients go through gemm.ts", async () => {
    const info = await initBackend("wasm");
    try {
      assert.equal(info.name, "wasm");
      assert.equal(info.kernelFallback, undefined, `kernels fell back: ${info.kernelFallback}`);
      assert.equal(batchMatMulSimdActive(), true, "wasm BatchMatMul is routed through the SIMD kernel");
      const before = gemmCalls();
      const rng = new Rng(11);
      const a = tf.tensor3d(randomArray(3 * 5 * 6, rng), [3, 5, 6]);
      const b = tf.tensor3d(randomArray(3 * 6 * 7, rng), [3, 6, 7]);
      const got = tf.matMul(a, b).dataSync() as Float32Array;
      assertClose(got, naive(a.dataSync() as Float32Array, b.dataSync() as Float32Array, 5, 6, 7, 3, false), 6, "bmm");
      assert.equal(gemmCalls().nn, before.nn + 1, "one batched product ran one gemmNN call");
      assert.equal(gemmHeapNote(), null, "the kernels run on the backend's heap");
      // The weight gradient aᵀ·dY of a (8, 4)·(4, 16) product: M = 4, N = 16 take the aᵀ·b kernel.
      const x = tf.tensor2d(randomArray(8 * 4, rng), [8, 4]);
      const w = tf.tensor2d(randomArray(4 * 16, rng), [4, 16]);
      const dw = tf.grad((ww: tf.Tensor) => tf.sum(matMulFast(x, ww as tf.Tensor2D)))(w);
      assert.ok(gemmCalls().tn > before.tn, "the weight gradient ran gemmTN");
      const ones = new Float32Array(8 * 16).fill(1);
      assertClose(
        dw.dataSync() as Float32Array,
        naive(x.dataSync() as Float32Array, ones, 4, 8, 16, 1, true),
        8,
        "dW = xᵀ·1",
      );
      tf.dispose([a, b, x, w, dw]);
    } finally {
      await initBackend();
    }
  });

  test("wasm: on aligned shapes the kernels run in place on the heap, with the copying path's exact numbers", async () => {
    await initBackend("wasm");
    try {
      const rng = new Rng(12);
      const [G, M, K, N] = [3, 24, 16, 24]; // attention's shapes at the Figure-2 size, batched
      const a = tf.tensor3d(randomArray(G * M * K, rng), [G, M, K]);
      const b = tf.tensor3d(randomArray(G * K * N, rng), [G, K, N]);
      const before = gemmCalls();
      const onHeap = tf.matMul(a, b);
      assert.equal(gemmCalls().inPlace, before.inPlace + 1, "the batched product ran in place");
      const [av, bv] = [a.dataSync() as Float32Array, b.dataSync() as Float32Array];
      const copied = new Float32Array(G * M * N);
      gemmNN(av, bv, copied, M, K, N, G); // JS-owned arrays: the copying path
      assert.equal(gemmCalls().inPlace, before.inPlace + 1, "arrays outside the heap are copied");
      assert.deepEqual(onHeap.dataSync(), copied, "bit-identical");
      assertClose(copied, naive(av, bv, M, K, N, G, false), K, "in place");
      // aᵀ·b in place: the weight gradient of (K, M)ᵀ·(K, N) through fastMatMul's kernel.
      const x = tf.tensor2d(randomArray(40 * 8, rng), [40, 8]);
      const dy = tf.tensor2d(randomArray(40 * 16, rng), [40, 16]);
      const t0 = gemmCalls();
      const dw = tf.grad((ww: tf.Tensor) => tf.sum(tf.mul(matMulFast(x, ww as tf.Tensor2D), dy)))(tf.zeros([8, 16]));
      assert.ok(gemmCalls().inPlace > t0.inPlace, "the weight gradient ran in place");
      const tn = new Float32Array(8 * 16);
      gemmTN(x.dataSync() as Float32Array, dy.dataSync() as Float32Array, tn, 40, 8, 16);
      assert.deepEqual(dw.dataSync(), tn, "bit-identical to the copying path");
      tf.dispose([a, b, onHeap, x, dy, dw]);
    } finally {
      await initBackend();
    }
  });
});

test("where the runtime rejects the kernels, wasm still computes (tfjs kernels), BackendInfo says why, and stderr warns once", () => {
  // A child process whose WebAssembly.Module constructor (used only by compileKernel) throws. The backend
  // is started twice (a forced initBackend re-runs the kernel registration): the warning comes once.
  const script = `
    WebAssembly.Module = function () { throw new Error("no SIMD here (test)"); };
    const tf = require("@tensorflow/tfjs");
    const { initBackend } = require("./src/backend");
    initBackend("wasm").then(() => initBackend("wasm")).then((b) => {
      const x = tf.matMul(tf.ones([2, 3, 4]), tf.ones([2, 4, 5])).dataSync()[0];
      console.log(JSON.stringify({ name: b.name, kernelFallback: b.kernelFallback, x,
        calls: require("./src/lm/kernels/gemm").gemmCalls(),
        active: require("./src/lm/kernels/batchMatMulSimd").batchMatMulSimdActive() }));
    });`;
  const r = spawnSync(process.execPath, ["--import", "tsx", "-e", script], {
    cwd: path.resolve(__dirname, ".."),
    env: { ...process.env, PREFOPT_THREADS: "1" },
    encoding: "utf8",
    timeout: 120_000,
  });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split("\n").pop()!);
  assert.equal(out.name, "wasm");
  assert.equal(out.x, 4, "the product is still right");
  assert.match(String(out.kernelFallback), /SIMD gemm kernels unavailable .*no SIMD here \(test\)/);
  assert.deepEqual(out.calls, { nn: 0, tn: 0, inPlace: 0 });
  assert.equal(out.active, false);
  // Issue 25 item 4: a fallback is reported, never silent (stderr shows in a notebook cell too).
  const warnings = r.stderr.match(/prefopt: warning: SIMD gemm kernels unavailable .*no SIMD here \(test\)/g) ?? [];
  assert.equal(warnings.length, 1, `one warning on stderr, got:\n${r.stderr}`);
});

test("threaded wasm (shared memory): the kernels attach to the shared heap and compute in place", () => {
  const script = `
    const tf = require("@tensorflow/tfjs");
    require("./src/backend").initBackend("wasm").then((b) => {
      const gemm = require("./src/lm/kernels/gemm");
      const a = tf.randomNormal([4, 8, 12], 0, 1, "float32", 1), c = tf.randomNormal([4, 12, 16], 0, 1, "float32", 2);
      const got = tf.matMul(a, c).dataSync();
      const want = new Float32Array(4 * 8 * 16);
      gemm.gemmNN(a.dataSync(), c.dataSync(), want, 8, 12, 16, 4);
      console.log(JSON.stringify({ threads: b.threads, kernelFallback: b.kernelFallback ?? null,
        note: require("./src/lm/kernels/batchMatMulSimd").gemmHeapNote(), calls: gemm.gemmCalls(),
        same: got.every((v, i) => v === want[i]) }));
    });`;
  const r = spawnSync(process.execPath, ["--import", "tsx", "-e", script], {
    cwd: path.resolve(__dirname, ".."),
    env: { ...process.env, PREFOPT_THREADS: "2" },
    encoding: "utf8",
    timeout: 120_000,
  });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split("\n").pop()!);
  assert.equal(out.threads, 2);
  assert.equal(out.kernelFallback, null);
  assert.equal(out.note, null, "attached to the shared memory");
  assert.equal(out.calls.inPlace, 1, "the batched product ran in place");
  assert.equal(out.same, true, "in place and copied agree bit for bit");
});
