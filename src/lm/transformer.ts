// A small GPT-style causal transformer written with raw tf ops on tf.Variables (no tf.layers), so every
// step of the computation is visible:
//
//   h⁰ = E[x_t] + P[t]                                     token + learned position embeddings
//   hˡ⁺¹ = hˡ + Attn(LN(hˡ));  hˡ⁺¹ ← hˡ⁺¹ + MLP(LN(hˡ⁺¹))   pre-norm blocks (GPT-2, Radford et al. 2019)
//   logits_t = LN(hᴸ_t) Eᵀ                                 output projection tied to the embedding
//
// Attention is causal multi-head: softmax(QKᵀ/√d_h + M) V with M_ij = −1e9 for j > i. The MLP is
// d → 4d → d with GELU (tanh form). Initialisation: N(0, 0.02²), residual projections scaled by
// 1/√(2L) (GPT-2), all seeded through Rng.tfSeed(), so the same seed gives the same weights.
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../random";
import { matMulFast as mm } from "./fastMatMul";
import { addBias, gelu, layerNorm } from "./kernels/fused";

export { gelu, layerNorm };

export interface TransformerConfig {
  vocabSize: number;
  /** Maximum sequence length (number of learned positions). */
  contextLength: number;
  dModel: number;
  nHeads: number;
  nLayers: number;
  /** MLP hidden width as a multiple of dModel (default 4). */
  mlpRatio?: number;
}

export function validateConfig(c: TransformerConfig): void {
  for (const k of ["vocabSize", "contextLength", "dModel", "nHeads", "nLayers"] as const) {
    if (!Number.isInteger(c[k]) || c[k] <= 0)
      throw new Error(`TransformerConfig.${k} must be a positive integer, got ${c[k]}`);
  }
  if (c.dModel % c.nHeads !== 0)
    throw new Error(`TransformerConfig: dModel ${c.dModel} is not divisible by nHeads ${c.nHeads}`);
}

/** Parameter count of a config (tied embeddings). */
export function parameterCount(c: TransformerConfig): number {
  const d = c.dModel;
  const h = d * (c.mlpRatio ?? 4);
  const block = 2 * 2 * d + (d * 3 * d + 3 * d) + (d * d + d) + (d * h + h) + (h * d + d);
  return c.vocabSize * d + c.contextLength * d + c.nLayers * block + 2 * d;
}

/**
 * Forward FLOPs per token for a sequence of length T (multiply-adds counted as 2): the matmuls plus the
 * attention score and mixing products; training costs ≈ 3× this (forward + backward).
 */
export function forwardFlopsPerToken(c: TransformerConfig, T: number): number {
  const d = c.dModel;
  const h = d * (c.mlpRatio ?? 4);
  const perLayer = 2 * (d * 3 * d + d * d + 2 * d * h) + 2 * 2 * T * d;
  return c.nLayers * perLayer + 2 * d * c.vocabSize;
}

export class Transformer {
  readonly config: Required<TransformerConfig>;
  /** Every trainable weight, by a stable name (checkpoints use these names). */
  readonly params: Map<string, tf.Variable>;
  private mask: tf.Tensor2D | undefined;

  constructor(config: TransformerConfig, seedOrParams: number | Map<string, tf.Variable> = 0) {
    validateConfig(config);
    this.config = { mlpRatio: 4, ...config };
    this.params =
      typeof seedOrParams === "number"
        ? initParams(this.config, new Rng(seedOrParams).fork("transformer-init"))
        : seedOrParams;
    const shapes = parameterShapes(this.config);
    for (const [name, shape] of shapes) {
      const v = this.params.get(name);
      if (!v) throw new Error(`Transformer: parameter "${name}" is missing`);
      if (v.shape.join(",") !== shape.join(","))
        throw new Error(`Transformer: parameter "${name}" has shape [${v.shape}], expected [${shape}]`);
    }
    if (this.params.size !== shapes.length)
      throw new Error(`Transformer: ${this.params.size} parameters given, expected ${shapes.length}`);
    const n = this.config.contextLength;
    this.mask = tf.keep(
      tf.tidy(() => tf.mul(tf.sub(1, tf.linalg.bandPart(tf.ones([n, n]), -1, 0)), -1e9) as tf.Tensor2D),
    );
  }

  get variables(): tf.Variable[] {
    return [...this.params.values()];
  }

  private p(name: string): tf.Variable {
    const v = this.params.get(name);
    if (!v) throw new Error(`Transformer: missing parameter ${name}`);
    return v;
  }

  /** Additive causal mask (T, T): 0 on and below the diagonal, −1e9 above; a slice of the kept (ctx, ctx) mask. */
  private causalMask(T: number): tf.Tensor2D {
    if (!this.mask) throw new Error("Transformer: used after dispose()");
    return tf.slice(this.mask, [0, 0], [T, T]);
  }

