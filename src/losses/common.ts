// Shared helpers for the preference losses: argument checks and a gradient stop.
import * as tf from "@tensorflow/tfjs";
import { MAX_SCALE, MAX_SCALE_REASON, float32Problem } from "./options";

/**
 * The identity in the forward pass with a zero gradient (tfjs has no tf.stopGradient). Used for
 * quantities that are logged or held constant inside a loss: DPO's implicit rewards, KTO's z0.
 */
export const stopGradient: (x: tf.Tensor) => tf.Tensor = tf.customGrad(
  (...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const x = args[0] as tf.Tensor;
    return { value: tf.clone(x), gradFunc: (dy: tf.Tensor | tf.Tensor[]) => tf.zerosLike(dy as tf.Tensor) };
  },
);

/**
 * Throws unless `beta` is a positive number that float32 carries (normal: not subnormal) and at most
 * MAX_SCALE = 1e6, so that β·h stays finite for any log-ratio h of a float32 model (see MAX_SCALE).
 */
export function checkBeta(where: string, beta: number): void {
  if (!(Number.isFinite(beta) && beta > 0)) throw new Error(`${where}: beta must be a finite number > 0, got ${beta}`);
  const f32 = float32Problem(beta);
  if (f32) throw new Error(`${where}: beta ${f32} (losses compute in float32)`);
  if (beta > MAX_SCALE) throw new Error(`${where}: beta must be <= ${MAX_SCALE}, got ${beta} (${MAX_SCALE_REASON})`);
}

/** Throws unless every named tensor has the same shape as the first. */
export function checkSameShape(where: string, tensors: Record<string, tf.Tensor | null | undefined>): void {
  let refName = "";
  let ref: number[] | null = null;
  for (const [name, t] of Object.entries(tensors)) {
    if (t === null || t === undefined) continue;
    if (t.dtype !== "float32") throw new Error(`${where}: ${name} must be float32, got ${t.dtype}`);
    if (ref === null) {
      ref = t.shape;
      refName = name;
    } else if (t.shape.length !== ref.length || t.shape.some((d, i) => d !== ref![i])) {
      throw new Error(`${where}: ${name} has shape [${t.shape}] but ${refName} has shape [${ref}]`);
    }
  }
}

/** The output shared by the pairwise preference losses. All tensors have the inputs' shape [..., B]. */
export interface PreferenceLossOutput {
  /** Per-example losses (not reduced: the caller takes the mean or sum). */
  losses: tf.Tensor;
  /** β(log π(y_w) − log π_ref(y_w)), no gradient. */
  chosenRewards: tf.Tensor;
  /** β(log π(y_l) − log π_ref(y_l)), no gradient. */
  rejectedRewards: tf.Tensor;
}
