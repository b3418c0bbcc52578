// The preference losses: per-example values on tensors of any shape [..., B] (callers reduce).
export { dpoLoss, implicitRewards } from "./dpo";
export type { DpoOptions, DpoVariant } from "./dpo";
export { ipoLoss } from "./ipo";
export type { IpoOptions } from "./ipo";
export { ktoLoss, ktoMismatchedPairs, checkKtoWeightRatio, resetKtoWarnings } from "./kto";
export type { KtoOptions, KtoLossOutput } from "./kto";
export { listwiseDpoLoss, plackettLuceNll } from "./listwise";
export type { ListwiseDpoOptions, ListwiseDpoOutput } from "./listwise";
export { preferenceMetrics } from "./metrics";
export type { PreferenceMetrics, PreferenceMetricsInput } from "./metrics";
export { stopGradient } from "./common";
export type { PreferenceLossOutput } from "./common";
