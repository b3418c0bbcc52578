// Preference data of the Figure 2 reproduction (DPO, Rafailov et al. 2023, §6.1): K = 4 samples per
// training prefix from the SFT model, each scored by the ground-truth reward r = p(positive), and from them
//   - all C(K, 2) = 6 pairs per prefix, chosen = the higher reward (deterministic labels), or sampled from
//     Bradley–Terry: P(y_i ≻ y_j) = σ((r_i − r_j)/τ) (optional, seeded);
//   - the K samples ranked best-first (listwise DPO / Plackett–Luce; with τ > 0 the order is a
//     Plackett–Luce draw with utilities r/τ, by Gumbel-max);
//   - unpaired KTO labels, one per sample: desirable ⇔ r > threshold (default 0.5: the judge calls the
//     whole text positive; an absolute judgement, as KTO's binary feedback is).
// Ties (|r_i − r_j| ≤ tieTolerance, which includes identical completions, whose rewards are equal) carry no
// preference: they are left out of the pairs and COUNTED; a ranking with a tie or a duplicate inside is left
// out of the rankings and counted. Empty completions (<eos> first) cannot be written as TRL text (an empty
// string is not a valid record), so they are left out of everything and counted.
//
// The data reach the trainers only through TRL's file formats (src/lm/trlFiles.ts: writeTrlFiles, then
// readTrlFiles re-tokenises them into the LM trainer's inputs); a user's own TRL file takes the same path
// (src/lm/trainOnTrlFile.ts); src/fig2/index.ts re-exports both, so pf.fig2's names keep working.
import { Rng } from "../random";
import {
  rankByScore,
  type TokenizedPair as PreferencePair,
  type RankedGroup,
  type RlaifData,
  type ScoredCompletion,
  type UnpairedExample,
} from "../lm/rlaif";
import { sampleGroups } from "../lm/sampling";
import type { WordTokenizer } from "../lm/tokenizer";
import type { Transformer } from "../lm/transformer";

/** A batched reward: reward[i] for (prompts[i], completions[i]), texts in tokenizer spacing. */
export type RewardFn = (prompts: readonly string[], completions: readonly string[]) => Float64Array;

/** K scored samples for one prompt. */
export interface ScoredGroup {
  prompt: string;
  samples: ScoredCompletion[];
}

export interface SampleGroupsOptions {
  /** Samples per prompt (default 4, the K). */
  k?: number;
  maxNewTokens: number;
  temperature?: number;
  seed?: number;
  batchSize?: number;
}

/** K samples per prompt from `model` (temperature 1 by default), scored by `reward` in one batch. */
export function sampleScoredGroups(
  model: Transformer,
  tokenizer: WordTokenizer,
  prompts: readonly string[],
  reward: RewardFn,
  opts: SampleGroupsOptions,
): ScoredGroup[] {
  const k = opts.k ?? 4;
  if (!(Number.isInteger(k) && k >= 2)) throw new Error(`sampleScoredGroups: k must be an integer ≥ 2, got ${k}`);
  const rng = new Rng(opts.seed ?? 0).fork("fig2-preference-samples");
  const seqs = sampleGroups(
    model,
    prompts.map((p) => tokenizer.encode(p)),
    k,
    rng,
    { maxNewTokens: opts.maxNewTokens, temperature: opts.temperature ?? 1, batchSize: opts.batchSize },
  );
  const flatPrompts: string[] = [];
  const flatTexts: string[] = [];
  seqs.forEach((g, i) =>
    g.forEach((s) => (flatPrompts.push(prompts[i]), flatTexts.push(tokenizer.decode(s.completion)))),
  );
  const scores = reward(flatPrompts, flatTexts);
  if (scores.length !== flatTexts.length)
    throw new Error(
      `sampleScoredGroups: the reward returned ${scores.length} scores for ${flatTexts.length} completions`,
    );
  return seqs.map((g, i) => ({
    prompt: prompts[i],
    samples: g.map((seq, j) => {
      const s = scores[i * k + j];
      if (!Number.isFinite(s))
        throw new Error(
          `sampleScoredGroups: reward ${s} for prompt ${JSON.stringify(prompts[i])}, completion ${JSON.stringify(flatTexts[i * k + j])}`,
        );
      return { seq, text: flatTexts[i * k + j], score: s };
    }),
  }));
}

export interface PairOptions {
  /** "deterministic" (default): chosen = higher reward; "bradley-terry": sampled with temperature τ. */
  labels?: "deterministic" | "bradley-terry";
  /** τ of the Bradley–Terry labels (default 0.1 on r ∈ [0, 1]). */
  temperature?: number;
  seed?: number;
  /** |r_i − r_j| ≤ tieTolerance is a tie (default 0; identical completions always tie). */
  tieTolerance?: number;
  /** KTO: desirable ⇔ r > desirableThreshold (default 0.5). */
  desirableThreshold?: number;
}

