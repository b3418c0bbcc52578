// Fitting real preference pairs into a fixed context: <bos> prompt completion [<eos>] ≤ contextLength tokens.
// Completions are cut from the RIGHT to at most `maxCompletionTokens` (a cut completion has no <eos>, so the
// model is never taught to stop where the cut fell); the prompt gets the room that is left by the longer of
// the two (cut) completions and is cut from the LEFT at turn boundaries ("\n\nHuman:" / "\n\nAssistant:"),
// keeping the last turns of a dialogue; only when even the last turn does not fit is it cut inside the turn
// (from its left). Every cut is counted in the returned stats, and a pair whose chosen and rejected token
// sequences become identical after the cut is dropped and counted, never silently.
import type { Sequence } from "./batching";

/** A tokenizer as this file needs it (WordTokenizer and BpeTokenizer both fit). */
export interface Encoder {
  encode(text: string): number[];
}

export interface TruncateOptions {
  contextLength: number;
  /** Longest completion kept (tokens, before <eos>); must leave room for <bos>, <eos> and one prompt token. */
  maxCompletionTokens: number;
}

export interface TruncationStats {
  pairs: number;
  kept: number;
  /** Prompts that lost whole turns from the left. */
  promptsCutAtTurns: number;
  /** Prompts whose (last kept) turn itself had to be cut from the left. */
  promptsCutInsideTurn: number;
  /** Completions cut from the right (chosen, rejected counted separately). */
  chosenCut: number;
  rejectedCut: number;
  /** Pairs dropped because chosen and rejected were the same tokens after the cut. */
  droppedIdentical: number;
  /** Prompt tokens kept / before the cut, over all kept pairs. */
  promptTokensKept: number;
  promptTokensTotal: number;
}

export interface TruncatedPair<T> {
  source: T;
  /** Index of the source pair in the input list. */
  index: number;
  chosenSeq: Sequence;
  rejectedSeq: Sequence;
}

/** Split a dialogue before each "\n\nHuman:" / "\n\nAssistant:" marker; the pieces concatenate back to it. */
export function splitTurns(prompt: string): string[] {
  const cuts = [0];
  const re = /\n\n(?:Human|Assistant):/g;
  for (let m = re.exec(prompt); m; m = re.exec(prompt)) if (m.index > 0) cuts.push(m.index);
  return cuts.map((c, i) => prompt.slice(c, cuts[i + 1] ?? prompt.length)).filter((t) => t.length > 0);
}

/**
 * The prompt's tokens (each turn encoded on its own, concatenated), cut from the left to at most `budget`
 * tokens at a turn boundary when possible. Returns the tokens and what was cut.
 */
export function truncatePrompt(
  tokenizer: Encoder,
  prompt: string,
  budget: number,
): { ids: number[]; total: number; cutAtTurns: boolean; cutInsideTurn: boolean } {
  const turns = splitTurns(prompt).map((t) => tokenizer.encode(t));
  const total = turns.reduce((s, t) => s + t.length, 0);
  if (total <= budget) return { ids: turns.flat(), total, cutAtTurns: false, cutInsideTurn: false };
  const kept: number[][] = [];
  let used = 0;
  for (let i = turns.length - 1; i >= 0 && used + turns[i].length <= budget; i--) {
    kept.unshift(turns[i]);
    used += turns[i].length;
  }
  if (kept.length > 0) return { ids: kept.flat(), total, cutAtTurns: true, cutInsideTurn: false };
  const last = turns[turns.length - 1];
  return {
    ids: budget > 0 ? last.slice(last.length - budget) : [],
    total,
    cutAtTurns: turns.length > 1,
    cutInsideTurn: true,
  };
}

/** Tokenize and fit pairs {prompt, chosen, rejected} (strings) into the context; see the file comment. */
export function truncatePairs<T extends { prompt: unknown; chosen: unknown; rejected: unknown }>(
  tokenizer: Encoder,
  pairs: readonly T[],
  opts: TruncateOptions,
): { pairs: TruncatedPair<T>[]; stats: TruncationStats } {
  const { contextLength: C, maxCompletionTokens: M } = opts;
  if (!Number.isInteger(M) || M < 1 || M > C - 3)
    throw new Error(
      `truncatePairs: maxCompletionTokens must be an integer in [1, ${C - 3}] for contextLength ${C}, got ${M}`,
    );
  const stats: TruncationStats = {
    pairs: pairs.length,
    kept: 0,
    promptsCutAtTurns: 0,
    promptsCutInsideTurn: 0,
    chosenCut: 0,
    rejectedCut: 0,
    droppedIdentical: 0,
    promptTokensKept: 0,
    promptTokensTotal: 0,
  };
  const out: TruncatedPair<T>[] = [];
  pairs.forEach((p, index) => {
    for (const f of ["prompt", "chosen", "rejected"] as const)
      if (typeof p[f] !== "string")
        throw new Error(`truncatePairs: pair ${index}: field "${f}" must be a string (flatten chat messages first)`);
    const cut = (text: string) => {
      const ids = tokenizer.encode(text);
      return ids.length > M ? { ids: ids.slice(0, M), cut: true } : { ids, cut: false };
    };
    const c = cut(p.chosen as string);
    const r = cut(p.rejected as string);
    // Room: <bos> + prompt + completion + <eos> ≤ C for the longer completion (the <eos> slot is kept even
    // when a cut completion has none, so both rows of a pair share one prompt).
    const prompt = truncatePrompt(tokenizer, p.prompt as string, C - 2 - Math.max(c.ids.length, r.ids.length));
    const seq = (x: { ids: number[]; cut: boolean }): Sequence => ({
      prompt: prompt.ids,
      completion: x.ids,
      ended: !x.cut,
    });
    const chosenSeq = seq(c);
    const rejectedSeq = seq(r);
    if (c.cut === r.cut && c.ids.length === r.ids.length && c.ids.every((id, i) => id === r.ids[i])) {
      stats.droppedIdentical++;
      return;
    }
    stats.kept++;
    if (prompt.cutAtTurns) stats.promptsCutAtTurns++;
    if (prompt.cutInsideTurn) stats.promptsCutInsideTurn++;
    if (c.cut) stats.chosenCut++;
    if (r.cut) stats.rejectedCut++;
    stats.promptTokensKept += prompt.ids.length;
    stats.promptTokensTotal += prompt.total;
    out.push({ source: p, index, chosenSeq, rejectedSeq });
  });
  return { pairs: out, stats };
}
