// Identity Preference Optimisation (IPO), elementwise on tensors of any shape [..., B].
import * as tf from "@tensorflow/tfjs";
import { checkBeta, checkSameShape, type PreferenceLossOutput } from "./common";
import { implicitRewards } from "./dpo";

export interface IpoOptions {
  /** The regularisation strength τ of Azar et al. (called β in TRL); the target margin is 1/(2τ). */
  beta: number;
  /**
   * Divide each log-prob by its sequence's token count before forming h (TRL / HALOs convention).
   * Default false: the paper and its reference implementation use summed log-probs.
   */
  lengthNormalize?: boolean;
  /** Token counts of the chosen responses (required when lengthNormalize), shape of the inputs. */
  chosenLengths?: tf.Tensor | number[];
  /** Token counts of the rejected responses (required when lengthNormalize). */
  rejectedLengths?: tf.Tensor | number[];
}

/**
 * IPO loss per example (Azar et al. 2023, "A General Theoretical Paradigm to Understand Learning from
 * Human Preferences", Eq. 17, the sampled loss):
 *   (h − 1/(2β))²,  h = [log π(y_w) − log π(y_l)] − [log π_ref(y_w) − log π_ref(y_l)].
 * With lengthNormalize, every log-prob is first divided by its token count; the rewards
 * β(log π − log π_ref) are then formed from the normalised log-probs too, and carry no gradient.
 */
export function ipoLoss(
  policyChosen: tf.Tensor,
  policyRejected: tf.Tensor,
  refChosen: tf.Tensor,
  refRejected: tf.Tensor,
  options: IpoOptions,
): PreferenceLossOutput {
  const where = "ipoLoss (src/losses/ipo.ts)";
  const { beta, lengthNormalize = false } = options;
  checkBeta(where, beta);
  checkSameShape(where, { policyChosen, policyRejected, refChosen, refRejected });
  if (lengthNormalize && (options.chosenLengths === undefined || options.rejectedLengths === undefined)) {
    throw new Error(`${where}: lengthNormalize needs options.chosenLengths and options.rejectedLengths`);
  }
  return tf.tidy(() => {
    let [pc, pr, rc, rr] = [policyChosen, policyRejected, refChosen, refRejected];
    if (lengthNormalize) {
      const lc = lengthTensor(where, "chosenLengths", options.chosenLengths!, policyChosen.shape);
      const lr = lengthTensor(where, "rejectedLengths", options.rejectedLengths!, policyRejected.shape);
      [pc, rc] = [tf.div(pc, lc), tf.div(rc, lc)];
      [pr, rr] = [tf.div(pr, lr), tf.div(rr, lr)];
    }
    const h = tf.sub(tf.sub(pc, pr), tf.sub(rc, rr));
    const losses = tf.square(tf.sub(h, 1 / (2 * beta)));
    return { losses, ...implicitRewards(pc, pr, rc, rr, beta) };
  });
}

function lengthTensor(where: string, field: string, lengths: tf.Tensor | number[], shape: number[]): tf.Tensor {
  const values = Array.isArray(lengths) ? lengths : Array.from(lengths.dataSync());
  const bad = values.findIndex((n) => !(Number.isFinite(n) && n > 0));
  if (bad >= 0) throw new Error(`${where}: options.${field}[${bad}] = ${values[bad]}; token counts must be > 0`);
  const t = Array.isArray(lengths) ? tf.tensor1d(lengths, "float32") : tf.cast(lengths, "float32");
  const last = shape[shape.length - 1];
  const ok = t.size === shape.reduce((a, b) => a * b, 1) || (t.rank === 1 && t.size === last);
  if (!ok) throw new Error(`${where}: options.${field} has shape [${t.shape}], inputs have shape [${shape}]`);
  return t.size === last && t.rank === 1 ? t : tf.reshape(t, shape);
}
