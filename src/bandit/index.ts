// The bandit track: tabular policies, shared preference datasets, the preference-loss trainer and policy gradient.
export * from "./tabular";
export * from "./datasets";
export * from "./sampling";
export * from "./io";
export * from "./optima";
export { btRewardsPerPrompt, plRewardsPerPrompt } from "./mleRewards";
export { trainBandit, planBandit, minibatchIndices, recordedSteps, finalProbabilities, meanPolicy } from "./trainer";
export type {
  BanditMethod,
  BanditLossOptions,
  TrainBanditConfig,
  TrainBanditResult,
  AdamOptions,
  BanditPlan,
} from "./trainer";
export { trainPolicyGradient, klObjectiveTable } from "./policyGradient";
export type { PolicyGradientConfig, PolicyGradientResult } from "./policyGradient";
export { generateBanditData, BANDIT_DATA_SEED } from "./generate";
export { IPO_54_SETUP, runIpo54 } from "./experiments";
export type { Ipo54Run, Ipo54Options } from "./experiments";
export { klRewardFrontier, rewardAtKl, frontierRewardAt } from "./frontier";
export type { RewardKlPoint } from "./frontier";
