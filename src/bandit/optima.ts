// Closed-form optima of the bandit objectives, used as ground truth by notebooks 03–04 and the tests.
import type { PairDataset } from "./datasets";
import { softmaxRow, type PolicyTable } from "./tabular";

/** IPO §5.3.1: two actions, y1 always preferred, uniform π_ref: π*(y1) = σ(1/(2τ)) = σ(0.5/τ). */
export function ipoTwoActionOptimum(tau: number): number {
  return 1 / (1 + Math.exp(-0.5 / tau));
}

/**
 * The minimiser of IPO's empirical loss Σ_i (h_i − 1/(2τ))² over tabular logits, where
 * h_i = log[π(y_w)/π(y_l)] − log[π_ref(y_w)/π_ref(y_l)] (Azar et al. 2023, eq. 17).
 * Per prompt, h_i = (θ_w − θ_l) − c_i is linear in θ, so this is least squares: the normal equations
 * L θ = b with L = Σ (e_w − e_l)(e_w − e_l)ᵀ (a graph Laplacian) and b = Σ (1/(2τ) + c_i)(e_w − e_l).
 * θ is fixed up to a constant, so θ[0] = 0 is pinned. Throws unless each prompt's comparisons connect
 * all M responses (otherwise the optimum is not unique).
 */
export function ipoEmpiricalOptimum(data: PairDataset, tau: number, ref: PolicyTable): PolicyTable {
  const { nPrompts: K, nResponses: M } = data;
  const target = 1 / (2 * tau);
  return Array.from({ length: K }, (_, x) => {
    const L = Array.from({ length: M }, () => new Array<number>(M).fill(0));
    const b = new Array<number>(M).fill(0);
    const seen = new Set<number>();
    for (const p of data.pairs) {
      if (p.prompt !== x) continue;
      const w = p.chosen;
      const l = p.rejected;
      seen.add(w).add(l);
      const ci = Math.log(ref[x][w]) - Math.log(ref[x][l]);
      L[w][w] += 1;
      L[l][l] += 1;
      L[w][l] -= 1;
      L[l][w] -= 1;
      b[w] += target + ci;
      b[l] -= target + ci;
    }
    // Pin θ[0] = 0 and solve the reduced system for θ[1..M).
    const free = Array.from({ length: M - 1 }, (_, i) => i + 1);
    const sol =
      seen.size === M
        ? solveLinear(
            free.map((i) => free.map((j) => L[i][j])),
            free.map((i) => b[i]),
          )
        : null;
    if (sol === null)
      throw new Error(`ipoEmpiricalOptimum: prompt ${x}'s comparisons do not connect all ${M} responses`);
    return softmaxRow([0, ...sol]);
  });
}

/** Gaussian elimination with partial pivoting; null if (numerically) singular. */
export function solveLinear(A: number[][], b: number[]): number[] | null {
  const n = b.length;
  const M = A.map((row, i) => [...row, b[i]]);
  for (let col = 0; col < n; col++) {
    let piv = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(M[r][col]) > Math.abs(M[piv][col])) piv = r;
    if (Math.abs(M[piv][col]) < 1e-12) return null;
    [M[col], M[piv]] = [M[piv], M[col]];
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = M[r][col] / M[col][col];
      for (let c = col; c <= n; c++) M[r][c] -= f * M[col][c];
    }
  }
  return M.map((row, i) => row[n] / row[i]);
}