  /** The weights of block `l`. */
  block(l: number): BlockParams {
    const p = (n: string) => this.p(`h${l}.${n}`);
    return {
      ln1: [p("ln1.g"), p("ln1.b")],
      wqkv: p("attn.wqkv"),
      bqkv: p("attn.bqkv"),
      wo: p("attn.wo"),
      bo: p("attn.bo"),
      ln2: [p("ln2.g"), p("ln2.b")],
      w1: p("mlp.w1"),
      b1: p("mlp.b1"),
      w2: p("mlp.w2"),
      b2: p("mlp.b2"),
    };
  }

  /** h⁰ = E[ids] + P[positions] as (B·T, d); positions default to 0…T−1 for every row. */
  embed(ids: tf.Tensor2D, positions?: tf.Tensor2D): tf.Tensor2D {
    const [B, T] = ids.shape;
    const d = this.config.dModel;
    return tf.tidy(() => {
      const tok = tf.gather(this.p("wte"), ids.reshape([B * T])); // (B·T, d)
      if (positions) return tf.add(tok, tf.gather(this.p("wpe"), positions.reshape([B * T]))) as tf.Tensor2D;
      const pos = tf.slice(this.p("wpe"), [0, 0], [T, d]);
      return tf.add(tok.reshape([B, T, d]), pos).reshape([B * T, d]) as tf.Tensor2D;
    });
  }

  /**
   * logits = LN_f(h) Eᵀ for hidden states (N, d) → (N, V). Without gradients (`trainable` false: decoding)
   * it multiplies by a kept copy of Eᵀ, remade only when E changes, so the backend can reuse its packed
   * weights from one decoding step to the next.
   */
  head(x: tf.Tensor2D, trainable = true): tf.Tensor2D {
    return tf.tidy(() => {
      const h = layerNorm(x, this.p("lnf.g"), this.p("lnf.b"));
      return trainable ? mm(h, this.p("wte"), false, true) : tf.matMul(h, this.embeddingTransposed());
    });
  }

  private wteT: { source: object; t: tf.Tensor2D } | undefined;

  /** Frees the decoding copy of Eᵀ (remade on the next decode); a model owns at most one such tensor. */
  releaseDecodingCache(): void {
    this.wteT?.t.dispose();
    this.wteT = undefined;
  }

  /** Eᵀ (d, V), cached while the embedding's data is unchanged (a training step assigns new data). */
  private embeddingTransposed(): tf.Tensor2D {
    const wte = this.p("wte");
    if (this.wteT?.source !== wte.dataId) {
      this.wteT?.t.dispose();
      this.wteT = { source: wte.dataId, t: tf.keep(tf.transpose(wte) as tf.Tensor2D) };
    }
    return this.wteT.t;
  }

  /** Logits (B, T, V) for token ids (B, T) int32, T ≤ contextLength. */
  forward(ids: tf.Tensor2D): tf.Tensor3D {
    return tf.tidy(() => this.run(ids, false).logits);
  }

  /**
   * Logits (B, T, V) plus every layer's attention keys and values (B·H, T, d_h) of the T positions: the
   * prefill of incremental decoding (src/lm/kvCache.ts). The caller owns the returned tensors.
   */
  forwardWithKeysValues(ids: tf.Tensor2D): { logits: tf.Tensor3D; keys: tf.Tensor3D[]; values: tf.Tensor3D[] } {
    return tf.tidy(() => {
      const { logits, keys, values } = this.run(ids, true);
      return { logits, keys, values };
    });
  }

