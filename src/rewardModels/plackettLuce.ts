// Maximum-likelihood Plackett–Luce utilities from rankings, by Hunter's (2004) MM algorithm in Float64.
import { assertMleExists } from "./comparisonGraph";
import { checkItems, type RankingFit, type RankingFitOptions } from "./bradleyTerry";

export interface PlackettLuceFitOptions extends RankingFitOptions {
  /**
   * "listed" (default): a ranking orders exactly the items it lists (stage k chooses among the items listed
   * from position k on). "all": a ranking is a top-m list out of ALL nItems (stage k chooses among every
   * item not listed before it), as samplePlackettLuceRanking(…, {length: m}) produces.
   */
  choiceSets?: "listed" | "all";
}

/**
 * Plackett–Luce (Plackett 1975; Luce 1959) MLE. A ranking y_1 ≻ … ≻ y_m (best first, m ≥ 2, any subset of
 * the items) has likelihood Π_{k<m} exp(θ_{y_k}) / Σ_{j≥k} exp(θ_{y_j}). Maximises Σ log-likelihood
 * − (l2/2)‖θ‖² by the MM algorithm of Hunter (2004, "MM algorithms for generalized Bradley–Terry models",
 * Sec. 5; the top-m case is his Sec. 5 setting with choice sets "all"): with w_i = number of stages item i wins and C_i = Σ_{stages whose choice set contains i}
 * 1/Σ_{j in the set} exp(θ_j), the minorising surrogate is maximised by θ_i = log(w_i / C_i) (l2 = 0), or
 * with l2 > 0 by the root of w_i − C_i e^θ − l2 θ = 0 (a 1-D Newton solve). The surrogate gradient equals
 * the true gradient at the current point, so convergence is tested on the true gradient. The utilities are
 * re-centred each step (shift-invariant likelihood; centring can only lower the penalty). On pairs it is
 * Bradley–Terry (same estimate as fitBradleyTerry). Throws naming items when the MLE does not exist (l2 = 0).
 */
