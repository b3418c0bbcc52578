// TRL loss_type "bco_pair": Binary Classifier Optimization on pairs, with a running reward shift δ.
import * as tf from "@tensorflow/tfjs";
import { logSigmoid } from "../../ops";
import { logSigmoid as ls, sigmoid } from "../math64";
import { logratioEntry } from "../pairCommon";
import { registerLoss, type LossState } from "../registry";

/**
 * With r_w = β a, r_l = β b: −log σ(r_w − δ) − log σ(−(r_l − δ)). δ is held constant: the option bcoDelta
 * when given; else TRL's RunningMoments over steps: each call adds this batch's mean of all 2B rewards as
 * ONE observation (TRL updates with the detached scalar mean) and uses the updated mean, so the first batch
 * uses its own mean. Without a state (a one-off call) δ is the batch mean. With leading axes (e.g. seeds
 * [S, B]) each row keeps its own mean. ∂/∂a = −βσ(δ − r_w), ∂/∂b = βσ(r_l − δ).
 */
export const bcoPairLoss = registerLoss(
  logratioEntry({
    name: "bco_pair",
    summary: "BCO: −log σ(βa − δ) − log σ(δ − βb), δ the running mean reward",
    citation:
      "Jung et al. 2024, Binary Classifier Optimization for Large Language Model Alignment, the BCO loss with reward shift δ (the running mean reward); TRL dpo_loss loss_type='bco_pair' with RunningMoments",
    options: { beta: true, bcoDelta: true, referenceFree: true, rpoAlpha: true },
    createState: () => ({ count: 0, mean: [] }),
    prepare: (t, o, state) => {
      const beta = o.beta;
      const lead = t.pc.shape.slice(0, -1);
      if (o.bcoDelta !== undefined) return tf.fill([...lead, 1], o.bcoDelta);
      const batchMeans = tf.tidy(() =>
        tf
          .mean(tf.concat([tf.sub(t.pc, t.rc), tf.sub(t.pr, t.rr)], -1), -1)
          .mul(beta)
          .dataSync(),
      );
      return tf.tensor(updateRunning(Array.from(batchMeans), state), [...lead, 1]);
    },
    prepare64: (b, o, state) => {
      if (o.bcoDelta !== undefined) return o.bcoDelta;
      const free = o.referenceFree === true;
      let s = 0;
      for (let i = 0; i < b.policyChosen.length; i++) {
        s += b.policyChosen[i] - (free ? 0 : b.refChosen[i]) + b.policyRejected[i] - (free ? 0 : b.refRejected[i]);
      }
      return updateRunning([(o.beta * s) / (2 * b.policyChosen.length)], state)[0];
    },
    phi: (a, b, o, delta) => {
      const beta = o.beta;
      return tf.sub(tf.neg(logSigmoid(tf.sub(tf.mul(a, beta), delta!))), logSigmoid(tf.sub(delta!, tf.mul(b, beta))));
    },
    phi64: (a, b, o, delta) => {
      const beta = o.beta;
      const [u, v] = [beta * a - delta, delta - beta * b];
      return [-ls(u) - ls(v), -beta * sigmoid(-u), beta * sigmoid(-v)];
    },
    extras: (delta) => ({ "bco/delta": delta }),
  }),
);

/** Adds one observation per row to the running means in `state` (if any) and returns the means to use. */
function updateRunning(batchMeans: number[], state?: LossState): number[] {
  if (!state) return batchMeans;
  const count = (state.count as number) + 1;
  const prev = state.mean as number[];
  const mean = batchMeans.map((m, r) => (count === 1 ? m : prev[r] + (m - prev[r]) / count));
  state.count = count;
  state.mean = mean;
  return mean;
}
