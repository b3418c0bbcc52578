// Identity Preference Optimisation (IPO), elementwise on tensors of any shape [..., B].
import * as tf from "@tensorflow/tfjs";
import { checkBeta, checkSameShape, type PreferenceLossOutput } from "./common";
import { implicitRewards } from "./dpo";
import { lengthTensor } from "./pairCommon";
import { MAX_SCALE } from "./options";

export interface IpoOptions {
  /** The regularisation strength τ of Azar et al. (called β in TRL); the target margin is 1/(2τ). */
  beta: number;
  /**
   * Divide each log-prob by its sequence's token count before forming h (TRL's loss_type "ipo", which
   * TRL's code says the IPO authors confirmed is the form behind the paper's results; the registry's
   * "ipo" entry defaults to it). Default false here: Eq. 17 is stated for log π(y) of whole responses
   * (summed token log-probs), the form the paper's analysis (§4–5, the bandit examples of §5.4) is about
   * and the one the bandit track, which has no tokens, reproduces; ipoLoss stays that literal equation.
   */
  lengthNormalize?: boolean;
  /** Token counts of the chosen responses (required when lengthNormalize), exactly the inputs' shape. */
  chosenLengths?: tf.Tensor | number[];
  /** Token counts of the rejected responses (required when lengthNormalize). */
  rejectedLengths?: tf.Tensor | number[];
}

/**
 * The smallest τ IPO takes, 1/MAX_SCALE = 1e-6: the loss squares the target margin 1/(2τ), which is a scale
 * like β (src/losses/options.ts MAX_SCALE), at most 5e5 here, so one example's loss stays near 2.5e11 and a
 * mean over any batch is finite. The float32 limit alone is not enough: at τ = 2^−64 one example's loss is
 * 2^126, finite, but the mean over a batch of four overflows (and a τ of the smallest normal float32 gives a
 * margin of 2^125 and an infinite loss).
 */
export const IPO_MIN_BETA = 1 / MAX_SCALE;

/**
 * Why IPO (or another loss that squares a target margin 1/(2β), such as sppo_hard: `loss` names it) cannot
 * take this β; undefined when it can.
 */
export function ipoBetaProblem(beta: number, loss = "IPO"): string | undefined {
  if (beta < IPO_MIN_BETA)
    return `must be >= ${IPO_MIN_BETA.toFixed(6)} for ${loss}: its loss squares 1/(2β), and a batch's mean of it overflows float32 below that (see IPO_MIN_BETA in src/losses/ipo.ts), got ${beta}`;
  return undefined;
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
  const small = ipoBetaProblem(beta);
  if (small) throw new Error(`${where}: beta ${small}`);
  checkSameShape(where, { policyChosen, policyRejected, refChosen, refRejected });
  if (lengthNormalize && (options.chosenLengths === undefined || options.rejectedLengths === undefined)) {
    throw new Error(`${where}: lengthNormalize needs options.chosenLengths and options.rejectedLengths`);
  }
  return tf.tidy(() => {
    let [pc, pr, rc, rr] = [policyChosen, policyRejected, refChosen, refRejected];
    if (lengthNormalize) {
      const lc = lengthTensor(where, "options.chosenLengths", options.chosenLengths!, policyChosen.shape);
      const lr = lengthTensor(where, "options.rejectedLengths", options.rejectedLengths!, policyRejected.shape);
      [pc, rc] = [tf.div(pc, lc), tf.div(rc, lc)];
      [pr, rr] = [tf.div(pr, lr), tf.div(rr, lr)];
    }
    const h = tf.sub(tf.sub(pc, pr), tf.sub(rc, rr));
    const losses = tf.square(tf.sub(h, 1 / (2 * beta)));
    return { losses, ...implicitRewards(pc, pr, rc, rr, beta) };
  });
}
