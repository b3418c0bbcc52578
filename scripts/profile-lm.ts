// Per-kernel profile of one DPO training step at one of the benchmark's sizes (scripts/benchSizes.ts; default
// bench: vocab 2048, d_model 128, 4 heads, 2 layers, context 64, 32 pairs): every tfjs kernel the step runs,
// grouped by name, with the number of calls and total milliseconds, sorted by time. Tells where the
// non-matmul time goes, and how much of the step is outside kernels (wall minus kernel time).
//
//   node --import tsx scripts/profile-lm.ts            profile of the third step (after two warm-up steps)
//   node --import tsx scripts/profile-lm.ts --size fig2
//   node --import tsx scripts/profile-lm.ts --top 40   more rows
//   node --import tsx scripts/profile-lm.ts --calls    also the slowest single calls with their shapes
//   PREFOPT_THREADS=1 node --import tsx scripts/profile-lm.ts
//   node --import tsx scripts/profile-lm.ts --size fig2 --replay 15
//       also times, without the profiler, the step's matrix products alone (each BatchMatMul and Aᵀ·B call
//       replayed on operands of its shapes) against the whole step, alternating, medians of 15: the
//       products' real share (tf.profile adds a fixed cost to every call, which inflates the many small
//       element-wise kernels' shares)
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend";
import { Rng } from "../src/random";
import { Transformer } from "../src/lm/transformer";
import { packSequences, disposeBatch, type Sequence } from "../src/lm/batching";
import { modelTokenLogProbs, maskedSequenceSum } from "../src/lm/logprobs";
import { adamStep, makeAdam } from "../src/lm/optim";
import { dpoLoss } from "../src/losses/index";
import { median, sizeOf, type BenchSize } from "./benchSizes";
import { runJsKernel } from "../src/lm/kernels/jsKernel";
import "../src/lm/fastMatMul"; // registers PrefoptMatMulTN

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

/** 2·pairs rows (chosen block, then rejected block) of random tokens filling the context, + <bos>, <eos>. */
export function benchRows({ config, pairs }: BenchSize, seed = 0): Sequence[] {
  const rng = new Rng(seed);
  const tokens = (n: number) => Array.from({ length: n }, () => 4 + rng.int(config.vocabSize - 4));
  const promptLen = Math.min(8, Math.floor(config.contextLength / 3));
  const prompts = Array.from({ length: pairs }, () => tokens(promptLen));
  const rows: Sequence[] = [];
  for (let j = 0; j < 2; j++)
    for (const prompt of prompts)
      rows.push({ prompt, completion: tokens(config.contextLength - 2 - promptLen), ended: true });
  return rows;
}

/** One DPO step as trainPreference runs it (one concatenated forward, cached reference log-probs, Adam, clipping). */
export function dpoStep(policy: Transformer, optimizer: tf.Optimizer, rows: Sequence[], refs: Float32Array): number {
  const B = rows.length / 2;
  const batch = packSequences(rows, policy.config.contextLength);
  const r = adamStep(optimizer, policy.variables, () =>
    tf.tidy(() => {
      const logps = maskedSequenceSum(modelTokenLogProbs(policy, batch.ids, batch.mask), batch.mask);
      const ref = tf.tensor1d(refs);
      const col = (t: tf.Tensor1D, j: number) => tf.slice(t, [j * B], [B]);
      return tf.mean(
        dpoLoss(col(logps, 0), col(logps, 1), col(ref, 0), col(ref, 1), { beta: 0.1 }).losses,
      ) as tf.Scalar;
    }),
  );
  disposeBatch(batch);
  return r.loss;
}

