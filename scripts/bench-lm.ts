// Benchmark of the language-model engine (not a timed test), on a fixed transformer configuration:
//   vocabulary 2048, d_model 128, 4 heads, 2 layers, context 64, 32 preference pairs per DPO step.
//
// 1. DPO training step, ours against the PyTorch peer (../shared/bench/torch_dpo_step.py: same config,
//    cached reference log-probs, one concatenated forward) at 1 and 2 threads. Each measurement runs in
//    its own process (the wasm thread count is fixed at start-up), ours and the peer's alternating, so the
//    ratio is measured side by side; `--repeats` rounds show how noisy the machine is. Each round also runs
//    ours with PREFOPT_FUSED=0 (plain tfjs kernels instead of src/lm/kernels/), to show what they give.
// 2. Sampling tokens/s with and without the key/value cache: 128 prompts (as notebook 05 samples, in
//    batches of 128) filled to context 64 on the bench model, and notebook 05's own model shape.
//
//   npm run bench                          10 timed steps per run, 2 rounds, then sampling
//   npm run bench -- --steps 30 --repeats 3
//   npm run bench -- --only sampling --sample-rows 32    one part only (dpo | sampling), fewer sampled rows
//   npm run bench -- --child --steps 20    one DPO measurement in this process (JSON; PREFOPT_THREADS applies)
import * as tf from "@tensorflow/tfjs";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { initBackend } from "../src/backend";
import { Rng } from "../src/random";
import { Transformer, forwardFlopsPerToken, parameterCount, type TransformerConfig } from "../src/lm/transformer";
import { trainPreference } from "../src/lm/preferenceTrainer";
import { sampleCompletions } from "../src/lm/sampling";
import type { RlaifData, TokenizedPair } from "../src/lm/rlaif";
import type { Sequence } from "../src/lm/batching";

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const CONFIG = { vocabSize: 2048, contextLength: 64, dModel: 128, nHeads: 4, nLayers: 2 };
const PAIRS_PER_STEP = 32;
const PEER = path.join(__dirname, "..", "..", "shared", "bench", "torch_dpo_step.py");
const PYTHON = "/usr/bin/python3";

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

/** One DPO measurement in this process: median step time over `steps` after 3 warm-up steps. */
async function dpoChild(steps: number): Promise<void> {
  const backend = await initBackend();
  const promptLen = 8;
  const completionLen = CONFIG.contextLength - 2 - promptLen; // + <bos> + <eos> = 64 tokens per row
  const rng = new Rng(0);
  const tokens = (n: number) => Array.from({ length: n }, () => 4 + rng.int(CONFIG.vocabSize - 4));
  const pairs: TokenizedPair[] = Array.from({ length: PAIRS_PER_STEP * 4 }, () => {
    const prompt = tokens(promptLen);
    const chosenSeq: Sequence = { prompt, completion: tokens(completionLen), ended: true };
    const rejectedSeq: Sequence = { prompt, completion: tokens(completionLen), ended: true };
    return { prompt: "", chosen: "", rejected: "", chosenSeq, rejectedSeq, scoreChosen: 1, scoreRejected: 0 };
  });
  const data: RlaifData = { pairs, rankings: [], unpaired: [], tiedPrompts: 0, tiedLists: 0, flippedFraction: 0 };
  const reference = new Transformer(CONFIG, 0);
  const policy = reference.clone();
  trainPreference(policy, reference, data, {
    method: "dpo",
    lossOptions: { beta: 0.1 },
    steps: 3,
    batchSize: PAIRS_PER_STEP,
    verbose: false,
  });
  const before = tf.memory().numTensors;
  const times: number[] = [];
  trainPreference(policy, reference, data, {
    method: "dpo",
    lossOptions: { beta: 0.1 },
    steps,
    batchSize: PAIRS_PER_STEP,
    verbose: false,
    onStep: (_s, ms) => times.push(ms),
  });
  const after = tf.memory().numTensors;
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  const tokensPerStep = 2 * PAIRS_PER_STEP * CONFIG.contextLength;
  const flopsPerStep = 3 * tokensPerStep * forwardFlopsPerToken(CONFIG, CONFIG.contextLength);
  console.log(
    JSON.stringify({
      backend: backend.name,
      simd: backend.simd,
      threads: backend.threads,
      ...(backend.threadFallback ? { threadFallback: backend.threadFallback } : {}),
      steps,
      medianStepMs: Number(median.toFixed(1)),
      p10StepMs: Number(times[Math.floor(times.length * 0.1)].toFixed(1)),
      p90StepMs: Number(times[Math.floor(times.length * 0.9)].toFixed(1)),
      tokensPerSecond: Math.round(tokensPerStep / (median / 1000)),
      achievedGflops: Number((flopsPerStep / (median * 1e6)).toFixed(2)),
      matmulGflops512: Number(matmulGflops(512, 512, 512).toFixed(1)),
      numTensorsBefore: before,
      numTensorsAfter: after,
    }),
  );
  policy.dispose();
  reference.dispose();
  if (before !== after) process.exit(1);
}

