// The faithful reproduction of DPO's Figure 2 (controlled sentiment generation) on rt-polarity:
// ground-truth classifier, prefix prompts split by prompt, K-sample preference data in TRL formats, and
// the learned Bradley–Terry reward model PPO optimises.
export * from "./classifier";
export * from "./prefixes";
export * from "./pairs";
// The TRL file I/O and trainOnTrlFile live in the LM track (pf.lm); re-exported under their pf.fig2 names.
export * from "../lm/trlFiles";
export * from "../lm/trainOnTrlFile";
export * from "./rewardModel";
export * from "./shared";
export * from "./experiment";
