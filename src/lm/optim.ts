// One optimisation step shared by every trainer: gradients of a scalar loss with respect to the model's
// variables, clipped by global norm (Pascanu et al. 2013), applied with Adam (Kingma & Ba 2015).
import * as tf from "@tensorflow/tfjs";
import { reportProgress } from "../progress";
import { FusedAdam, isFusedAdam } from "./kernels/adam";

export interface StepResult {
  loss: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
}

/**
 * Minimise `lossFn` by one Adam step. `lossFn` may return extra scalars (read after the step) through
 * `aux`, which the caller owns and must dispose. Gradients are clipped to `clipNorm` (global L2 norm).
 */
export function adamStep(
  optimizer: tf.Optimizer,
  variables: tf.Variable[],
  lossFn: () => tf.Scalar,
  clipNorm = 1,
): StepResult {
  const { value, grads } = tf.variableGrads(lossFn, variables);
  const out = tf.tidy(() => {
    const names = Object.keys(grads);
    const sq = names.map((n) => tf.sum(tf.square(grads[n])));
    const norm = tf.sqrt(tf.addN(sq));
    const scale = tf.minimum(1, tf.div(clipNorm, tf.maximum(norm, 1e-12)));
    if (isFusedAdam(optimizer)) optimizer.applyScaled(grads, scale.dataSync()[0]);
    else {
      const clipped: tf.NamedTensorMap = {};
      for (const n of names) clipped[n] = tf.mul(grads[n], scale);
      optimizer.applyGradients(clipped);
    }
    return norm.dataSync()[0];
  });
  const loss = value.dataSync()[0];
  value.dispose();
  tf.dispose(grads);
  if (!Number.isFinite(loss)) throw new Error(`adamStep: loss is ${loss}`);
  return { loss, gradNorm: out };
}

/**
 * Adam with the usual betas; the optimizer's slots are created on the first step and then reused. It is
 * tf.train.adam's optimizer, whose clipped update adamStep runs as one kernel per variable (kernels/adam.ts:
 * the same numbers, bit for bit).
 */
export function makeAdam(learningRate: number): tf.Optimizer {
  return new FusedAdam(learningRate, 0.9, 0.999, 1e-8);
}

/**
 * Progress of a training loop, called every step: an in-place display in a notebook (step, metric, rate,
 * ETA), a stderr line in a terminal (every `every` steps in logs). See src/progress.ts.
 */
export function progress(label: string, step: number, total: number, extra: string, every = 10): void {
  reportProgress(label, step, total, extra, every);
}
