// TRL loss_types "aot" and "aot_unpaired": alignment via optimal transport (first-order stochastic dominance).
import * as tf from "@tensorflow/tfjs";
import { smoothedLogistic } from "../math64";
import { pairGrad, pairRewards, pairTensors, sortLastAxis, sortPermutation, withNll, withNll64 } from "../pairCommon";
import { registerLoss, type PairLossEntry } from "../registry";
import { smoothedLogisticTf } from "./sigmoid";

/** The options both AOT forms take (their OptionDecl; declared before the entries that use it). */
const AOT_OPTIONS = { beta: true, labelSmoothing: true, referenceFree: true, rpoAlpha: true } as const;

/**
 * AOT (paired): sort the batch's policy margins m_i = log π(y_w,i) − log π(y_l,i) and reference margins
 * m_i^ref separately, then the smoothed logistic loss on each sorted difference:
 *   ℓ_k = −(1−ε) log σ(βΔ_k) − ε log σ(−βΔ_k),  Δ_k = sort(m)_k − sort(m^ref)_k.
 * Per-example values are indexed by rank, not by input example (as in TRL); the mean is what is trained.
 * Gradients follow the sorting permutation. The batch is the last axis.
 */
export const aotLoss = registerLoss(aotEntry("aot", false));

/** AOT (unpaired): Δ_k = sort(a)_k − sort(b)_k, a and b the chosen and rejected log-ratios. */
export const aotUnpairedLoss = registerLoss(aotEntry("aot_unpaired", true));

function aotEntry(name: "aot" | "aot_unpaired", unpaired: boolean): PairLossEntry<keyof typeof AOT_OPTIONS> {
  const needs = { reference: true, lengths: "optional" } as const;
  return {
    name,
    summary: unpaired
      ? "AOT (unpaired): logistic loss on sort(chosen log-ratios) − sort(rejected log-ratios) across the batch"
      : "AOT (paired): logistic loss on sort(policy margins) − sort(reference margins) across the batch",
    citation: `Melnyk et al. 2024, Distributional Preference Alignment of LLMs via Optimal Transport, AOT ${unpaired ? "unpaired" : "paired"} with the logistic loss (sorting = the 1-D optimal transport plan); TRL dpo_loss loss_type='${name}'`,
    data: "pairs",
    needsReference: true,
    lengths: "optional",
    batchCoupled: true,
    options: AOT_OPTIONS,
    loss(batch, o) {
      return tf.tidy(() => {
        const t = pairTensors(name, batch, o, needs);
        const [x, y] = unpaired ? [tf.sub(t.pc, t.rc), tf.sub(t.pr, t.rr)] : [tf.sub(t.pc, t.pr), tf.sub(t.rc, t.rr)];
        const delta = tf.sub(sortLastAxis(x), sortLastAxis(y));
        const losses = withNll(smoothedLogisticTf(tf.mul(delta, o.beta), o.labelSmoothing), t, o);
        return { losses, ...pairRewards(t, o.beta), extras: {} };
      });
    },
    twin(b, o) {
      const n = b.policyChosen.length;
      const g = pairGrad(n);
      const beta = o.beta;
      const free = o.referenceFree === true;
      const rc = (i: number) => (free ? 0 : b.refChosen[i]);
      const rr = (i: number) => (free ? 0 : b.refRejected[i]);
      const x = Array.from({ length: n }, (_, i) =>
        unpaired ? b.policyChosen[i] - rc(i) : b.policyChosen[i] - b.policyRejected[i],
      );
      const y = Array.from({ length: n }, (_, i) => (unpaired ? b.policyRejected[i] - rr(i) : rc(i) - rr(i)));
      const [px, py] = [sortPermutation(x), sortPermutation(y)];
      for (let k = 0; k < n; k++) {
        const [v, d] = smoothedLogistic(beta * (x[px[k]] - y[py[k]]), o.labelSmoothing);
        g.losses[k] = v;
        g.dChosen[px[k]] += d * beta; // x depends on log π(y_w) with slope 1 in both forms
        if (unpaired)
          g.dRejected[py[k]] -= d * beta; // −y, y = log π(y_l) − ref
        else g.dRejected[px[k]] -= d * beta; // x = log π(y_w) − log π(y_l)
      }
      return withNll64(b, o, g);
    },
  };
}