  /**
   * The last block's output (B·T, d) before the final layer norm and the head: callers that need logits
   * at only some positions apply `head` to those rows (the scorer skips the last position, saving a slice
   * of the (B, T, V) logits).
   */
  hidden(ids: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => this.run(ids, false, false).hidden);
  }

  /**
   * Final hidden states LN_f(hᴸ) (B, T, d), the input of the output projection (a reward model's scalar head
   * reads them: src/fig2/rewardModel.ts). forward = hiddenStates · Eᵀ.
   */
  hiddenStates(ids: tf.Tensor2D): tf.Tensor3D {
    const [B, T] = ids.shape;
    return tf.tidy(
      () =>
        layerNorm(this.run(ids, false, false).hidden, this.p("lnf.g"), this.p("lnf.b")).reshape([
          B,
          T,
          this.config.dModel,
        ]) as tf.Tensor3D,
    );
  }

  private run(
    ids: tf.Tensor2D,
    keepKv: boolean,
    withHead = true,
  ): { logits: tf.Tensor3D; keys: tf.Tensor3D[]; values: tf.Tensor3D[]; hidden: tf.Tensor2D } {
    const [B, T] = ids.shape;
    const { nHeads: H, nLayers, contextLength, vocabSize } = this.config;
    if (T > contextLength)
      throw new Error(`Transformer.forward: sequence length ${T} exceeds contextLength ${contextLength}`);
    if (ids.dtype !== "int32") throw new Error(`Transformer.forward: ids must be int32, got ${ids.dtype}`);
    const mask = this.causalMask(T);
    let x = this.embed(ids);
    const keys: tf.Tensor3D[] = [];
    const values: tf.Tensor3D[] = [];
    for (let l = 0; l < nLayers; l++) {
      // One scope per block: its intermediates are freed when it ends (a gradient keeps what it saved), so
      // scoring without gradients holds one block's attention tensors at a time, not every layer's (issue
      // 26: 128 sequences at the large size held 3.8 GiB and ran the wasm heap out).
      const out: { x: tf.Tensor2D; k?: tf.Tensor3D; v?: tf.Tensor3D } = tf.tidy(() => {
        const o = block(x, this.block(l), B, T, H, mask);
        return keepKv ? o : { x: o.x };
      });
      x.dispose(); // the block's input, no longer needed (a gradient that needs it holds its own reference)
      x = out.x;
      if (keepKv) (keys.push(out.k as tf.Tensor3D), values.push(out.v as tf.Tensor3D));
    }
    const logits = withHead
      ? (this.head(x).reshape([B, T, vocabSize]) as tf.Tensor3D)
      : (undefined as unknown as tf.Tensor3D);
    return { logits, keys, values, hidden: x };
  }
  /** A copy with its own variables (e.g. the frozen reference next to a policy being trained). */
  clone(trainable = true): Transformer {
    const params = new Map<string, tf.Variable>();
    for (const [name, v] of this.params) params.set(name, ownedVariable(v.clone(), trainable));
    return new Transformer(this.config, params);
  }

  /** Copy the weights of another model with the same config into this one. */
  assignFrom(other: Transformer): void {
    for (const [name, v] of this.params) v.assign(other.p(name));
  }

  dispose(): void {
    for (const v of this.params.values()) v.dispose();
    this.mask?.dispose();
    this.mask = undefined;
    this.wteT?.t.dispose();
    this.wteT = undefined;
  }
}

/** The weights of one pre-norm block (names as in `parameterShapes`). */
export interface BlockParams {
  ln1: [tf.Tensor, tf.Tensor];
  wqkv: tf.Tensor;
  bqkv: tf.Tensor;
  wo: tf.Tensor;
  bo: tf.Tensor;
  ln2: [tf.Tensor, tf.Tensor];
  w1: tf.Tensor;
  b1: tf.Tensor;
  w2: tf.Tensor;
  b2: tf.Tensor;
}

/** (B·T, d) → (B·H, T, d_h): the heads of each row side by side. */
export function splitHeads(t: tf.Tensor, B: number, T: number, H: number): tf.Tensor3D {
  const dh = t.shape[t.rank - 1] / H;
  return tf.transpose(t.reshape([B, T, H, dh]), [0, 2, 1, 3]).reshape([B * H, T, dh]) as tf.Tensor3D;
}

/** (B·H, T, d_h) → (B·T, d): the inverse of splitHeads. */
export function mergeHeads(t: tf.Tensor, B: number, T: number, H: number): tf.Tensor2D {
  const dh = t.shape[2] as number;
  return tf.transpose(t.reshape([B, H, T, dh]), [0, 2, 1, 3]).reshape([B * T, H * dh]) as tf.Tensor2D;
}

/** Query, key and value heads (B·H, T, d_h) of LN₁(x) for x (B·T, d). */
export function qkvHeads(
  x: tf.Tensor2D,
  p: BlockParams,
  B: number,
  T: number,
  H: number,
): [tf.Tensor3D, tf.Tensor3D, tf.Tensor3D] {
  const a = layerNorm(x, p.ln1[0], p.ln1[1]);
  const qkv = addBias(mm(a, p.wqkv), p.bqkv); // (B·T, 3d)
  // Split first: wasm's rank-5 transpose is ~40x slower than rank 4.
  const [q, k, v] = tf.split(qkv, 3, 1).map((t) => splitHeads(t, B, T, H));
  return [q, k, v];
}

