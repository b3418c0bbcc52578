// Fused forward/backward passes for the transformer's hot element-wise paths (issue 13's profile).
//
// Each op is a tf.customGrad whose forward and backward run as one JS loop over the backend's memory
// (jsKernel.ts) plus, where a transcendental is needed, one XNNPACK kernel (sigmoid, softmax: vectorised,
// ~18x faster than wasm's scalar tanh/exp). The maths is the same as the plain tfjs composition next to
// each op, which is what runs on backends without the JS kernels (tfjs-node) or with PREFOPT_FUSED=0;
// test/backend-ops.test.ts compares the two, values and gradients, on every backend that loads.
import * as tf from "@tensorflow/tfjs";
import { columnSum } from "../fastMatMul";
import { defineJsKernel, hasJsKernel, runJsKernel } from "./jsKernel";

type CustomFn = Parameters<typeof tf.customGrad>[0];

/** 2·√(2/π): GELU's tanh form ½(1 + tanh(u)) equals sigmoid(2u). */
const GELU_SCALE = 1.5957691216057308;
const GELU_CUBIC = 0.044715;
const LAYER_NORM_EPS = 1e-5;

// --- GELU (tanh approximation, Hendrycks & Gimpel 2016) -----------------------------------------------------
//   gelu(x) = ½x(1 + tanh(√(2/π)(x + 0.044715x³))) = x·σ(z),  z = 2√(2/π)(x + 0.044715x³)
//   gelu'(x) = σ(z) + x·σ(z)(1 − σ(z))·2√(2/π)(1 + 3·0.044715x²)

defineJsKernel({
  name: "PrefoptGeluArgument",
  outputShapes: ([x]) => [x.shape],
  body: ([x], [z]) => {
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      z[i] = GELU_SCALE * (v + GELU_CUBIC * v * v * v);
    }
  },
});

defineJsKernel({
  name: "PrefoptGeluGrad",
  outputShapes: ([dy]) => [dy.shape],
  body: ([dy, x, s], [dx]) => {
    for (let i = 0; i < dy.length; i++) {
      const v = x[i];
      const si = s[i];
      dx[i] = dy[i] * (si + v * si * (1 - si) * GELU_SCALE * (1 + 3 * GELU_CUBIC * v * v));
    }
  },
});

const geluFused = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
  const [z] = runJsKernel("PrefoptGeluArgument", [x]);
  const s = tf.sigmoid(z);
  const y = tf.mul(x, s);
  save([x, s]);
  tf.dispose([z, s]);
  return {
    value: y,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => runJsKernel("PrefoptGeluGrad", [dy, saved[0], saved[1]])[0],
  };
}) as unknown as CustomFn) as unknown as (x: tf.Tensor) => tf.Tensor;

/** The plain tfjs composition of GELU (tanh form), for backends without the fused kernels. */
function geluPlain(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() =>
    tf.mul(
      tf.mul(0.5, x),
      tf.add(1, tf.tanh(tf.mul(GELU_SCALE / 2, tf.add(x, tf.mul(GELU_CUBIC, tf.mul(x, tf.mul(x, x))))))),
    ),
  );
}

/** GELU, tanh approximation: ½x(1 + tanh(√(2/π)(x + 0.044715x³))) (Hendrycks & Gimpel 2016). */
export function gelu(x: tf.Tensor): tf.Tensor {
  return hasJsKernel("PrefoptGeluGrad") && x.dtype === "float32" ? geluFused(x) : geluPlain(x);
}

// --- Layer norm over the last axis (Ba et al. 2016) ---------------------------------------------------------
//   x̂ = (x − μ)·r,  r = 1/√(σ² + ε)  (μ, σ² the row's mean and biased variance),  y = g ⊙ x̂ + b
//   dx = r·(ĝ − mean(ĝ) − x̂·mean(ĝ ⊙ x̂)) with ĝ = dy ⊙ g;   dg = Σ_rows dy ⊙ x̂;   db = Σ_rows dy
// Row sums accumulate in float64.