export function fitPlackettLuce(
  rankings: number[][],
  nItems: number,
  options: PlackettLuceFitOptions = {},
): RankingFit {
  const where = "fitPlackettLuce (src/rewardModels/plackettLuce.ts)";
  const { l2 = 0, tolerance = 1e-10, maxIterations = 100000, choiceSets = "listed" } = options;
  if (choiceSets !== "listed" && choiceSets !== "all")
    throw new Error(`${where}: choiceSets must be "listed" or "all", got "${String(choiceSets)}"`);
  const all = choiceSets === "all";
  // Number of choice stages in a ranking of length m.
  const stagesOf = (m: number) => (all ? Math.min(m, nItems - 1) : m - 1);
  if (!(Number.isInteger(nItems) && nItems >= 2))
    throw new Error(`${where}: nItems must be an integer >= 2, got ${nItems}`);
  if (!(l2 >= 0 && Number.isFinite(l2))) throw new Error(`${where}: l2 must be finite and >= 0, got ${l2}`);
  let stages = 0;
  rankings.forEach((r, k) => {
    if (r.length < 2) throw new Error(`${where}: rankings[${k}] has ${r.length} items; a ranking needs at least 2`);
    checkItems(where, r, nItems, `rankings[${k}]`);
    if (new Set(r).size !== r.length) throw new Error(`${where}: rankings[${k}] = [${r}] repeats an item`);
    stages += stagesOf(r.length);
  });
  if (l2 === 0) {
    const seen = new Set<number>();
    const edges: Array<[number, number]> = [];
    const add = (w: number, l: number) => {
      if (!seen.has(w * nItems + l)) {
        seen.add(w * nItems + l);
        edges.push([w, l]);
      }
    };
    for (const r of rankings) {
      for (let a = 0; a < r.length; a++) for (let b = a + 1; b < r.length; b++) add(r[a], r[b]);
      if (all) {
        const listed = new Set(r);
        for (let a = 0; a < stagesOf(r.length); a++) for (let l = 0; l < nItems; l++) if (!listed.has(l)) add(r[a], l);
      }
    }
    assertMleExists(where, edges, nItems, options.itemNames);
  }
  const n = nItems;
  const wins = new Float64Array(n);
  for (const r of rankings) for (let k = 0; k < stagesOf(r.length); k++) wins[r[k]]++;

  let theta = new Float64Array(n);
  const c = new Float64Array(n);
  const gamma = new Float64Array(n);
  // Fills c (the C_i above) at theta and returns the log-likelihood.
  const accumulate = (): number => {
    c.fill(0);
    let ll = 0;
    const shift = Math.max(...theta);
    for (let i = 0; i < n; i++) gamma[i] = Math.exp(theta[i] - shift);
    let total = 0;
    for (let i = 0; i < n; i++) total += gamma[i];
    let everyItem = 0; // Σ 1/D over stages whose choice set is all unlisted items ("all" mode)
    for (const r of rankings) {
      const m = r.length;
      const k0 = stagesOf(m);
      const denom = new Float64Array(m);
      if (all) {
        // stage k chooses among every item not listed before position k
        let used = 0;
        for (let k = 0; k < k0; k++) {
          denom[k] = Math.max(total - used, gamma[r[k]]);
          used += gamma[r[k]];
        }
      } else {
        let s = 0;
        for (let k = m - 1; k >= 0; k--) {
          s += gamma[r[k]];
          denom[k] = s;
        }
      }
      // 1/D_k accumulates forwards onto the items still in the choice set.
      let inv = 0;
      for (let k = 0; k < k0; k++) {
        inv += 1 / denom[k];
        ll += theta[r[k]] - shift - Math.log(denom[k]);
        c[r[k]] += inv;
      }
      if (all) {
        // unlisted items sit in every stage's choice set: add `inv` to all, then correct the listed ones
        everyItem += inv;
        for (let k = 0; k < m; k++) c[r[k]] -= inv;
        for (let k = k0; k < m; k++) c[r[k]] += inv; // a listed item after the last stage (m = nItems)
      } else {
        for (let k = k0; k < m; k++) c[r[k]] += inv; // the last-placed item was in every choice set
      }
    }
    if (everyItem !== 0) for (let i = 0; i < n; i++) c[i] += everyItem;
    for (let i = 0; i < n; i++) c[i] *= Math.exp(-shift); // C_i in terms of exp(θ), not exp(θ − shift)
    return ll;
  };

  let iterations = 0;
  let converged = false;
  let ll = accumulate();
  const scale = tolerance * Math.max(1, stages);
  for (; ; iterations++) {
    let gmax = 0;
    for (let i = 0; i < n; i++) gmax = Math.max(gmax, Math.abs(wins[i] - c[i] * Math.exp(theta[i]) - l2 * theta[i]));
    if (gmax <= scale) {
      converged = true;
      break;
    }
    if (iterations >= maxIterations) break;
    const next = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      if (l2 === 0) next[i] = Math.log(wins[i] / c[i]);
      else next[i] = solvePenalisedStep(wins[i], c[i], l2, theta[i]);
    }
    const mean = next.reduce((a, b) => a + b, 0) / n;
    theta = next.map((v) => v - mean);
    ll = accumulate();
  }
  return { utilities: Array.from(theta), logLikelihood: ll, iterations, converged, method: "mm" };
}

/** Root of w − C e^θ − l2 θ = 0 (strictly decreasing in θ), by safeguarded Newton from θ0. */
function solvePenalisedStep(w: number, c: number, l2: number, theta0: number): number {
  let t = theta0;
  for (let k = 0; k < 100; k++) {
    const e = c * Math.exp(t);
    const f = w - e - l2 * t;
    const step = f / (e + l2);
    // Newton on a convex decreasing function overshoots only downwards from the left; cap the step.
    t += Math.max(-20, Math.min(20, step));
    if (Math.abs(step) < 1e-15 * (1 + Math.abs(t))) break;
  }
  return t;
}
