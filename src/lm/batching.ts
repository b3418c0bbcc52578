// Token sequences → padded tensors. A sequence is <bos> prompt completion [<eos>]; the loss mask marks the
// positions whose NEXT token is scored (only completion tokens and the closing <eos>), so prompt and padding
// never contribute to a log-probability.
import * as tf from "@tensorflow/tfjs";
import { BOS, EOS, PAD } from "./tokenizer";

export interface Sequence {
  prompt: readonly number[];
  completion: readonly number[];
  /** Whether the completion ended with <eos> (a finished sentence); truncated samples have no <eos>. */
  ended: boolean;
}

export interface PackedBatch {
  /** Token ids (B, T), right-padded with <pad>. */
  ids: tf.Tensor2D;
  /** 1 where the token at t+1 is scored (B, T−1). */
  mask: tf.Tensor2D;
  /** Number of scored tokens per row. */
  lengths: number[];
}

/** The full token row of a sequence: <bos> prompt completion (<eos> if ended). */
export function sequenceTokens(s: Sequence): number[] {
  return [BOS, ...s.prompt, ...s.completion, ...(s.ended ? [EOS] : [])];
}

/** Pack sequences into (B, T) ids and the (B, T−1) completion mask; T = longest row unless given. */
export function packSequences(seqs: readonly Sequence[], contextLength: number, padTo?: number): PackedBatch {
  if (seqs.length === 0) throw new Error("packSequences: no sequences");
  const rows = seqs.map(sequenceTokens);
  const T = padTo ?? Math.max(2, ...rows.map((r) => r.length));
  if (T > contextLength)
    throw new Error(`packSequences: a sequence has ${T} tokens, more than contextLength ${contextLength}`);
  const B = rows.length;
  const ids = new Int32Array(B * T).fill(PAD);
  const mask = new Float32Array(B * (T - 1));
  const lengths: number[] = [];
  rows.forEach((r, b) => {
    if (r.length > T) throw new Error(`packSequences: row ${b} has ${r.length} tokens > padTo ${T}`);
    ids.set(r, b * T);
    // Target position j (predicting token j+1) is scored when token j+1 belongs to the completion / <eos>.
    const first = 1 + seqs[b].prompt.length; // index of the first completion token
    for (let j = first - 1; j < r.length - 1; j++) mask[b * (T - 1) + j] = 1;
    lengths.push(r.length - first);
  });
  return { ids: tf.tensor2d(ids, [B, T], "int32"), mask: tf.tensor2d(mask, [B, T - 1]), lengths };
}

/**
 * An SFT row for a text's token ids: the ids followed by <eos> when the text is complete and fits the
 * context (<bos> + ids + <eos> ≤ contextLength tokens); otherwise the first contextLength − 1 ids and no
 * <eos>, so a text cut short never teaches the model to stop where the cut fell.
 */
export function sftRow(ids: readonly number[], complete: boolean, contextLength: number): number[] {
  return complete && ids.length <= contextLength - 2 ? [...ids, EOS] : ids.slice(0, contextLength - 1);
}

/**
 * Whole-text rows for SFT: each row is the token ids after <bos>, ending in <eos> exactly when the text is
 * complete (build rows with `sftRow`); every token of the row is scored (prompt and <eos> included). A row
 * longer than contextLength − 1 is cut there and then has no <eos>.
 */
export function packTexts(tokenRows: readonly (readonly number[])[], contextLength: number): PackedBatch {
  return packSequences(
    tokenRows.map((r) => {
      const cut = r.length > contextLength - 1;
      const ids = cut ? r.slice(0, contextLength - 1) : r;
      const ended = !cut && ids.length > 0 && ids[ids.length - 1] === EOS;
      return { prompt: [], completion: ended ? ids.slice(0, -1) : ids, ended };
    }),
    contextLength,
  );
}

export function disposeBatch(b: PackedBatch): void {
  b.ids.dispose();
  b.mask.dispose();
}
