// Incremental decoding with a key/value cache: after one full forward pass over the prompts (the prefill),
// each new token costs one position's forward pass, attending over the cached keys and values of the
// positions before it, instead of a full pass over the whole sequence (O(T) per sample, not O(T²)).
//
// Rows may have different lengths. Row b's next token sits at its own position p_b: its key and value are
// written into slot p_b of the cache, and its query attends over slots 0…p_b only (as the additive mask
// −1e9 beyond p_b does in Transformer.forward). Slots past a row's length hold the prefill's padding keys
// until they are overwritten; the attention never reads them. Where the fused kernels run, the write and
// the attention are one pass (kernels/fused.ts decodeAttention); elsewhere a one-hot blend and a masked
// softmax over all slots.
import * as tf from "@tensorflow/tfjs";
import { PAD } from "./tokenizer";
import { layerNorm, mlp, type Transformer } from "./transformer";
import { matMulFast as mm } from "./fastMatMul";
import { decodeAttention, hasFusedDecodeAttention } from "./kernels/fused";

/** Per-layer keys and values (B, H, contextLength, d_h) of every row; rows follow the caller's order. */
export interface KvCache {
  keys: tf.Tensor4D[];
  values: tf.Tensor4D[];
}

export function disposeKvCache(c: KvCache): void {
  tf.dispose([...c.keys, ...c.values]);
}

/**
 * Full forward pass over token rows (each ≥ 1 token, right-padded with <pad> to the longest): returns the
 * next-token logits (B, V) at each row's last position and the cache of every position.
 */
export function prefill(model: Transformer, rows: readonly number[][]): { logits: tf.Tensor2D; cache: KvCache } {
  const { contextLength: ctx, nHeads: H, dModel: d } = model.config;
  const B = rows.length;
  const T = Math.max(...rows.map((r) => r.length));
  if (rows.some((r) => r.length === 0)) throw new Error("prefill: every row needs at least one token");
  if (T > ctx) throw new Error(`prefill: a row has ${T} tokens, more than contextLength ${ctx}`);
  const flat = new Int32Array(B * T).fill(PAD);
  rows.forEach((r, b) => flat.set(r, b * T));
  return tf.tidy(() => {
    const out = model.forwardWithKeysValues(tf.tensor2d(flat, [B, T], "int32"));
    const V = out.logits.shape[2];
    const last = tf.tensor1d(
      rows.map((r, b) => b * T + r.length - 1),
      "int32",
    );
    const logits = tf.gather(out.logits.reshape([B * T, V]), last) as tf.Tensor2D;
    const toCache = (t: tf.Tensor3D) =>
      tf.pad(t.reshape([B, H, T, d / H]), [
        [0, 0],
        [0, 0],
        [0, ctx - T],
        [0, 0],
      ]) as tf.Tensor4D;
    return { logits, cache: { keys: out.keys.map(toCache), values: out.values.map(toCache) } };
  });
}

/** The cache restricted to some rows (in the given order); the input cache is disposed. */
export function selectRows(cache: KvCache, rows: readonly number[]): KvCache {
  const idx = tf.tensor1d(Array.from(rows), "int32");
  const pick = (t: tf.Tensor4D) => tf.gather(t, idx) as tf.Tensor4D;
  const out = { keys: cache.keys.map(pick), values: cache.values.map(pick) };
  idx.dispose();
  disposeKvCache(cache);
  return out;
}

/** The plain path's one-hot blend into slot p_b ((B, 1, ctx, 1) and 1 − it) and its additive mask (B, 1, ctx). */
function blendAndMask(
  positions: readonly number[],
  ctx: number,
): { slot: tf.Tensor; keep: tf.Tensor; mask: tf.Tensor } {
  const B = positions.length;
  const slot = tf.oneHot(tf.tensor1d(Array.from(positions), "int32"), ctx).reshape([B, 1, ctx, 1]);
  const visible = new Float32Array(B * ctx);
  positions.forEach((p, b) => visible.fill(-1e9, b * ctx + p + 1, (b + 1) * ctx));
  return { slot, keep: tf.sub(1, slot), mask: tf.tensor3d(visible, [B, 1, ctx]) };
}

/**
 * One decoding step: token `tokens[b]` at position `positions[b]` of row b (0-based; every earlier position
 * is already cached). Returns the next-token logits (B, V) and the updated cache; the input cache is disposed.
 */
export function decodeStep(
  model: Transformer,
  tokens: readonly number[],
  positions: readonly number[],
  cache: KvCache,
): { logits: tf.Tensor2D; cache: KvCache } {
  const { contextLength: ctx, nHeads: H, dModel: d, nLayers } = model.config;
  const B = tokens.length;
  const dh = d / H;
  if (positions.length !== B) throw new Error(`decodeStep: ${B} tokens but ${positions.length} positions`);
  for (const p of positions)
    if (!(Number.isInteger(p) && p >= 0 && p < ctx)) throw new Error(`decodeStep: position ${p} outside [0, ${ctx})`);
  const out = tf.tidy(() => {
    const at = tf.tensor1d(Array.from(positions), "int32");
    const fused = hasFusedDecodeAttention();
    // Plain path: attend over all ctx slots, later ones masked (slicing the cache to the furthest position
    // cost more on wasm, a generic rank-4 Slice, than the masked slots do).
    const plain = fused ? null : blendAndMask(positions, ctx);
    let x = model.embed(
      tf.tensor2d(Array.from(tokens), [B, 1], "int32"),
      tf.tensor2d(Array.from(positions), [B, 1], "int32"),
    ); // (B, d)
    const keys: tf.Tensor4D[] = [];
    const values: tf.Tensor4D[] = [];
    for (let l = 0; l < nLayers; l++) {
      const p = model.block(l);
      const a = layerNorm(x, p.ln1[0], p.ln1[1]);
      const [q, k, v] = tf.split(tf.add(mm(a, p.wqkv), p.bqkv), 3, 1).map((t) => t.reshape([B, H, 1, dh]));
      let mixed: tf.Tensor2D;
      if (fused) {
        const r = decodeAttention(q, cache.keys[l], cache.values[l], k, v, at);
        keys.push(r.keys);
        values.push(r.values);
        mixed = r.mixed;
      } else {
        const { slot, keep, mask } = plain as ReturnType<typeof blendAndMask>;
        const K = tf.add(tf.mul(cache.keys[l], keep), tf.mul(slot, k)) as tf.Tensor4D; // (B, H, ctx, dh)
        const Vc = tf.add(tf.mul(cache.values[l], keep), tf.mul(slot, v)) as tf.Tensor4D;
        keys.push(K);
        values.push(Vc);
        const scores = tf.add(tf.mul(tf.sum(tf.mul(q, K), -1), 1 / Math.sqrt(dh)), mask); // (B, H, ctx)
        mixed = tf.sum(tf.mul(tf.expandDims(tf.softmax(scores), -1), Vc), 2).reshape([B, d]); // heads side by side
      }
      x = tf.add(x, tf.add(mm(mixed, p.wo), p.bo)) as tf.Tensor2D;
      x = tf.add(x, mlp(x, p)) as tf.Tensor2D;
    }
    return { logits: model.head(x, false), cache: { keys, values } };
  });
  disposeKvCache(cache);
  return out;
}
