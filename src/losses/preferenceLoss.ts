// preferenceLoss(lossType, batch, options): any registered loss by name, with TRL's names and semantics,
// and TRL's loss_weights combinations (MPO). The one entry point notebooks and users call.
import * as tf from "@tensorflow/tfjs";
import "./all";
import { preferenceMetrics, type PreferenceMetrics } from "./metrics";
import {
  getLoss,
  resolveLossOptions,
  type AnyBatch,
  type LossOutput,
  type LossState,
  type PairBatch,
} from "./registry";

export interface PreferenceLossResult extends LossOutput {
  /** TRL's logged names: rewards/chosen, rewards/rejected, rewards/margins, rewards/accuracies, logps/*, extras' means. */
  metrics: PreferenceMetrics;
}

export interface PreferenceLossCallOptions extends Record<string, unknown> {
  /** With several loss types: each one's weight (TRL loss_weights; default all 1). */
  lossWeights?: number[];
}

/**
 * The per-example losses of `lossType` (a registered name, see listLossTypes()) on `batch`, with `options`
 * validated against the loss's schema (unknown options are errors) and defaults filled in. Several types
 * (TRL's `loss_type=[…]` with `loss_weights`, e.g. MPO's ["sigmoid", "bco_pair", "sft"]) give
 * Σ_k w_k · losses_k, each loss taking the options it knows (an option no listed loss takes is an error);
 * rewards and metrics then come from the first type. `state` carries BCO's running mean across calls
 * (createLossState; with several types it goes to the stateful one, or pass one per type). Rewards and extras carry no gradient; metrics are plain numbers.
 */
export function preferenceLoss(
  lossType: string | string[],
  batch: AnyBatch,
  options: PreferenceLossCallOptions = {},
  state?: LossState | LossState[],
): PreferenceLossResult {
  const types = Array.isArray(lossType) ? lossType : [lossType];
  if (types.length === 0) throw new Error("preferenceLoss: lossType is an empty list");
  const { lossWeights, ...rest } = options;
  const weights = lossWeights ?? types.map(() => 1);
  if (weights.length !== types.length || weights.some((w) => !(Number.isFinite(w) && w >= 0))) {
    throw new Error(
      `preferenceLoss: lossWeights must be ${types.length} finite numbers >= 0 (one per loss type), got [${weights}]`,
    );
  }
  const entries = types.map(getLoss);
  const kinds = new Set(entries.map((e) => e.data));
  if (kinds.size > 1)
    throw new Error(
      `preferenceLoss: cannot combine losses on different data (${types.map((t, i) => `${t}: ${entries[i].data}`).join(", ")})`,
    );
  const resolved = entries.map((e) => {
    if (types.length === 1) return resolveLossOptions(e.name, rest);
    const own = Object.fromEntries(Object.entries(rest).filter(([k]) => k in e.options));
    return resolveLossOptions(e.name, own);
  });
  if (types.length > 1) {
    for (const key of Object.keys(rest)) {
      if (rest[key] !== undefined && !entries.some((e) => key in e.options))
        throw new Error(`preferenceLoss: option ${key} is not taken by any of ${types.join(", ")}`);
    }
  }
  // One state object goes to the (first) stateful loss of the list, e.g. MPO's bco_pair.
  const stateful = entries.findIndex((e) => e.createState !== undefined);
  const states = Array.isArray(state) ? state : types.map((_, i) => (i === stateful ? state : undefined));
  const outs = entries.map((e, i) =>
    (e.loss as (b: AnyBatch, o: (typeof resolved)[number], s?: LossState) => LossOutput)(batch, resolved[i], states[i]),
  );
  const losses = tf.tidy(
    () =>
      outs.reduce<tf.Tensor | null>(
        (sum, o, i) => (sum === null ? tf.mul(o.losses, weights[i]) : tf.add(sum, tf.mul(o.losses, weights[i]))),
        null,
      )!,
  );
  const extras: Record<string, tf.Tensor> = {};
  outs.forEach((o, i) =>
    Object.entries(o.extras).forEach(([k, v]) => (extras[k in extras ? `${types[i]}/${k}` : k] = v)),
  );
  for (const o of outs.slice(1)) tf.dispose([o.losses, o.chosenRewards, o.rejectedRewards]);
  tf.dispose(outs[0].losses);
  const pair = batch as PairBatch;
  const metrics = preferenceMetrics({
    chosenRewards: outs[0].chosenRewards,
    rejectedRewards: outs[0].rejectedRewards,
    policyChosen: entries[0].data === "pairs" ? pair.policyChosen : undefined,
    policyRejected: entries[0].data === "pairs" ? pair.policyRejected : undefined,
  });
  for (const [k, v] of Object.entries(extras)) {
    const values = Array.from(v.dataSync() as Float32Array);
    metrics[k] = values.reduce((s, x) => s + x, 0) / values.length;
  }
  return { losses, chosenRewards: outs[0].chosenRewards, rejectedRewards: outs[0].rejectedRewards, extras, metrics };
}

/** Fresh state for a stateful loss (BCO's running mean), or undefined. Keep one per training run. */
export function createLossState(lossType: string): LossState | undefined {
  return getLoss(lossType).createState?.();
}

/** One pair for pairLossAt: log-probs (reference 0 and token counts 1 when omitted). */
export interface PairPoint {
  policyChosen: number;
  policyRejected: number;
  refChosen?: number;
  refRejected?: number;
  chosenLength?: number;
  rejectedLength?: number;
}

/**
 * A pair loss at one point, in float64 through its twin: the loss and its derivatives with respect to
 * log π(y_w) and log π(y_l) (the per-example gradient weights, e.g. DPO's −βσ(−βh) and +βσ(−βh)). With
 * the reference at 0 and policyRejected 0, policyChosen is the margin h. Batch-coupled losses are taken
 * on a batch of this one pair (BCO's δ is its own mean reward unless bcoDelta is given).
 */
export function pairLossAt(
  lossType: string,
  options: Record<string, unknown>,
  x: PairPoint,
): { loss: number; dChosen: number; dRejected: number } {
  const entry = getLoss(lossType);
  if (entry.data !== "pairs") throw new Error(`pairLossAt: loss "${entry.name}" trains on ${entry.data}, not pairs`);
  const one = (v: number | undefined, d: number) => Float64Array.of(v ?? d);
  const g = entry.twin(
    {
      policyChosen: one(x.policyChosen, 0),
      policyRejected: one(x.policyRejected, 0),
      refChosen: one(x.refChosen, 0),
      refRejected: one(x.refRejected, 0),
      chosenLengths: one(x.chosenLength, 1),
      rejectedLengths: one(x.rejectedLength, 1),
    },
    resolveLossOptions(entry.name, options),
  );
  return { loss: g.losses[0], dChosen: g.dChosen[0], dRejected: g.dRejected[0] };
}