export interface PairStats {
  prompts: number;
  /** K(K−1)/2 per prompt. */
  candidatePairs: number;
  /** Pairs kept (candidatePairs − tiedPairs − pairs with an empty side). */
  pairs: number;
  /** Pairs left out as ties, and how many of those were identical completions. */
  tiedPairs: number;
  identicalPairs: number;
  /** Prompts whose K samples all tie (no pair at all). */
  tiedPrompts: number;
  /** Bradley–Terry labels that disagree with the reward order (0 for deterministic labels). */
  flippedPairs: number;
  rankings: number;
  /** Rankings left out because two of their samples tie (or one is empty). */
  tiedLists: number;
  desirable: number;
  undesirable: number;
  /** Samples with an empty completion, left out of everything. */
  emptyCompletions: number;
  /** Mean |r_chosen − r_rejected| over kept pairs. */
  meanMargin: number;
}

/** RlaifData (what trainPreference consumes) plus the counts above. */
export interface Fig2PreferenceData extends RlaifData {
  stats: PairStats;
}

/** Bradley–Terry label for one pair: true when i is preferred, drawn with P = σ((r_i − r_j)/τ). */
export function bradleyTerryLabel(ri: number, rj: number, temperature: number, rng: Rng): boolean {
  if (!(temperature > 0)) throw new Error(`bradleyTerryLabel: temperature must be > 0, got ${temperature}`);
  const p = 1 / (1 + Math.exp(-(ri - rj) / temperature));
  return rng.uniform() < p;
}

/** All pairs, rankings and KTO labels from scored groups (ties handled and counted, see the header). */
export function buildPairwiseData(groups: readonly ScoredGroup[], opts: PairOptions = {}): Fig2PreferenceData {
  const bt = (opts.labels ?? "deterministic") === "bradley-terry";
  const tau = opts.temperature ?? 0.1;
  const tol = opts.tieTolerance ?? 0;
  const threshold = opts.desirableThreshold ?? 0.5;
  if (bt && !(tau > 0)) throw new Error(`buildPairwiseData: Bradley–Terry labels need temperature > 0, got ${tau}`);
  const rng = new Rng(opts.seed ?? 0).fork("fig2-pair-labels");
  const pairs: PreferencePair[] = [];
  const rankings: RankedGroup[] = [];
  const unpaired: UnpairedExample[] = [];
  const st: PairStats = {
    prompts: groups.length,
    candidatePairs: 0,
    pairs: 0,
    tiedPairs: 0,
    identicalPairs: 0,
    tiedPrompts: 0,
    flippedPairs: 0,
    rankings: 0,
    tiedLists: 0,
    desirable: 0,
    undesirable: 0,
    emptyCompletions: 0,
    meanMargin: 0,
  };
  let marginSum = 0;
  for (const g of groups) {
    const s = g.samples;
    if (s.length < 2)
      throw new Error(`buildPairwiseData: prompt ${JSON.stringify(g.prompt)} has ${s.length} samples; need at least 2`);
    const empty = s.map((c) => c.text.trim() === "");
    st.emptyCompletions += empty.filter(Boolean).length;
    const tie = (i: number, j: number) => s[i].text === s[j].text || Math.abs(s[i].score - s[j].score) <= tol;
    let kept = 0;
    for (let i = 0; i < s.length; i++)
      for (let j = i + 1; j < s.length; j++) {
        st.candidatePairs++;
        if (empty[i] || empty[j]) continue;
        if (tie(i, j)) {
          st.tiedPairs++;
          if (s[i].text === s[j].text) st.identicalPairs++;
          continue;
        }
        const iWins = bt ? bradleyTerryLabel(s[i].score, s[j].score, tau, rng) : s[i].score > s[j].score;
        const [w, l] = iWins ? [s[i], s[j]] : [s[j], s[i]];
        if (w.score < l.score) st.flippedPairs++;
        pairs.push({
          prompt: g.prompt,
          chosen: w.text,
          rejected: l.text,
          chosenSeq: w.seq,
          rejectedSeq: l.seq,
          scoreChosen: w.score,
          scoreRejected: l.score,
        });
        marginSum += Math.abs(w.score - l.score);
        kept++;
      }
    if (kept === 0) st.tiedPrompts++;
    // Rankings: a list with a tie (or duplicate, or empty sample) has no order the judge gave: left out.
    const anyTie = s.some((_, i) => s.some((__, j) => j > i && tie(i, j)));
    if (anyTie || empty.some(Boolean)) st.tiedLists++;
    else {
      const order = rankByScore(
        s.map((c) => c.score),
        rng,
        bt ? tau : 0,
      );
      rankings.push({ prompt: g.prompt, ranking: order.map((i) => s[i]) });
    }
    s.forEach((c, i) => {
      if (empty[i]) return;
      const label = c.score > threshold;
      unpaired.push({ prompt: g.prompt, completion: c.text, label, seq: c.seq });
      if (label) st.desirable++;
      else st.undesirable++;
    });
  }
  st.pairs = pairs.length;
  st.rankings = rankings.length;
  st.meanMargin = pairs.length ? marginSum / pairs.length : NaN;
  return {
    pairs,
    rankings,
    unpaired,
    tiedPrompts: st.tiedPrompts,
    tiedLists: st.tiedLists,
    flippedFraction: pairs.length ? st.flippedPairs / pairs.length : 0,
    stats: st,
  };
}
