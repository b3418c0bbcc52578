// Tabular policies for the bandit setting: K prompts × M responses, π(y|x) = softmax(θ[x, :])_y.
// Everything here is plain Float64 JS on nested arrays ([K][M]) so that closed forms and checks are exact;
// the trainers keep their own flat buffers for speed.
import { seedStats } from "../stats";

/** A policy table: policy[x][y] = π(y|x); each row sums to 1. */
export type PolicyTable = number[][];

/** The uniform policy over M responses for each of K prompts. */
export function uniformPolicy(nPrompts: number, nResponses: number): PolicyTable {
  return Array.from({ length: nPrompts }, () => new Array<number>(nResponses).fill(1 / nResponses));
}

/** softmax of one row, max-shifted. */
export function softmaxRow(logits: ArrayLike<number>): number[] {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]);
  const e = Array.from(logits, (l) => Math.exp(l - max));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / z);
}

/** π = softmax(θ) row by row. */
export function softmaxPolicy(logits: number[][]): PolicyTable {
  return logits.map((row) => softmaxRow(row));
}

/** θ = log π (one choice of the logits that give π; any per-row constant can be added). */
export function policyLogits(policy: PolicyTable): number[][] {
  return policy.map((row) => row.map((p) => Math.log(p)));
}

/** Throws unless `policy` is K×M with non-negative rows summing to 1 (within tol). */
export function checkPolicy(policy: PolicyTable, name = "policy", tol = 1e-6): void {
  if (!Array.isArray(policy) || policy.length === 0) throw new Error(`${name} must be a non-empty [K][M] array`);
  const m = policy[0].length;
  policy.forEach((row, x) => {
    if (row.length !== m) throw new Error(`${name}[${x}] has ${row.length} responses, expected ${m}`);
    const s = row.reduce((a, b) => a + b, 0);
    if (row.some((p) => !(p >= 0)) || Math.abs(s - 1) > tol)
      throw new Error(`${name}[${x}] is not a distribution (sum ${s})`);
  });
}

/** KL(π‖π_ref) for each prompt: Σ_y π(y) log(π(y)/π_ref(y)). */
export function klPerPrompt(policy: PolicyTable, ref: PolicyTable): number[] {
  return policy.map((row, x) => row.reduce((s, p, y) => (p > 0 ? s + p * Math.log(p / ref[x][y]) : s), 0));
}

/** Mean over prompts (prompts weighted uniformly) of KL(π(·|x)‖π_ref(·|x)). */
export function meanKl(policy: PolicyTable, ref: PolicyTable): number {
  const k = klPerPrompt(policy, ref);
  return k.reduce((a, b) => a + b, 0) / k.length;
}

/** Mean over prompts of E_{y∼π(·|x)} r(x, y). */
export function meanExpectedReward(policy: PolicyTable, rewards: number[][]): number {
  return policy.reduce((s, row, x) => s + row.reduce((t, p, y) => t + p * rewards[x][y], 0), 0) / policy.length;
}

/** Mean over prompts of the total-variation distance ½ Σ_y |π(y|x) − π'(y|x)|. */
export function meanTotalVariation(a: PolicyTable, b: PolicyTable): number {
  return a.reduce((s, row, x) => s + 0.5 * row.reduce((t, p, y) => t + Math.abs(p - b[x][y]), 0), 0) / a.length;
}

/** Largest |π(y|x) − π'(y|x)| over all cells. */
export function maxAbsDifference(a: PolicyTable, b: PolicyTable): number {
  let m = 0;
  a.forEach((row, x) => row.forEach((p, y) => (m = Math.max(m, Math.abs(p - b[x][y])))));
  return m;
}

/**
 * The KL-regularised optimum in closed form, π*(y|x) = π_ref(y|x) exp(r(x,y)/β) / Z(x)
 * (Rafailov et al. 2023, eq. 4). A plain-JS twin of the core library's klRegularisedOptimum for tables.
 */
export function optimalPolicyTable(rewards: number[][], ref: PolicyTable, beta: number): PolicyTable {
  return rewards.map((row, x) => softmaxRow(row.map((r, y) => Math.log(ref[x][y]) + r / beta)));
}

/**
 * Mean and 95% confidence half-width over seeds or datasets: t_{0.975, n−1} · s/√n (Student-t, s with
 * n − 1), the same interval as the sweep summaries (src/stats.ts). Half-width NaN when n < 2 (no
 * interval) or when a value is not finite (a diverged run: the mean shows it, no CI pretends otherwise).
 */
export function meanCi95(values: number[]): { mean: number; half: number } {
  const stats = seedStats(values, 0.95);
  if (stats.nonFinite > 0) return { mean: values.reduce((a, b) => a + b, 0) / values.length, half: NaN };
  return { mean: stats.mean, half: stats.ciHalf };
}