defineJsKernel({
  name: "PrefoptLayerNorm",
  outputShapes: ([x]) => [x.shape, x.shape, [x.shape[0]]],
  body: ([x, g, b], [y, xhat, rstd], [shape]) => {
    const [n, d] = shape;
    for (let r = 0; r < n; r++) {
      const o = r * d;
      let sum = 0;
      for (let j = 0; j < d; j++) sum += x[o + j];
      const mean = sum / d;
      let sq = 0;
      for (let j = 0; j < d; j++) {
        const c = x[o + j] - mean;
        sq += c * c;
      }
      const inv = 1 / Math.sqrt(sq / d + LAYER_NORM_EPS);
      rstd[r] = inv;
      for (let j = 0; j < d; j++) {
        const h = (x[o + j] - mean) * inv;
        xhat[o + j] = h;
        y[o + j] = g[j] * h + b[j];
      }
    }
  },
});

defineJsKernel({
  name: "PrefoptLayerNormGrad",
  outputShapes: ([dy, , , g]) => [dy.shape, g.shape, g.shape],
  body: ([dy, xhat, rstd, g], [dx, dg, db], [shape]) => {
    const [n, d] = shape;
    const accG = new Float64Array(d);
    const accB = new Float64Array(d);
    for (let r = 0; r < n; r++) {
      const o = r * d;
      let meanG = 0;
      let meanGX = 0;
      for (let j = 0; j < d; j++) {
        const gy = dy[o + j] * g[j];
        meanG += gy;
        meanGX += gy * xhat[o + j];
        accG[j] += dy[o + j] * xhat[o + j];
        accB[j] += dy[o + j];
      }
      meanG /= d;
      meanGX /= d;
      const inv = rstd[r];
      for (let j = 0; j < d; j++) dx[o + j] = inv * (dy[o + j] * g[j] - meanG - xhat[o + j] * meanGX);
    }
    for (let j = 0; j < d; j++) {
      dg[j] = accG[j];
      db[j] = accB[j];
    }
  },
});

const layerNormFused = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [x, g, b, save] = args as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
  const [y, xhat, rstd] = runJsKernel("PrefoptLayerNorm", [x, g, b]);
  save([xhat, rstd, g]);
  tf.dispose([xhat, rstd]);
  return {
    value: y,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => runJsKernel("PrefoptLayerNormGrad", [dy, ...saved]),
  };
}) as unknown as CustomFn) as unknown as (x: tf.Tensor2D, g: tf.Tensor, b: tf.Tensor) => tf.Tensor2D;

/** The plain tfjs composition of layer norm, for backends without the fused kernels. */
function layerNormPlain(x: tf.Tensor2D, g: tf.Tensor, b: tf.Tensor): tf.Tensor2D {
  return tf.tidy(() => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, LAYER_NORM_EPS))), g), b) as tf.Tensor2D;
  });
}

/** LayerNorm over the last axis: g ⊙ (x − μ)/√(σ² + 1e-5) + b (Ba et al. 2016). */
export function layerNorm(x: tf.Tensor2D, g: tf.Tensor, b: tf.Tensor): tf.Tensor2D {
  const d = x.shape[x.rank - 1];
  const fits = x.dtype === "float32" && g.rank === 1 && b.rank === 1 && g.shape[0] === d && b.shape[0] === d;
  if (!(fits && hasJsKernel("PrefoptLayerNormGrad"))) return layerNormPlain(x, g, b);
  if (x.rank === 2) return layerNormFused(x, g, b);
  // Any rank: rows are the leading axes flattened (the kernel normalises a (rows, d) matrix).
  return tf.tidy(() => layerNormFused(x.reshape([-1, d]) as tf.Tensor2D, g, b).reshape(x.shape) as tf.Tensor2D);
}

// --- Bias add: x + b over rows, db = Σ_rows dy --------------------------------------------------------------
// tfjs reduces a broadcast gradient with Sum over axis 0, which wasm runs as a transpose and a row sum
// (20–30 ms for a (4096, 512) gradient); columnSum takes ~5 ms.

