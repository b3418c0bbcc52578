// The sampling part of the engine benchmark (scripts/bench-lm.ts, `--only sampling`): sampled tokens/s with
// and without the key/value cache and, at the Figure-2 size, one iteration of each online trainer split into
// its phases (wall time, medians over the timed iterations after a warm-up; memory checked flat):
//   rloo  src/lm/rloo.ts's phases re-enacted here (8 prompts x k = 4 samples of 12 tokens, 2 epochs):
//         sampling, scoring (policy and reference log-probs), the update;
//   ppo   src/lm/ppo.ts's trainPpo itself, timed by its onTiming hook at the Figure-2 preset
//         (src/fig2/runPresets.ts: 256 rollouts of 12 tokens, 2 epochs x 4 minibatches of 64): sampling,
//         scoring (the reward, policy / value / reference log-probs, GAE), the update epochs.
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend";
import { Rng } from "../src/random";
import { Transformer, type TransformerConfig } from "../src/lm/transformer";
import { sampleCompletions, sampleGroups } from "../src/lm/sampling";
import { packSequences, disposeBatch } from "../src/lm/batching";
import { modelTokenLogProbs } from "../src/lm/logprobs";
import { adamStep, makeAdam } from "../src/lm/optim";
import { trainPpo, type PpoTiming } from "../src/lm/ppo";
import { SPECIAL_TOKENS, WordTokenizer } from "../src/lm/tokenizer";
import { LearnedRewardModel } from "../src/fig2/rewardModel";
import { FIG2_RUN_PRESETS } from "../src/fig2/runPresets";
import { median, sizeOf } from "./benchSizes";

const ms1 = (xs: number[]) => Number(median(xs).toFixed(1));

/** Sampled tokens per second for `prompts` (a fixed seed), with or without the key/value cache. */
function samplingRate(model: Transformer, prompts: number[][], maxNewTokens: number, useCache: boolean) {
  const t0 = performance.now();
  const out = sampleCompletions(model, prompts, new Rng(7), { maxNewTokens, useCache, forbid: [0, 1, 2] });
  const seconds = (performance.now() - t0) / 1000;
  const tokens = out.reduce((a, s) => a + s.completion.length + (s.ended ? 1 : 0), 0);
  return { tokensPerSecond: Math.round(tokens / seconds), tokens, seconds: Number(seconds.toFixed(2)) };
}

function randomPrompts(config: TransformerConfig, rows: number, promptLen: number): number[][] {
  const rng = new Rng(3);
  return Array.from({ length: rows }, () => Array.from({ length: promptLen }, () => 4 + rng.int(config.vocabSize - 4)));
}

function samplingBench(
  label: string,
  config: TransformerConfig,
  rows: number,
  promptLen: number,
  maxNewTokens: number,
) {
  const model = new Transformer(config, 1);
  const prompts = randomPrompts(config, rows, promptLen);
  samplingRate(model, prompts.slice(0, 4), 4, true); // warm-up
  // <eos> forbidden too (forbid above), so every row runs to the budget: the same work both ways.
  const cached = samplingRate(model, prompts, maxNewTokens, true);
  const plain = samplingRate(model, prompts, maxNewTokens, false);
  model.dispose();
  return {
    shape: label,
    rows,
    promptLen,
    maxNewTokens,
    cachedTokensPerSecond: cached.tokensPerSecond,
    plainTokensPerSecond: plain.tokensPerSecond,
    speedup: Number((cached.tokensPerSecond / plain.tokensPerSecond).toFixed(1)),
  };
}

/**
 * One RLOO iteration at the Figure-2 settings (8 prompts x k = 4 samples of 12 tokens, 2 epochs), timed in
 * the phases src/lm/rloo.ts runs: sampling, scoring (policy and reference log-probs), the update. The reward
 * (a learned model or classifier in Figure 2) is left out: it is not the policy's cost.
 */
