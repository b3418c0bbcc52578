// Maximum-likelihood Bradley–Terry utilities from pairwise comparisons, by Newton's method in Float64.
import { assertMleExists } from "./comparisonGraph";

export interface RankingFitOptions {
  /** L2 penalty (l2/2)·Σθ² on the utilities; > 0 makes the estimate exist for any data. Default 0. */
  l2?: number;
  /** Stop when max_i |∂objective/∂θ_i| ≤ tolerance · (number of comparisons). Default 1e-10. */
  tolerance?: number;
  maxIterations?: number;
  /** Names used in error messages. */
  itemNames?: string[];
}

export interface RankingFit {
  /** θ_i, centred to mean 0. */
  utilities: number[];
  /** Σ log P(observed data | θ), without the penalty. */
  logLikelihood: number;
  iterations: number;
  converged: boolean;
  method: "newton" | "mm";
}

const log1pExp = (x: number): number => (x > 0 ? x + Math.log1p(Math.exp(-x)) : Math.log1p(Math.exp(x)));
const sigmoid = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

export function checkItems(where: string, items: ArrayLike<number>, nItems: number, what: string): void {
  for (let k = 0; k < items.length; k++) {
    const i = items[k];
    if (!(Number.isInteger(i) && i >= 0 && i < nItems))
      throw new Error(`${where}: ${what}[${k}] = ${i} is not an item index in [0, ${nItems})`);
  }
}

/**
 * Bradley–Terry (1952) MLE: maximise Σ_{(w,l)} log σ(θ_w − θ_l) − (l2/2)‖θ‖² by Newton's method with
 * backtracking (the objective is concave; the Hessian is the comparison graph's Laplacian weighted by
 * p(1−p), made definite by the constraint Σθ = 0, i.e. adding 11ᵀ/n when l2 = 0). Converges
 * quadratically; `iterations` counts Newton steps. Without l2, throws naming the items when the MLE does
 * not exist (the "i beat j" graph is not strongly connected).
 */
export function fitBradleyTerry(
  pairs: Array<[number, number]>,
  nItems: number,
  options: RankingFitOptions = {},
): RankingFit {
  const where = "fitBradleyTerry (src/rewardModels/bradleyTerry.ts)";
  const { l2 = 0, tolerance = 1e-10, maxIterations = 200 } = options;
  if (!(Number.isInteger(nItems) && nItems >= 2))
    throw new Error(`${where}: nItems must be an integer >= 2, got ${nItems}`);
  if (!(l2 >= 0 && Number.isFinite(l2))) throw new Error(`${where}: l2 must be finite and >= 0, got ${l2}`);
  pairs.forEach((p, k) => {
    checkItems(where, p, nItems, `pairs[${k}]`);
    if (p.length !== 2 || p[0] === p[1])
      throw new Error(`${where}: pairs[${k}] = [${p}] must be [winner, loser] of two distinct items`);
  });
  if (l2 === 0) assertMleExists(where, pairs, nItems, options.itemNames);

  // Aggregate: wins[i*n + j] = number of times i beat j.
  const n = nItems;
  const wins = new Float64Array(n * n);
  for (const [w, l] of pairs) wins[w * n + l]++;
  const edges: Array<[number, number, number, number]> = []; // i < j, w_ij, w_ji
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++)
      if (wins[i * n + j] + wins[j * n + i] > 0) edges.push([i, j, wins[i * n + j], wins[j * n + i]]);

  const objective = (th: Float64Array): number => {
    let f = 0;
    for (const [i, j, wij, wji] of edges) {
      const d = th[i] - th[j];
      f -= wij * log1pExp(-d) + wji * log1pExp(d);
    }
    let sq = 0;
    for (let i = 0; i < n; i++) sq += th[i] * th[i];
    return f - 0.5 * l2 * sq;
  };

  let theta = new Float64Array(n);
  let f = objective(theta);
  const scale = tolerance * Math.max(1, pairs.length);
  let iterations = 0;
  let converged = false;
  for (; iterations <= maxIterations; iterations++) {
    const g = new Float64Array(n);
    const h = new Float64Array(n * n); // −Hessian (+ 11ᵀ/n)
    for (const [i, j, wij, wji] of edges) {
      const p = sigmoid(theta[i] - theta[j]);
      const r = wij - (wij + wji) * p;
      g[i] += r;
      g[j] -= r;
      const c = (wij + wji) * p * (1 - p);
      h[i * n + i] += c;
      h[j * n + j] += c;
      h[i * n + j] -= c;
      h[j * n + i] -= c;
    }
    let gmax = 0;
    for (let i = 0; i < n; i++) {
      g[i] -= l2 * theta[i];
      h[i * n + i] += l2;
      gmax = Math.max(gmax, Math.abs(g[i]));
    }
    if (gmax <= scale) {
      converged = true;
      break;
    }
    if (iterations === maxIterations) break;
    if (l2 === 0) for (let k = 0; k < n * n; k++) h[k] += 1 / n;
    const step = choleskySolve(h, g, n);
    // Predicted increase ½ gᵀδ: once it is below float64 resolution of f, a line search cannot see progress,
    // but the full Newton step is then the right one (quadratic region); take it.
    let predicted = 0;
    for (let i = 0; i < n; i++) predicted += 0.5 * g[i] * step[i];
    if (predicted <= 1e-11 * (1 + Math.abs(f))) {
      theta = theta.map((v, i) => v + step[i]);
      f = objective(theta);
      continue;
    }
    let t = 1;
    let next = theta;
    let fNext = -Infinity;
    for (let ls = 0; ls < 60; ls++) {
      next = theta.map((v, i) => v + t * step[i]);
      fNext = objective(next);
      if (fNext >= f) break;
      t /= 2;
    }
    if (!(fNext >= f)) break; // no ascent possible at float64 precision
    theta = next;
    f = fNext;
  }
  const mean = theta.reduce((a, b) => a + b, 0) / n;
  const utilities = Array.from(theta, (v) => v - mean);
  let sq = 0;
  for (const v of theta) sq += v * v;
  return { utilities, logLikelihood: objective(theta) + 0.5 * l2 * sq, iterations, converged, method: "newton" };
}

/** Solves A x = b for symmetric positive-definite A (row-major n×n), by Cholesky. */
export function choleskySolve(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const l = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = a[i * n + j];
      for (let k = 0; k < j; k++) s -= l[i * n + k] * l[j * n + k];
      if (i === j) {
        if (!(s > 0))
          throw new Error(`choleskySolve (src/rewardModels/bradleyTerry.ts): matrix not positive definite at row ${i}`);
        l[i * n + i] = Math.sqrt(s);
      } else {
        l[i * n + j] = s / l[j * n + j];
      }
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i];
    for (let k = 0; k < i; k++) s -= l[i * n + k] * y[k];
    y[i] = s / l[i * n + i];
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i];
    for (let k = i + 1; k < n; k++) s -= l[k * n + i] * x[k];
    x[i] = s / l[i * n + i];
  }
  return x;
}
