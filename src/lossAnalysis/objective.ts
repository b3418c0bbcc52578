// Any registered pair loss (or KTO on the pairs split into judgements, or the unweighted "naive" objective of
// the DPO paper's §4) as a weighted objective over a tabular policy: Σ_i w_i ℓ_i(log π) and its gradient with
// respect to log π(y|x), computed with the registry's float64 twins. Training (./train.ts) and population
// minimisation (./population.ts) both chain this through log-softmax.
import "../losses/all";
import {
  getLoss,
  resolveLossOptions,
  type LossOptions,
  type LossState,
  type PairLossEntry,
  type PairBatch64,
} from "../losses/registry";
import type { PairDataset } from "../bandit/datasets";

/** Pairs with a weight each: a minibatch (weights 1/B) or a population (weights = probabilities). */
export interface WeightedPairs {
  prompt: Int32Array;
  chosen: Int32Array;
  rejected: Int32Array;
  weight: Float64Array;
}

/**
 * Σ_i w_i ℓ_i at the flat log-policy `logp` ([K·M], row-major) against `logRef`; adds Σ_i w_i ∂ℓ_i/∂log π into
 * `dLogp` (which the caller zeroes). `probs` = exp(logp), for objectives that need π itself (KTO's z0).
 */
export type PairObjective = (
  logp: Float64Array,
  probs: Float64Array,
  logRef: Float64Array,
  M: number,
  pairs: WeightedPairs,
  dLogp: Float64Array,
) => number;

/** The objective's name and how to build it. "naive" and "kto-split" are not registry names (see below). */
export interface ObjectiveSpec {
  lossType: string;
  options?: Record<string, unknown>;
}

/** Every pair of a dataset once, each with weight `w` (default 1/n: the empirical mean). */
export function datasetPairs(data: PairDataset, w = 1 / data.pairs.length): WeightedPairs {
  const n = data.pairs.length;
  return {
    prompt: Int32Array.from(data.pairs, (p) => p.prompt),
    chosen: Int32Array.from(data.pairs, (p) => p.chosen),
    rejected: Int32Array.from(data.pairs, (p) => p.rejected),
    weight: new Float64Array(n).fill(w),
  };
}

/** The twin's batch: each pair's log-probs and reference log-probs, token counts 1 (bandit responses are single tokens). */
export function pairBatch64(logp: Float64Array, logRef: Float64Array, M: number, pairs: WeightedPairs): PairBatch64 {
  const n = pairs.weight.length;
  const b: PairBatch64 = {
    policyChosen: new Float64Array(n),
    policyRejected: new Float64Array(n),
    refChosen: new Float64Array(n),
    refRejected: new Float64Array(n),
    chosenLengths: new Float64Array(n).fill(1),
    rejectedLengths: new Float64Array(n).fill(1),
  };
  for (let i = 0; i < n; i++) {
    const w = pairs.prompt[i] * M + pairs.chosen[i];
    const l = pairs.prompt[i] * M + pairs.rejected[i];
    b.policyChosen[i] = logp[w];
    b.policyRejected[i] = logp[l];
    b.refChosen[i] = logRef[w];
    b.refRejected[i] = logRef[l];
  }
  return b;
}

/**
 * The objective of a registered pair loss. Batch-coupled losses: BCO's δ is the weighted mean reward of the
 * pairs given (held constant) unless bcoDelta is set, or, with `state`, TRL's running mean across calls; AOT's
 * sorting is only defined on equally weighted batches, so it is refused when the weights differ.
 */
export function registryObjective(
  lossType: string,
  options: Record<string, unknown> = {},
  state?: LossState,
): PairObjective {
  const entry = getLoss(lossType);
  if (entry.data !== "pairs")
    throw new Error(
      `registryObjective: loss "${lossType}" takes ${entry.data}, not pairs (use ktoSplitObjective for kto)`,
    );
  const pairEntry = entry as PairLossEntry;
  const o = resolveLossOptions(lossType, options);
  return (logp, _probs, logRef, M, pairs, dLogp) => {
    const b = pairBatch64(logp, logRef, M, pairs);
    const w = pairs.weight;
    const equal = w.every((v) => v === w[0]);
    let opts: LossOptions = o;
    if (entry.name === "aot" || entry.name === "aot_unpaired") {
      if (!equal)
        throw new Error(`registryObjective: "${entry.name}" sorts the batch, so it has no weighted (population) form`);
    }
    if (entry.name === "bco_pair" && o.bcoDelta === undefined && !(state && equal)) {
      // δ = the weighted mean of all 2n rewards β·log(π/π_ref), held constant.
      let s = 0;
      let tw = 0;
      for (let i = 0; i < w.length; i++) {
        s += w[i] * (b.policyChosen[i] - b.refChosen[i] + b.policyRejected[i] - b.refRejected[i]);
        tw += 2 * w[i];
      }
      opts = { ...o, bcoDelta: ((o.beta as number) * s) / tw };
    }
    const g = pairEntry.twin(b, opts, state);
    let loss = 0;
    for (let i = 0; i < w.length; i++) {
      loss += w[i] * g.losses[i];
      dLogp[pairs.prompt[i] * M + pairs.chosen[i]] += w[i] * g.dChosen[i];
      dLogp[pairs.prompt[i] * M + pairs.rejected[i]] += w[i] * g.dRejected[i];
    }
    return loss;
  };
}