/** Causal multi-head attention softmax(QKᵀ/√d_h + M) V, heads merged: (B·H, T, d_h) each → (B·T, d). */
export function attention(
  q: tf.Tensor3D,
  k: tf.Tensor3D,
  v: tf.Tensor3D,
  mask: tf.Tensor2D,
  B: number,
  H: number,
): tf.Tensor2D {
  const [, T, dh] = q.shape;
  const scores = tf.add(tf.mul(mm(q, k, false, true), 1 / Math.sqrt(dh)), mask); // (B·H, T, T)
  return mergeHeads(mm(tf.softmax(scores), v), B, T, H);
}

/** The MLP sub-layer's output W₂ GELU(W₁ LN₂(x) + b₁) + b₂ for x (N, d). */
export function mlp(x: tf.Tensor2D, p: BlockParams): tf.Tensor2D {
  const m = layerNorm(x, p.ln2[0], p.ln2[1]);
  const hidden = gelu(addBias(mm(m, p.w1), p.b1)) as tf.Tensor2D;
  return addBias(mm(hidden, p.w2), p.b2);
}

/** One pre-norm block on x (B·T, d): x + Attn(LN₁ x), then + MLP(LN₂ ·); also returns its keys and values. */
export function block(
  x: tf.Tensor2D,
  p: BlockParams,
  B: number,
  T: number,
  H: number,
  mask: tf.Tensor2D,
): { x: tf.Tensor2D; k: tf.Tensor3D; v: tf.Tensor3D } {
  const [q, k, v] = qkvHeads(x, p, B, T, H);
  const attended = tf.add(x, addBias(mm(attention(q, k, v, mask, B, H), p.wo), p.bo)) as tf.Tensor2D;
  return { x: tf.add(attended, mlp(attended, p)) as tf.Tensor2D, k, v };
}

/** A trainable variable made from `init`, which is disposed (tf.variable keeps its own reference). */
export function ownedVariable(init: tf.Tensor, trainable = true): tf.Variable {
  const v = tf.variable(init, trainable);
  init.dispose();
  return v;
}

/** Every parameter's name and shape, in a fixed order. */
export function parameterShapes(config: TransformerConfig): Array<[string, number[]]> {
  const d = config.dModel;
  const h = d * (config.mlpRatio ?? 4);
  const out: Array<[string, number[]]> = [
    ["wte", [config.vocabSize, d]],
    ["wpe", [config.contextLength, d]],
  ];
  for (let l = 0; l < config.nLayers; l++) {
    out.push([`h${l}.ln1.g`, [d]], [`h${l}.ln1.b`, [d]], [`h${l}.attn.wqkv`, [d, 3 * d]], [`h${l}.attn.bqkv`, [3 * d]]);
    out.push([`h${l}.attn.wo`, [d, d]], [`h${l}.attn.bo`, [d]], [`h${l}.ln2.g`, [d]], [`h${l}.ln2.b`, [d]]);
    out.push([`h${l}.mlp.w1`, [d, h]], [`h${l}.mlp.b1`, [h]], [`h${l}.mlp.w2`, [h, d]], [`h${l}.mlp.b2`, [d]]);
  }
  out.push(["lnf.g", [d]], ["lnf.b", [d]]);
  return out;
}

function initParams(c: Required<TransformerConfig>, rng: Rng): Map<string, tf.Variable> {
  const params = new Map<string, tf.Variable>();
  const d = c.dModel;
  const h = d * c.mlpRatio;
  const residStd = 0.02 / Math.sqrt(2 * c.nLayers);
  const normal = (name: string, shape: number[], std: number): void => {
    params.set(name, ownedVariable(tf.randomNormal(shape, 0, std, "float32", rng.tfSeed())));
  };
  const constant = (name: string, shape: number[], value: number): void => {
    params.set(name, ownedVariable(tf.fill(shape, value)));
  };
  normal("wte", [c.vocabSize, d], 0.02);
  normal("wpe", [c.contextLength, d], 0.01);
  for (let l = 0; l < c.nLayers; l++) {
    constant(`h${l}.ln1.g`, [d], 1);
    constant(`h${l}.ln1.b`, [d], 0);
    normal(`h${l}.attn.wqkv`, [d, 3 * d], 0.02);
    constant(`h${l}.attn.bqkv`, [3 * d], 0);
    normal(`h${l}.attn.wo`, [d, d], residStd);
    constant(`h${l}.attn.bo`, [d], 0);
    constant(`h${l}.ln2.g`, [d], 1);
    constant(`h${l}.ln2.b`, [d], 0);
    normal(`h${l}.mlp.w1`, [d, h], 0.02);
    constant(`h${l}.mlp.b1`, [h], 0);
    normal(`h${l}.mlp.w2`, [h, d], residStd);
    constant(`h${l}.mlp.b2`, [d], 0);
  }
  constant("lnf.g", [d], 1);
  constant("lnf.b", [d], 0);
  return params;
}
