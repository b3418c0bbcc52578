// The faithful reproduction of DPO's Figure 2 (controlled sentiment generation) on rt-polarity:
// ground-truth classifier, prefix prompts split by prompt, K-sample preference data in TRL formats, and
// the learned Bradley–Terry reward model PPO optimises.
export * from "./classifier";
export * from "./prefixes";
export * from "./pairs";
export * from "./rewardModel";
export * from "./shared";
export * from "./experiment";
