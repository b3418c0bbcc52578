// Interrupts: every long library loop polls throwIfInterrupted() once per step; interrupted, it throws
// InterruptedError and frees what it allocated (tf.memory().numTensors back to where it was). The kernel
// side (SIGINT → counter) is checked against a real Jupyter kernel by scripts/check-kernel.py.
import { before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend";
import {
  InterruptedError,
  interruptState,
  requestInterrupt,
  throwIfInterrupted,
  withInterruptScope,
  interruptRequested,
} from "../src/interrupt";
import { Rng } from "../src/random";
import { Transformer } from "../src/lm/transformer";
import { generateReviewCorpus } from "../src/lm/corpus";
import { sampleCompletions } from "../src/lm/sampling";
import { trainSft } from "../src/lm/sft";
import { trainPreference } from "../src/lm/preferenceTrainer";
import { trainRloo } from "../src/lm/rloo";
import { defaultConstitution } from "../src/lm/judges";
import { lmPreset, setupCorpus, trainReference, makeRlaifData } from "../src/lm/pipeline";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { parseSweepSpec } from "../src/sweep/config";
import { runSweep } from "../src/sweep/runner";
import { readResults } from "../src/sweep/store";
import "../src/experiments";
import { sampleBanditPairs, trainBandit } from "../src/bandit/index";
import { trainPolicyGradient } from "../src/bandit/policyGradient";
import { uniformPolicy } from "../src/bandit/tabular";
import { trainTabular } from "../src/lossAnalysis/train";
import { LearnedRewardModel, trainLearnedRewardModel } from "../src/fig2/rewardModel";

before(async () => {
  await initBackend();
});

/** Runs `fn` in its own scope with an interrupt requested at the `n`-th check; returns the checks made. */
function interruptAtCheck<T>(n: number, fn: () => T): { error: unknown; checks: number } {
  const state = interruptState();
  let checks = 0;
  state.onCheck = () => {
    if (++checks === n) requestInterrupt();
  };
  try {
    withInterruptScope(fn);
    return { error: undefined, checks };
  } catch (e) {
    return { error: e, checks };
  } finally {
    state.onCheck = undefined;
  }
}

describe("interrupt scopes", () => {
  test("an interrupt reaches the scope running now, not a scope started afterwards", async () => {
    await withInterruptScope(async () => {
      assert.equal(interruptRequested(), false);
      const later = withInterruptScope(async () => {
        await new Promise((r) => setTimeout(r, 20));
        return interruptRequested();
      });
      requestInterrupt();
      assert.throws(() => throwIfInterrupted(), InterruptedError);
      assert.equal(await later, true, "a scope already running when the interrupt came is interrupted too");
      assert.equal(
        withInterruptScope(() => interruptRequested()),
        false,
        "a scope begun after it is not",
      );
    });
  });

  test("code continuing after an await still belongs to its scope (the async-cell case)", async () => {
    let steps = 0;
    const loop = withInterruptScope(async () => {
      for (;;) {
        await new Promise((r) => setTimeout(r, 5));
        throwIfInterrupted();
        steps++;
      }
    });
    await new Promise((r) => setTimeout(r, 30));
    requestInterrupt();
    await assert.rejects(loop, InterruptedError);
    const at = steps;
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(steps, at, "the loop stopped");
  });
});

describe("sweeps run in the kernel's thread", () => {
  test("an interrupt stops dispatching; finished runs are stored and a re-run resumes from them", async () => {
    const out = fs.mkdtempSync(path.join(os.tmpdir(), "prefopt-interrupt-sweep-"));
    const spec = parseSweepSpec({
      name: "interrupted",
      kind: "synthetic",
      seeds: 20,
      base: { delayMs: 20 },
      grid: { x: [1] },
    });
    const run = withInterruptScope(() => runSweep({ spec, out, workers: 0, quiet: true, report: false }));
    await new Promise((r) => setTimeout(r, 150));
    requestInterrupt();
    await assert.rejects(run, InterruptedError);
    const stored = readResults(path.join(out, "results.jsonl")).records.length;
    assert.ok(stored > 0 && stored < 20, `${stored} of 20 runs stored before the interrupt`);
    const resumed = await runSweep({ spec, out, workers: 0, quiet: true, report: false });
    assert.equal(resumed.alreadyDone, stored);
    assert.equal(resumed.ran, 20 - stored);
  });
});

describe("training loops stop at an interrupt and free their tensors", () => {
  const preset = {
    ...lmPreset("quick"),
    corpusSize: 300,
    maxVocab: 200,
    model: { contextLength: 24, dModel: 16, nHeads: 2, nLayers: 1 },
    sft: { steps: 30, batchSize: 32, learningRate: 1e-2 },
    rlaif: { prompts: 12, k: 3, maxNewTokens: 8, noiseTemperature: 0 },
    evaluation: { prompts: 4, samplesPerPrompt: 2 },
  };
  let setup: ReturnType<typeof setupCorpus>;
  let reference: Transformer;
  let data: ReturnType<typeof makeRlaifData>;
  const constitution = defaultConstitution();

  before(() => {
    setup = setupCorpus(generateReviewCorpus(300, 0), preset);
    reference = trainReference(setup, preset, false).model;
    data = makeRlaifData(reference, setup, constitution, preset);
  });

  /** Interrupt `run` at its `at`-th check; it must throw InterruptedError and leave numTensors unchanged. */
  function checkInterrupted(name: string, at: number, run: () => unknown, ownedByModels?: () => void): void {
    const before = tf.memory().numTensors;
    const { error, checks } = interruptAtCheck(at, run);
    // What a live model legitimately keeps (its decoding copy of Eᵀ) is released before counting.
    ownedByModels?.();
    assert.ok(error instanceof InterruptedError, `${name}: expected InterruptedError, got ${String(error)}`);
    assert.equal(checks, at, `${name}: stopped at the first check after the interrupt`);
    assert.equal(tf.memory().numTensors, before, `${name}: tensors freed`);
  }

  test("SFT", () => {
    const m = new Transformer({ ...preset.model, vocabSize: setup.tokenizer.size }, 0);
    checkInterrupted("trainSft", 5, () =>
      trainSft(m, setup.trainRows, setup.heldOutRows, { ...preset.sft, steps: 1000, verbose: false }),
    );
    m.dispose();
  });

  test("preference training (each method), during training and while caching reference log-probs", () => {
    for (const method of ["dpo", "ipo", "kto", "listwise"] as const) {
      const policy = reference.clone();
      checkInterrupted(method, 6, () =>
        trainPreference(policy, reference, data, {
          method,
          lossOptions: { beta: 0.5 },
          steps: 1000,
          batchSize: 8,
          verbose: false,
        }),
      );
      checkInterrupted(`${method} (reference log-probs)`, 1, () =>
        trainPreference(policy, reference, data, {
          method,
          lossOptions: { beta: 0.5 },
          steps: 1000,
          batchSize: 8,
          verbose: false,
        }),
      );
      policy.dispose();
    }
  });

  test("PPO, between iterations and inside its sampling", () => {
    const policy = reference.clone();
    const opts = {
      beta: 0.1,
      iterations: 1000,
      promptsPerIteration: 4,
      k: 2,
      maxNewTokens: 8,
      learningRate: 1e-2,
      verbose: false,
    };
    checkInterrupted(
      "trainRloo (iteration)",
      1 + 9 * 2,
      () => trainRloo(policy, reference, setup.tokenizer, setup.trainPrompts, constitution, opts),
      () => policy.releaseDecodingCache(),
    );
    checkInterrupted(
      "trainRloo (sampling)",
      3,
      () => trainRloo(policy, reference, setup.tokenizer, setup.trainPrompts, constitution, opts),
      () => policy.releaseDecodingCache(),
    );
    policy.dispose();
  });

  test("trainReference (SFT of a new model): the interrupted model is freed, not left without a handle", () => {
    checkInterrupted("trainReference", 3, () =>
      trainReference(setup, { ...preset, sft: { ...preset.sft, steps: 1000 } }, false),
    );
  });

  test("the reward-model fit (Figure 2) frees its optimizer", () => {
    const rm = new LearnedRewardModel(reference.clone(), 0);
    const pairs = data.pairs.slice(0, 16);
    checkInterrupted("trainLearnedRewardModel", 4, () =>
      trainLearnedRewardModel(rm, pairs, [], { steps: 1000, batchSize: 8, verbose: false }),
    );
    rm.dispose();
  });

  test("sampling", () => {
    const prompts = setup.trainPrompts.slice(0, 4).map((p) => setup.tokenizer.encode(p));
    checkInterrupted("sampleCompletions", 3, () =>
      sampleCompletions(reference, prompts, new Rng(1), { maxNewTokens: 20 }),
    );
  });

  test("without an interrupt, the checks change nothing (same numbers as an unscoped run)", () => {
    const a = new Transformer({ ...preset.model, vocabSize: setup.tokenizer.size }, 0);
    const b = new Transformer({ ...preset.model, vocabSize: setup.tokenizer.size }, 0);
    const ra = trainSft(a, setup.trainRows, setup.heldOutRows, { ...preset.sft, steps: 4, verbose: false });
    const rb = withInterruptScope(() =>
      trainSft(b, setup.trainRows, setup.heldOutRows, { ...preset.sft, steps: 4, verbose: false }),
    );
    assert.deepEqual(rb.losses, ra.losses);
    a.dispose();
    b.dispose();
  });
});

describe("tabular trainers stop at an interrupt", () => {
  const REWARDS = [
    [1, 0, -1],
    [0, 2, 0],
  ];
  const dataset = sampleBanditPairs(REWARDS, 20, { rng: new Rng(1) });
  const expectStop = (name: string, at: number, run: () => unknown) => {
    const before = tf.memory().numTensors;
    const { error, checks } = interruptAtCheck(at, run);
    assert.ok(error instanceof InterruptedError, `${name}: expected InterruptedError, got ${String(error)}`);
    assert.equal(checks, at, `${name}: stopped at the first check after the interrupt`);
    // tf.train.adam keeps one tensor after dispose() (tfjs 4.22; see test/bandit-engines.test.ts).
    assert.ok(tf.memory().numTensors - before <= 1, `${name}: ${tf.memory().numTensors - before} tensors left`);
  };
  const bandit = {
    method: "dpo" as const,
    dataset,
    lossOptions: { beta: 0.5 },
    steps: 100000,
    batchSize: 4,
    learningRate: 0.05,
  };
  test("trainBandit, js engine", () => expectStop("trainBandit js", 5, () => trainBandit({ ...bandit, seeds: [0] })));
  test("trainBandit, tfjs engine (frees θ, π_ref and the optimizer)", () =>
    expectStop("trainBandit tfjs", 5, () => trainBandit({ ...bandit, seeds: [0], engine: "tfjs" })));
  test("trainPolicyGradient", () =>
    expectStop("trainPolicyGradient", 5, () =>
      trainPolicyGradient({
        algorithm: "ppo",
        rewards: REWARDS,
        beta: 0.5,
        steps: 100000,
        samplesPerPrompt: 4,
        learningRate: 0.05,
        seeds: [0],
      }),
    ));
  test("the loss-zoo fits (trainTabular)", () =>
    expectStop("trainTabular", 5, () =>
      trainTabular({
        objective: { lossType: "ipo", options: { beta: 0.5 } },
        dataset,
        ref: uniformPolicy(2, 3),
        steps: 100000,
        batchSize: 4,
        lr: 0.05,
        seed: 0,
      }),
    ));
});
