// Benchmark of one DPO training step on a fixed transformer configuration (not a timed test):
//   vocabulary 2048, d_model 128, 4 heads, 2 layers, context 64, 32 preference pairs per step.
// Prints JSON: median step time, tokens/s, achieved GFLOP/s next to the backend's measured matmul
// GFLOP/s, the backend, and tf.memory().numTensors before and after the timed steps (must be equal).
//
//   npm run bench                 100 timed steps (+3 warm-up)
//   npm run bench -- --steps 20   fewer
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend";
import { Rng } from "../src/random";
import { Transformer, forwardFlopsPerToken, parameterCount } from "../src/lm/transformer";
import { trainPreference } from "../src/lm/preferenceTrainer";
import type { RlaifData, TokenizedPair } from "../src/lm/rlaif";
import type { Sequence } from "../src/lm/batching";

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function matmulGflops(m: number, k: number, n: number): number {
  const a = tf.randomNormal([m, k], 0, 1, "float32", 1) as tf.Tensor2D;
  const b = tf.randomNormal([k, n], 0, 1, "float32", 2) as tf.Tensor2D;
  let best = Infinity;
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const c = tf.matMul(a, b);
    c.dataSync();
    c.dispose();
    best = Math.min(best, performance.now() - t0);
  }
  tf.dispose([a, b]);
  return (2 * m * k * n) / (best * 1e6);
}

async function main(): Promise<void> {
  const backend = await initBackend();
  const steps = arg("steps", 100);
  const warmup = 3;
  const config = { vocabSize: 2048, contextLength: 64, dModel: 128, nHeads: 4, nLayers: 2 };
  const pairsPerStep = 32;
  const promptLen = 8;
  const completionLen = config.contextLength - 2 - promptLen; // + <bos> + <eos> = 64 tokens per row
  const rng = new Rng(0);
  const tokens = (n: number) => Array.from({ length: n }, () => 4 + rng.int(config.vocabSize - 4));
  const pairs: TokenizedPair[] = Array.from({ length: pairsPerStep * 4 }, () => {
    const prompt = tokens(promptLen);
    const chosenSeq: Sequence = { prompt, completion: tokens(completionLen), ended: true };
    const rejectedSeq: Sequence = { prompt, completion: tokens(completionLen), ended: true };
    return { prompt: "", chosen: "", rejected: "", chosenSeq, rejectedSeq, scoreChosen: 1, scoreRejected: 0 };
  });
  const data: RlaifData = { pairs, rankings: [], unpaired: [], tiedPrompts: 0, tiedLists: 0, flippedFraction: 0 };
  const reference = new Transformer(config, 0);
  const policy = reference.clone();
  // Warm-up (kernel setup, Adam slots), then the timed run.
  trainPreference(policy, reference, data, { method: "dpo", lossOptions: { beta: 0.1 }, steps: warmup, batchSize: pairsPerStep, verbose: false });
  const before = tf.memory().numTensors;
  const times: number[] = [];
  const t0 = Date.now();
  trainPreference(policy, reference, data, {
    method: "dpo",
    lossOptions: { beta: 0.1 },
    steps,
    batchSize: pairsPerStep,
    verbose: false,
    onStep: (s, ms) => {
      times.push(ms);
      if (s % 10 === 0) process.stderr.write(`step ${s}/${steps}  ${ms.toFixed(0)} ms\n`);
    },
  });
  const wall = (Date.now() - t0) / 1000;
  const after = tf.memory().numTensors;
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  const tokensPerStep = 2 * pairsPerStep * config.contextLength;
  // Training ≈ 3 × forward FLOPs (forward + backward w.r.t. activations and weights).
  const flopsPerStep = 3 * tokensPerStep * forwardFlopsPerToken(config, config.contextLength);
  const result = {
    config: { ...config, pairsPerStep, rowsPerStep: 2 * pairsPerStep, parameters: parameterCount(config) },
    backend: backend.name,
    simd: backend.simd,
    steps,
    medianStepMs: Number(median.toFixed(1)),
    p10StepMs: Number(times[Math.floor(times.length * 0.1)].toFixed(1)),
    p90StepMs: Number(times[Math.floor(times.length * 0.9)].toFixed(1)),
    tokensPerSecond: Math.round(tokensPerStep / (median / 1000)),
    achievedGflops: Number((flopsPerStep / (median * 1e6)).toFixed(2)),
    matmulGflops512: Number(matmulGflops(512, 512, 512).toFixed(1)),
    matmulGflopsLmHead: Number(matmulGflops(tokensPerStep, config.dModel, config.vocabSize).toFixed(1)),
    numTensorsBefore: before,
    numTensorsAfter: after,
    numTensorsEqual: before === after,
    wallSeconds: Number(wall.toFixed(1)),
    cpuSeconds: Number((process.cpuUsage().user / 1e6).toFixed(1)),
  };
  console.log(JSON.stringify(result, null, 2));
  policy.dispose();
  reference.dispose();
  if (before !== after) process.exit(1);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
