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
export { preferenceLoss, createLossState, pairLossAt } from "./preferenceLoss";
export { dpoPair, dpoMargin64 } from "./entries/dpo";
export type { PreferenceLossResult, PreferenceLossCallOptions, PairPoint } from "./preferenceLoss";
export {
  registerLoss,
  getLoss,
  hasLoss,
  canonicalLossName,
  listLossTypes,
  resolveLossOptions,
  optionSpecs,
} from "./registry";
export type {
  LossEntry,
  PairLossEntry,
  UnpairedLossEntry,
  RankingLossEntry,
  LossData,
  LossOutput,
  LossOptions,
  LossState,
  LossTypeInfo,
  PairBatch,
  UnpairedBatch,
  RankingBatch,
  PairBatch64,
  PairGrad64,
  UnpairedBatch64,
  UnpairedGrad64,
  RankingBatch64,
  RankingGrad64,
} from "./registry";
export { LOSS_OPTIONS, F_DIVERGENCES } from "./options";
export type { LossOptionSpec, LossOptionName, LossOptionValues, OptionValues, FDivergence } from "./options";
