// Corpora for the language-model track: a seeded generator of short movie-review sentences (the offline
// default), a loader for rt-polarity (Pang & Lee 2005), and a loader for any plain-text file.
//
// Every corpus is a list of `Document`s: a sentence plus the number of leading words that form its
// prompt. SFT trains on whole sentences; RLAIF samples completions for the prompts.
import * as fs from "fs";
import * as path from "path";
import { requireDataFile } from "../data/registry";
import { Rng } from "../random";
import { splitWords } from "./tokenizer";

export interface Document {
  text: string;
  /** Leading words that form the prompt (the model continues from there). */
  promptWords: number;
  /** The source line was cut (at `maxWords`): the text does not end where the sentence did, so no <eos>. */
  truncated?: boolean;
}

export interface Corpus {
  name: string;
  docs: Document[];
}

// ---- The generated review grammar -------------------------------------------------------------
// Sentence = opening + description (+ optional second clause) + ".". A sentence first draws a polarity
// (positive 40 %, negative 40 %, neutral 20 %); its adjectives come from that polarity's list (with a 15 %
// chance of a contrasting one), so the SFT model learns a mixed distribution and a sentiment judge has
// something to prefer. Words were picked so that AFINN-165 scores the sentiment ones and not the rest.

export const REVIEW_WORDS = {
  film: ["movie", "film", "sequel", "drama", "comedy", "thriller", "story"],
  aspect: [
    "acting",
    "plot",
    "script",
    "ending",
    "soundtrack",
    "dialogue",
    "cast",
    "direction",
    "pacing",
    "camera work",
    "story",
    "characters",
    "music",
    "final act",
  ],
  positive: [
    "wonderful",
    "brilliant",
    "great",
    "charming",
    "delightful",
    "funny",
    "beautiful",
    "superb",
    "excellent",
    "fantastic",
    "amazing",
    "clever",
    "good",
    "enjoyable",
    "fresh",
    "lovely",
  ],
  negative: [
    "boring",
    "awful",
    "terrible",
    "dull",
    "bad",
    "stupid",
    "painful",
    "horrible",
    "weak",
    "ugly",
    "disappointing",
    "annoying",
    "pathetic",
    "poor",
    "lame",
    "messy",
  ],
  neutral: [
    "long",
    "slow",
    "ordinary",
    "predictable",
    "quiet",
    "loud",
    "strange",
    "familiar",
    "simple",
    "short",
    "dark",
    "old",
    "busy",
    "different",
  ],
  intensifier: ["very", "really", "quite", "rather", "truly", "somewhat", "a bit", "mostly"],
  openings: [
    "the {aspect} was",
    "the {aspect} is",
    "this {film} is",
    "this {film} was",
    "i found the {aspect}",
    "i thought the {film} was",
    "honestly the {aspect} felt",
    "overall this {film} is",
    "in the end the {film} was",
    "my friends said the {aspect} was",
  ],
  verdictPositive: ["i loved it", "i enjoyed it", "i would recommend it", "we laughed a lot", "worth seeing twice"],
  verdictNegative: ["i hated it", "i left early", "what a waste", "i want my money back", "skip this one"],
  verdictNeutral: ["it is what it is", "see it if you like", "nothing more to say", "it runs two hours"],
} as const;

type Polarity = "positive" | "negative" | "neutral";

function pick<T>(rng: Rng, xs: readonly T[]): T {
  return xs[rng.int(xs.length)];
}

function adjective(rng: Rng, polarity: Polarity): string {
  // A contrasting adjective now and then, so completions are not a deterministic function of the first word.
  const flip = rng.uniform() < 0.15;
  const pool: Polarity = flip ? (["positive", "negative", "neutral"] as Polarity[])[rng.int(3)] : polarity;
  const adj = pick(rng, REVIEW_WORDS[pool]);
  return rng.uniform() < 0.35 ? `${pick(rng, REVIEW_WORDS.intensifier)} ${adj}` : adj;
}

