// Every tfjs op the library relies on, forward and gradient, on every backend that loads in this process,
// compared against the pure-JS `cpu` backend (the reference implementation).
//
// To add an op: append an entry to OP_CASES. `inputs` describes tensors (values are drawn from a fixed
// seed, or given); `fn` maps them to one output tensor. The gradient of sum(fn(...) · w) with respect to
// every float input is checked too, for a fixed random weighting w, unless `grad: false`.
import { after, before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { availableBackends, initBackend, type BackendName } from "../src/backend";
import { logSigmoid, logSumExp } from "../src/ops";
import { Rng } from "../src/random";
import { matMulFast } from "../src/lm/fastMatMul";
import { tokenLogProbs } from "../src/lm/logprobs";
import { layerNorm, gelu as lmGelu } from "../src/lm/transformer";
import { stopGradient } from "../src/losses/common";
import { plackettLuceNll } from "../src/losses/listwise";

interface InputSpec {
  shape: number[];
  dtype?: "float32" | "int32";
  /** Explicit values; otherwise N(0, scale²) floats, or ints uniform in [0, maxInt). */
  values?: number[];
  scale?: number;
  maxInt?: number;
}

interface OpCase {
  name: string;
  inputs: InputSpec[];
  fn: (...xs: tf.Tensor[]) => tf.Tensor;
  grad?: boolean;
  /** Absolute + relative tolerance (default 1e-4). */
  tol?: number;
}

const EXTREME = [-1000, -88, -30, -1, -1e-6, 0, 1e-6, 1, 30, 88, 1000];

export const OP_CASES: OpCase[] = [
  { name: "logSigmoid (prefopt) at extremes", inputs: [{ shape: [11], values: EXTREME }], fn: (x) => logSigmoid(x) },
  { name: "logSigmoid (prefopt) random", inputs: [{ shape: [4, 5], scale: 5 }], fn: (x) => logSigmoid(x) },
  { name: "logSumExp last axis", inputs: [{ shape: [3, 7], scale: 10 }], fn: (x) => logSumExp(x, -1) },
  { name: "logSoftmax", inputs: [{ shape: [2, 3, 11], scale: 3 }], fn: (x) => tf.logSoftmax(x) },
  { name: "softmax", inputs: [{ shape: [4, 6], scale: 3 }], fn: (x) => tf.softmax(x) },
  { name: "sigmoid", inputs: [{ shape: [11], values: EXTREME }], fn: (x) => tf.sigmoid(x) },
  { name: "softplus", inputs: [{ shape: [11], values: EXTREME }], fn: (x) => tf.softplus(x) },
  {
    name: "relu / maximum(0, 1 - x)",
    inputs: [{ shape: [9], values: [-3, -1, -0.5, 0.25, 0.5, 0.75, 2, 5, 9] }],
    fn: (x) => tf.relu(tf.sub(1, x)),
  },
  { name: "square", inputs: [{ shape: [5, 2] }], fn: (x) => tf.square(x) },
  { name: "matMul", inputs: [{ shape: [4, 8] }, { shape: [8, 3] }], fn: (a, b) => tf.matMul(a, b) },
  {
    name: "batched matMul (transposeB)",
    inputs: [{ shape: [2, 4, 8] }, { shape: [2, 5, 8] }],
    fn: (a, b) => tf.matMul(a, b, false, true),
  },
  {
    name: "gather rows (embedding lookup)",
    inputs: [{ shape: [7, 4] }, { shape: [6], dtype: "int32", maxInt: 7 }],
    fn: (e, i) => tf.gather(e, i),
  },
  {
    name: "gather 2-D ids",
    inputs: [{ shape: [7, 4] }, { shape: [2, 3], dtype: "int32", maxInt: 7 }],
    fn: (e, i) => tf.gather(e, i),
  },
  {
    name: "oneHot · logSoftmax (token log-probs)",
    inputs: [{ shape: [2, 5, 9] }, { shape: [2, 5], dtype: "int32", maxInt: 9 }],
    fn: (l, y) => tf.sum(tf.mul(tf.logSoftmax(l), tf.oneHot(y, 9)), -1),
  },
  {
    name: "mean / variance over last axis",
    inputs: [{ shape: [3, 8] }],
    fn: (x) => tf.add(tf.mean(x, -1), tf.moments(x, -1).variance),
  },
  { name: "rsqrt (layer norm)", inputs: [{ shape: [6], values: [0.1, 0.5, 1, 2, 10, 100] }], fn: (x) => tf.rsqrt(x) },
  {
    name: "tanh, exp, log",
    inputs: [{ shape: [6], values: [0.1, 0.5, 1, 2, 3, 4] }],
    fn: (x) => tf.add(tf.tanh(x), tf.add(tf.exp(x), tf.log(x))),
  },
  {
    name: "where(lessEqual) causal mask",
    inputs: [{ shape: [4, 4] }],
    fn: (x) => tf.where(tf.linalg.bandPart(tf.ones([4, 4]), -1, 0).cast("bool"), x, tf.fill([4, 4], -1e9)),
  },
  { name: "clipByValue", inputs: [{ shape: [8], scale: 2 }], fn: (x) => tf.clipByValue(x, -1, 1), grad: false },
  {
    name: "minimum / maximum",
    inputs: [{ shape: [6] }, { shape: [6] }],
    fn: (a, b) => tf.add(tf.minimum(a, b), tf.mul(0.5, tf.maximum(a, b))),
  },
  {
    name: "concat + slice",
    inputs: [{ shape: [2, 3] }, { shape: [2, 3] }],
    fn: (a, b) => tf.slice(tf.concat([a, b], 0), [1, 0], [2, 3]),
  },
  {
    name: "transpose + reshape",
    inputs: [{ shape: [2, 3, 4] }],
    fn: (x) => tf.reshape(tf.transpose(x, [0, 2, 1]), [8, 3]),
  },
  { name: "cumsum reverse", inputs: [{ shape: [2, 5] }], fn: (x) => tf.cumsum(x, 1, false, true) },
  {
    name: "gelu-tanh pieces (pow)",
    inputs: [{ shape: [7] }],
    fn: (x) => tf.mul(x, tf.add(1, tf.tanh(tf.mul(0.79788456, tf.add(x, tf.mul(0.044715, tf.pow(x, 3))))))),
  },
  // core library (losses, log-probs, reward models)
  {
    name: "stopGradient (customGrad with zero gradient)",
    inputs: [{ shape: [2, 3] }],
    fn: (x) => tf.add(stopGradient(tf.mul(x, 3)), tf.mul(0.5, x)),
  },
  {
    name: "Plackett-Luce NLL (unstack last axis, softplus chain)",
    inputs: [{ shape: [3, 4], scale: 3 }],
    fn: (x) => plackettLuceNll(x),
  },
  {
    name: "Plackett-Luce NLL at extremes and ties",
    inputs: [{ shape: [3, 3], values: [1000, -1000, 0, 0, 0, 0, -88, 30, 88] }],
    fn: (x) => plackettLuceNll(x),
  },
  { name: "stack on axis 1", inputs: [{ shape: [4] }, { shape: [4] }], fn: (a, b) => tf.stack([a, b], 1) },
  {
    name: "gather along the last axis",
    inputs: [{ shape: [3, 5] }, { shape: [2], dtype: "int32", maxInt: 5 }],
    fn: (x, i) => tf.gather(x, i, 1),
  },
  {
    name: "mean keepDims + broadcastTo + relu",
    inputs: [{ shape: [3, 5] }],
    fn: (x) => tf.add(x, tf.broadcastTo(tf.relu(tf.mean(x, -1, true)), [3, 5])),
  },
  {
    name: "notEqual mask on int labels (sequence log-probs)",
    inputs: [{ shape: [2, 6] }, { shape: [2, 6], dtype: "int32", maxInt: 3 }],
    fn: (l, y) =>
      tf.div(
        tf.sum(tf.mul(l, tf.cast(tf.notEqual(y, tf.scalar(2, "int32")), "float32")), -1),
        tf.maximum(tf.sum(tf.cast(tf.notEqual(y, tf.scalar(2, "int32")), "float32"), -1), 1),
      ),
  },
  {
    name: "addN of squares (L2 penalty)",
    inputs: [{ shape: [3, 2] }, { shape: [4] }],
    fn: (a, b) => tf.addN([tf.sum(tf.square(a)), tf.sum(tf.square(b))]),
  },
  // language-model track (src/lm)
  {
    name: "split into q, k, v along axis 1",
    inputs: [{ shape: [4, 6] }],
    fn: (x) => tf.addN(tf.split(x, 3, 1).map((t, i) => tf.mul(t, i + 1))),
  },
  {
    name: "rank-4 transpose [0, 2, 1, 3] (attention heads)",
    inputs: [{ shape: [2, 3, 2, 4] }],
    fn: (x) => tf.transpose(x, [0, 2, 1, 3]),
  },
  {
    name: "matMulFast with transposeB (explicit-transpose gradient)",
    inputs: [{ shape: [3, 4] }, { shape: [5, 4] }],
    fn: (a, b) => matMulFast(a, b, false, true),
  },
  { name: "batched matMulFast", inputs: [{ shape: [2, 3, 4] }, { shape: [2, 4, 5] }], fn: (a, b) => matMulFast(a, b) },
  // wasm: batched products run through the SIMD kernel (src/lm/kernels/batchMatMulSimd.ts): widths below,
  // at and above its 16-column block, and the attention pattern (scores, then mixing) with its gradients.
  {
    name: "batched matMul, SIMD kernel widths 16 and 35",
    inputs: [{ shape: [3, 5, 7] }, { shape: [3, 7, 16] }, { shape: [3, 16, 35] }],
    fn: (a, b, c) => tf.matMul(tf.matMul(a as tf.Tensor3D, b as tf.Tensor3D), c as tf.Tensor3D),
  },
  {
    name: "attention softmax(QKᵀ/√d)V via matMulFast",
    inputs: [{ shape: [4, 6, 8] }, { shape: [4, 6, 8] }, { shape: [4, 6, 8] }],
    fn: (q, k, v) => matMulFast(tf.softmax(tf.mul(matMulFast(q, k, false, true), 1 / Math.sqrt(8))), v),
  },
  {
    name: "token log-probs (flat gather − logSumExp)",
    inputs: [
      { shape: [2, 5, 7], scale: 2 },
      { shape: [2, 5], dtype: "int32", maxInt: 7 },
    ],
    fn: (l, y) => tokenLogProbs(l as tf.Tensor3D, y as tf.Tensor2D),
  },
  {
    name: "layerNorm + gelu (transformer block)",
    inputs: [{ shape: [3, 8] }, { shape: [8] }, { shape: [8] }],
    fn: (x, g, b) => lmGelu(layerNorm(x as tf.Tensor2D, g, b)),
  },
  // The fused paths (src/lm/kernels/): the cpu reference runs with PREFOPT_FUSED=0, i.e. plain tfjs ops, and
  // every backend (cpu included, see below) runs the fused kernels, so each case compares fused to plain.
  {
    name: "fused layerNorm: rows at scale 1000, a constant row (zero variance)",
    inputs: [
      {
        shape: [5, 12],
        values: [...new Array(48)].map((_, i) => 1000 * Math.sin(i * 1.7)).concat(new Array(12).fill(3)),
      },
      { shape: [12] },
      { shape: [12] },
    ],
    fn: (x, g, b) => layerNorm(x as tf.Tensor2D, g, b),
  },
  {
    name: "fused layerNorm over the last axis of a rank-3 tensor",
    inputs: [{ shape: [2, 3, 4] }, { shape: [4] }, { shape: [4] }],
    fn: (x, g, b) => layerNorm(x as tf.Tensor2D, g, b),
  },
  {
    name: "fused gelu at extremes",
    inputs: [{ shape: [13], values: [-1000, -88, -30, -5, -1, -1e-6, 0, 1e-6, 0.5, 1, 5, 30, 1000] }],
    fn: (x) => lmGelu(x),
  },
  {
    name: "fused token log-probs: excluded tokens, logits at scale 50, an excluded (padding) target",
    inputs: [
      { shape: [2, 6, 9], scale: 50 },
      { shape: [2, 6], dtype: "int32", values: [3, 0, 8, 2, 5, 4, 7, 1, 0, 6, 2, 8] },
    ],
    fn: (l, y) => tokenLogProbs(l as tf.Tensor3D, y as tf.Tensor2D, [0, 1]),
  },
  {
    name: "SIMD products a·b (K ≤ 384) and aᵀ·b gradients: (16, 40)·(40, 24)",
    inputs: [{ shape: [16, 40] }, { shape: [40, 24] }],
    fn: (a, b) => matMulFast(a, b),
  },
  {
    name: "SIMD products over several k-blocks: (8, 300)·(300, 16), and transposeA",
    inputs: [{ shape: [8, 300] }, { shape: [300, 16] }, { shape: [300, 8] }],
    fn: (a, b, c) => tf.add(matMulFast(a, b), matMulFast(c, b, true)),
  },
  {
    name: "SIMD aᵀ·b over two n-blocks (N = 616) and a·bᵀ (the tied head)",
    inputs: [{ shape: [20, 12] }, { shape: [12, 616] }, { shape: [616, 12] }],
    fn: (a, b, e) => tf.sum(tf.mul(matMulFast(a, b), matMulFast(a, e, false, true))),
  },
  {
    name: "slice (rank 3, non-contiguous), split on axes 0 and 2, concat on axes 0 and 2",
    inputs: [{ shape: [4, 5, 6] }],
    fn: (x) => {
      const s = tf.slice(x, [1, 2, 1], [2, 3, 4]);
      const [a, b] = tf.split(s, [1, 3], 2);
      const [c, d] = tf.split(x, 2, 0);
      return tf.concat([tf.concat([b, a], 2).reshape([-1]), tf.concat([d, c], 0).reshape([-1])], 0);
    },
  },
  {
    name: "gather axis 0 of a rank-3 tensor with 2-D ids, and of int32 rows",
    inputs: [
      { shape: [5, 2, 3] },
      { shape: [2, 3], dtype: "int32", values: [4, 0, 4, 2, 1, 3] },
      { shape: [5, 2], dtype: "int32", maxInt: 9 },
    ],
    fn: (x, ids, t) =>
      tf.add(tf.gather(x, ids).reshape([6, 6]), tf.cast(tf.gather(t, ids).reshape([6, 2]).tile([1, 3]), "float32")),
  },
  {
    name: "PPO clipped surrogate (exp, clipByValue, minimum)",
    inputs: [{ shape: [8], scale: 0.3 }, { shape: [8], scale: 0.3 }, { shape: [8] }],
    fn: (lp, old, adv) => {
      const r = tf.exp(tf.sub(lp, old));
      return tf.minimum(tf.mul(r, adv), tf.mul(tf.clipByValue(r, 0.8, 1.2), adv));
    },
  },
  {
    name: "Bradley–Terry on gathered linear rewards (UKP notebook)",
    inputs: [
      { shape: [9, 4] },
      { shape: [4, 1] },
      { shape: [6], dtype: "int32", maxInt: 9 },
      { shape: [6], dtype: "int32", maxInt: 9 },
    ],
    fn: (f, w, a, b) => {
      const r = tf.reshape(tf.matMul(f, w), [-1]);
      return logSigmoid(tf.sub(tf.gather(r, a), tf.gather(r, b)));
    },
  },
];

function makeInputs(specs: InputSpec[], seed: number): tf.Tensor[] {
  const rng = new Rng(seed);
  return specs.map((s) => {
    const size = s.shape.reduce((a, b) => a * b, 1);
    if (s.values) return tf.tensor(s.values, s.shape, s.dtype ?? "float32");
    if (s.dtype === "int32")
      return tf.tensor(
        Array.from({ length: size }, () => rng.int(s.maxInt ?? 2)),
        s.shape,
        "int32",
      );
    return tf.tensor(
      Array.from({ length: size }, () => rng.normal() * (s.scale ?? 1)),
      s.shape,
      "float32",
    );
  });
}

interface OpResult {
  forward: number[];
  grads: number[][];
}

function runCase(c: OpCase, index: number): OpResult {
  return tf.tidy(() => {
    const xs = makeInputs(c.inputs, 1000 + index);
    const out = c.fn(...xs);
    const forward = Array.from(out.dataSync());
    const grads: number[][] = [];
    if (c.grad !== false) {
      const w = makeInputs([{ shape: out.shape }], 7 + index)[0];
      const floatIdx = xs.map((x, i) => (x.dtype === "float32" ? i : -1)).filter((i) => i >= 0);
      const g = tf.grads((...fx: tf.Tensor[]) => {
        const all = xs.slice();
        floatIdx.forEach((i, k) => (all[i] = fx[k]));
        return tf.sum(tf.mul(c.fn(...all), w));
      });
      for (const t of g(floatIdx.map((i) => xs[i]))) grads.push(Array.from(t.dataSync()));
    }
    return { forward, grads };
  });
}

function assertClose(actual: number[], expected: number[], tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i];
    const e = expected[i];
    if (!Number.isFinite(e)) {
      assert.equal(a, e, `${what}[${i}]`);
      continue;
    }
    assert.ok(Number.isFinite(a), `${what}[${i}] is ${a}, expected ${e}`);
    assert.ok(Math.abs(a - e) <= tol * (1 + Math.abs(e)), `${what}[${i}]: ${a} vs cpu ${e}`);
  }
}

