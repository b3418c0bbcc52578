// Best-of-N sampling (rejection sampling; Stiennon et al. 2020, Nakano et al. 2021; the DPO paper's
// Best-of-N baseline, Rafailov et al. 2023 §6.2): draw N completions from the SFT model, return the one a
// *selection* reward scores highest, and measure the result with the ground truth.
//
// Which reward selects: as in the paper, the learned reward model ("best-of-n", the deployable method),
// and, as an oracle upper bound, the ground-truth classifier itself ("best-of-n-gt").
//
// KL: for the best of N i.i.d. draws (continuous scores, no ties) the standard analytic value is
//   KL(π_BoN ‖ π_ref) = log N − (N − 1)/N
// (Stiennon et al. 2020, App. G; Beirami et al. 2024 prove it is an upper bound on the true KL). We report
// it, as the literature does; for N = 1 it is 0.
//
// With M·N samples per prompt drawn once, Best-of-N for every N that divides M·N uses disjoint blocks of N
// consecutive samples: M·N/N selections per prompt, so every N is an unbiased estimate from the same draws.

/** The analytic KL of best-of-N selection, log N − (N−1)/N: an upper bound on the true KL (Beirami et al. 2024). */
export function bestOfNKl(n: number): number {
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`bestOfNKl: N must be a positive integer, got ${n}`);
  return Math.log(n) - (n - 1) / n;
}

/**
 * Indices (into `scores`) of the best sample of each disjoint block of `n`: block j covers
 * [j·n, (j+1)·n); ties keep the earliest. `scores.length` must be a multiple of `n`.
 */
export function bestOfNIndices(scores: readonly number[], n: number): number[] {
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`bestOfNIndices: N must be a positive integer, got ${n}`);
  if (scores.length % n !== 0)
    throw new Error(`bestOfNIndices: ${scores.length} samples do not split into blocks of ${n}`);
  const out: number[] = [];
  for (let start = 0; start < scores.length; start += n) {
    let best = start;
    for (let i = start + 1; i < start + n; i++) {
      if (!Number.isFinite(scores[i])) throw new Error(`bestOfNIndices: score ${i} is ${scores[i]}`);
      if (scores[i] > scores[best]) best = i;
    }
    out.push(best);
  }
  return out;
}

export interface BestOfNPromptResult {
  /** Mean ground-truth reward of the selected samples of this prompt. */
  reward: number;
  /** Mean of `extra` scores of the selected samples (e.g. an independent judge). */
  extras: number[];
  selected: number[];
}

/**
 * Best-of-N for one prompt: select with `selectBy`, report the mean of `measure` (and of every `extras`
 * array) over the selected samples.
 */
export function bestOfNForPrompt(
  selectBy: readonly number[],
  measure: readonly number[],
  n: number,
  extras: ReadonlyArray<readonly number[]> = [],
): BestOfNPromptResult {
  if (selectBy.length !== measure.length)
    throw new Error(`bestOfNForPrompt: ${selectBy.length} selection scores but ${measure.length} measured`);
  const selected = bestOfNIndices(selectBy, n);
  const avg = (xs: readonly number[]) => selected.reduce((s, i) => s + xs[i], 0) / selected.length;
  return { reward: avg(measure), extras: extras.map(avg), selected };
}

/** Powers of 4 up to `maxN` (1, 4, 16, 64 for 64): the paper-style N grid. */
export function bestOfNGrid(maxN: number): number[] {
  const out: number[] = [];
  for (let n = 1; n <= maxN; n *= 4) out.push(n);
  return out;
}
