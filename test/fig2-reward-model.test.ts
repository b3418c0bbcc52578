// The Figure-2 reward model as the DPO paper's App. C trains it (src/fig2/rewardModel.ts): a number of
// epochs over the pairs, the checkpoint with the best held-out loss kept, and held-out accuracy with a 95%
// interval clustered by prompt (a prompt's pairs share its samples and are not independent).
import { before, test } from "node:test";
import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend";
import { Rng } from "../src/random";
import { Transformer } from "../src/lm/transformer";
import type { Sequence } from "../src/lm/batching";
import type { TokenizedPair } from "../src/lm/rlaif";
import { LearnedRewardModel, pairAccuracy, trainLearnedRewardModel } from "../src/fig2/rewardModel";
import { studentTQuantile } from "../src/stats";

before(async () => {
  await initBackend("cpu");
});

const pair = (prompt: string, chosenSeq: Sequence, rejectedSeq: Sequence): TokenizedPair => ({
  prompt,
  chosen: "",
  rejected: "",
  chosenSeq,
  rejectedSeq,
  scoreChosen: 1,
  scoreRejected: 0,
});

/** Chosen completions hold token `good`, rejected ones `bad`, among random tokens 4..11; prompts p0…p9. */
function planted(n: number, seed: number, good = 7, bad = 8): TokenizedPair[] {
  const rng = new Rng(seed);
  const rand = () => Array.from({ length: 1 + rng.int(4) }, () => 4 + rng.int(8)).filter((t) => t !== 7 && t !== 8);
  return Array.from({ length: n }, (_, i) => {
    const prompt = [4 + (i % 3)];
    return pair(
      `p${i % 10}`,
      { prompt, completion: [...rand(), good, ...rand()], ended: true },
      { prompt, completion: [...rand(), bad, ...rand()], ended: true },
    );
  });
}

test("held-out accuracy CI is clustered by prompt: the t interval over per-prompt accuracies, by hand", () => {
  const sft = new Transformer({ vocabSize: 12, contextLength: 12, dModel: 8, nHeads: 2, nLayers: 1 }, 3);
  const rm = new LearnedRewardModel(sft, 1);
  const x: Sequence = { prompt: [4], completion: [5, 6], ended: true };
  const y: Sequence = { prompt: [4], completion: [9, 10, 11], ended: false };
  const [rx, ry] = rm.scoreSequences([x, y]);
  assert.notEqual(rx, ry);
  const [hi, lo] = rx > ry ? [x, y] : [y, x];
  // Six prompts of five pairs each; a prompt's pairs are all right (four prompts) or all wrong (two).
  const pairs = ["a", "b", "c", "d", "e", "f"].flatMap((p, i) =>
    Array.from({ length: 5 }, () => (i < 4 ? pair(p, hi, lo) : pair(p, lo, hi))),
  );
  const acc = pairAccuracy(rm, pairs);
  assert.equal(acc.n, 30);
  assert.equal(acc.prompts, 6);
  assert.ok(Math.abs(acc.accuracy - 2 / 3) < 1e-12);
  // Per-prompt accuracies [1, 1, 1, 1, 0, 0]: mean 2/3, sd √(12/45), interval 2/3 ± t₅ · sd/√6.
  const half = (studentTQuantile(0.975, 5) * Math.sqrt(12 / 45)) / Math.sqrt(6);
  assert.ok(Math.abs(acc.ci95[0] - (2 / 3 - half)) < 1e-9, `low ${acc.ci95[0]} vs ${2 / 3 - half}`);
  assert.ok(Math.abs(acc.ci95[1] - (2 / 3 + half)) < 1e-9, `high ${acc.ci95[1]} vs ${2 / 3 + half}`);
  // Treating the 30 pairs as independent (Wilson) is much narrower here.
  assert.ok(acc.wilson95[1] - acc.wilson95[0] < 0.5 * (acc.ci95[1] - acc.ci95[0]), `${acc.wilson95} vs ${acc.ci95}`);
  rm.dispose();
  sft.dispose();
});

test("epochs: ⌈epochs · pairs / batch⌉ steps; steps and epochs together are refused", () => {
  const sft = new Transformer({ vocabSize: 12, contextLength: 12, dModel: 8, nHeads: 2, nLayers: 1 }, 4);
  const rm = new LearnedRewardModel(sft, 0);
  const train = planted(50, 1);
  const res = trainLearnedRewardModel(rm, train, [], { epochs: 3, batchSize: 16, verbose: false });
  assert.equal(res.logs.length, Math.ceil((3 * 50) / 16));
  assert.equal(res.kept, undefined);
  assert.throws(
    () => trainLearnedRewardModel(rm, train, [], { epochs: 3, steps: 2, verbose: false }),
    /exactly one of steps and epochs/,
  );
  assert.throws(
    () => trainLearnedRewardModel(rm, train, [], { steps: 2, keepBest: true, verbose: false }),
    /keepBest needs held-out pairs/,
  );
  rm.dispose();
  sft.dispose();
});

test("keepBest restores the checkpoint with the lowest held-out loss (held-out preference opposite to training)", () => {
  const sft = new Transformer({ vocabSize: 12, contextLength: 12, dModel: 16, nHeads: 2, nLayers: 1 }, 5);
  const rm = new LearnedRewardModel(sft, 0);
  const train = planted(120, 2);
  // The held-out pairs prefer the opposite token: the better the model fits training, the worse held out.
  const heldOut = planted(40, 3, 8, 7);
  const before = tf.memory().numTensors;
  const res = trainLearnedRewardModel(rm, train, heldOut, {
    epochs: 4,
    batchSize: 16,
    learningRate: 3e-3,
    evalEvery: 5,
    keepBest: true,
    seed: 1,
    verbose: false,
  });
  assert.equal(tf.memory().numTensors, before, "snapshots freed");
  const losses = res.heldOut.map((h) => h.loss);
  const bestAt = losses.indexOf(Math.min(...losses));
  assert.ok(res.kept);
  assert.equal(res.kept.step, res.heldOut[bestAt].step);
  assert.ok(res.kept.step < res.logs.length, `the best is not the last step here (kept ${res.kept.step})`);
  const now = pairAccuracy(rm, heldOut);
  assert.ok(
    Math.abs(now.loss - res.kept.loss) < 1e-5,
    `restored weights: held-out loss ${now.loss} vs ${res.kept.loss}`,
  );
  assert.ok(now.loss < losses[losses.length - 1] - 1e-3, "the final weights were worse held out");
  rm.dispose();
  sft.dispose();
});