describe("every op the library uses, forward and gradient, on every backend (fused kernels on) vs plain cpu", () => {
  let backends: BackendName[] = [];
  const reference: OpResult[] = [];

  before(async () => {
    backends = await availableBackends();
    await initBackend("cpu");
    const saved = process.env.PREFOPT_FUSED;
    process.env.PREFOPT_FUSED = "0"; // the reference: plain tfjs ops, none of prefopt's fused kernels
    try {
      OP_CASES.forEach((c, i) => reference.push(runCase(c, i)));
    } finally {
      if (saved === undefined) delete process.env.PREFOPT_FUSED;
      else process.env.PREFOPT_FUSED = saved;
    }
  });
  after(async () => {
    await initBackend();
  });

  test("the cpu reference gives finite gradients everywhere", () => {
    OP_CASES.forEach((c, i) => {
      for (const g of reference[i].grads) assert.ok(g.every(Number.isFinite), `${c.name}: non-finite cpu gradient`);
    });
  });

  test("wasm loads here (the default backend where tfjs-node is absent)", () => {
    assert.ok(backends.includes("wasm"), `available: ${backends.join(", ")}`);
  });

  for (const backend of ["cpu", "wasm", "tensorflow"] as BackendName[]) {
    test(`${backend} matches cpu on every op`, async (t) => {
      if (!backends.includes(backend)) {
        t.skip(`${backend} does not load in this environment`);
        return;
      }
      await initBackend(backend);
      const before = tf.memory().numTensors;
      OP_CASES.forEach((c, i) => {
        const r = runCase(c, i);
        const tol = c.tol ?? 1e-4;
        assertClose(r.forward, reference[i].forward, tol, `${backend} ${c.name} forward`);
        r.grads.forEach((g, k) => assertClose(g, reference[i].grads[k], tol, `${backend} ${c.name} grad[${k}]`));
      });
      assert.equal(tf.memory().numTensors, before, "op cases leak no tensors");
    });
  }
});

