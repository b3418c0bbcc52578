// The training metrics TRL logs for preference losses, as plain numbers.
import * as tf from "@tensorflow/tfjs";

export interface PreferenceMetricsInput {
  /** β(log π − log π_ref) of chosen / desirable responses (any shape). */
  chosenRewards: tf.Tensor;
  /** The same for rejected / undesirable responses. */
  rejectedRewards: tf.Tensor;
  /** Summed log π of the chosen responses (optional). */
  policyChosen?: tf.Tensor;
  /** Summed log π of the rejected responses (optional). */
  policyRejected?: tf.Tensor;
  /** KTO's reference point z0 (optional), logged as `kl`. */
  kl?: tf.Tensor;
}

export type PreferenceMetrics = Record<string, number>;

/**
 * Means over every element, under TRL's names: `rewards/chosen`, `rewards/rejected`, `rewards/margins`
 * (mean of chosen − rejected) and `rewards/accuracies` (fraction with chosen > rejected) — the last two only
 * when chosen and rejected have the same shape (paired losses; KTO's unpaired sets have neither) —
 * `logps/chosen`, `logps/rejected` when the policy log-probs are given, and `kl` when given.
 * A mean over an empty set is NaN (KTO batch without desirable or undesirable examples).
 */
export function preferenceMetrics(input: PreferenceMetricsInput): PreferenceMetrics {
  const mean = (t: tf.Tensor): number => {
    const v = t.dataSync();
    let s = 0;
    for (let i = 0; i < v.length; i++) s += v[i];
    return s / v.length;
  };
  const c = input.chosenRewards.dataSync();
  const r = input.rejectedRewards.dataSync();
  const out: PreferenceMetrics = {
    "rewards/chosen": mean(input.chosenRewards),
    "rewards/rejected": mean(input.rejectedRewards),
  };
  const paired =
    input.chosenRewards.shape.length === input.rejectedRewards.shape.length &&
    input.chosenRewards.shape.every((d, i) => d === input.rejectedRewards.shape[i]);
  if (paired) {
    let margin = 0;
    let wins = 0;
    for (let i = 0; i < c.length; i++) {
      margin += c[i] - r[i];
      if (c[i] > r[i]) wins++;
    }
    out["rewards/margins"] = margin / c.length;
    out["rewards/accuracies"] = wins / c.length;
  }
  if (input.policyChosen) out["logps/chosen"] = mean(input.policyChosen);
  if (input.policyRejected) out["logps/rejected"] = mean(input.policyRejected);
  if (input.kl) out["kl"] = mean(input.kl);
  return out;
}
