// Rule-based AI feedback standing in for an LLM judge, organised as a "constitution": a list of principles,
// each with a judge that scores a completion, combined by fixed weights into one reward
//
//   r(x, y) = Σ_i w_i · judge_i(x, y)        (each judge in [−1, 1])
//
// Default judges: AFINN-165 sentiment (`sentiment` package), VADER (`vader-sentiment`, an independent
// lexicon and rule set, Hutto & Gilbert 2014), a length principle and a banned-word list. The judges are
// deterministic functions of the text, so the same samples always get the same labels. No model reads a
// principle's `text`: it documents what the judge function encodes (in Constitutional AI, Bai et al. 2022,
// an LLM reads the principles and does the judging).
import { splitWords } from "./tokenizer";

export interface Principle {
  name: string;
  /** The principle in words, as a constitution would state it (documentation: the `judge` function decides). */
  text: string;
  weight: number;
  /** Score in [−1, 1] for prompt x and completion y (plain text). */
  judge: (prompt: string, completion: string) => number;
}

export interface Judgement {
  total: number;
  parts: Record<string, number>;
}

interface SentimentAnalyzer {
  analyze(text: string): { score: number; comparative: number };
}
interface VaderModule {
  SentimentIntensityAnalyzer: { polarity_scores(text: string): { compound: number } };
}

let afinn: SentimentAnalyzer | undefined;
let vader: VaderModule | undefined;

/** AFINN-165 sum of word valences of prompt + completion, squashed: tanh(score / 4) ∈ (−1, 1). */
export function afinnSentiment(prompt: string, completion: string): number {
  if (!afinn) {
    const Ctor = require("sentiment") as new () => SentimentAnalyzer;
    afinn = new Ctor();
  }
  return Math.tanh(afinn.analyze(`${prompt} ${completion}`).score / 4);
}

/** VADER compound score of prompt + completion, already in [−1, 1]. */
export function vaderSentiment(prompt: string, completion: string): number {
  if (!vader) vader = require("vader-sentiment") as VaderModule;
  return vader.SentimentIntensityAnalyzer.polarity_scores(`${prompt} ${completion}`).compound;
}

/** 1 inside [lo, hi] words, falling linearly by 1/4 per word outside, floored at −1. */
export function lengthPrinciple(lo: number, hi: number): (prompt: string, completion: string) => number {
  return (_prompt, completion) => {
    const n = splitWords(completion).filter((w) => /[\p{L}\p{N}]/u.test(w)).length;
    const off = n < lo ? lo - n : n > hi ? n - hi : 0;
    return Math.max(-1, 1 - off / 4);
  };
}

/** −1 if the completion contains any banned word, else 0. */
export function bannedWordsPrinciple(banned: readonly string[]): (prompt: string, completion: string) => number {
  const set = new Set(banned.map((w) => w.toLowerCase()));
  return (_prompt, completion) => (splitWords(completion).some((w) => set.has(w)) ? -1 : 0);
}

export const DEFAULT_BANNED_WORDS = ["stupid", "pathetic", "lame", "ugly"];

/** The default constitution: be positive (two independent judges), be concise, don't insult. */
export function defaultConstitution(): Principle[] {
  return [
    {
      name: "afinn",
      text: "Prefer the response whose sentiment is warmer and more positive (AFINN-165 lexicon).",
      weight: 1,
      judge: afinnSentiment,
    },
    {
      name: "vader",
      text: "Prefer the response a second, independent sentiment judge (VADER) finds more positive.",
      weight: 1,
      judge: vaderSentiment,
    },
    {
      name: "length",
      text: "Prefer responses of 2 to 10 words: complete, not rambling.",
      weight: 0.5,
      judge: lengthPrinciple(2, 10),
    },
    {
      name: "no-insults",
      text: `Never use insulting words (${DEFAULT_BANNED_WORDS.join(", ")}).`,
      weight: 0.5,
      judge: bannedWordsPrinciple(DEFAULT_BANNED_WORDS),
    },
  ];
}

/** Score one completion against a constitution. */
export function judge(constitution: readonly Principle[], prompt: string, completion: string): Judgement {
  const parts: Record<string, number> = {};
  let total = 0;
  for (const p of constitution) {
    const s = p.judge(prompt, completion);
    if (!Number.isFinite(s))
      throw new Error(`judge: principle "${p.name}" returned ${s} for ${JSON.stringify(completion)}`);
    parts[p.name] = s;
    total += p.weight * s;
  }
  return { total, parts };
}

/** Largest possible total (every judge at +1); useful for normalising plots. */
export function maxScore(constitution: readonly Principle[]): number {
  return constitution.reduce((s, p) => s + Math.abs(p.weight), 0);
}