describe("wasm's replacement kernels keep tfjs semantics (src/lm/kernels/jsKernel.ts, copyKernels.ts)", () => {
  let wasm = false;
  before(async () => {
    wasm = (await availableBackends()).includes("wasm");
    if (wasm) await initBackend("wasm");
  });
  after(async () => {
    await initBackend();
  });

  test("a clone shares memory yet stays unchanged when the variable it was cloned from is assigned", (t) => {
    if (!wasm) return t.skip("wasm does not load here");
    const bytes = tf.memory().numBytes;
    const [init, next] = [tf.tensor1d([1, 2, 3]), tf.tensor1d([7, 8, 9])];
    const v = tf.variable(init);
    const c = v.clone();
    const cast = tf.cast(v, "float32");
    v.assign(next);
    assert.deepEqual(Array.from(c.dataSync()), [1, 2, 3]);
    assert.deepEqual(Array.from(cast.dataSync()), [1, 2, 3]);
    assert.deepEqual(Array.from(v.dataSync()), [7, 8, 9]);
    c.dispose();
    assert.deepEqual(Array.from(cast.dataSync()), [1, 2, 3], "disposing one sharer keeps the data for the other");
    tf.dispose([cast, v, init, next]);
    assert.equal(tf.memory().numBytes, bytes, "shared memory is released with its last tensor");
  });

  test("gather refuses an index outside the table, naming it, and leaks nothing", (t) => {
    if (!wasm) return t.skip("wasm does not load here");
    const before = tf.memory().numTensors;
    const x = tf.tensor2d([1, 2, 3, 4], [2, 2]);
    const ids = tf.tensor1d([0, 2], "int32");
    assert.throws(() => tf.gather(x, ids), /index value 2 is not in \[0, 1\]/);
    tf.dispose([x, ids]);
    assert.equal(tf.memory().numTensors, before);
  });

  test("the fused log-prob kernel refuses a target outside the vocabulary and frees its output", (t) => {
    if (!wasm) return t.skip("wasm does not load here");
    const logits = tf.randomNormal([1, 3, 9]) as tf.Tensor3D;
    const ids = tf.tensor2d([[2, 9, 4]], [1, 3], "int32");
    const [tensors, bytes] = [tf.memory().numTensors, tf.memory().numBytes];
    assert.throws(() => tokenLogProbs(logits, ids), /target token 9 at row 0 outside \[0, 9\)/);
    assert.equal(tf.memory().numTensors, tensors, "no tensor left behind");
    assert.equal(tf.memory().numBytes, bytes, "no memory left behind");
    tf.dispose([logits, ids]);
  });

  test("slice refuses a window past the end (wasm's own Slice did not)", (t) => {
    if (!wasm) return t.skip("wasm does not load here");
    const x = tf.tensor2d([1, 2, 3, 4, 5, 6], [2, 3]);
    assert.throws(() => tf.slice(x, [1, 0], [2, 3]), /exceeds|out of bounds|size/i);
    x.dispose();
  });

  test("int casts still convert (only a same-dtype Cast shares memory)", (t) => {
    if (!wasm) return t.skip("wasm does not load here");
    const x = tf.tensor1d([1.7, -2.2, 3.5]);
    assert.deepEqual(Array.from(tf.cast(x, "int32").dataSync()), [1, -2, 3]);
    x.dispose();
  });
});
