// Ancestral sampling from the causal LM, batched over prompts: temperature, top-k, <eos> or a token budget
// ends a sample. All randomness comes from the Rng (categorical draws on the CPU), so the same seed
// gives the same samples on every backend. Decoding is incremental (src/lm/kvCache.ts): one prefill over
// the prompts, then one position per new token; `useCache: false` re-runs the full sequence every step
// (the plain computation, kept for tests and benchmarks).
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../random";
import { throwIfInterrupted } from "../interrupt";
import { reportProgress } from "../progress";
import { EOS, BOS, PAD, NON_EMITTED } from "./tokenizer";
import type { Transformer } from "./transformer";
import { prefill, decodeStep, selectRows, disposeKvCache, type KvCache } from "./kvCache";
import type { Sequence } from "./batching";

export interface SampleOptions {
  maxNewTokens: number;
  /** Softmax temperature (default 1: samples from π itself, as the KL estimates need). */
  temperature?: number;
  /** Keep only the k most likely tokens (0 = all, default). */
  topK?: number;
  /**
   * Tokens that may never be sampled (default NON_EMITTED: <pad>, <bos>). The trainers and the KL estimates
   * score with softmax over the tokens NON_EMITTED leaves, so a different list makes them score a
   * distribution other than the one sampled.
   */
  forbid?: number[];
  /** Incremental decoding with a key/value cache (default true); false recomputes every prefix. */
  useCache?: boolean;
}

/** Index drawn from softmax(logits / temperature) restricted to the top k; ties keep the lower id. */
export function sampleToken(
  logits: ArrayLike<number>,
  rng: Rng,
  temperature = 1,
  topK = 0,
  forbid: readonly number[] = [],
): number {
  if (!(temperature > 0)) throw new Error(`sampleToken: temperature must be > 0, got ${temperature}`);
  if (topK > 0 && topK < logits.length) return sampleTopK(logits, rng, temperature, topK, forbid);
  return (
    sampleFull(logits, rng, temperature, forbid) ?? rng.categoricalLogits(scaledLogits(logits, temperature, forbid))
  );
}

/** logits / temperature in float64, forbidden tokens at −∞. */
function scaledLogits(logits: ArrayLike<number>, temperature: number, forbid: readonly number[]): Float64Array {
  // A plain loop: Float64Array.from with a map function took ~120 ns per logit (a third of cached sampling).
  const scaled = new Float64Array(logits.length);
  for (let i = 0; i < logits.length; i++) scaled[i] = logits[i] / temperature;
  for (const f of forbid) scaled[f] = -Infinity;
  return scaled;
}

function sampleTopK(
  logits: ArrayLike<number>,
  rng: Rng,
  temperature: number,
  topK: number,
  forbid: readonly number[],
): number {
  const scaled = scaledLogits(logits, temperature, forbid);
  const order = Array.from(scaled.keys()).sort((a, b) => scaled[b] - scaled[a] || a - b);
  const cut = scaled[order[topK - 1]];
  let kept = 0;
  for (const i of order) {
    if (scaled[i] >= cut && kept < topK) kept++;
    else scaled[i] = -Infinity;
  }
  return rng.categoricalLogits(scaled);
}

let scratch = new Float64Array(0);

/**
 * rng.categoricalLogits(scaledLogits(logits, temperature, forbid)) in two passes over a reused buffer
 * instead of five passes and two allocations: the same float64 numbers in the same order, so the same draw
 * (test/lm.test.ts compares the two). Returns undefined, having drawn nothing, where the largest scaled
 * logit is not finite or a logit is NaN: the caller then takes the plain path, which throws its error.
 * (It was half of cached sampling's time at the Figure-2 size: 128 rows x 2,000 logits per token.)
 */
function sampleFull(
  logits: ArrayLike<number>,
  rng: Rng,
  temperature: number,
  forbid: readonly number[],
): number | undefined {
  const n = logits.length;
  if (scratch.length < n) scratch = new Float64Array(n);
  const w = scratch;
  let max = -Infinity;
  let nan = false;
  for (let i = 0; i < n; i++) {
    const z = logits[i] / temperature;
    w[i] = z;
    if (z > max) max = z;
    else if (z !== z) nan = true;
  }
  let forbiddenMax = false;
  for (const f of forbid) {
    if (f >= 0 && f < n && w[f] === max) forbiddenMax = true;
    w[f] = -Infinity;
  }
  if (forbiddenMax) {
    max = -Infinity;
    for (let i = 0; i < n; i++) if (w[i] > max) max = w[i];
  }
  if (nan || !(max > -Infinity && max < Infinity)) return undefined;
  let total = 0;
  for (let i = 0; i < n; i++) {
    const e = Math.exp(w[i] - max);
    w[i] = e;
    total += e;
  }
  // Rng.categorical from here (its weights are exp(·) ≥ 0 and total ≥ 1: the largest weight is exp(0)).
  let u = rng.uniform() * total;
  for (let i = 0; i < n; i++) {
    u -= w[i];
    if (u < 0) return i;
  }
  for (let i = n - 1; i >= 0; i--) if (w[i] > 0) return i;
  return n - 1;
}

