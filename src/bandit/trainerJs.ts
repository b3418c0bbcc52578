// The "js" engine of trainBandit: tabular softmax policies in Float64, each step's gradient from the loss's
// float64 twin (its registry entry) chained through d log π(y)/dθ = e_y − π, and Adam exactly as
// tf.train.adam. The tiny tables make tfjs's per-op overhead dominate; this engine runs the IPO §5.4
// reproduction in about a second. Plan (trainConfig.ts) → step (lossGradient, adamUpdate) → record.
import type { LossState, PairBatch64, PairLossEntry, RankingLossEntry, UnpairedLossEntry } from "../losses/registry";
import { exampleAt, type BanditPlan, type TrainBanditResult } from "./trainConfig";
import type { PolicyTable } from "./tabular";
import { throwIfInterrupted } from "../interrupt";

/** One seed's parameters and its current policy, flat [K·M]. */
class TabularPolicy {
  readonly theta: Float64Array;
  readonly logp: Float64Array;
  readonly probs: Float64Array;
  constructor(
    readonly K: number,
    readonly M: number,
    init: number[][],
  ) {
    this.theta = Float64Array.from(init.flat());
    this.logp = new Float64Array(K * M);
    this.probs = new Float64Array(K * M);
    this.refresh();
  }
  /** log π and π from θ (row-wise log-softmax). */
  refresh(): void {
    const { K, M, theta } = this;
    for (let x = 0; x < K; x++) {
      let max = -Infinity;
      for (let y = 0; y < M; y++) max = Math.max(max, theta[x * M + y]);
      let z = 0;
      for (let y = 0; y < M; y++) z += Math.exp(theta[x * M + y] - max);
      const lz = max + Math.log(z);
      for (let y = 0; y < M; y++) {
        this.logp[x * M + y] = theta[x * M + y] - lz;
        this.probs[x * M + y] = Math.exp(this.logp[x * M + y]);
      }
    }
  }
  table(): PolicyTable {
    return Array.from({ length: this.K }, (_, x) => Array.from(this.probs.subarray(x * this.M, (x + 1) * this.M)));
  }
  logits(): number[][] {
    return Array.from({ length: this.K }, (_, x) => Array.from(this.theta.subarray(x * this.M, (x + 1) * this.M)));
  }
}

/**
 * Step t's minibatch loss for one seed: writes Σ_i ∂loss_i/∂log π(y) into dLogp and returns the mean loss.
 * Pairs: one twin call on the whole batch (batch-coupled losses see it all); responses are single tokens
 * (lengths 1). Unpaired (KTO): z0 = the batch's exact KL(π‖π_ref) over its prompts, clamped at 0, held
 * constant. Rankings: one twin call per ranking (lengths may differ).
 */
function lossGradient(
  plan: BanditPlan,
  pol: TabularPolicy,
  logRef: Float64Array,
  idx: Int32Array | null,
  t: number,
  state: LossState | undefined,
  dLogp: Float64Array,
): number {
  const d = plan.config.dataset;
  const M = d.nResponses;
  const B = plan.batch;
  const at = (b: number) => exampleAt(idx, B, t, b);
  dLogp.fill(0);
  let total = 0;
  if (d.kind === "pairs") {
    const ex = Array.from({ length: B }, (_, b) => d.pairs[at(b)]);
    const w = ex.map((p) => p.prompt * M + p.chosen);
    const l = ex.map((p) => p.prompt * M + p.rejected);
    const batch: PairBatch64 = {
      policyChosen: Float64Array.from(w, (j) => pol.logp[j]),
      policyRejected: Float64Array.from(l, (j) => pol.logp[j]),
      refChosen: Float64Array.from(w, (j) => logRef[j]),
      refRejected: Float64Array.from(l, (j) => logRef[j]),
      chosenLengths: new Float64Array(B).fill(1),
      rejectedLengths: new Float64Array(B).fill(1),
    };
    const g = (plan.entry as PairLossEntry).twin(batch, plan.options, state);
    for (let b = 0; b < B; b++) {
      total += g.losses[b];
      dLogp[w[b]] += g.dChosen[b];
      dLogp[l[b]] += g.dRejected[b];
    }
  } else if (d.kind === "unpaired") {
    const ex = Array.from({ length: B }, (_, b) => d.examples[at(b)]);
    let z0 = 0;
    for (const e of ex)
      for (let y = 0; y < M; y++)
        z0 += pol.probs[e.prompt * M + y] * (pol.logp[e.prompt * M + y] - logRef[e.prompt * M + y]);
    const j = ex.map((e) => e.prompt * M + e.response);
    const g = (plan.entry as UnpairedLossEntry).twin(
      {
        policy: Float64Array.from(j, (k) => pol.logp[k]),
        ref: Float64Array.from(j, (k) => logRef[k]),
        desirable: ex.map((e) => e.desirable),
        z0: Math.max(0, z0 / B),
      },
      plan.options,
      state,
    );
    for (let b = 0; b < B; b++) {
      total += g.losses[b];
      dLogp[j[b]] += g.dPolicy[b];
    }
  } else {
    for (let b = 0; b < B; b++) {
      const r = d.rankings[at(b)];
      const j = r.order.map((y) => r.prompt * M + y);
      const g = (plan.entry as RankingLossEntry).twin(
        { policy: Float64Array.from(j, (k) => pol.logp[k]), ref: Float64Array.from(j, (k) => logRef[k]), n: j.length },
        plan.options,
        state,
      );
      total += g.losses[0];
      j.forEach((k, i) => (dLogp[k] += g.dPolicy[i]));
    }
  }
  return total / B;
}

