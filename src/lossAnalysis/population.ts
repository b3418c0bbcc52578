// Population optima of preference losses on tabular bandits: the exact expected loss over a known pair
// distribution (every ordered pair weighted by its probability, no sampling), minimised over the logits, and
// the closed forms it is checked against. π* = π_ref·exp(r/β)/Z is the KL-regularised optimum
// (Rafailov et al. 2023, Eq. 4); the question is where each loss's minimiser lies relative to it.
import { solveLinear } from "../bandit/optima";
import { softmaxRow, type PolicyTable } from "../bandit/tabular";
import type { FDivergence } from "../losses/options";
import { objectiveFor, type ObjectiveSpec, type WeightedPairs } from "./objective";
import { objectiveAt } from "./train";

const sigmoid = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
const logit = (p: number): number => Math.log(p / (1 - p));

export interface PairPopulation {
  nPrompts: number;
  nResponses: number;
  /** Every ordered pair (x, w, l) with its probability (weights sum to 1). */
  pairs: WeightedPairs;
}

/**
 * The population the bandit data are drawn from: a prompt uniformly, an unordered pair of distinct responses
 * with probability ∝ π_ref(i)·π_ref(j) (uniform for a uniform π_ref, as data/bandit-bt-pairs.jsonl), the
 * winner by Bradley–Terry P(i ≻ j) = σ(r_i − r_j), then the label flipped with probability `flip`.
 */
export function btPopulation(rewards: number[][], ref: PolicyTable, flip = 0): PairPopulation {
  if (!(flip >= 0 && flip < 0.5)) throw new Error(`btPopulation: flip must be in [0, ½), got ${flip}`);
  const K = rewards.length;
  const M = rewards[0].length;
  const rows: Array<[number, number, number, number]> = [];
  for (let x = 0; x < K; x++) {
    let z = 0;
    for (let i = 0; i < M; i++) for (let j = i + 1; j < M; j++) z += ref[x][i] * ref[x][j];
    for (let i = 0; i < M; i++) {
      for (let j = i + 1; j < M; j++) {
        const pair = (ref[x][i] * ref[x][j]) / z / K;
        const p = flip + (1 - 2 * flip) * sigmoid(rewards[x][i] - rewards[x][j]);
        rows.push([x, i, j, pair * p], [x, j, i, pair * (1 - p)]);
      }
    }
  }
  return {
    nPrompts: K,
    nResponses: M,
    pairs: {
      prompt: Int32Array.from(rows, (r) => r[0]),
      chosen: Int32Array.from(rows, (r) => r[1]),
      rejected: Int32Array.from(rows, (r) => r[2]),
      weight: Float64Array.from(rows, (r) => r[3]),
    },
  };
}

export interface PopulationOptimum {
  policy: PolicyTable;
  logits: number[][];
  loss: number;
  /** Largest |∂L/∂θ| at the end: ~0 at a minimiser (or a fixed point, for KTO's moving z0). */
  gradNorm: number;
  /** Largest spread max_y θ − min_y θ of log(π/π_ref) over prompts: grows without bound when there is no finite minimiser. */
  spread: number;
  /**
   * "to the boundary": spread > 20, some π(y) heading to 0 with no finite minimiser; else "minimiser" when
   * gradNorm < 1e-7 (a smooth stationary point); else "not stationary" (a kink, or a moving reference point).
   */
  status: "minimiser" | "to the boundary" | "not stationary";
}

/**
 * Minimises the population loss over tabular logits from θ = log π_ref: Adam with a learning rate decaying
 * from 0.05 to 5e-5 (adamSteps), then gradient descent with Armijo backtracking (polishSteps) to reach
 * |∇| ~ 1e-9 where a smooth minimiser exists.
 */
