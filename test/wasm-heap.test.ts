// The wasm heap's limit (src/lm/kernels/heapGuard.ts) and the forward pass's peak memory (issue 26: the large
// benchmark size ran the heap to its 4 GiB ceiling and crashed with "memory access out of bounds").
import { before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { availableBackends, initBackend } from "../src/backend";
import { Transformer } from "../src/lm/transformer";
import { scoringBatchSize, sequenceLogps } from "../src/lm/preferenceTrainer";
import type { Sequence } from "../src/lm/batching";
import { SIZES } from "../scripts/benchSizes";

describe("the wasm heap's 4 GiB ceiling is a clear error, not a corrupted heap", () => {
  let wasm = false;
  before(async () => {
    wasm = (await availableBackends()).includes("wasm");
    if (wasm) await initBackend("wasm");
  });

  /** A small computation still gives the right numbers and leaves no tensor behind. */
  function heapStillWorks(): void {
    const tensors = tf.memory().numTensors;
    const y = tf.tidy(() => tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor2d([5, 6, 7, 8], [2, 2])));
    assert.deepEqual(Array.from(y.dataSync()), [19, 22, 43, 50]);
    y.dispose();
    assert.equal(tf.memory().numTensors, tensors);
  }

  test("a tensor that does not fit in the heap throws, naming the bytes and the heap, and nothing breaks", (t) => {
    if (!wasm) return t.skip("wasm does not load here");
    const tensors = tf.memory().numTensors;
    // 4 GiB − 64 KiB: a valid 32-bit size the heap can never hold next to what it already holds.
    assert.throws(
      () => tf.zeros([0x3fffc000]),
      /wasm heap exhausted: could not allocate 4096 MiB for a tensor; the heap is at \d+ MiB of the 4096 MiB/,
    );
    assert.equal(tf.memory().numTensors, tensors, "no tensor registered for the failed allocation");
    heapStillWorks();
  });

  test("a tensor of 4 GiB or more, whose size wasm would truncate to a few bytes, throws too", (t) => {
    if (!wasm) return t.skip("wasm does not load here");
    assert.throws(
      () => tf.zeros([2 ** 30 + 16]),
      /wasm heap exhausted: could not allocate a single tensor of 4096 MiB/,
    );
    heapStillWorks();
  });
});

describe("scoring without gradients fits the heap (issue 26: the large size's reference scoring crashed)", () => {
  before(async () => {
    await initBackend();
  });

  const config = (nLayers: number) => ({ vocabSize: 64, contextLength: 32, dModel: 32, nHeads: 4, nLayers });

  test("the forward frees each block's intermediates: 4 layers peak like 1, not 4 times as high", async () => {
    const ids = tf.tensor2d(
      Array.from({ length: 16 * 32 }, (_, i) => (i * 7) % 64),
      [16, 32],
      "int32",
    );
    /** tf.profile's peakBytes less what was live before: the most the forward held at once. */
    const peak = async (nLayers: number) => {
      const model = new Transformer(config(nLayers), 1);
      const [before, base] = [tf.memory().numTensors, tf.memory().numBytes];
      const info = await tf.profile(() => model.hidden(ids).dispose());
      assert.equal(tf.memory().numTensors, before, "nothing left behind");
      model.dispose();
      return info.peakBytes - base;
    };
    const one = await peak(1);
    const four = await peak(4);
    ids.dispose();
    // Held all at once, 4 layers' attention tensors (16·4·32·32 floats each) would take ~4x one layer's.
    assert.ok(four < 1.3 * one, `peak with 4 layers ${four} B, with 1 layer ${one} B`);
  });

  test("scoringBatchSize: 128 sequences at the Figure-2 and HH sizes, 64 at the large size", () => {
    // 4·T·(3V + 8HT) bytes per sequence against 1 GiB: large 4·128·(24576 + 8192) = 16 MiB → 64.
    assert.equal(scoringBatchSize(SIZES.large.config), 64);
    assert.equal(scoringBatchSize(SIZES.fig2.config), 128);
    assert.equal(scoringBatchSize({ vocabSize: 2000, contextLength: 128, dModel: 96, nHeads: 4, nLayers: 3 }), 128);
    assert.equal(scoringBatchSize(SIZES.large.config, 16), 16, "never more than asked for");
    assert.equal(scoringBatchSize(SIZES.large.config, 128, 1), 1, "at least one sequence");
  });

  test("sequenceLogps gives the same log-probs in batches of 128 and of 3", () => {
    const model = new Transformer(config(2), 2);
    const seqs: Sequence[] = Array.from({ length: 10 }, (_, i) => ({
      prompt: [4 + i, 5, 6],
      completion: Array.from({ length: 3 + (i % 5) }, (_, j) => 4 + ((i * 11 + j * 5) % 60)),
      ended: i % 2 === 0,
    }));
    const whole = sequenceLogps(model, seqs);
    const small = sequenceLogps(model, seqs, 3);
    model.dispose();
    whole.forEach((v, i) => assert.ok(Math.abs(v - small[i]) <= 1e-5 * (1 + Math.abs(v)), `${i}: ${v} vs ${small[i]}`));
  });
});
