// The language-model track: a tiny causal transformer trained on a corpus, RLAIF preference data from a
// constitution of AI judges, and DPO / IPO / KTO / listwise DPO / RLOO / PPO / GRPO / online and iterative
// DPO / TR-DPO on real sequence models.
export * from "./tokenizer";
export * from "./corpus";
export {
  Transformer,
  validateConfig,
  parameterCount,
  forwardFlopsPerToken,
  parameterShapes,
  ownedVariable,
  layerNorm,
  gelu,
} from "./transformer";
export type { TransformerConfig } from "./transformer";
export { matMulFast } from "./fastMatMul";
export * from "./batching";
export { tokenLogProbs, modelTokenLogProbs, maskedSequenceSum, sequenceLogProbsFromLabels } from "./logprobs";
export { adamStep, makeAdam } from "./optim";
export type { StepResult } from "./optim";
export * from "./sampling";
export * from "./kvCache";
export * from "./sft";
export * from "./checkpoint";
export * from "./judges";
export * from "./rlaif";
export * from "./preferenceTrainer";
export * from "./trlFiles";
export * from "./trainOnTrlFile";
export * from "./ppoMath";
export * from "./ppoValueHead";
export * from "./ppo";
export * from "./rloo";
export * from "./groupMath";
export * from "./grpo";
export * from "./onlineDpo";
export * from "./trDpo";
export * from "./evaluate";
export * from "./pipeline";
export * from "./frontier";