export function minimisePopulation(
  spec: ObjectiveSpec,
  pop: PairPopulation,
  ref: PolicyTable,
  o: { adamSteps?: number; polishSteps?: number } = {},
): PopulationOptimum {
  const { nPrompts: K, nResponses: M } = pop;
  const objective = objectiveFor(spec);
  const logRef = Float64Array.from(ref.flat().map(Math.log));
  let theta = Float64Array.from(logRef);
  const KM = K * M;
  const [m1, m2] = [new Float64Array(KM), new Float64Array(KM)];
  const adamSteps = o.adamSteps ?? 2000;
  let [b1t, b2t] = [1, 1];
  for (let t = 0; t < adamSteps; t++) {
    const { grad } = objectiveAt(objective, theta, logRef, M, pop.pairs);
    const lr = 0.05 * Math.pow(1e-3, t / adamSteps);
    b1t *= 0.9;
    b2t *= 0.999;
    for (let j = 0; j < KM; j++) {
      m1[j] = 0.9 * m1[j] + 0.1 * grad[j];
      m2[j] = 0.999 * m2[j] + 0.001 * grad[j] * grad[j];
      theta[j] -= (lr * (m1[j] / (1 - b1t))) / (Math.sqrt(m2[j] / (1 - b2t)) + 1e-12);
    }
  }
  let cur = objectiveAt(objective, theta, logRef, M, pop.pairs);
  let step = 1;
  const spreadOf = (th: Float64Array) => {
    let worst = 0;
    for (let r = 0; r < KM; r += M) {
      let [lo, hi] = [Infinity, -Infinity];
      for (let y = 0; y < M; y++)
        [lo, hi] = [Math.min(lo, th[r + y] - logRef[r + y]), Math.max(hi, th[r + y] - logRef[r + y])];
      worst = Math.max(worst, hi - lo);
    }
    return worst;
  };
  for (let t = 0; t < (o.polishSteps ?? 2000) && spreadOf(theta) < 50; t++) {
    const g2 = cur.grad.reduce((s, g) => s + g * g, 0);
    if (g2 < 1e-24) break;
    let accepted = false;
    for (let tries = 0; tries < 50 && step > 1e-12; tries++) {
      const next = theta.map((v, j) => v - step * cur.grad[j]);
      const at = objectiveAt(objective, next, logRef, M, pop.pairs);
      if (at.loss <= cur.loss - 1e-4 * step * g2) {
        [theta, cur, accepted] = [next, at, true];
        step *= 2;
        break;
      }
      step /= 2;
    }
    if (!accepted) break;
  }
  const logits = Array.from({ length: K }, (_, x) => Array.from(theta.subarray(x * M, x * M + M)));
  const gradNorm = cur.grad.reduce((m, g) => Math.max(m, Math.abs(g)), 0);
  const spread = spreadOf(theta);
  // Spread first: a loss whose infimum is at infinity has a vanishing gradient far out (σ(−z) → 0).
  const status = spread > 20 ? "to the boundary" : gradNorm < 1e-7 ? "minimiser" : "not stationary";
  return { policy: logits.map((row) => softmaxRow(row)), logits, loss: cur.loss, gradNorm, spread, status };
}

/**
 * IPO's population optimum in closed form (Azar et al. 2023, Eq. 17 in expectation): per prompt, the
 * weighted least squares Σ w·(g_w − g_l − 1/(2τ))² over g = log π/π_ref, solved exactly by its normal
 * equations (a weighted graph Laplacian, g pinned at response 0). With pairs drawn ∝ μ(i)μ(j) this is
 * π ∝ π_ref·exp(p(y ≻ μ)/τ), p(y ≻ μ) = Σ_y' μ(y')P(y ≻ y') with P(y ≻ y) = ½ (ipoPreferenceOptimum).
 */
export function ipoPopulationOptimum(pop: PairPopulation, ref: PolicyTable, tau: number): PolicyTable {
  const { nPrompts: K, nResponses: M } = pop;
  const target = 1 / (2 * tau);
  return Array.from({ length: K }, (_, x) => {
    const L = Array.from({ length: M }, () => new Array<number>(M).fill(0));
    const b = new Array<number>(M).fill(0);
    const p = pop.pairs;
    for (let i = 0; i < p.weight.length; i++) {
      if (p.prompt[i] !== x) continue;
      const [w, l, c] = [p.chosen[i], p.rejected[i], p.weight[i]];
      L[w][w] += c;
      L[l][l] += c;
      L[w][l] -= c;
      L[l][w] -= c;
      b[w] += c * target;
      b[l] -= c * target;
    }
    const free = Array.from({ length: M - 1 }, (_, i) => i + 1);
    const g = solveLinear(
      free.map((i) => free.map((j) => L[i][j])),
      free.map((i) => b[i]),
    );
    if (g === null) throw new Error(`ipoPopulationOptimum: prompt ${x}'s pairs do not connect all ${M} responses`);
    return softmaxRow([0, ...g].map((v, y) => v + Math.log(ref[x][y])));
  });
}

