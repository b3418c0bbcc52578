// Prompts of the Figure 2 reproduction: prefixes of 2–8 words of rt-polarity sentences, split BY PROMPT so
// that no evaluation prefix, nor any sentence starting with one, reaches SFT, the preference data, the
// reward model or PPO.
//
// How: every sentence belongs to the group of its first two words (its "root"); whole roots are assigned
// to evaluation or training (a seeded shuffle of roots, filled until `evalFraction` of the sentences). An
// evaluation prefix has ≥ 2 words, so it starts with an evaluation root; a training sentence starts with a
// training root; hence no training sentence starts with an evaluation prefix, whatever the prefix lengths.
// `findPrefixLeaks` checks this directly (word by word) and `assertNoPrefixLeak` throws on any leak.
//
// The classifier (the ground-truth judge) is trained on the TRAINING sentences' labels only and tested on
// the evaluation sentences, so its reported accuracy is held out. Seeing evaluation sentences would not
// leak anything to the policy (the policy never reads the classifier's data, and it is scored on its own
// completions, not on those sentences; the paper's off-the-shelf classifier may well have seen IMDb), but
// it would inflate the judge's reported accuracy, so we keep the two disjoint anyway.
//
// Words are the LM tokenizer's (`splitWords`: lower case, punctuation marks are words), so a prompt of k
// words is exactly k tokens for the word-level model.
import { Rng } from "../random";
import { splitWords } from "../lm/tokenizer";
import type { Document } from "../lm/corpus";
import type { SentimentExample } from "./classifier";

export interface PrefixSplitOptions {
  /** Prefix lengths in words, drawn uniformly per sentence (defaults 2 and 8, as in the paper). */
  minPrefixWords?: number;
  maxPrefixWords?: number;
  /** Fraction of sentences (by whole roots) reserved for evaluation (default 0.2). */
  evalFraction?: number;
  /** Words per root (default 2 = minPrefixWords; must be ≤ minPrefixWords for the guarantee). */
  rootWords?: number;
  /** Sentences are cut to this many words for the LM (default 30; the classifier sees them whole). */
  maxWords?: number;
  seed?: number;
}

/** A prompt: the first `words` words of a sentence (tokenizer spacing, lower case). */
export interface PrefixPrompt {
  prompt: string;
  words: number;
  /** Index of the source sentence in the split's input. */
  source: number;
  /** The source sentence's label (1 positive, 0 negative): for stratified reporting only. */
  label: 0 | 1;
}

/** A sentence of the split: normalised text (tokenizer spacing), its label and its drawn prefix length. */
export interface SplitSentence extends SentimentExample {
  /** Words of this sentence's prompt (2–8, fewer than the sentence's words). */
  prefixWords: number;
  /** Index in the split's input. */
  source: number;
}

export interface PrefixSplit {
  /** Training sentences (SFT corpus and the classifier's training data; their prefixes are the training prompts). */
  trainSentences: SplitSentence[];
  /** Evaluation sentences (held-out perplexity and classifier accuracy; their prefixes are the evaluation prompts). */
  evalSentences: SplitSentence[];
  /** One prefix per training sentence, distinct prompts only (first occurrence kept), seeded order. */
  trainPrompts: PrefixPrompt[];
  /** One prefix per evaluation sentence, distinct prompts only, seeded order. */
  evalPrompts: PrefixPrompt[];
  /** Roots (first `rootWords` words) on each side. */
  trainRoots: number;
  evalRoots: number;
  /** Sentences dropped for being too short to give a 2-word prefix plus a completion (counted, not hidden). */
  skippedShort: number;
  options: Required<PrefixSplitOptions>;
}

const DEFAULTS: Required<PrefixSplitOptions> = {
  minPrefixWords: 2,
  maxPrefixWords: 8,
  evalFraction: 0.2,
  rootWords: 2,
  maxWords: 30,
  seed: 0,
};

