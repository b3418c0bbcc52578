// Simple, inspectable text features for reward models on real text: word tokens, a document-frequency
// vocabulary, bag-of-words vectors, and surface/lexicon features (length, AFINN sentiment via the
// `sentiment` package, punctuation, casing, links). Everything is deterministic.

interface SentimentResult {
  score: number;
  comparative: number;
  words: string[];
}
// The `sentiment` package (AFINN-165 lexicon with negation handling) ships no type declarations.
const Sentiment = require("sentiment") as new () => { analyze(text: string): SentimentResult };
const analyzer = new Sentiment();

/** Lower-cased word tokens: letters/digits with inner apostrophes ("don't"); HTML line breaks dropped. */
export function wordTokens(text: string): string[] {
  return (
    text
      .toLowerCase()
      .replace(/<br\s*\/?>/g, " ")
      .match(/[\p{L}\p{N}]+(?:'[\p{L}]+)?/gu) ?? []
  );
}

export interface WordVocabulary {
  words: string[];
  index: Map<string, number>;
}

/**
 * Words found in at least `minDocs` documents, most frequent (by document count) first, ties broken
 * alphabetically, at most `maxSize`. Build it from training documents only, so no held-out text leaks in.
 */
export function buildVocabulary(
  docs: string[][],
  opts: { minDocs?: number; maxSize?: number; stopWords?: Set<string> } = {},
): WordVocabulary {
  const minDocs = opts.minDocs ?? 5;
  const df = new Map<string, number>();
  for (const tokens of docs)
    for (const w of new Set(tokens)) if (!opts.stopWords?.has(w)) df.set(w, (df.get(w) ?? 0) + 1);
  const words = [...df.entries()]
    .filter(([, n]) => n >= minDocs)
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, opts.maxSize ?? Infinity)
    .map(([w]) => w);
  return { words, index: new Map(words.map((w, i) => [w, i])) };
}

/** Binary bag of words (1 if the word occurs), length |vocabulary|. */
export function bagOfWords(tokens: string[], vocab: WordVocabulary): Float32Array {
  const v = new Float32Array(vocab.words.length);
  for (const t of tokens) {
    const i = vocab.index.get(t);
    if (i !== undefined) v[i] = 1;
  }
  return v;
}

/** Names of surfaceFeatures' columns; counts enter as log(1 + count), and the names say so. */
export const SURFACE_FEATURES = [
  "log(1+chars)",
  "log(1+words)",
  "AFINN score",
  "AFINN per word",
  "AFINN words per word",
  "log(1+sentences)",
  "mean word length",
  "uppercase share",
  "log(1+exclamations)",
  "log(1+questions)",
  "has link",
  "first person share",
] as const;

/** Surface and lexicon features of one text, in SURFACE_FEATURES order. */
export function surfaceFeatures(text: string): number[] {
  const tokens = wordTokens(text);
  const n = Math.max(tokens.length, 1);
  const a = analyzer.analyze(text);
  const letters = text.match(/\p{L}/gu) ?? [];
  const upper = text.match(/\p{Lu}/gu) ?? [];
  const firstPerson = tokens.filter((t) => t === "i" || t === "me" || t === "my" || t === "i'm").length;
  return [
    Math.log1p(text.length),
    Math.log1p(tokens.length),
    a.score,
    a.score / n,
    a.words.length / n,
    Math.log1p((text.match(/[.!?]+(\s|$)/g) ?? []).length),
    tokens.reduce((s, t) => s + t.length, 0) / n,
    upper.length / Math.max(letters.length, 1),
    Math.log1p((text.match(/!/g) ?? []).length),
    Math.log1p((text.match(/\?/g) ?? []).length),
    /https?:\/\/|www\./i.test(text) ? 1 : 0,
    firstPerson / n,
  ];
}

/** Column means and standard deviations of `rows` (from training rows only), and z-scoring with them. */
export function standardizer(rows: number[][]): { mean: number[]; std: number[]; apply: (row: number[]) => number[] } {
  const d = rows[0]?.length ?? 0;
  const mean = Array.from({ length: d }, (_, j) => rows.reduce((s, r) => s + r[j], 0) / rows.length);
  const std = Array.from(
    { length: d },
    (_, j) => Math.sqrt(rows.reduce((s, r) => s + (r[j] - mean[j]) ** 2, 0) / rows.length) || 1,
  );
  return { mean, std, apply: (row) => row.map((x, j) => (x - mean[j]) / std[j]) };
}