function rlooSplit(config: TransformerConfig, iterations: number) {
  if (!(Number.isInteger(iterations) && iterations >= 1))
    throw new Error(`--rloo-iterations must be an integer ≥ 1, got ${iterations}`);
  const policy = new Transformer(config, 1);
  const reference = policy.clone(false);
  const optimizer = makeAdam(2e-3);
  const prompts = randomPrompts(config, 8, 5);
  const rng = new Rng(5);
  const phases = { samplingMs: [] as number[], scoringMs: [] as number[], updateMs: [] as number[] };
  let before = 0;
  for (let it = 0; it < iterations + 1; it++) {
    if (it === 1) before = tf.memory().numTensors; // after the warm-up made Adam's slots
    const t0 = performance.now();
    const seqs = sampleGroups(policy, prompts, 4, rng, { maxNewTokens: 12, temperature: 1 }).flat();
    const t1 = performance.now();
    const batch = packSequences(seqs, config.contextLength);
    const [oldLp] = tf.tidy(() => [
      modelTokenLogProbs(policy, batch.ids, batch.mask).dataSync(),
      modelTokenLogProbs(reference, batch.ids, batch.mask).dataSync(),
    ]);
    const t2 = performance.now();
    const oldT = tf.tensor2d(oldLp as Float32Array, batch.mask.shape);
    for (let e = 0; e < 2; e++)
      adamStep(
        optimizer,
        policy.variables,
        () =>
          tf.tidy(() => {
            const ratio = tf.exp(tf.sub(modelTokenLogProbs(policy, batch.ids, batch.mask), oldT));
            return tf.neg(tf.mean(tf.mul(ratio, batch.mask))) as tf.Scalar;
          }),
        1,
      );
    oldT.dispose();
    disposeBatch(batch);
    const t3 = performance.now();
    if (it === 0) continue; // warm-up
    phases.samplingMs.push(t1 - t0);
    phases.scoringMs.push(t2 - t1);
    phases.updateMs.push(t3 - t2);
  }
  const after = tf.memory().numTensors;
  optimizer.dispose();
  policy.dispose();
  reference.dispose();
  return {
    iterations,
    samples: 32,
    maxNewTokens: 12,
    samplingMs: ms1(phases.samplingMs),
    scoringMs: ms1(phases.scoringMs),
    updateMs: ms1(phases.updateMs),
    tensorsFlat: before === after,
  };
}

/**
 * One PPO iteration as src/lm/ppo.ts runs it, at the Figure-2 preset, timed by trainPpo's onTiming hook
 * (iteration 1 is the warm-up). The model is untrained (the cost does not depend on the weights); the
 * reward is an untrained learned reward model on the same body (Figure 2's PPO scores with a trained one:
 * the same cost), the prompts 64 random 5-word texts over a 2000-word vocabulary. Tensors are counted after
 * iteration 1 (Adam's slots, the value head, the decoding cache made), after the last, and after the call.
 */
