// Checkpoints: one JSON file holding the model config, the tokenizer and every weight (float32, base64),
// written to a git-ignored folder (checkpoints/ by default). Loading restores bit-identical weights. The
// tokenizer is the word tokenizer or the byte-level BPE (src/lm/bpe.ts); loadCheckpoint(file, "bpe") reads
// the latter, and each refuses the other's checkpoint by name.
import * as fs from "fs";
import * as tf from "@tensorflow/tfjs";
import { Transformer, ownedVariable, type TransformerConfig } from "./transformer";
import { WordTokenizer, type TokenizerJson } from "./tokenizer";
import { BpeTokenizer, type BpeTokenizerJson } from "./bpe";
import { writeFileAtomic } from "../fsAtomic";

interface CheckpointJson {
  format: "prefopt-lm-checkpoint-v1";
  config: TransformerConfig;
  tokenizer: TokenizerJson | BpeTokenizerJson;
  weights: Record<string, { shape: number[]; data: string }>;
  meta?: Record<string, unknown>;
}

export const DEFAULT_CHECKPOINT_DIR = "checkpoints";

/** Write model + tokenizer to `file` (directories created), atomically. Returns the path. */
export function saveCheckpoint(
  file: string,
  model: Transformer,
  tokenizer: WordTokenizer | BpeTokenizer,
  meta?: Record<string, unknown>,
): string {
  const weights: CheckpointJson["weights"] = {};
  for (const [name, v] of model.params) {
    const data = v.dataSync() as Float32Array;
    weights[name] = {
      shape: v.shape,
      data: Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("base64"),
    };
  }
  const json: CheckpointJson = {
    format: "prefopt-lm-checkpoint-v1",
    config: model.config,
    tokenizer: tokenizer.toJSON(),
    weights,
    meta,
  };
  // All or nothing (src/fsAtomic.ts): a save that fails part-way leaves the previous checkpoint intact.
  writeFileAtomic(file, JSON.stringify(json));
  return file;
}

/** Read a checkpoint written by saveCheckpoint (with a word tokenizer, or with "bpe" a BPE one). */
export function loadCheckpoint(
  file: string,
  tokenizerKind?: "word",
): { model: Transformer; tokenizer: WordTokenizer; meta?: Record<string, unknown> };
export function loadCheckpoint(
  file: string,
  tokenizerKind: "bpe",
): { model: Transformer; tokenizer: BpeTokenizer; meta?: Record<string, unknown> };
export function loadCheckpoint(
  file: string,
  tokenizerKind: "word" | "bpe" = "word",
): { model: Transformer; tokenizer: WordTokenizer | BpeTokenizer; meta?: Record<string, unknown> } {
  if (!fs.existsSync(file)) throw new Error(`loadCheckpoint: ${file} does not exist`);
  const json = JSON.parse(fs.readFileSync(file, "utf8")) as CheckpointJson;
  if (json.format !== "prefopt-lm-checkpoint-v1")
    throw new Error(
      `loadCheckpoint: ${file}: field "format" is ${JSON.stringify(json.format)}, expected "prefopt-lm-checkpoint-v1"`,
    );
  const kind = json.tokenizer?.kind;
  if (kind !== tokenizerKind)
    throw new Error(
      `loadCheckpoint: ${file}: field "tokenizer.kind" is ${JSON.stringify(kind)}, expected "${tokenizerKind}"` +
        (kind === "bpe" || kind === "word" ? ` (load it with loadCheckpoint(file, "${kind}"))` : ""),
    );
  const tokenizer =
    json.tokenizer.kind === "bpe" ? BpeTokenizer.fromJSON(json.tokenizer) : WordTokenizer.fromJSON(json.tokenizer);
  const params = new Map<string, tf.Variable>();
  for (const [name, w] of Object.entries(json.weights)) {
    const buf = Buffer.from(w.data, "base64");
    const data = new Float32Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
    const size = w.shape.reduce((a, b) => a * b, 1);
    if (data.length !== size)
      throw new Error(`loadCheckpoint: ${file}: weight "${name}" has ${data.length} values for shape [${w.shape}]`);
    params.set(name, ownedVariable(tf.tensor(data, w.shape)));
  }
  let model: Transformer;
  try {
    model = new Transformer(json.config, params);
  } catch (err) {
    tf.dispose([...params.values()]);
    throw new Error(`loadCheckpoint: ${file}: ${(err as Error).message}`);
  }
  return { model, tokenizer, meta: json.meta };
}