const addBiasFused = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [x, b] = args as [tf.Tensor2D, tf.Tensor1D];
  return {
    value: tf.add(x, b),
    gradFunc: (dy: tf.Tensor) => [tf.clone(dy), columnSum(dy as tf.Tensor2D)],
  };
}) as unknown as CustomFn) as unknown as (x: tf.Tensor2D, b: tf.Tensor) => tf.Tensor2D;

/** x (N, k) + b (k), with the bias gradient as one column sum where the fused kernels run. */
export function addBias(x: tf.Tensor2D, b: tf.Tensor): tf.Tensor2D {
  return hasJsKernel("PrefoptMatMulTN") && x.rank === 2 && b.rank === 1
    ? addBiasFused(x, b)
    : (tf.add(x, b) as tf.Tensor2D);
}

// --- log softmax + gather of the target token ---------------------------------------------------------------
//   lp_r = x_{r,t_r} − log Σ_{v allowed} exp(x_{r,v})      (excluded tokens carry a −1e9 bias in the normaliser)
//   ∂lp_r/∂x_{r,v} = [v = t_r] − p_{r,v},   p = softmax over the allowed tokens
// The normaliser comes from the softmax itself: p at the row's largest (biased) logit m is exp(0)/S = 1/S,
// so log Σ exp = m + log S = m − log p_{argmax}. p_{argmax} ≥ 1/V, so nothing underflows, and one vectorised
// softmax (kept for the backward pass) replaces exp, sum, log and the recomputed softmax of the plain path.

defineJsKernel({
  name: "PrefoptPickLogProb",
  outputShapes: ([head]) => [[head.shape[0]]],
  body: ([head, p, targets, bias], [lp], [shape]) => {
    const [n, v] = shape;
    for (let r = 0; r < n; r++) {
      const o = r * v;
      let m = -Infinity;
      let at = 0;
      for (let j = 0; j < v; j++) {
        const z = head[o + j] + bias[j];
        if (z > m) {
          m = z;
          at = j;
        }
      }
      // p at the largest logit is 1/S: one read of p per row instead of a pass over it.
      const t = targets[r];
      if (!(t >= 0 && t < v)) throw new Error(`tokenLogProbs: target token ${t} at row ${r} outside [0, ${v})`);
      lp[r] = head[o + t] - (m - Math.log(p[o + at]));
    }
  },
});

defineJsKernel({
  name: "PrefoptPickLogProbGrad",
  outputShapes: ([, p]) => [p.shape],
  body: ([dy, p, targets], [dx], [, shape]) => {
    const [n, v] = shape;
    for (let r = 0; r < n; r++) {
      const o = r * v;
      const d = dy[r];
      for (let j = 0; j < v; j++) dx[o + j] = -d * p[o + j];
      dx[o + targets[r]] += d;
    }
  },
});

/** −1e9 at each excluded token, 0 elsewhere: exp underflows to exactly 0 in float32. */
export function exclusionBias(vocab: number, excluded: readonly number[]): Float32Array {
  const bias = new Float32Array(vocab);
  for (const e of excluded) {
    if (!(Number.isInteger(e) && e >= 0 && e < vocab))
      throw new Error(`tokenLogProbs: excluded token ${e} outside [0, ${vocab})`);
    bias[e] = -1e9;
  }
  return bias;
}

const pickLogProbFused = tf.customGrad(((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [head, targets, bias, save] = args as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D, tf.GradSaveFunc];
  const p = tf.softmax(tf.add(head, bias) as tf.Tensor2D);
  const [lp] = runJsKernel("PrefoptPickLogProb", [head, p, targets, bias]);
  save([p, targets]);
  p.dispose();
  return {
    value: lp,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [
      runJsKernel("PrefoptPickLogProbGrad", [dy, saved[0], saved[1]])[0],
      tf.zerosLike(saved[1]),
      tf.zeros([head.shape[1]]),
    ],
  };
}) as unknown as CustomFn) as unknown as (head: tf.Tensor2D, targets: tf.Tensor1D, bias: tf.Tensor1D) => tf.Tensor1D;