function distinctPrompts(sentences: readonly SplitSentence[], rng: Rng): PrefixPrompt[] {
  const seen = new Set<string>();
  const out: PrefixPrompt[] = [];
  for (const s of sentences) {
    const prompt = splitWords(s.text).slice(0, s.prefixWords).join(" ");
    if (seen.has(prompt)) continue;
    seen.add(prompt);
    out.push({ prompt, words: s.prefixWords, source: s.source, label: s.label });
  }
  return rng.shuffle(out);
}

/** Split labelled sentences by root into train/eval sentences and their 2–8-word prompts. */
export function makePrefixSplit(sentences: readonly SentimentExample[], opts: PrefixSplitOptions = {}): PrefixSplit {
  const o: Required<PrefixSplitOptions> = { ...DEFAULTS, ...opts };
  if (!(Number.isInteger(o.minPrefixWords) && o.minPrefixWords >= 1 && o.maxPrefixWords >= o.minPrefixWords))
    throw new Error(
      `makePrefixSplit: need 1 ≤ minPrefixWords ≤ maxPrefixWords, got ${o.minPrefixWords}, ${o.maxPrefixWords}`,
    );
  if (!(o.rootWords >= 1 && o.rootWords <= o.minPrefixWords))
    throw new Error(
      `makePrefixSplit: rootWords (${o.rootWords}) must be in [1, minPrefixWords = ${o.minPrefixWords}], or a short evaluation prefix could start a training sentence`,
    );
  if (!(o.evalFraction > 0 && o.evalFraction < 1))
    throw new Error(`makePrefixSplit: evalFraction must be in (0, 1), got ${o.evalFraction}`);
  const rng = new Rng(o.seed).fork("fig2-prefix-split");
  const lengthRng = rng.fork("prefix-lengths");
  const kept: Array<SplitSentence & { root: string }> = [];
  let skippedShort = 0;
  sentences.forEach((s, source) => {
    const words = splitWords(s.text);
    // A prompt needs minPrefixWords words and at least one word after it (within the LM's cut).
    const usable = Math.min(words.length, o.maxWords);
    if (usable < o.minPrefixWords + 1) {
      skippedShort++;
      return;
    }
    const hi = Math.min(o.maxPrefixWords, usable - 1);
    const prefixWords = o.minPrefixWords + lengthRng.int(hi - o.minPrefixWords + 1);
    kept.push({
      text: words.join(" "),
      label: s.label,
      prefixWords,
      source,
      root: words.slice(0, o.rootWords).join(" "),
    });
  });
  if (kept.length === 0) throw new Error("makePrefixSplit: no sentence is long enough for a prompt and a completion");
  const bySize = new Map<string, number>();
  for (const s of kept) bySize.set(s.root, (bySize.get(s.root) ?? 0) + 1);
  const roots = [...bySize.keys()].sort();
  if (roots.length < 2)
    throw new Error(`makePrefixSplit: only ${roots.length} distinct root(s); cannot split by prompt`);
  const target = o.evalFraction * kept.length;
  const evalRoots = new Set<string>();
  let evalCount = 0;
  for (const r of rng.fork("roots").shuffle(roots)) {
    if (evalCount >= target || evalRoots.size === roots.length - 1) break;
    evalRoots.add(r);
    evalCount += bySize.get(r) as number;
  }
  const strip = ({ root: _root, ...s }: SplitSentence & { root: string }): SplitSentence => s;
  const trainSentences = kept.filter((s) => !evalRoots.has(s.root)).map(strip);
  const evalSentences = kept.filter((s) => evalRoots.has(s.root)).map(strip);
  const split: PrefixSplit = {
    trainSentences,
    evalSentences,
    trainPrompts: distinctPrompts(trainSentences, rng.fork("train-prompts")),
    evalPrompts: distinctPrompts(evalSentences, rng.fork("eval-prompts")),
    trainRoots: roots.length - evalRoots.size,
    evalRoots: evalRoots.size,
    skippedShort,
    options: o,
  };
  // The construction guarantees this; checking costs milliseconds and catches any future edit that breaks it.
  assertNoPrefixLeak(
    split.evalPrompts.map((p) => p.prompt),
    trainSentences.map((s) => s.text),
    split.trainPrompts.map((p) => p.prompt),
    "makePrefixSplit",
  );
  return split;
}

