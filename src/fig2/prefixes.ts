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
// leak anything to the policy (the policy never reads the classifier's data; it is scored on its own
// completions), but it would inflate the judge's accuracy, so we keep it disjoint anyway.
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
  /** Sentences are cut to this many words (default 30; the LM's context). */
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

export interface PrefixSplit {
  /** Training sentences (SFT corpus; their prefixes are the training prompts). */
  trainSentences: SentimentExample[];
  /** Evaluation sentences (held-out perplexity; their prefixes are the evaluation prompts). */
  evalSentences: SentimentExample[];
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

/** Split labelled sentences by root into train/eval sentences and their 2–8-word prompts. */
export function makePrefixSplit(sentences: readonly SentimentExample[], opts: PrefixSplitOptions = {}): PrefixSplit {
  void sentences; void opts;
  throw new Error("not implemented yet");
}

/** The training sentences as LM documents (promptWords = the sentence's drawn prefix length). */
export function trainDocuments(split: PrefixSplit): Document[] {
  void split;
  throw new Error("not implemented yet");
}

/** The evaluation sentences as LM documents (held-out perplexity). */
export function evalDocuments(split: PrefixSplit): Document[] {
  void split;
  throw new Error("not implemented yet");
}

export interface PrefixLeak {
  prompt: string;
  /** Why it leaks: it is itself a training prompt, or some training text starts with it. */
  reason: "is-train-prompt" | "train-text-starts-with-it";
  /** The offending training text. */
  example: string;
}

/**
 * Evaluation prompts that leak into training: equal to a training prompt, or a word-level prefix of any
 * training text (SFT sentences, preference prompts+completions, reward-model data, PPO prompts: pass them
 * all in `trainTexts`). Empty when the split is sound.
 */
export function findPrefixLeaks(evalPrompts: readonly string[], trainTexts: readonly string[], trainPrompts: readonly string[] = []): PrefixLeak[] {
  void evalPrompts; void trainTexts; void trainPrompts;
  throw new Error("not implemented yet");
}

/** Throw, naming the first leaks, if any evaluation prompt reaches training (`findPrefixLeaks`). */
export function assertNoPrefixLeak(evalPrompts: readonly string[], trainTexts: readonly string[], trainPrompts: readonly string[] = [], where = "fig2"): void {
  void evalPrompts; void trainTexts; void trainPrompts; void where;
  throw new Error("not implemented yet");
}

/** Counts for the notebook's data table. */
export function prefixSplitSummary(split: PrefixSplit): Record<string, number> {
  void split;
  throw new Error("not implemented yet");
}
