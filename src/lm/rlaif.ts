// RLAIF-style preference data (after Bai et al. 2022, "Constitutional AI"; Lee et al. 2023): draw K
// completions per prompt from the SFT model, score each with the constitution's rule-based judges (they
// stand in for an LLM judge; no model reads the principle texts), and emit
//   - pairs in TRL format {prompt, chosen, rejected} (best vs worst of the K), for DPO / IPO,
//   - best-first rankings of all K, for listwise DPO (Plackett–Luce); with noiseless labels a list in which
//     two samples score the same has no defined order there, so it is left out and counted (`tiedLists`),
//   - unpaired {prompt, completion, label} examples, for KTO (each pair split into a desirable and an
//     undesirable example, as TRL does when it unpairs a preference dataset).
// Optional label noise: orderings are sampled from Bradley–Terry / Plackett–Luce with utilities r/τ
// (Gumbel-max), so τ → 0 recovers the judge's ordering and large τ gives random labels.
import { Rng } from "../random";
import { judge, type Principle } from "./judges";
import { sampleGroups, type SampleOptions } from "./sampling";
import type { Sequence } from "./batching";
import type { Transformer } from "./transformer";
import type { PreferenceRecord } from "../data/types";
import type { WordTokenizer } from "./tokenizer";

export interface ScoredCompletion {
  seq: Sequence;
  text: string;
  score: number;
}

/** The data layer's preference record (TRL's format) plus the token ids the trainers use (no re-tokenisation). */
export interface TokenizedPair extends PreferenceRecord<string> {
  chosenSeq: Sequence;
  rejectedSeq: Sequence;
  scoreChosen: number;
  scoreRejected: number;
}

export interface RankedGroup {
  prompt: string;
  /** Completions best-first. */
  ranking: ScoredCompletion[];
}

/** TRL unpaired (KTO) record. */
export interface UnpairedExample {
  prompt: string;
  completion: string;
  label: boolean;
  seq: Sequence;
}

export interface RlaifOptions {
  /** Completions per prompt (K ≥ 2). */
  k: number;
  maxNewTokens: number;
  /** Sampling temperature / top-k for the candidates (default 1 / 0). */
  temperature?: number;
  topK?: number;
  /** Label-noise temperature τ: 0 (default) keeps the judge's ordering; τ > 0 samples it by BT/PL. */
  noiseTemperature?: number;
  seed?: number;
}

export interface RlaifData {
  pairs: TokenizedPair[];
  rankings: RankedGroup[];
  unpaired: UnpairedExample[];
  /** Prompts whose K completions all scored the same: no pair, no KTO examples, no list; reported, not hidden. */
  tiedPrompts: number;
  /**
   * Prompts left out of the listwise rankings because two of their samples tie (τ = 0 only; includes the
   * tiedPrompts). rankings.length + tiedLists = number of prompts.
   */
  tiedLists: number;
  /** Fraction of pairs whose label disagrees with the noiseless judge (0 when τ = 0). */
  flippedFraction: number;
}

/** Order items best-first: by score (τ = 0, ties by index), else by score/τ + Gumbel noise (Plackett–Luce). */
export function rankByScore(scores: readonly number[], rng: Rng, noiseTemperature = 0): number[] {
  const keys = scores.map((s) => (noiseTemperature > 0 ? s / noiseTemperature + rng.gumbel() : s));
  return Array.from(scores.keys()).sort((a, b) => keys[b] - keys[a] || a - b);
}

/** Build pairs, rankings and KTO examples from K scored completions per prompt. */
export function buildPreferenceData(
  groups: ScoredCompletion[][],
  prompts: readonly string[],
  rng: Rng,
  noiseTemperature = 0,
): RlaifData {
  const pairs: TokenizedPair[] = [];
  const rankings: RankedGroup[] = [];
  const unpaired: UnpairedExample[] = [];
  let tiedPrompts = 0;
  let tiedLists = 0;
  let flipped = 0;
  groups.forEach((group, i) => {
    if (group.length < 2)
      throw new Error(`buildPreferenceData: prompt ${i} has ${group.length} completions; need at least 2`);
    const order = rankByScore(
      group.map((g) => g.score),
      rng,
      noiseTemperature,
    );
    const ranking = order.map((j) => group[j]);
    // Noiseless labels: equal adjacent scores would be ordered by sample index, an order the judge never
    // gave, so the list does not train listwise DPO. (With τ > 0 the Gumbel draw is the label: kept.)
    if (noiseTemperature === 0 && ranking.some((c, j) => j > 0 && c.score === ranking[j - 1].score)) tiedLists++;
    else rankings.push({ prompt: prompts[i], ranking });
    const best = ranking[0];
    const worst = ranking[ranking.length - 1];
    if (noiseTemperature === 0 && best.score === worst.score) {
      tiedPrompts++;
      return;
    }
    if (best.score < worst.score) flipped++;
    pairs.push({
      prompt: prompts[i],
      chosen: best.text,
      rejected: worst.text,
      chosenSeq: best.seq,
      rejectedSeq: worst.seq,
      scoreChosen: best.score,
      scoreRejected: worst.score,
    });
    unpaired.push({ prompt: prompts[i], completion: best.text, label: true, seq: best.seq });
    unpaired.push({ prompt: prompts[i], completion: worst.text, label: false, seq: worst.seq });
  });
  return {
    pairs,
    rankings,
    unpaired,
    tiedPrompts,
    tiedLists,
    flippedFraction: pairs.length ? flipped / pairs.length : 0,
  };
}