function runOurs(
  threads: number,
  steps: number,
  env: Record<string, string> = {},
): {
  medianStepMs: number;
  numTensorsBefore: number;
  numTensorsAfter: number;
  threads: number;
  threadFallback?: string;
} {
  const out = execFileSync(process.execPath, ["--import", "tsx", __filename, "--child", "--steps", String(steps)], {
    env: { ...process.env, ...env, PREFOPT_THREADS: String(threads) },
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  return JSON.parse(out.trim().split("\n").pop()!);
}

/** Why the peer cannot run here, or null when it can. */
function peerMissing(): string | null {
  if (!fs.existsSync(PEER)) return `peer script ${PEER} not found`;
  try {
    execFileSync(PYTHON, ["-c", "import torch"], { stdio: "ignore" });
    return null;
  } catch {
    return `${PYTHON} cannot import torch (apt-get install --no-install-recommends python3-torch libopenblas0-pthread)`;
  }
}

function runPeer(threads: number): number {
  const out = execFileSync(PYTHON, [PEER, String(threads)], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  return 1000 * JSON.parse(out.trim().split("\n").pop()!).median_step_s;
}

/** Sampled tokens per second for `prompts` (a fixed seed), with or without the key/value cache. */
function samplingRate(
  model: Transformer,
  prompts: number[][],
  maxNewTokens: number,
  useCache: boolean,
): { tokensPerSecond: number; tokens: number; seconds: number } {
  const t0 = performance.now();
  const out = sampleCompletions(model, prompts, new Rng(7), { maxNewTokens, useCache, forbid: [0, 1, 2] });
  const seconds = (performance.now() - t0) / 1000;
  const tokens = out.reduce((a, s) => a + s.completion.length + (s.ended ? 1 : 0), 0);
  return { tokensPerSecond: Math.round(tokens / seconds), tokens, seconds: Number(seconds.toFixed(2)) };
}

function samplingBench(
  label: string,
  config: TransformerConfig,
  rows: number,
  promptLen: number,
  maxNewTokens: number,
) {
  const model = new Transformer(config, 1);
  const rng = new Rng(3);
  const prompts = Array.from({ length: rows }, () =>
    Array.from({ length: promptLen }, () => 4 + rng.int(config.vocabSize - 4)),
  );
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

async function main(): Promise<void> {
  if (process.argv.includes("--child")) return dpoChild(arg("steps", 20));
  const steps = arg("steps", 10);
  const repeats = arg("repeats", 2);
  const oi = process.argv.indexOf("--only");
  const only = oi >= 0 ? process.argv[oi + 1] : "all";
  const sampleRows = arg("sample-rows", 128);
  const missing = peerMissing();
  console.log(
    `DPO step, vocab ${CONFIG.vocabSize}, d_model ${CONFIG.dModel}, ${CONFIG.nHeads} heads, ${CONFIG.nLayers} layers, context ${CONFIG.contextLength}, ${PAIRS_PER_STEP} pairs (${parameterCount(CONFIG)} parameters); ${steps} timed steps per run`,
  );
  if (missing) console.log(`PyTorch peer missing: ${missing}; ratios not available`);
  const rows: Array<{
    round: number;
    threads: number;
    oursMs: number;
    plainMs: number;
    peerMs: number | null;
    ratio: number | null;
    tensorsFlat: boolean;
  }> = [];
  for (let round = 1; round <= (only === "sampling" ? 0 : repeats); round++) {
    for (const threads of [1, 2]) {
      const ours = runOurs(threads, steps);
      if (ours.threadFallback) console.log(`  note: ${ours.threadFallback}`);
      const plain = runOurs(threads, steps, { PREFOPT_FUSED: "0" });
      const peerMs = missing ? null : runPeer(threads);
      const row = {
        round,
        threads,
        oursMs: ours.medianStepMs,
        plainMs: plain.medianStepMs,
        peerMs: peerMs === null ? null : Number(peerMs.toFixed(1)),
        ratio: peerMs === null ? null : Number((ours.medianStepMs / peerMs).toFixed(2)),
        tensorsFlat: ours.numTensorsBefore === ours.numTensorsAfter && plain.numTensorsBefore === plain.numTensorsAfter,
      };
      rows.push(row);
      console.log(
        `  round ${round}, ${threads} thread(s): ours ${row.oursMs} ms/step (plain tfjs kernels, PREFOPT_FUSED=0: ${row.plainMs}), peer ${row.peerMs ?? "-"} ms/step, ratio ${row.ratio ?? "-"}, tensors flat ${row.tensorsFlat}`,
      );
    }
  }
  const sampling: Array<ReturnType<typeof samplingBench>> = [];
  if (only === "dpo") {
    console.log(
      JSON.stringify({ config: CONFIG, pairsPerStep: PAIRS_PER_STEP, peer: missing ?? "pytorch", dpo: rows }),
    );
    if (rows.some((r) => !r.tensorsFlat)) process.exit(1);
    return;
  }
  await initBackend();
  console.log("sampling (tokens/s, key/value cache vs full recomputation):");
  sampling.push(
    samplingBench("bench model, context 64", CONFIG, sampleRows, 7, CONFIG.contextLength - 8),
    samplingBench(
      "notebook 05 model (d 64, context 32)",
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
  console.log(
    JSON.stringify({ config: CONFIG, pairsPerStep: PAIRS_PER_STEP, peer: missing ?? "pytorch", dpo: rows, sampling }),
  );
  if (rows.some((r) => !r.tensorsFlat)) process.exit(1);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