/** One review sentence from the grammar. */
export function generateReview(rng: Rng): Document {
  const r = rng.uniform();
  const polarity: Polarity = r < 0.4 ? "positive" : r < 0.8 ? "negative" : "neutral";
  const opening = pick(rng, REVIEW_WORDS.openings)
    .replace("{aspect}", pick(rng, REVIEW_WORDS.aspect))
    .replace("{film}", pick(rng, REVIEW_WORDS.film));
  const parts = [opening, adjective(rng, polarity)];
  const shape = rng.uniform();
  if (shape < 0.3) parts.push("and", adjective(rng, polarity));
  else if (shape < 0.5) {
    const other: Polarity = polarity === "positive" ? "negative" : polarity === "negative" ? "positive" : "neutral";
    parts.push(", but the", pick(rng, REVIEW_WORDS.aspect), "was", adjective(rng, other));
  } else if (shape < 0.75) {
    const verdicts =
      polarity === "positive"
        ? REVIEW_WORDS.verdictPositive
        : polarity === "negative"
          ? REVIEW_WORDS.verdictNegative
          : REVIEW_WORDS.verdictNeutral;
    parts.push(",", pick(rng, verdicts));
  }
  parts.push(".");
  const text = parts.join(" ").replace(/ ,/g, ",").replace(/ \./g, ".");
  return { text, promptWords: splitWords(opening).length };
}

/** `n` review sentences from `seed` (same seed → same corpus). */
export function generateReviewCorpus(n: number, seed = 0): Corpus {
  const rng = new Rng(seed).fork("review-corpus");
  return {
    name: `generated-reviews(n=${n}, seed=${seed})`,
    docs: Array.from({ length: n }, () => generateReview(rng)),
  };
}

// ---- Loaders for real text ---------------------------------------------------------------------

export interface TextLoadOptions {
  /** Leading words used as the prompt (default 3). */
  promptWords?: number;
  /** Keep lines with at least this many words (default promptWords + 2); shorter lines are counted, not silently lost. */
  minWords?: number;
  /** Cut lines to this many words (default 30) so they fit the model's context. */
  maxWords?: number;
  /** File encoding (default utf8). rt-polarity is Latin-1. */
  encoding?: BufferEncoding;
  /** Keep at most this many documents (after filtering; taken in file order). */
  limit?: number;
}

export interface LoadReport {
  corpus: Corpus;
  /** Lines read, and lines skipped for being shorter than `minWords` (reported, never silent). */
  lines: number;
  skippedShort: number;
}

/** Documents from lines of text (one sentence or snippet per line). */
export function documentsFromLines(name: string, lines: readonly string[], opts: TextLoadOptions = {}): LoadReport {
  const promptWords = opts.promptWords ?? 3;
  const minWords = opts.minWords ?? promptWords + 2;
  const maxWords = opts.maxWords ?? 30;
  const docs: Document[] = [];
  let skippedShort = 0;
  let lineCount = 0;
  for (const raw of lines) {
    const line = raw.trim();
    if (line === "") continue;
    lineCount++;
    const words = splitWords(line);
    if (words.length < minWords) {
      skippedShort++;
      continue;
    }
    docs.push(
      words.length > maxWords
        ? { text: words.slice(0, maxWords).join(" "), promptWords, truncated: true }
        : { text: words.join(" "), promptWords },
    );
    if (opts.limit !== undefined && docs.length >= opts.limit) break;
  }
  return { corpus: { name, docs }, lines: lineCount, skippedShort };
}

/** Documents from a plain-text file, one sentence per line (`\n` only: some corpora contain U+0085). */
export function loadTextFile(file: string, opts: TextLoadOptions = {}): LoadReport {
  if (!fs.existsSync(file)) throw new Error(`loadTextFile: ${file} does not exist`);
  const text = fs.readFileSync(file, opts.encoding ?? "utf8");
  return documentsFromLines(file, text.split("\n"), opts);
}