/** Whether pickLogProbs runs fused on the active backend. */
export function hasFusedPickLogProbs(): boolean {
  return hasJsKernel("PrefoptPickLogProbGrad");
}

/**
 * lp_r = head[r, targets[r]] − log Σ_v exp(head[r, v] + bias[v]) for head (N, V), targets (N) int32,
 * bias (V): the fused path (callers check hasFusedPickLogProbs; logprobs.ts keeps the plain one).
 */
export function pickLogProbs(head: tf.Tensor2D, targets: tf.Tensor1D, bias: Float32Array): tf.Tensor1D {
  return tf.tidy(() => pickLogProbFused(head, targets, tf.tensor1d(bias)));
}

// --- One decoding step's attention over the key/value cache (kvCache.ts) ------------------------------------
// For each row b and head h, with the new key k and value v written into slot p_b of copies of the cache:
//   s_j = q·K_j / √d_h (j ≤ p_b),  a = softmax(s),  out[b, h·d_h : (h+1)·d_h] = Σ_j a_j V_j
// Slots past p_b are skipped, which is what the plain path's −1e9 mask does (their weight is exactly 0).
// One pass replaces the cache write (two multiplies and an add over the whole cache, per tensor) and the
// attention as broadcast multiplies and sums over non-last axes (profile: ~12 ms of every layer-step).

defineJsKernel({
  name: "PrefoptDecodeAttention",
  outputShapes: ([, cacheK]) => [cacheK.shape, cacheK.shape, [cacheK.shape[0], cacheK.shape[1] * cacheK.shape[3]]],
  body: ([q, cacheK, cacheV, k, v, positions], [keys, values, out], [, shape]) => {
    const [B, H, ctx, dh] = shape;
    keys.set(cacheK);
    values.set(cacheV);
    const scale = 1 / Math.sqrt(dh);
    const scores = new Float64Array(ctx);
    for (let b = 0; b < B; b++) {
      const p = positions[b];
      if (!(p >= 0 && p < ctx)) throw new Error(`decodeStep: position ${p} outside [0, ${ctx})`);
      for (let h = 0; h < H; h++) {
        const bh = b * H + h;
        const base = bh * ctx * dh;
        const slot = base + p * dh;
        for (let i = 0; i < dh; i++) {
          keys[slot + i] = k[bh * dh + i];
          values[slot + i] = v[bh * dh + i];
        }
        let max = -Infinity;
        for (let j = 0; j <= p; j++) {
          let dot = 0;
          for (let i = 0; i < dh; i++) dot += q[bh * dh + i] * keys[base + j * dh + i];
          scores[j] = dot * scale;
          if (scores[j] > max) max = scores[j];
        }
        let sum = 0;
        for (let j = 0; j <= p; j++) {
          scores[j] = Math.exp(scores[j] - max);
          sum += scores[j];
        }
        const o = b * H * dh + h * dh;
        for (let i = 0; i < dh; i++) {
          let acc = 0;
          for (let j = 0; j <= p; j++) acc += scores[j] * values[base + j * dh + i];
          out[o + i] = acc / sum;
        }
      }
    }
  },
});

/** Whether decodeAttention runs fused on the active backend. */
export function hasFusedDecodeAttention(): boolean {
  return hasJsKernel("PrefoptDecodeAttention");
}

/**
 * q, k, v (B, H, 1, d_h) of the new tokens at positions (B) int32, cache keys/values (B, H, ctx, d_h) →
 * the updated keys and values and the attention output (B, H·d_h), heads side by side.
 */
export function decodeAttention(
  q: tf.Tensor,
  cacheK: tf.Tensor4D,
  cacheV: tf.Tensor4D,
  k: tf.Tensor,
  v: tf.Tensor,
  positions: tf.Tensor1D,
): { keys: tf.Tensor4D; values: tf.Tensor4D; mixed: tf.Tensor2D } {
  const [keys, values, mixed] = runJsKernel("PrefoptDecodeAttention", [q, cacheK, cacheV, k, v, positions]);
  return { keys: keys as tf.Tensor4D, values: values as tf.Tensor4D, mixed: mixed as tf.Tensor2D };
}