function toDocuments(sentences: readonly SplitSentence[], maxWords: number): Document[] {
  return sentences.map((s) => {
    const words = splitWords(s.text);
    return words.length > maxWords
      ? { text: words.slice(0, maxWords).join(" "), promptWords: s.prefixWords, truncated: true }
      : { text: s.text, promptWords: s.prefixWords };
  });
}

/** The training sentences as LM documents (promptWords = the sentence's drawn prefix length; cut at maxWords). */
export function trainDocuments(split: PrefixSplit): Document[] {
  return toDocuments(split.trainSentences, split.options.maxWords);
}

/** The evaluation sentences as LM documents (held-out perplexity). */
export function evalDocuments(split: PrefixSplit): Document[] {
  return toDocuments(split.evalSentences, split.options.maxWords);
}

export interface PrefixLeak {
  prompt: string;
  /** Why it leaks: it is itself a training prompt, or some training text starts with it. */
  reason: "is-train-prompt" | "train-text-starts-with-it";
  /** The offending training text (or prompt). */
  example: string;
}

/**
 * Evaluation prompts that leak into training: equal to a training prompt, or a word-level prefix of any
 * training text (SFT sentences, preference prompts + completions, reward-model data, PPO prompts: pass them
 * all in `trainTexts`). Compared word by word after `splitWords`, so spacing and case cannot hide a leak.
 * Empty when the split is sound.
 */
export function findPrefixLeaks(
  evalPrompts: readonly string[],
  trainTexts: readonly string[],
  trainPrompts: readonly string[] = [],
): PrefixLeak[] {
  const norm = (t: string) => splitWords(t).join(" ");
  const promptSet = new Map(trainPrompts.map((p) => [norm(p), p]));
  const lengths = [...new Set(evalPrompts.map((p) => splitWords(p).length))];
  const starts = new Map<string, string>();
  for (const t of [...trainTexts, ...trainPrompts]) {
    const w = splitWords(t);
    for (const k of lengths) {
      if (k > w.length) continue;
      const key = w.slice(0, k).join(" ");
      if (!starts.has(key)) starts.set(key, t);
    }
  }
  const leaks: PrefixLeak[] = [];
  for (const p of evalPrompts) {
    const key = norm(p);
    const asPrompt = promptSet.get(key);
    if (asPrompt !== undefined) leaks.push({ prompt: p, reason: "is-train-prompt", example: asPrompt });
    else if (starts.has(key))
      leaks.push({ prompt: p, reason: "train-text-starts-with-it", example: starts.get(key) as string });
  }
  return leaks;
}

/** Throw, naming the first leaks, if any evaluation prompt reaches training (`findPrefixLeaks`). */
export function assertNoPrefixLeak(
  evalPrompts: readonly string[],
  trainTexts: readonly string[],
  trainPrompts: readonly string[] = [],
  where = "fig2",
): void {
  const leaks = findPrefixLeaks(evalPrompts, trainTexts, trainPrompts);
  if (leaks.length > 0) {
    const show = leaks
      .slice(0, 3)
      .map((l) => `${JSON.stringify(l.prompt)} (${l.reason}: ${JSON.stringify(l.example)})`)
      .join("; ");
    throw new Error(`${where}: ${leaks.length} evaluation prompt(s) reach training: ${show}`);
  }
}

/** Counts for the notebook's data table. */
export function prefixSplitSummary(split: PrefixSplit): Record<string, number> {
  const meanWords = (ps: PrefixPrompt[]) => (ps.length ? ps.reduce((s, p) => s + p.words, 0) / ps.length : NaN);
  return {
    trainSentences: split.trainSentences.length,
    evalSentences: split.evalSentences.length,
    trainRoots: split.trainRoots,
    evalRoots: split.evalRoots,
    trainPrompts: split.trainPrompts.length,
    evalPrompts: split.evalPrompts.length,
    meanTrainPromptWords: meanWords(split.trainPrompts),
    meanEvalPromptWords: meanWords(split.evalPrompts),
    evalPositiveFraction:
      split.evalSentences.filter((s) => s.label === 1).length / Math.max(1, split.evalSentences.length),
    skippedShort: split.skippedShort,
  };
}
