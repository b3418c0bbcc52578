// prefopt's public API. Data flows one way: data → policy → losses → trainers → experiments → plots.
export { initBackend, availableBackends } from "./backend";
export type { BackendInfo, BackendName } from "./backend";
export { Rng, makeRng, hashString } from "./random";
export { logSigmoid, logSumExp } from "./ops";
export {
  throwIfInterrupted,
  interruptRequested,
  requestInterrupt,
  withInterruptScope,
  InterruptedError,
} from "./interrupt";
export { showFigure, showTable, showMarkdown, escapeHtml, tableHtml, figureHtml } from "./display";
export { liveFigure } from "./liveFigure";
export type { LiveFigure } from "./liveFigure";
export { reportProgress, reportStage, Progress } from "./progress";
export type { PlotlyFigure } from "./display";
export { smallMultiples, MAX_TRACES_PER_PANEL } from "./smallMultiples";
export type { Panel, SmallMultiplesOptions } from "./smallMultiples";
export {
  check,
  CheckFailed,
  COLORS,
  band,
  formatCi,
  clusteredMean,
  logLogSlope,
  plackettLuceProbability,
  permutations,
  grade,
  NOT_TESTABLE,
  verdictRows,
  verdictFrame,
  showVerdicts,
  showHoldsHere,
  VERDICT_COLUMNS,
} from "./notebook";
export type { Identity, Reproduced, Verdict } from "./notebook";

// core library
export { sequenceLogProbs, sequenceTokenCounts } from "./logprobs";
export type { SequenceLogProbsOptions } from "./logprobs";
// The loss registry and the standalone losses: everything src/losses/index.ts exports.
export * from "./losses/index";
export { fitBradleyTerry } from "./rewardModels/bradleyTerry";
export type { RankingFit, RankingFitOptions } from "./rewardModels/bradleyTerry";
export type { PlackettLuceFitOptions } from "./rewardModels/plackettLuce";
export { fitPlackettLuce } from "./rewardModels/plackettLuce";
export { trainRewardModel, evaluateRewardModel, linearRewardModel } from "./rewardModels/parametric";
export type {
  RewardModel,
  PreferenceData,
  TrainRewardModelOptions,
  RewardEpochStats,
  RewardEvaluation,
} from "./rewardModels/parametric";
export { expectedReward, kl, klRegularisedObjective, klRegularisedOptimum, impliedReward } from "./klObjective";
export type { KlOptimum } from "./klObjective";
export {
  bradleyTerryProbability,
  sampleBradleyTerryPairs,
  samplePlackettLuceRanking,
  samplePlackettLuceRankings,
  sampleBradleyTerryPromptPairs,
} from "./synthetic";
export type { SamplerOptions, PromptPair } from "./synthetic";