/**
 * KTO on pairs split into judgements (the chosen response desirable, the rejected undesirable, as
 * data/bandit-kto-unpaired.jsonl is made), with the reference point z0 = max(0, E_x KL(π(·|x)‖π_ref(·|x)))
 * over the pairs' prompts, held constant (no gradient), as src/bandit/trainer.ts does; or `fixedZ0` when given.
 */
export function ktoSplitObjective(options: Record<string, unknown> = {}, fixedZ0?: number): PairObjective {
  const entry = getLoss("kto");
  const o = resolveLossOptions("kto", options);
  return (logp, probs, logRef, M, pairs, dLogp) => {
    const n = pairs.weight.length;
    const w = pairs.weight;
    let kl = 0;
    let tw = 0;
    for (let i = 0; i < n; i++) {
      const x = pairs.prompt[i];
      let k = 0;
      for (let y = 0; y < M; y++) k += probs[x * M + y] * (logp[x * M + y] - logRef[x * M + y]);
      kl += w[i] * k;
      tw += w[i];
    }
    const z0 = fixedZ0 ?? Math.max(0, kl / tw);
    const policy = new Float64Array(2 * n);
    const ref = new Float64Array(2 * n);
    const desirable: boolean[] = [];
    for (let i = 0; i < n; i++) {
      const cw = pairs.prompt[i] * M + pairs.chosen[i];
      const cl = pairs.prompt[i] * M + pairs.rejected[i];
      [policy[2 * i], ref[2 * i], policy[2 * i + 1], ref[2 * i + 1]] = [logp[cw], logRef[cw], logp[cl], logRef[cl]];
      desirable.push(true, false);
    }
    const g = (entry.twin as (b: unknown, o: LossOptions) => { losses: Float64Array; dPolicy: Float64Array })(
      { policy, ref, desirable, z0 },
      o,
    );
    let loss = 0;
    for (let i = 0; i < n; i++) {
      loss += w[i] * (g.losses[2 * i] + g.losses[2 * i + 1]);
      dLogp[pairs.prompt[i] * M + pairs.chosen[i]] += w[i] * g.dPolicy[2 * i];
      dLogp[pairs.prompt[i] * M + pairs.rejected[i]] += w[i] * g.dPolicy[2 * i + 1];
    }
    return loss;
  };
}

/**
 * The DPO paper's §4 ablation: DPO's gradient without its weight σ(r̂_l − r̂_w) (r̂ = β log π/π_ref), i.e. the objective
 * ℓ = −β·h, h = log π(y_w)/π_ref(y_w) − log π(y_l)/π_ref(y_l), whose gradient −β(∇log π(y_w) − ∇log π(y_l))
 * is the same at every margin. It is linear in log π, so it has no minimiser (ℓ → −∞ as π(y_l) → 0).
 */
export function naiveObjective(beta: number): PairObjective {
  if (!(beta > 0)) throw new Error(`naiveObjective: beta must be > 0, got ${beta}`);
  return (logp, _probs, logRef, M, pairs, dLogp) => {
    let loss = 0;
    for (let i = 0; i < pairs.weight.length; i++) {
      const w = pairs.prompt[i] * M + pairs.chosen[i];
      const l = pairs.prompt[i] * M + pairs.rejected[i];
      loss += pairs.weight[i] * -beta * (logp[w] - logRef[w] - (logp[l] - logRef[l]));
      dLogp[w] -= pairs.weight[i] * beta;
      dLogp[l] += pairs.weight[i] * beta;
    }
    return loss;
  };
}

/** The objective for a spec: "naive" (option beta), "kto" (split pairs), or any registered pair loss. */
export function objectiveFor(spec: ObjectiveSpec, state?: LossState): PairObjective {
  if (spec.lossType === "naive") return naiveObjective(((spec.options ?? {}).beta as number | undefined) ?? 0.1);
  if (spec.lossType === "kto") return ktoSplitObjective(spec.options);
  return registryObjective(spec.lossType, spec.options, state);
}