function ppoSplit(config: TransformerConfig, iterations: number) {
  if (!(Number.isInteger(iterations) && iterations >= 1))
    throw new Error(`--ppo-iterations must be an integer ≥ 1, got ${iterations}`);
  const preset = FIG2_RUN_PRESETS.full;
  const words = Array.from({ length: config.vocabSize - SPECIAL_TOKENS.length }, (_, i) => `w${i}`);
  const tokenizer = new WordTokenizer([...SPECIAL_TOKENS, ...words]);
  const prompts = randomPrompts(config, 64, 5).map((p) => tokenizer.decode(p));
  const policy = new Transformer(config, 1);
  const reference = policy.clone(false);
  const rewardModel = new LearnedRewardModel(reference, 2);
  const before = tf.memory().numTensors;
  const timings: PpoTiming[] = [];
  const counts: number[] = [];
  try {
    trainPpo(policy, reference, tokenizer, prompts, (_p, _c, seqs) => rewardModel.scoreSequences(seqs), {
      beta: preset.ppo.initialBeta,
      targetKl: 3,
      iterations: iterations + 1,
      batchSize: preset.ppo.batchSize,
      miniBatchSize: preset.ppo.miniBatchSize,
      ppoEpochs: preset.ppo.ppoEpochs,
      learningRate: preset.ppo.learningRate,
      maxNewTokens: preset.evaluation.maxNewTokens,
      seed: 5,
      verbose: false,
      onIteration: (it) => {
        if (it === 1 || it === iterations + 1) counts.push(tf.memory().numTensors);
      },
      onTiming: (it, t) => {
        if (it > 1) timings.push(t);
      },
    });
    policy.releaseDecodingCache();
    counts.push(tf.memory().numTensors); // back to `before`: the value head and Adam's slots released
  } finally {
    rewardModel.dispose();
    reference.dispose();
    policy.dispose();
  }
  return {
    iterations,
    samples: preset.ppo.batchSize,
    maxNewTokens: preset.evaluation.maxNewTokens,
    epochs: preset.ppo.ppoEpochs,
    miniBatchSize: preset.ppo.miniBatchSize,
    samplingMs: ms1(timings.map((t) => t.samplingMs)),
    scoringMs: ms1(timings.map((t) => t.scoringMs)),
    updateMs: ms1(timings.map((t) => t.updateMs)),
    tensorsFlat: counts.length === 3 && counts[0] === counts[1] && counts[2] === before,
  };
}

/** `--only sampling` at one size: tokens/s both ways; at fig2, the RLOO and PPO iteration splits too. */
export async function samplingPart(
  sizeName: string,
  sampleRows: number,
  { rlooIterations, ppoIterations }: { rlooIterations: number; ppoIterations: number },
) {
  if (sizeName === "large") return { sampling: [] }; // the DPO step shows the growth; its plain sampling takes minutes
  const backend = await initBackend();
  const { config } = sizeOf(sizeName);
  console.log(
    `[${sizeName}] sampling (tokens/s, key/value cache vs full recomputation), ${backend.threads} thread(s):`,
  );
  const sampling = [];
  if (sizeName === "fig2")
    sampling.push(samplingBench("Figure-2 model, prompts of 5, 12 new tokens", config, sampleRows, 5, 12));
  else sampling.push(samplingBench(`${sizeName} model`, config, sampleRows, 7, config.contextLength - 8));
  if (sizeName === "bench")
    sampling.push(
      samplingBench(
        "notebook 06 model (d 64, context 32)",
        { vocabSize: 2048, contextLength: 32, dModel: 64, nHeads: 4, nLayers: 2 },
        sampleRows,
        5,
        16,
      ),
    );
  for (const s of sampling)
    console.log(
      `  ${s.shape}: ${s.rows} rows, ${s.maxNewTokens} new tokens: cached ${s.cachedTokensPerSecond}, plain ${s.plainTokensPerSecond}, ${s.speedup}x`,
    );
  if (sizeName !== "fig2") return { sampling };
  const rloo = rlooSplit(config, rlooIterations);
  console.log(
    `  RLOO iteration (${rloo.samples} samples of ${rloo.maxNewTokens} tokens, 2 epochs): sampling ${rloo.samplingMs} ms, scoring ${rloo.scoringMs} ms, update ${rloo.updateMs} ms; tensors flat ${rloo.tensorsFlat}`,
  );
  const ppo = ppoSplit(config, ppoIterations);
  console.log(
    `  PPO iteration (src/lm/ppo.ts; ${ppo.samples} rollouts of ${ppo.maxNewTokens} tokens, ${ppo.epochs} epochs x ${ppo.samples / ppo.miniBatchSize} minibatches of ${ppo.miniBatchSize}): sampling ${ppo.samplingMs} ms, scoring ${ppo.scoringMs} ms (reward, policy/value/reference log-probs, GAE), update ${ppo.updateMs} ms; tensors flat ${ppo.tensorsFlat}`,
  );
  return { sampling, rloo, ppo };
}