async function main(): Promise<void> {
  const backend = await initBackend();
  const top = arg("top", 25);
  const si = process.argv.indexOf("--size");
  const size = sizeOf(si >= 0 ? process.argv[si + 1] : "bench");
  const rows = benchRows(size);
  const reference = new Transformer(size.config, 0);
  const policy = reference.clone();
  const refs = new Float32Array(rows.length); // zeros: the reference's values do not change the kernels run
  const optimizer = makeAdam(1e-4);
  for (let i = 0; i < 2; i++) dpoStep(policy, optimizer, rows, refs);
  const t0 = performance.now();
  const info = await tf.profile(() => {
    dpoStep(policy, optimizer, rows, refs);
  });
  const wall = performance.now() - t0;
  const byName = new Map<string, { calls: number; ms: number }>();
  // customGrad ops appear as "unnamed scope" entries whose time includes the kernels inside them, which
  // are listed on their own too: leave the scopes out so the total is not counted twice.
  for (const k of info.kernels) {
    if (k.name === "unnamed scope") continue;
    const e = byName.get(k.name) ?? { calls: 0, ms: 0 };
    e.calls++;
    e.ms += typeof k.kernelTimeMs === "number" ? k.kernelTimeMs : 0;
    byName.set(k.name, e);
  }
  const slowest = info.kernels
    .filter((k) => k.name !== "unnamed scope")
    .sort((a, b) => (b.kernelTimeMs as number) - (a.kernelTimeMs as number));
  if (process.argv.includes("--calls")) {
    for (const k of slowest.slice(0, top))
      console.log(
        `  ${k.name.padEnd(20)} ${(k.kernelTimeMs as number).toFixed(1).padStart(8)} ms  in ${JSON.stringify(k.inputShapes)} out ${JSON.stringify(k.outputShapes)}`,
      );
  }
  const rowsOut = [...byName.entries()].sort((a, b) => b[1].ms - a[1].ms);
  const total = rowsOut.reduce((s, [, e]) => s + e.ms, 0);
  console.log(
    `backend ${backend.name}, ${backend.threads} thread(s); one DPO step under tf.profile: ${wall.toFixed(0)} ms wall, ${total.toFixed(0)} ms in ${info.kernels.length} kernel calls`,
  );
  console.log(`${"kernel".padEnd(28)}${"calls".padStart(7)}${"total ms".padStart(11)}${"share".padStart(8)}`);
  for (const [name, e] of rowsOut.slice(0, top)) {
    console.log(
      `${name.padEnd(28)}${String(e.calls).padStart(7)}${e.ms.toFixed(1).padStart(11)}${((100 * e.ms) / total).toFixed(1).padStart(7)}%`,
    );
  }
  const matmulKernels = ["BatchMatMul", "_FusedMatMul", "PrefoptMatMulTN"];
  const matmul = rowsOut.filter(([n]) => matmulKernels.includes(n)).reduce((s, [, e]) => s + e.ms, 0);
  console.log(
    `matmul kernels: ${matmul.toFixed(0)} ms (${((100 * matmul) / total).toFixed(0)}%); everything else: ${(total - matmul).toFixed(0)} ms`,
  );
  const reps = arg("replay", 0);
  if (reps > 0) {
    const products = info.kernels
      .filter((k) => k.name === "BatchMatMul" || k.name === "PrefoptMatMulTN")
      .map((k) => ({
        name: k.name,
        a: tf.randomNormal(k.inputShapes[0] as number[]),
        b: tf.randomNormal(k.inputShapes[1] as number[]),
      }));
    const replay = () => {
      for (const p of products) {
        const out =
          p.name === "BatchMatMul"
            ? tf.matMul(p.a as tf.Tensor3D, p.b as tf.Tensor3D)
            : runJsKernel("PrefoptMatMulTN", [p.a, p.b])[0];
        out.dispose();
      }
    };
    const [stepMs, productMs]: number[][] = [[], []];
    replay();
    for (let i = 0; i < reps; i++) {
      let t = performance.now();
      dpoStep(policy, optimizer, rows, refs);
      stepMs.push(performance.now() - t);
      t = performance.now();
      replay();
      productMs.push(performance.now() - t);
    }
    const [st, pr] = [median(stepMs), median(productMs)];
    // 2·m·k·n per product (batch included): (…, m, k)·(…, k, n), or Aᵀ·B with A (k, m) and B (k, n).
    const flops = products.reduce((f, p) => {
      const [sa, sb] = [p.a.shape, p.b.shape];
      const batch = sa.slice(0, -2).reduce((x, y) => x * y, 1);
      const [m, k, n] =
        p.name === "BatchMatMul" ? [sa[sa.length - 2], sa[sa.length - 1], sb[sb.length - 1]] : [sa[1], sa[0], sb[1]];
      return f + 2 * batch * m! * k * n!;
    }, 0);
    console.log(`the products: ${(flops / 1e9).toFixed(2)} GFLOP, ${(flops / 1e6 / pr).toFixed(1)} GFLOP/s replayed`);
    console.log(
      `without the profiler (medians of ${reps}, alternating): whole step ${st.toFixed(1)} ms; its ${products.length} products replayed alone ${pr.toFixed(1)} ms (${((100 * pr) / st).toFixed(0)}% of the step); everything else ${(st - pr).toFixed(1)} ms`,
    );
    products.forEach((p) => tf.dispose([p.a, p.b]));
  }
  optimizer.dispose();
  policy.dispose();
  reference.dispose();
}

if (require.main === module || process.argv[1]?.endsWith("profile-lm.ts")) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