/**
 * rt-polarity (Pang & Lee 2005, sentence polarity v1.0): `rt-polarity.pos` and `.neg`, Latin-1 encoded,
 * interleaved pos/neg so any prefix slice is balanced. `dir` defaults to the copy the data registry finds
 * (../shared/data or the download cache; `npm run data -- fetch rt-polarity` puts it there).
 */
export function loadRtPolarity(dir?: string, opts: TextLoadOptions = {}): LoadReport {
  const read = (f: string): string[] => {
    const file = dir === undefined ? requireDataFile(`rt-polarity/${f}`, "rt-polarity") : path.join(dir, f);
    if (!fs.existsSync(file))
      throw new Error(`loadRtPolarity: ${file} does not exist (expected the Pang & Lee files there)`);
    return fs.readFileSync(file, "latin1").split("\n");
  };
  const pos = read("rt-polarity.pos");
  const neg = read("rt-polarity.neg");
  const lines: string[] = [];
  for (let i = 0; i < Math.max(pos.length, neg.length); i++) {
    if (i < pos.length) lines.push(pos[i]);
    if (i < neg.length) lines.push(neg[i]);
  }
  return documentsFromLines(`rt-polarity (${dir ?? "data registry"})`, lines, { ...opts, encoding: "latin1" });
}

/**
 * Deterministic split at the prompt level: a seeded `heldOutFraction` of the distinct openings (prompts,
 * at least one) is reserved, and every document whose words start with a reserved opening is held out.
 * So no training document, and hence no training prompt, starts with an evaluation prompt: a model
 * evaluated on `heldOutPrompts` has never seen them, in SFT or in any later stage.
 */
export function splitCorpusByPrompt(
  corpus: Corpus,
  heldOutFraction: number,
  seed = 0,
): { train: Document[]; heldOut: Document[]; heldOutPrompts: string[] } {
  if (!(heldOutFraction > 0 && heldOutFraction < 1))
    throw new Error(`splitCorpusByPrompt: heldOutFraction must be in (0, 1), got ${heldOutFraction}`);
  const openings = [...new Set(corpus.docs.map(promptOf))].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (openings.length < 2)
    throw new Error(
      `splitCorpusByPrompt: ${corpus.name} has ${openings.length} distinct prompt(s); need at least 2 to hold some out`,
    );
  const n = Math.min(openings.length - 1, Math.max(1, Math.round(openings.length * heldOutFraction)));
  const heldOutPrompts = new Rng(seed).fork("prompt-split").shuffle(openings).slice(0, n);
  const reserved = new Set(heldOutPrompts);
  const lengths = [...new Set(heldOutPrompts.map((p) => splitWords(p).length))];
  const train: Document[] = [];
  const heldOut: Document[] = [];
  for (const d of corpus.docs) {
    const words = splitWords(d.text);
    const startsReserved = lengths.some((k) => k <= words.length && reserved.has(words.slice(0, k).join(" ")));
    (startsReserved ? heldOut : train).push(d);
  }
  return { train, heldOut, heldOutPrompts };
}

/** Deterministic split into train / held-out documents by a seeded shuffle (sentence level: prompts are shared). */
export function splitCorpus(
  corpus: Corpus,
  heldOutFraction: number,
  seed = 0,
): { train: Document[]; heldOut: Document[] } {
  if (!(heldOutFraction > 0 && heldOutFraction < 1))
    throw new Error(`splitCorpus: heldOutFraction must be in (0, 1), got ${heldOutFraction}`);
  const docs = new Rng(seed).fork("split").shuffle(corpus.docs.slice());
  const nHeld = Math.max(1, Math.round(docs.length * heldOutFraction));
  return { heldOut: docs.slice(0, nHeld), train: docs.slice(nHeld) };
}

/** The prompt text of a document: its first `promptWords` words. */
export function promptOf(doc: Document): string {
  return splitWords(doc.text).slice(0, doc.promptWords).join(" ");
}
