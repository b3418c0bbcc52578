// The loss zoo's analysis tools (notebook 10): weighted objectives from the registry's float64 twins,
// gradient weights as functions of the margin, population optima and their closed forms, a tabular trainer.
export {
  datasetPairs,
  pairBatch64,
  registryObjective,
  ktoSplitObjective,
  naiveObjective,
  objectiveFor,
} from "./objective";
export type { WeightedPairs, PairObjective, ObjectiveSpec } from "./objective";
export { twoResponsePoint, curveObjective, marginWeights, finiteDifferenceWeights, maxWeightError } from "./weights";
export type { MarginWeights } from "./weights";
export {
  btPopulation,
  minimisePopulation,
  ipoPopulationOptimum,
  ipoPreferenceOptimum,
  fDivergenceOptimum,
  winnerFrequencies,
  twoResponseOptimalMargin,
} from "./population";
export type { PairPopulation, PopulationOptimum } from "./population";
export { logSoftmaxRows, logitGradient, objectiveAt, flipLabels, trainTabular } from "./train";
export type { TrainTabularConfig, TrainTabularResult } from "./train";
export { lossZoo, ZOO_SKIPPED, dpoWeightShares } from "./zoo";
export type { ZooMember } from "./zoo";