// real data
export { isChat, textKey, textToString, textsEqual } from "./data/types";
export type {
  ChatMessage,
  Text,
  Extra,
  PreferenceRecord,
  UnpairedRecord,
  RankingRecord,
  LabelledText,
  TextEncoding,
} from "./data/types";
export {
  DataValidationError,
  RecordError,
  Collector,
  formatIssue,
  mergeReports,
  summarizeReport,
} from "./data/validation";
export type { IssueReason, RecordIssue, ValidationMode, ValidationReport } from "./data/validation";
export { readLines, readBytes, openBytes, isGzipFile, decodeBytes, splitJsonArray } from "./data/read";
export { readDelimited } from "./data/delimited";
export {
  HH_ASSISTANT_MARKER,
  parsePreference,
  parseUnpaired,
  parseRanking,
  parseText,
  splitImplicitPrompt,
} from "./data/records";
export type { PromptMode, PreferenceParseOptions } from "./data/records";
export {
  loadPreferences,
  streamPreferences,
  loadHhRlhf,
  loadUnpaired,
  loadRankings,
  loadDelimited,
  preferenceColumns,
  judgementColumns,
  loadLabelledLines,
  loadTabLabelled,
  iterateJsonRecords,
} from "./data/loaders";
export type { LoadOptions, LoadResult, DelimitedOptions } from "./data/loaders";
export { pairRecordsToUnpaired, rankingRecordsToPairs, dedupePairs, splitByPrompt } from "./data/convert";
export type { ConversionReport } from "./data/convert";
export {
  toJsonl,
  writeJsonl,
  writeJson,
  writeDelimited,
  neutraliseFormula,
  toJsonObject,
  toImplicitPrompt,
  hhDialogue,
} from "./data/export";
export { readTar, writeTar } from "./data/tar";
export {
  DATASETS,
  PROJECT_ROOT,
  sharedDataDir,
  cacheDir,
  findDataset,
  locateDataFile,
  locateDataDir,
  requireDataFile,
} from "./data/registry";
export type { DatasetEntry, RemoteFile, RemoteArchive } from "./data/registry";
export {
  fetchDataset,
  fetchFile,
  fetchArchive,
  httpDownload,
  DownloadError,
  sha256OfFile,
  sha256OfBytes,
} from "./data/download";
export type { DownloadOptions, FetchedFile } from "./data/download";
export {
  loadHhRlhfSplit,
  loadUltraFeedbackSample,
  ultraFeedbackScores,
  loadUkpConvArg1,
  loadUkpRanking,
  ukpTopic,
  ukpPrompt,
  loadRtPolarityData,
  loadUciSentences,
} from "./data/datasets";
export type { UkpTopic, UkpArgument, CuratedOptions } from "./data/datasets";
export { isParquetFile, readParquetRows } from "./data/parquet";
export { renameFields } from "./data/fieldMap";
export type { FieldMap } from "./data/fieldMap";
export {
  wordTokens,
  buildVocabulary,
  bagOfWords,
  surfaceFeatures,
  standardizer,
  SURFACE_FEATURES,
} from "./data/textFeatures";
export type { WordVocabulary } from "./data/textFeatures";

// bandit track
export * from "./bandit/index";

// language-model track
export * as lm from "./lm/index";

// The loss zoo's analysis tools (notebook 10): gradient weights, population optima, a tabular trainer.
export * as lossAnalysis from "./lossAnalysis/index";

// ablation runner
export { loadSweepFile, parseSweepSpec, SweepConfigError, canonicalJson } from "./sweep/config";
export type { SweepSpec, SweepReportOptions, Json, JsonObject, FieldPath } from "./sweep/config";
export { registerExperimentKind, getExperimentKind, listExperimentKinds, ConfigReader } from "./sweep/kinds";
export type { ExperimentKind, Metrics } from "./sweep/kinds";
import "./experiments/index";
export { BUILTIN_KINDS } from "./experiments/index";
export { syntheticKind } from "./experiments/synthetic-kind";
export { banditKind } from "./experiments/bandit-kind";
export { lmKind, clearLmMemory, lmCacheDir } from "./experiments/lm-kind";
export { expandSweep, runId, computedConfig, parseShard, shardRuns } from "./sweep/plan";
export type { SweepPlan, RunSpec, FactorValue } from "./sweep/plan";
export { runSweep, defaultOutDir } from "./sweep/runner";
export type { RunSweepOptions, RunSweepResult } from "./sweep/runner";
export { mergeShards } from "./sweep/merge";
export type { MergeOptions, MergeResult } from "./sweep/merge";
export { ResultsStore, readResults } from "./sweep/store";
export type { RunRecord } from "./sweep/store";
export { runPool, defaultWorkerCount } from "./sweep/pool";
export { seedStats, studentTQuantile, studentTCdf } from "./stats";
export type { SeedStats } from "./stats";
export { summarise, summaryFrame, summaryCsv, summaryJson, summaryRow, writeSummary } from "./sweep/summary";
export type { SweepSummary, SummaryRow } from "./sweep/summary";
export { reportHtml, factorFigure, primaryFactors, noCiReason, errorBarValue } from "./sweep/report";
export * as fig2 from "./fig2/index";
export { reproduceFig2, readFig2Results, FIG2_SWEEPS } from "./experiments/fig2-reproduce";