/** Next-token logits (B, V) at the last position of each row, from a full forward pass (no cache). */
function lastLogitsFull(model: Transformer, rows: readonly number[][]): tf.Tensor2D {
  const T = Math.max(...rows.map((r) => r.length));
  const flat = new Int32Array(rows.length * T).fill(PAD);
  rows.forEach((r, b) => flat.set(r, b * T));
  return tf.tidy(() => {
    const logits = model.forward(tf.tensor2d(flat, [rows.length, T], "int32"));
    const V = logits.shape[2];
    const pick = tf.tensor1d(
      rows.map((r, b) => b * T + r.length - 1),
      "int32",
    );
    return tf.gather(logits.reshape([rows.length * T, V]), pick) as tf.Tensor2D;
  });
}

/** One completion per prompt (prompts as token ids, without <bos>). */
export function sampleCompletions(
  model: Transformer,
  prompts: readonly number[][],
  rng: Rng,
  opts: SampleOptions,
): Sequence[] {
  const { temperature = 1, topK = 0, useCache = true } = opts;
  const forbid = opts.forbid ?? NON_EMITTED;
  const ctx = model.config.contextLength;
  const rows = prompts.map((p) => [BOS, ...p]);
  const done = rows.map((r) => r.length >= ctx);
  const ended = rows.map(() => false);
  let cache: KvCache | undefined;
  let cached: number[] = []; // the rows the cache holds, in its order
  try {
    for (let step = 0; step < opts.maxNewTokens; step++) {
      throwIfInterrupted();
      const active = rows.map((_, i) => i).filter((i) => !done[i]);
      if (active.length === 0) break;
      let last: tf.Tensor2D;
      if (!useCache)
        last = lastLogitsFull(
          model,
          active.map((i) => rows[i]),
        );
      else if (!cache) {
        const r = prefill(
          model,
          active.map((i) => rows[i]),
        );
        last = r.logits;
        cache = r.cache;
        cached = active;
      } else {
        if (active.length < cached.length) {
          const keepIdx = active.map((i) => cached.indexOf(i));
          cache = selectRows(cache, keepIdx);
          cached = active;
        }
        const r = decodeStep(
          model,
          active.map((i) => rows[i][rows[i].length - 1]),
          active.map((i) => rows[i].length - 1),
          cache,
        );
        cache = r.cache;
        last = r.logits;
      }
      const data = last.dataSync();
      const V = last.shape[1] as number;
      last.dispose();
      active.forEach((i, b) => {
        const tok = sampleToken(data.subarray(b * V, (b + 1) * V), rng, temperature, topK, forbid);
        if (tok === EOS) {
          done[i] = true;
          ended[i] = true;
        } else {
          rows[i].push(tok);
          if (rows[i].length >= ctx - 1) done[i] = true; // leave room for <eos> when scoring
        }
      });
    }
  } finally {
    if (cache) disposeKvCache(cache);
  }
  return rows.map((r, i) => ({ prompt: prompts[i], completion: r.slice(1 + prompts[i].length), ended: ended[i] }));
}

/** `k` completions for each prompt, grouped per prompt (k·n rows sampled in batches of `batchSize`). */
export function sampleGroups(
  model: Transformer,
  prompts: readonly number[][],
  k: number,
  rng: Rng,
  opts: SampleOptions & { batchSize?: number },
): Sequence[][] {
  const flat: number[][] = [];
  for (const p of prompts) for (let j = 0; j < k; j++) flat.push(p.slice());
  const bs = opts.batchSize ?? 128;
  const out: Sequence[] = [];
  for (let s = 0; s < flat.length; s += bs) {
    out.push(...sampleCompletions(model, flat.slice(s, s + bs), rng, opts));
    reportProgress("sampling", Math.min(s + bs, flat.length), flat.length, `batches of ${bs} completions`, 0);
  }
  return prompts.map((_, i) => out.slice(i * k, (i + 1) * k));
}