/** Sample K completions per prompt from `model`, judge them, and build the preference data. */
export function generateRlaifData(
  model: Transformer,
  tokenizer: WordTokenizer,
  prompts: readonly string[],
  constitution: readonly Principle[],
  opts: RlaifOptions,
): RlaifData & { groups: ScoredCompletion[][] } {
  if (!(opts.k >= 2)) throw new Error(`generateRlaifData: k must be at least 2, got ${opts.k}`);
  const rng = new Rng(opts.seed ?? 0);
  const sampleOpts: SampleOptions = {
    maxNewTokens: opts.maxNewTokens,
    temperature: opts.temperature ?? 1,
    topK: opts.topK ?? 0,
  };
  const promptIds = prompts.map((p) => tokenizer.encode(p));
  const seqGroups = sampleGroups(model, promptIds, opts.k, rng.fork("samples"), sampleOpts);
  const groups = seqGroups.map((g, i) =>
    g.map((seq) => {
      const text = tokenizer.decode(seq.completion);
      return { seq, text, score: judge(constitution, prompts[i], text).total };
    }),
  );
  return { ...buildPreferenceData(groups, prompts, rng.fork("labels"), opts.noiseTemperature ?? 0), groups };
}

/**
 * Word-tokenizer text ("superb , i loved it .") back to ordinary spacing ("superb, i loved it."): no space
 * before , . ! ? ; : % ) ] } and none after ( [ {. Lower case stays (the tokenizer lower-cased the text).
 */
export function detokenize(text: string): string {
  return text
    .replace(/ +([,.!?;:%)\]}])/g, "$1")
    .replace(/([(\[{]) +/g, "$1")
    .trim();
}

/**
 * Prompt and completion as TRL's standard (non-conversational) format expects them: ordinary spacing, and
 * the completion carries its own leading space, so that prompt + completion is the text
 * ({"prompt": "the plot was", "completion": " superb, i loved it."}); a completion that starts with
 * punctuation gets none (", but dull.").
 */
export function trlPromptCompletion(prompt: string, completion: string): { prompt: string; completion: string } {
  const p = detokenize(prompt);
  if (completion.trim() === "") return { prompt: p, completion: "" };
  const full = detokenize(`${prompt} ${completion}`);
  if (!full.startsWith(p))
    throw new Error(`trlPromptCompletion: ${JSON.stringify(full)} does not start with the prompt ${JSON.stringify(p)}`);
  return { prompt: p, completion: full.slice(p.length) };
}

/**
 * The pairs as TRL JSONL lines ({"prompt","chosen","rejected"} per line), in TRL's spacing convention
 * (`trlPromptCompletion`). The internal records keep the tokenizer's spacing; only the export changes.
 */
export function pairsToJsonl(pairs: readonly TokenizedPair[]): string {
  return (
    pairs
      .map((p) =>
        JSON.stringify({
          prompt: detokenize(p.prompt),
          chosen: trlPromptCompletion(p.prompt, p.chosen).completion,
          rejected: trlPromptCompletion(p.prompt, p.rejected).completion,
        }),
      )
      .join("\n") + "\n"
  );
}

/** The KTO examples as TRL JSONL lines ({"prompt","completion","label"} per line), TRL spacing as above. */
export function unpairedToJsonl(examples: readonly UnpairedExample[]): string {
  return (
    examples.map((e) => JSON.stringify({ ...trlPromptCompletion(e.prompt, e.completion), label: e.label })).join("\n") +
    "\n"
  );
}
