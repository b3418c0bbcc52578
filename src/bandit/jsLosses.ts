// Float64 twins of the core library's preference losses for ONE bandit example, each returning the loss
// and its derivative with respect to the log-ratios h(y) = log π(y|x) − log π_ref(y|x) it uses. The fast
// trainer chains these through d log π(y)/dθ = e_y − π. Each matches src/losses (tested against tfjs
// autodiff in test/bandit-trainer.test.ts).

const sigmoid = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
/** log σ(x), stable: −softplus(−x). */
const logSigmoid = (x: number): number => (x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x)));

export interface PairLossOptions {
  beta: number;
  labelSmoothing?: number;
  variant?: "sigmoid" | "robust" | "hinge";
}

/**
 * DPO on one pair with margin h = h(y_w) − h(y_l) (Rafailov et al. 2023, eq. 7):
 *   sigmoid: −(1−ε) log σ(βh) − ε log σ(−βh)          (ε = label smoothing, conservative DPO)
 *   robust:  [−(1−ε) log σ(βh) + ε log σ(−βh)] / (1−2ε) (Chowdhury et al. 2024, unbiased under flips)
 *   hinge:   max(0, 1 − βh)                              (SLiC, Zhao et al. 2023)
 * Returns [loss, dloss/dh].
 */
export function dpoPair(h: number, o: PairLossOptions): [number, number] {
  const b = o.beta;
  const eps = o.labelSmoothing ?? 0;
  const v = o.variant ?? "sigmoid";
  const z = b * h;
  if (v === "hinge") return z < 1 ? [1 - z, -b] : [0, 0];
  // d/dh −log σ(βh) = −β σ(−βh);  d/dh −log σ(−βh) = β σ(βh)
  const lossW = -logSigmoid(z);
  const lossL = -logSigmoid(-z);
  const gW = -b * sigmoid(-z);
  const gL = b * sigmoid(z);
  if (v === "robust") {
    const d = 1 - 2 * eps;
    return [((1 - eps) * lossW - eps * lossL) / d, ((1 - eps) * gW - eps * gL) / d];
  }
  return [(1 - eps) * lossW + eps * lossL, (1 - eps) * gW + eps * gL];
}

/** IPO on one pair (Azar et al. 2023, eq. 17): (h − 1/(2τ))², with τ passed as `beta`. [loss, dloss/dh]. */
export function ipoPair(h: number, tau: number): [number, number] {
  const d = h - 1 / (2 * tau);
  return [d * d, 2 * d];
}

export interface KtoOptions {
  beta: number;
  desirableWeight?: number;
  undesirableWeight?: number;
}

/**
 * KTO on one judgement (Ethayarajh et al. 2024, eq. 8) with reference point z0 (held constant):
 *   desirable:   λ_D (1 − σ(β(h − z0)))
 *   undesirable: λ_U (1 − σ(β(z0 − h)))
 * Returns [loss, dloss/dh].
 */
export function ktoExample(h: number, desirable: boolean, z0: number, o: KtoOptions): [number, number] {
  const b = o.beta;
  if (desirable) {
    const w = o.desirableWeight ?? 1;
    const s = sigmoid(b * (h - z0));
    return [w * (1 - s), -w * b * s * (1 - s)];
  }
  const w = o.undesirableWeight ?? 1;
  const s = sigmoid(b * (z0 - h));
  return [w * (1 - s), w * b * s * (1 - s)];
}

/**
 * Listwise (Plackett–Luce) DPO on one ranking y_1 ≻ … ≻ y_N (Rafailov et al. 2023, App. A.3):
 *   loss = −Σ_{k=1}^{N−1} [β h(y_k) − log Σ_{j≥k} exp(β h(y_j))].
 * Writes dloss/dh(y_j) into `grad` (length N, aligned with the ranking) and returns the loss.
 */
export function listwiseDpo(h: ArrayLike<number>, beta: number, grad: Float64Array): number {
  const n = h.length;
  grad.fill(0, 0, n);
  let loss = 0;
  for (let k = 0; k < n - 1; k++) {
    let max = -Infinity;
    for (let j = k; j < n; j++) max = Math.max(max, beta * h[j]);
    let z = 0;
    for (let j = k; j < n; j++) z += Math.exp(beta * h[j] - max);
    const lse = max + Math.log(z);
    loss -= beta * h[k] - lse;
    grad[k] -= beta;
    for (let j = k; j < n; j++) grad[j] += beta * Math.exp(beta * h[j] - lse);
  }
  return loss;
}