/** π ∝ π_ref·exp(p(y ≻ μ)/τ) with μ = π_ref and Bradley–Terry P(y ≻ y') = σ(r_y − r_y'), P(y ≻ y) = ½. */
export function ipoPreferenceOptimum(rewards: number[][], ref: PolicyTable, tau: number): PolicyTable {
  return rewards.map((r, x) =>
    softmaxRow(
      r.map((ry, y) => Math.log(ref[x][y]) + r.reduce((s, rj, j) => s + ref[x][j] * sigmoid(ry - rj), 0) / tau),
    ),
  );
}

/**
 * The f-DPO optimum (Wang et al. 2023, "Beyond Reverse KL"; derived here): under Bradley–Terry every pair's
 * margin β[s(g_w) − s(g_l)] can equal r_w − r_l, so s(log π/π_ref) = r/β + c, with s the score of
 * src/losses/pairCommon.ts's fScore (reverse KL x, forward KL −e^{−x}, JS log σ(x), α −e^{−αx}/α) and c
 * the constant that normalises π (found by bisection). Reverse KL gives π* itself.
 */
export function fDivergenceOptimum(
  rewards: number[][],
  ref: PolicyTable,
  beta: number,
  f: FDivergence,
  alpha = 1,
): PolicyTable {
  const inverse = (u: number): number => {
    if (f === "reverse_kl") return u;
    if (f === "js_divergence") return logit(Math.exp(u));
    const a = f === "forward_kl" ? 1 : alpha;
    return -Math.log(-a * u) / a;
  };
  return rewards.map((r, x) => {
    const u = r.map((v) => v / beta);
    const top = Math.max(...u);
    // Σ π_ref·e^{x(u + c)} increases in c; for every f but reverse KL, u + c must stay < 0.
    let [lo, hi] = f === "reverse_kl" ? [-top - 50, -top + 50] : [-top - 50, -top];
    const mass = (c: number) => u.reduce((s, v, y) => s + ref[x][y] * Math.exp(inverse(v + c)), 0);
    for (let i = 0; i < 200; i++) {
      const mid = (lo + hi) / 2;
      if (mass(mid) > 1) hi = mid;
      else lo = mid;
    }
    const c = (lo + hi) / 2;
    const pi = u.map((v, y) => ref[x][y] * Math.exp(inverse(v + c)));
    const z = pi.reduce((s, v) => s + v, 0);
    return pi.map((v) => v / z);
  });
}

/** Preferred-FT's (sft's) population optimum: π(y|x) ∝ P(y is the chosen response | x), the winners' frequencies. */
export function winnerFrequencies(pop: PairPopulation): PolicyTable {
  const { nPrompts: K, nResponses: M } = pop;
  const out = Array.from({ length: K }, () => new Array<number>(M).fill(0));
  const p = pop.pairs;
  for (let i = 0; i < p.weight.length; i++) out[p.prompt[i]][p.chosen[i]] += p.weight[i];
  return out.map((row) => row.map((v) => v / row.reduce((s, w) => s + w, 0)));
}

/**
 * The minimising margin h* of p·φ(βh) + (1 − p)·φ(−βh), the population loss of a φ(βh) loss on two responses
 * with P(y_1 ≻ y_2) = p ∈ (½, 1), in closed form (Infinity: no finite minimiser):
 *   sigmoid (DPO)          logit(p)/β
 *   sigmoid with ε (cDPO)  logit(q)/β, q = (1−ε)p + ε(1−p)
 *   robust with ε          logit((p − ε)/(1 − 2ε))/β if ε < 1 − p, else ∞ (the unbiased loss of the de-noised p)
 *   exo_pair with ε        (2p − 1)·logit(1 − ε)/β
 *   hinge                  1/β
 *   ipo (τ = β)            (2p − 1)/(2τ)
 */
export function twoResponseOptimalMargin(lossType: string, p: number, beta: number, eps = 0): number {
  if (!(p > 0.5 && p < 1)) throw new Error(`twoResponseOptimalMargin: p must be in (½, 1), got ${p}`);
  switch (lossType) {
    case "sigmoid":
      return logit((1 - eps) * p + eps * (1 - p)) / beta;
    case "robust":
      return eps < 1 - p ? logit((p - eps) / (1 - 2 * eps)) / beta : Infinity;
    case "exo_pair":
      return ((2 * p - 1) * logit(1 - eps)) / beta;
    case "hinge":
      return 1 / beta;
    case "ipo":
      return (2 * p - 1) / (2 * beta);
    default:
      throw new Error(
        `twoResponseOptimalMargin: no closed form here for "${lossType}" (sigmoid, robust, exo_pair, hinge, ipo)`,
      );
  }
}