/** Adam's moments for one seed, updated exactly as tf.train.adam: θ −= lr·m̂/(√v̂ + ε). */
class Adam {
  private m1: Float64Array;
  private m2: Float64Array;
  private b1t = 1;
  private b2t = 1;
  constructor(
    size: number,
    private readonly lr: number,
    private readonly o: BanditPlan["adam"],
  ) {
    this.m1 = new Float64Array(size);
    this.m2 = new Float64Array(size);
  }
  /**
   * The chain rule through log-softmax, dL/dθ[x,m] = (1/B)(a[x,m] − π[x,m] Σ_y a[x,y]) with a = dL/dlog π,
   * then one Adam update of θ.
   */
  step(pol: TabularPolicy, dLogp: Float64Array, B: number): void {
    const { beta1, beta2, epsilon } = this.o;
    const { K, M, theta, probs } = pol;
    this.b1t *= beta1;
    this.b2t *= beta2;
    for (let x = 0; x < K; x++) {
      let sa = 0;
      for (let y = 0; y < M; y++) sa += dLogp[x * M + y];
      for (let y = 0; y < M; y++) {
        const j = x * M + y;
        const g = (dLogp[j] - probs[j] * sa) / B;
        this.m1[j] = beta1 * this.m1[j] + (1 - beta1) * g;
        this.m2[j] = beta2 * this.m2[j] + (1 - beta2) * g * g;
        theta[j] -= (this.lr * (this.m1[j] / (1 - this.b1t))) / (Math.sqrt(this.m2[j] / (1 - this.b2t)) + epsilon);
      }
    }
  }
}

/** Runs the plan with the js engine. */
export function trainBanditJs(plan: BanditPlan): TrainBanditResult {
  const t0 = performance.now();
  const c = plan.config;
  const { nPrompts: K, nResponses: M } = c.dataset;
  const logRef = Float64Array.from(plan.refPolicy.flat(), Math.log);
  const recorded = new Set(plan.recorded);
  const curvePolicies: PolicyTable[][] = plan.recorded.map(() => []);
  const curveLosses: number[][] = plan.recorded.map(() => []);
  const finalPolicies: PolicyTable[] = [];
  const finalLogits: number[][][] = [];
  const dLogp = new Float64Array(K * M);
  c.seeds.forEach((_, s) => {
    const pol = new TabularPolicy(K, M, plan.initLogits);
    const adam = new Adam(K * M, c.learningRate, plan.adam);
    const state = plan.entry.createState?.();
    const idx = plan.indices[s];
    let ri = 0;
    for (let t = 0; t <= c.steps; t++) {
      throwIfInterrupted();
      // At t = steps there is no update: the loss is the last batch's at the final policy.
      const loss = lossGradient(plan, pol, logRef, idx, Math.min(t, c.steps - 1), state, dLogp);
      if (recorded.has(t)) {
        curvePolicies[ri].push(pol.table());
        curveLosses[ri++].push(loss);
      }
      if (t === c.steps) break;
      adam.step(pol, dLogp, plan.batch);
      pol.refresh();
    }
    finalPolicies.push(pol.table());
    finalLogits.push(pol.logits());
  });
  return {
    finalPolicies,
    finalLogits,
    curves: { steps: plan.recorded, policies: curvePolicies, losses: curveLosses },
    engine: "js",
    seconds: (performance.now() - t0) / 1000,
  };
}
