// Limited-memory BFGS (Nocedal 1980; Nocedal & Wright, "Numerical Optimization", 2nd ed., Algorithm 7.4
// two-loop recursion, Algorithm 7.5 driver) with a backtracking Armijo line search. Deterministic, plain
// Float64Array arithmetic: used to fit the sentiment classifier's convex logistic-regression objective.

export interface LbfgsOptions {
  /** Maximum iterations (default 200). */
  iterations?: number;
  /** Stop when ‖∇f‖∞ ≤ tolerance (default 1e-6). */
  tolerance?: number;
  /** History size m (default 10). */
  memory?: number;
}

export interface LbfgsResult {
  x: Float64Array;
  value: number;
  gradInfNorm: number;
  iterations: number;
  converged: boolean;
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

function infNorm(a: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]));
  return m;
}

/**
 * Minimise f from x0. `fg(x, grad)` returns f(x) and writes ∇f(x) into `grad`.
 * The first direction is steepest descent scaled to unit length; later ones use the two-loop recursion with
 * H₀ = (sᵀy / yᵀy)·I. Pairs with sᵀy ≤ 0 are skipped (cannot happen on a strictly convex f, but safe).
 */
export function minimiseLbfgs(
  fg: (x: Float64Array, grad: Float64Array) => number,
  x0: Float64Array,
  opts: LbfgsOptions = {},
): LbfgsResult {
  const n = x0.length;
  const maxIt = opts.iterations ?? 200;
  const tol = opts.tolerance ?? 1e-6;
  const m = opts.memory ?? 10;
  let x = Float64Array.from(x0);
  let g = new Float64Array(n);
  let f = fg(x, g);
  if (!Number.isFinite(f)) throw new Error(`minimiseLbfgs: f(x0) is ${f}`);
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const rho: number[] = [];
  let it = 0;
  while (it < maxIt && infNorm(g) > tol) {
    it++;
    // Two-loop recursion: d = −H·g.
    const q = Float64Array.from(g);
    const alpha = new Array<number>(S.length);
    for (let k = S.length - 1; k >= 0; k--) {
      alpha[k] = rho[k] * dot(S[k], q);
      for (let i = 0; i < n; i++) q[i] -= alpha[k] * Y[k][i];
    }
    const last = S.length - 1;
    const gamma = last >= 0 ? dot(S[last], Y[last]) / dot(Y[last], Y[last]) : 1 / Math.max(Math.sqrt(dot(g, g)), 1e-12);
    for (let i = 0; i < n; i++) q[i] *= gamma;
    for (let k = 0; k < S.length; k++) {
      const beta = rho[k] * dot(Y[k], q);
      for (let i = 0; i < n; i++) q[i] += (alpha[k] - beta) * S[k][i];
    }
    const d = q.map((v) => -v);
    let slope = dot(g, d);
    if (!(slope < 0)) {
      // Not a descent direction (numerical trouble): restart from steepest descent.
      S.length = Y.length = rho.length = 0;
      for (let i = 0; i < n; i++) d[i] = -g[i];
      slope = -dot(g, g);
    }
    // Backtracking line search (Armijo, c1 = 1e-4).
    let step = 1;
    const xNew = new Float64Array(n);
    const gNew = new Float64Array(n);
    let fNew = Infinity;
    for (let tries = 0; tries < 50; tries++) {
      for (let i = 0; i < n; i++) xNew[i] = x[i] + step * d[i];
      fNew = fg(xNew, gNew);
      if (Number.isFinite(fNew) && fNew <= f + 1e-4 * step * slope) break;
      step *= 0.5;
    }
    if (!(fNew <= f)) break; // no decrease possible at float precision
    const s = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = xNew[i] - x[i];
      y[i] = gNew[i] - g[i];
    }
    const sy = dot(s, y);
    if (sy > 1e-12) {
      S.push(s);
      Y.push(y);
      rho.push(1 / sy);
      if (S.length > m) {
        S.shift();
        Y.shift();
        rho.shift();
      }
    }
    x = xNew;
    g = gNew;
    const decrease = f - fNew;
    f = fNew;
    if (decrease <= 1e-15 * Math.max(1, Math.abs(f))) break;
  }
  const gi = infNorm(g);
  return { x, value: f, gradInfNorm: gi, iterations: it, converged: gi <= tol };
}
