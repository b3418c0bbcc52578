// The Figure-2 experiment (fig2-experiment's half of src/fig2): checkpoint evaluation, runs of every
// method, Best-of-N, prompt-clustered CIs and checkpoint envelopes.
export * from "./stats";
export * from "./envelope";
export * from "./bestOfN";
export * from "./evaluation";
export * from "./run";
export * from "./runPresets";
export * from "./context";
export * from "./summary";
export * from "./plots";
