// The "tfjs" engine of trainBandit: one variable θ [S, K, M] (all seeds as a batch dimension), log π by
// tf.logSoftmax, the loss's registry entry (its tfjs function) under tf autodiff, and tf.train.adam. It
// takes exactly the steps of the Float64 "js" engine (same minibatch indices, same Adam), which the tests
// check. Plan (gather indices, once) → step (batchLoss under optimizer.minimize) → record.
import * as tf from "@tensorflow/tfjs";
import type { LossState, PairLossEntry, RankingLossEntry, UnpairedLossEntry } from "../losses/registry";
import { exampleAt, type BanditPlan, type TrainBanditResult } from "./trainConfig";
import type { PolicyTable } from "./tabular";
import { throwIfInterrupted } from "../interrupt";

/** Every step's gather indices into θ flattened to [S·K·M], precomputed so a step uploads small slices. */
interface GatherPlan {
  /** role j → Int32Array [steps, S, B]: chosen/rejected for pairs, the response for unpaired, rank j for rankings. */
  roles: Int32Array[];
  /** Unpaired: s·K + x per example ([steps, S, B]) and the desirable flags. */
  prompts?: Int32Array;
  desirable?: Float32Array;
}

function gatherPlan(plan: BanditPlan): GatherPlan {
  const c = plan.config;
  const d = c.dataset;
  const { nPrompts: K, nResponses: M } = d;
  const S = c.seeds.length;
  const B = plan.batch;
  const KM = K * M;
  const nRoles = d.kind === "pairs" ? 2 : d.kind === "unpaired" ? 1 : d.rankings[0].order.length;
  if (d.kind === "rankings" && d.rankings.some((r) => r.order.length !== nRoles)) {
    throw new Error("trainBandit (tfjs engine): every ranking must have the same length");
  }
  const g: GatherPlan = { roles: Array.from({ length: nRoles }, () => new Int32Array(c.steps * S * B)) };
  if (d.kind === "unpaired") {
    g.prompts = new Int32Array(c.steps * S * B);
    g.desirable = new Float32Array(c.steps * S * B);
  }
  for (let s = 0; s < S; s++) {
    for (let t = 0; t < c.steps; t++) {
      for (let b = 0; b < B; b++) {
        const i = exampleAt(plan.indices[s], B, t, b);
        const at = (t * S + s) * B + b;
        if (d.kind === "pairs") {
          g.roles[0][at] = s * KM + d.pairs[i].prompt * M + d.pairs[i].chosen;
          g.roles[1][at] = s * KM + d.pairs[i].prompt * M + d.pairs[i].rejected;
        } else if (d.kind === "unpaired") {
          const e = d.examples[i];
          g.roles[0][at] = s * KM + e.prompt * M + e.response;
          g.prompts![at] = s * K + e.prompt;
          g.desirable![at] = e.desirable ? 1 : 0;
        } else {
          d.rankings[i].order.forEach((y, j) => (g.roles[j][at] = s * KM + d.rankings[i].prompt * M + y));
        }
      }
    }
  }
  return g;
}

/** throwIfInterrupted, freeing what `free` frees first when it throws. */
function onInterrupt(free: () => void): void {
  try {
    throwIfInterrupted();
  } catch (e) {
    free();
    throw e;
  }
}

