// Policy-gradient optimisation of the KL-regularised objective on a tabular bandit,
//   J(π) = E_x E_{y∼π(·|x)} [r(x,y)] − β KL(π(·|x) ‖ π_ref(·|x))          (Ziegler et al. 2019; Ouyang et al. 2022)
// from sampled responses only (the learner never sees r except at the sampled y), in Float64 JS.
//
// Both algorithms use the KL-shaped reward R(x,y) = r(x,y) − β log(π(y|x)/π_ref(y|x)) (computed with the
// sampling policy): since E_{y∼π}[∇log π(y)] = 0, E[∇log π(y) · R] = ∇J exactly, so the fixed point of
// either update is π* = π_ref exp(r/β)/Z.
//   "reinforce": ∇J ≈ mean_i ∇log π(y_i) (R_i − b_i), b_i = leave-one-out mean of the other samples' R
//                (Williams 1992; the leave-one-out baseline keeps the estimate unbiased).
//   "ppo":       each iteration samples from π_old, then `epochs` Adam steps on the clipped surrogate
//                mean_i min(ρ_i A_i, clip(ρ_i, 1−ε, 1+ε) A_i), ρ = π/π_old (Schulman et al. 2017, eq. 7).
import { Rng } from "../random";
import { softmaxRow, uniformPolicy, type PolicyTable } from "./tabular";
import { throwIfInterrupted } from "../interrupt";

export interface PolicyGradientConfig {
  algorithm: "reinforce" | "ppo";
  /** True rewards r[x][y]. */
  rewards: number[][];
  beta: number;
  refPolicy?: PolicyTable;
  /** Outer iterations (each draws fresh samples). */
  steps: number;
  /** Responses sampled per prompt per iteration. */
  samplesPerPrompt: number;
  /** Step size (the same name as in every other trainer). */
  learningRate: number;
  seeds: number[];
  /** PPO: clip range ε (default 0.2) and optimisation epochs per batch (default 4). */
  clip?: number;
  epochs?: number;
  /** "linear" decays the learning rate to 0 over the run (removes the stationary noise of a constant one). */
  learningRateSchedule?: "constant" | "linear";
  recordEvery?: number;
}

export interface PolicyGradientResult {
  finalPolicies: PolicyTable[];
  curves: { steps: number[]; policies: PolicyTable[][]; objective: number[][] };
  seconds: number;
}

/** J(π) = mean_x (E_π r − β KL(π‖π_ref)), exactly (summing over all responses). */
export function klObjectiveTable(policy: PolicyTable, rewards: number[][], ref: PolicyTable, beta: number): number {
  let total = 0;
  policy.forEach((row, x) =>
    row.forEach((p, y) => (total += p > 0 ? p * (rewards[x][y] - beta * Math.log(p / ref[x][y])) : 0)),
  );
  return total / policy.length;
}

export function trainPolicyGradient(config: PolicyGradientConfig): PolicyGradientResult {
  const t0 = performance.now();
  const K = config.rewards.length;
  const M = config.rewards[0].length;
  const ref = config.refPolicy ?? uniformPolicy(K, M);
  for (const [old, now] of [
    ["lr", "learningRate"],
    ["lrSchedule", "learningRateSchedule"],
  ]) {
    if ((config as unknown as Record<string, unknown>)[old] !== undefined)
      throw new Error(`trainPolicyGradient: ${old} was renamed ${now} (one name in every trainer)`);
  }
  const { beta, steps, samplesPerPrompt: N, learningRate: lr, seeds } = config;
  if (!(beta > 0)) throw new Error(`trainPolicyGradient: beta must be > 0, got ${beta}`);
  if (!(N >= 2))
    throw new Error("trainPolicyGradient: samplesPerPrompt must be >= 2 (the baseline needs the other samples)");
  const clip = config.clip ?? 0.2;
  const epochs = config.algorithm === "ppo" ? (config.epochs ?? 4) : 1;
  const every = config.recordEvery ?? Math.max(1, Math.round(steps / 200));
  const curveSteps: number[] = [];
  for (let t = 0; t <= steps; t += every) curveSteps.push(t);
  if (curveSteps[curveSteps.length - 1] !== steps) curveSteps.push(steps);
  const policies: PolicyTable[][] = curveSteps.map(() => []);
  const objective: number[][] = curveSteps.map(() => []);
  const finalPolicies: PolicyTable[] = [];
  const logRef = ref.map((row) => row.map((p) => Math.log(p)));

  for (const seed of seeds) {
    const rng = new Rng(seed).fork("policy-gradient");
    const theta = logRef.map((row) => row.slice());
    const m1 = theta.map((row) => row.map(() => 0));
    const m2 = theta.map((row) => row.map(() => 0));
    let adamT = 0;
    let ci = 0;
    const ys: number[][] = Array.from({ length: K }, () => new Array<number>(N).fill(0));
    const adv: number[][] = Array.from({ length: K }, () => new Array<number>(N).fill(0));
    const oldP: number[][] = Array.from({ length: K }, () => new Array<number>(N).fill(0));
    for (let t = 0; t <= steps; t++) {
      throwIfInterrupted();
      const pi = theta.map((row) => softmaxRow(row));
      if (t === curveSteps[ci]) {
        policies[ci].push(pi);
        objective[ci++].push(klObjectiveTable(pi, config.rewards, ref, beta));
      }
      if (t === steps) {
        finalPolicies.push(pi);
        break;
      }
      // Sample from the current (= old) policy and compute shaped rewards and advantages.
      for (let x = 0; x < K; x++) {
        const R = new Array<number>(N);
        for (let i = 0; i < N; i++) {
          const y = rng.categorical(pi[x]);
          ys[x][i] = y;
          oldP[x][i] = pi[x][y];
          R[i] = config.rewards[x][y] - beta * (Math.log(pi[x][y]) - logRef[x][y]);
        }
        const sum = R.reduce((a, b) => a + b, 0);
        for (let i = 0; i < N; i++) adv[x][i] = R[i] - (sum - R[i]) / (N - 1);
      }
      const lrNow = config.learningRateSchedule === "linear" ? lr * (1 - t / steps) : lr;
      for (let e = 0; e < epochs; e++) {
        adamT++;
        for (let x = 0; x < K; x++) {
          const p = softmaxRow(theta[x]);
          const g = new Array<number>(M).fill(0); // gradient of the loss −surrogate w.r.t. θ[x]
          for (let i = 0; i < N; i++) {
            const y = ys[x][i];
            const A = adv[x][i];
            // weight w = d surrogate / d log π(y): A for REINFORCE; ρA for PPO unless the clip is active.
            let w = A;
            if (config.algorithm === "ppo") {
              const rho = p[y] / oldP[x][i];
              const clipped = (A > 0 && rho > 1 + clip) || (A < 0 && rho < 1 - clip);
              w = clipped ? 0 : rho * A;
            }
            for (let m = 0; m < M; m++) g[m] -= (w * ((m === y ? 1 : 0) - p[m])) / (N * K);
          }
          for (let m = 0; m < M; m++) {
            m1[x][m] = 0.9 * m1[x][m] + 0.1 * g[m];
            m2[x][m] = 0.999 * m2[x][m] + 0.001 * g[m] * g[m];
            const mh = m1[x][m] / (1 - 0.9 ** adamT);
            const vh = m2[x][m] / (1 - 0.999 ** adamT);
            theta[x][m] -= (lrNow * mh) / (Math.sqrt(vh) + 1e-7);
          }
        }
      }
    }
  }
  return {
    finalPolicies,
    curves: { steps: curveSteps, policies, objective },
    seconds: (performance.now() - t0) / 1000,
  };
}
