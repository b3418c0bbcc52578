// The language-model pipeline on real text: a small slice of rt-polarity (Pang & Lee 2005), read from
// ../shared/data. Skipped, with a message saying why, only where that folder is absent.
import { before, test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend";
import { loadRtPolarity } from "../src/lm/corpus";
import { defaultConstitution } from "../src/lm/judges";
import {
  lmPreset,
  setupCorpus,
  trainReference,
  makeRlaifData,
  trainAndEvaluate,
  leakedPrompts,
} from "../src/lm/pipeline";
import { promptOf } from "../src/lm/corpus";
import { EOS } from "../src/lm/tokenizer";

const DIR = path.resolve(__dirname, "..", "..", "shared", "data", "rt-polarity");

before(async () => {
  await initBackend();
});

test("rt-polarity slice: Latin-1 decoding, SFT, RLAIF pairs, DPO steps, evaluation", (t) => {
  if (!fs.existsSync(path.join(DIR, "rt-polarity.pos"))) {
    t.skip(`../shared/data/rt-polarity is absent (looked in ${DIR}); the real-data pipeline test needs it`);
    return;
  }
  const full = loadRtPolarity(DIR, { promptWords: 3, maxWords: 20 });
  assert.equal(full.lines, 10662, "5,331 + 5,331 snippets");
  assert.deepEqual(
    loadRtPolarity(undefined, { promptWords: 3, maxWords: 20 }).corpus.docs,
    full.corpus.docs,
    "the data registry finds the same files",
  );
  // Latin-1: "é" (0xE9) must decode as U+00E9, never as the UTF-8 replacement character.
  assert.ok(
    full.corpus.docs.some((d) => d.text.includes("\u00e9")),
    "no é found: wrong decoding?",
  );
  assert.ok(full.corpus.docs.every((d) => !d.text.includes("\ufffd")));
  const slice = { ...full.corpus, docs: full.corpus.docs.slice(0, 400) };
  const preset = {
    ...lmPreset("quick"),
    maxVocab: 600,
    model: { contextLength: 28, dModel: 16, nHeads: 2, nLayers: 1 },
    sft: { steps: 15, batchSize: 32, learningRate: 1e-2 },
    rlaif: { prompts: 16, k: 3, maxNewTokens: 8, noiseTemperature: 0 },
    preference: { steps: 3, batchSize: 16, learningRate: 1e-3 },
    evaluation: { prompts: 4, samplesPerPrompt: 2 },
  };
  const setup = setupCorpus(slice, preset);
  assert.ok(setup.tokenizer.size <= 600 && setup.tokenizer.size > 100);
  // Prompt-level split on real text (almost every opening distinct): disjoint prompts, nothing leaks.
  assert.ok(setup.evalPrompts.length >= 100, `${setup.evalPrompts.length} evaluation prompts`);
  const trainPrompts = new Set(setup.trainPrompts);
  assert.ok(setup.evalPrompts.every((p) => !trainPrompts.has(p)));
  assert.deepEqual(leakedPrompts(setup.evalPrompts, setup.trainPrompts, setup.train), []);
  assert.ok(setup.heldOut.every((d) => setup.evalPrompts.includes(promptOf(d))));
  // Lines cut at maxWords = 20 are SFT rows without <eos>; complete lines end with it.
  const cut = setup.train.map((d, i) => [d, setup.trainRows[i]] as const);
  assert.ok(
    cut.some(([d]) => d.truncated),
    "some rt-polarity lines are longer than 20 words",
  );
  for (const [d, row] of cut) assert.equal(row[row.length - 1] === EOS, !d.truncated, d.text);
  const { model, sft } = trainReference(setup, preset, false);
  assert.ok(Number.isFinite(sft.finalHeldOutPerplexity) && sft.finalHeldOutPerplexity < setup.tokenizer.size);
  const constitution = defaultConstitution();
  const data = makeRlaifData(model, setup, constitution, preset);
  assert.ok(data.pairs.length > 0 && data.pairs.length + data.tiedPrompts === 16);
  const before = tf.memory().numTensors;
  const point = trainAndEvaluate({
    method: "dpo",
    lossOptions: { beta: 0.1 },
    reference: model,
    setup,
    data,
    constitution,
    preset,
    verbose: false,
  });
  assert.equal(tf.memory().numTensors, before);
  assert.ok(Number.isFinite(point.reward) && Number.isFinite(point.kl));
  assert.equal(point.samples.length, 8);
  model.dispose();
});
