// The bandit trainer: tabular softmax policies θ ∈ R^{S×K×M} (S seeds), trained by Adam on minibatches
// drawn with replacement from a preference dataset, minimising any registered loss (src/losses/registry.ts)
// whose data the dataset is: pair losses on pairs, listwise on rankings, kto on unpaired judgements.
//
// `trainBandit(config)` is a pure function of its config (seeds included): the same config gives the same
// numbers. Two engines compute the identical update:
//   "js"   (default) the losses' float64 twins (src/bandit/trainerJs.ts); fast on tiny tables.
//   "tfjs" the losses' tfjs functions under autodiff with tf.train.adam (src/bandit/trainerTfjs.ts); the
//          reference the js engine is tested against.
import { planBandit, type TrainBanditConfig, type TrainBanditResult } from "./trainConfig";
import { trainBanditJs } from "./trainerJs";
import { trainBanditTfjs } from "./trainerTfjs";
import type { PolicyTable } from "./tabular";

export { planBandit, minibatchIndices, recordedSteps } from "./trainConfig";
export type {
  TrainBanditConfig,
  TrainBanditResult,
  BanditMethod,
  BanditLossOptions,
  AdamOptions,
  BanditPlan,
} from "./trainConfig";

/** Train tabular policies on a preference dataset; see TrainBanditConfig. */
export function trainBandit(config: TrainBanditConfig): TrainBanditResult {
  const plan = planBandit(config);
  return plan.engine === "tfjs" ? trainBanditTfjs(plan) : trainBanditJs(plan);
}

/** Element [x][y] of each seed's final policy: e.g. finalProbabilities(result, 0, 0) = π(a) per seed. */
export function finalProbabilities(result: TrainBanditResult, prompt: number, response: number): number[] {
  return result.finalPolicies.map((p) => p[prompt][response]);
}

/** Mean over seeds of the final policies. */
export function meanPolicy(policies: PolicyTable[]): PolicyTable {
  return policies[0].map((row, x) => row.map((_, y) => policies.reduce((s, p) => s + p[x][y], 0) / policies.length));
}