export function trainBanditTfjs(plan: BanditPlan): TrainBanditResult {
  const t0 = performance.now();
  const c = plan.config;
  const d = c.dataset;
  const { nPrompts: K, nResponses: M } = d;
  const S = c.seeds.length;
  const B = plan.batch;
  const g = gatherPlan(plan);
  const init = Array.from({ length: S }, () => plan.initLogits);
  const theta = tf.tidy(() =>
    tf.variable(tf.tensor3d(init as number[][][], [S, K, M]), true, `bandit-theta-${Date.now()}-${Math.random()}`),
  );
  const logRef = tf.tidy(() =>
    tf.log(tf.tensor3d(Array.from({ length: S }, () => plan.refPolicy) as number[][][], [S, K, M])),
  );
  const optimizer = tf.train.adam(c.learningRate, plan.adam.beta1, plan.adam.beta2, plan.adam.epsilon);
  const state: LossState | undefined = plan.entry.createState?.();
  const curvePolicies: PolicyTable[][] = [];
  const curveLosses: number[][] = [];

  const slice = <T extends Int32Array | Float32Array>(arr: T, t: number) =>
    arr.subarray(t * S * B, (t + 1) * S * B) as T;
  const indices = (arr: Int32Array, t: number) => tf.tensor2d(slice(arr, t), [S, B], "int32");
  /** Per-seed mean loss [S] at step t's batch (t < steps). */
  const batchLoss = (t: number): tf.Tensor1D => {
    const logp = tf.reshape(tf.logSoftmax(theta, -1), [S * K * M]);
    const ref = tf.reshape(logRef, [S * K * M]);
    const role = (x: tf.Tensor, j: number) => tf.gather(x, indices(g.roles[j], t));
    let losses: tf.Tensor;
    if (d.kind === "pairs") {
      const ones = tf.ones([S, B]); // bandit responses are single tokens
      losses = (plan.entry as PairLossEntry).loss(
        {
          policyChosen: role(logp, 0),
          policyRejected: role(logp, 1),
          refChosen: role(ref, 0),
          refRejected: role(ref, 1),
          chosenLengths: ones,
          rejectedLengths: ones,
        },
        plan.options,
        state,
      ).losses;
    } else if (d.kind === "unpaired") {
      losses = (plan.entry as UnpairedLossEntry).loss(
        {
          policy: role(logp, 0),
          ref: role(ref, 0),
          desirable: tf.tensor2d(slice(g.desirable!, t), [S, B]),
          z0: ktoZ0(t),
        },
        plan.options,
        state,
      ).losses;
    } else {
      const stack = (x: tf.Tensor) =>
        tf.stack(
          g.roles.map((_, j) => role(x, j)),
          -1,
        );
      losses = (plan.entry as RankingLossEntry).loss(
        { policy: stack(logp), ref: stack(ref) },
        plan.options,
        state,
      ).losses;
    }
    return tf.mean(losses, -1) as tf.Tensor1D;
  };
  /** KTO's reference point per seed: the batch's exact KL(π‖π_ref) over its prompts, clamped at 0, a constant [S]. */
  const ktoZ0 = (t: number): tf.Tensor1D => {
    const values = tf.tidy(() => {
      const klPerPrompt = tf.reshape(
        tf.sum(tf.mul(tf.softmax(theta, -1), tf.sub(tf.logSoftmax(theta, -1), logRef)), -1),
        [S * K],
      );
      return tf.relu(tf.mean(tf.gather(klPerPrompt, indices(g.prompts!, t)), -1)).dataSync();
    });
    return tf.tensor1d(values); // a fresh tensor: no gradient flows into θ
  };
  const record = (loss: number[]) => {
    const probs = tf.softmax(theta, -1);
    curvePolicies.push(probs.arraySync() as number[][][]);
    probs.dispose();
    curveLosses.push(loss);
  };
  let ri = 0;
  for (let t = 0; t < c.steps; t++) {
    onInterrupt(() => (optimizer.dispose(), tf.dispose([theta, logRef])));
    let kept: tf.Tensor | null = null;
    tf.tidy(() => {
      optimizer.minimize(
        () => {
          const l = batchLoss(t);
          if (plan.recorded[ri] === t) kept = tf.keep(l.clone());
          return tf.sum(l) as tf.Scalar; // seeds are independent: the sum's gradient is each seed's own
        },
        false,
        [theta],
      );
    });
    if (kept !== null) {
      const k = kept as tf.Tensor;
      record(Array.from(k.dataSync()));
      k.dispose();
      ri++;
    }
  }
  const last = tf.tidy(() => batchLoss(c.steps - 1));
  record(Array.from(last.dataSync()));
  last.dispose();
  const finalLogits = theta.arraySync() as number[][][];
  optimizer.dispose();
  tf.dispose([theta, logRef]);
  return {
    finalPolicies: curvePolicies[curvePolicies.length - 1],
    finalLogits,
    curves: { steps: plan.recorded, policies: curvePolicies, losses: curveLosses },
    engine: "tfjs",
    seconds: (performance.now() - t0) / 1000,
  };
}
