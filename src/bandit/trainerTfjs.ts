// The tfjs engine of trainBandit: one variable θ [S, K, M] (all seeds as a batch dimension), log π by
// tf.logSoftmax, the per-example preference losses under tf autodiff, and tf.train.adam. It takes exactly
// the steps of the Float64 "js" engine (same minibatch indices, same Adam), which the tests check.
import * as tf from "@tensorflow/tfjs";
import { dpoLoss, ipoLoss, ktoLoss, listwiseDpoLoss } from "../losses";
import { datasetSize } from "./datasets";
import { minibatchIndices, recordedSteps, resolveConfig, type TrainBanditConfig, type TrainBanditResult } from "./trainer";
import type { PolicyTable } from "./tabular";

/** Flat indices s·KM + x·M + y for each seed's examples: one Int32Array per role, each [steps·B] per seed. */
interface IndexPlan {
  /** role → Int32Array [steps, S, B] of indices into θ flattened to [S·K·M]. */
  roles: Int32Array[];
  /** KTO: prompt indices s·K + x ([steps, S, B]); desirable flags ([steps, S, B]). */
  prompts?: Int32Array;
  desirable?: Float32Array;
}

export function trainBanditTfjs(config: TrainBanditConfig): TrainBanditResult {
  const c = resolveConfig(config);
  const t0 = performance.now();
  const d = c.dataset;
  const { nPrompts: K, nResponses: M } = d;
  const S = c.seeds.length;
  const KM = K * M;
  const n = datasetSize(d);
  const B = c.fullBatch ? n : c.batchSize;
  const o = c.lossOptions;
  const nRoles = d.kind === "pairs" ? 2 : d.kind === "unpaired" ? 1 : d.rankings[0].order.length;
  if (d.kind === "rankings" && d.rankings.some((r) => r.order.length !== nRoles)) {
    throw new Error("trainBandit (tfjs engine): every ranking must have the same length");
  }
  // Precompute every step's gather indices once, so each step only uploads small int32 slices.
  const plan: IndexPlan = { roles: Array.from({ length: nRoles }, () => new Int32Array(c.steps * S * B)) };
  if (d.kind === "unpaired") {
    plan.prompts = new Int32Array(c.steps * S * B);
    plan.desirable = new Float32Array(c.steps * S * B);
  }
  for (let s = 0; s < S; s++) {
    const idx = c.fullBatch ? null : minibatchIndices(c.seeds[s], c.steps, B, n);
    for (let t = 0; t < c.steps; t++) {
      for (let b = 0; b < B; b++) {
        const i = idx ? idx[t * B + b] : b;
        const at = (t * S + s) * B + b;
        if (d.kind === "pairs") {
          const p = d.pairs[i];
          plan.roles[0][at] = s * KM + p.prompt * M + p.chosen;
          plan.roles[1][at] = s * KM + p.prompt * M + p.rejected;
        } else if (d.kind === "unpaired") {
          const e = d.examples[i];
          plan.roles[0][at] = s * KM + e.prompt * M + e.response;
          plan.prompts![at] = s * K + e.prompt;
          plan.desirable![at] = e.desirable ? 1 : 0;
        } else {
          const r = d.rankings[i];
          r.order.forEach((y, j) => (plan.roles[j][at] = s * KM + r.prompt * M + y));
        }
      }
    }
  }
  const init = Array.from({ length: S }, () => c.initLogits);
  const theta = tf.tidy(() => tf.variable(tf.tensor3d(init as number[][][], [S, K, M]), true, `bandit-theta-${Date.now()}-${Math.random()}`));
  const logRef = tf.tidy(() => tf.log(tf.tensor3d(Array.from({ length: S }, () => c.refPolicy) as number[][][], [S, K, M])));
  const optimizer = tf.train.adam(c.lr, c.adam.beta1, c.adam.beta2, c.adam.epsilon);
  const record = recordedSteps(c.steps, c.recordEvery);
  const curvePolicies: PolicyTable[][] = [];
  const curveLosses: number[][] = [];

  const slice = (arr: Int32Array | Float32Array, t: number) => arr.subarray(t * S * B, (t + 1) * S * B);
  /** Per-seed mean loss [S] at step t's batch (t < steps). */
  const batchLoss = (t: number, z0?: tf.Tensor): tf.Tensor1D => {
    const logp = tf.sub(tf.logSoftmax(theta, -1), logRef).reshape([S * KM]); // h = log π − log π_ref, flat
    const refZero = tf.zeros([S, B]);
    const role = (j: number) => tf.gather(logp, tf.tensor2d(slice(plan.roles[j], t) as Int32Array, [S, B], "int32"));
    let losses: tf.Tensor;
    if (d.kind === "pairs") {
      // h enters as policy log-probs with zero reference log-probs: the losses only use differences.
      const args = [role(0), role(1), refZero, refZero] as const;
      losses = c.method === "ipo" ? ipoLoss(...args, { beta: o.beta }).losses : dpoLoss(...args, { beta: o.beta, labelSmoothing: o.labelSmoothing ?? 0, variant: o.variant ?? "sigmoid" }).losses;
    } else if (d.kind === "unpaired") {
      // ktoLoss shares one desirable-flag vector across leading axes, but each seed draws its own
      // minibatch, so it is called once per seed (a [B] slice) and the results stacked back to [S, B].
      const flags = slice(plan.desirable!, t);
      const h = role(0);
      const perSeed = Array.from({ length: S }, (_, s) =>
        ktoLoss(tf.squeeze(tf.slice(h, [s, 0], [1, B]), [0]), tf.zeros([B]), Array.from(flags.subarray(s * B, (s + 1) * B), (v) => v === 1), {
          beta: o.beta,
          desirableWeight: o.desirableWeight ?? 1,
          undesirableWeight: o.undesirableWeight ?? 1,
          z0: tf.reshape(tf.slice(z0!, [s, 0], [1, 1]), []),
        }).losses,
      );
      losses = tf.stack(perSeed);
    } else {
      losses = listwiseDpoLoss(tf.stack(plan.roles.map((_, j) => role(j)), -1), tf.zeros([S, B, nRoles]), { beta: o.beta }).losses;
    }
    return tf.mean(losses, -1) as tf.Tensor1D;
  };
  /** KTO's reference point: the batch's exact KL(π‖π_ref) per seed, clamped at 0, as a constant [S, 1]. */
  const ktoZ0 = (t: number): tf.Tensor2D => {
    const values = tf.tidy(() => {
      const klPerPrompt = tf.sum(tf.mul(tf.softmax(theta, -1), tf.sub(tf.logSoftmax(theta, -1), logRef)), -1).reshape([S * K]);
      const kl = tf.gather(klPerPrompt, tf.tensor2d(slice(plan.prompts!, t) as Int32Array, [S, B], "int32"));
      return tf.relu(tf.mean(kl, -1, true));
    });
    const constant = tf.tensor2d(values.dataSync(), [S, 1]); // a fresh tensor: no gradient flows into θ
    values.dispose();
    return constant;
  };
  const snapshot = (loss: number[]) => {
    const probs = tf.softmax(theta, -1);
    const p = probs.arraySync() as number[][][];
    probs.dispose();
    curvePolicies.push(p);
    curveLosses.push(loss);
  };
  let ri = 0;
  for (let t = 0; t < c.steps; t++) {
    let kept: tf.Tensor | null = null;
    tf.tidy(() => {
      const z0 = d.kind === "unpaired" ? ktoZ0(t) : undefined;
      optimizer.minimize(() => {
        const l = batchLoss(t, z0);
        if (record[ri] === t) kept = tf.keep(l.clone());
        return tf.sum(l) as tf.Scalar; // seeds are independent: the sum's gradient is each seed's own
      }, false, [theta]);
    });
    if (kept !== null) {
      const k = kept as tf.Tensor;
      snapshot(Array.from(k.dataSync()));
      k.dispose();
      ri++;
    }
  }
  const last = tf.tidy(() => batchLoss(c.steps - 1, d.kind === "unpaired" ? ktoZ0(c.steps - 1) : undefined));
  snapshot(Array.from(last.dataSync()));
  last.dispose();
  const finalPolicies = curvePolicies[curvePolicies.length - 1];
  const finalLogits = theta.arraySync() as number[][][];
  optimizer.dispose();
  tf.dispose([theta, logRef]);
  // Curves are stored per step as [S] lists, matching the js engine's layout ([T][S]).
  return {
    finalPolicies,
    finalLogits,
    curves: { steps: record, policies: curvePolicies, losses: curveLosses },
    engine: "tfjs",
    seconds: (performance.now() - t0) / 1000,
  };
}
