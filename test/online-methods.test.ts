// The online and group methods (issue 28): GRPO / Dr. GRPO advantages and loss against hand values, the k3 KL
// estimator (value and unbiasedness), OAIF labelling, TR-DPO's reference updates (soft and hard), DPOP's
// penalty and gradient (hand values and finite differences), and a tiny end-to-end run of each trainer
// with tf.memory().numTensors flat and the same numbers from the same seed.
import { before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend";
import {
  groupAdvantages,
  groupPolicyLoss,
  k3,
  k3Tensor,
  labelPairs,
  mixInto,
  mixWeights,
  syncDue,
} from "../src/lm/groupMath";
import { dpop64 } from "../src/losses/entries/dpop";
import { getLoss, resolveLossOptions, type PairLossEntry } from "../src/losses/registry";
import "../src/losses/all";
import { trainGrpo } from "../src/lm/grpo";
import { trainOnlineDpo, onlineDpoStepsPerRound } from "../src/lm/onlineDpo";
import { trainTrDpo } from "../src/lm/trDpo";
import { Transformer } from "../src/lm/transformer";
import { WordTokenizer } from "../src/lm/tokenizer";
import type { RlaifData, TokenizedPair } from "../src/lm/rlaif";
import { sequenceLogps, trainPreference } from "../src/lm/preferenceTrainer";
import { fig2Kind } from "../src/experiments/fig2-kind";
import { FIG2_ONLINE_PRESETS } from "../src/fig2/onlinePresets";
import { dpopVerdict, lengthVerdict } from "../src/fig2/onlineSummary";
import { summariseFig2 } from "../src/fig2/summary";
import type { CheckpointRow } from "../src/fig2/run";
import { inlineComplainer } from "../src/sweep/kinds";
import type { JsonObject } from "../src/sweep/config";

const close = (a: number, b: number, tol = 1e-6, what = "") =>
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

describe("GRPO and Dr. GRPO maths", () => {
  before(async () => {
    await initBackend("cpu");
  });

  test("group advantages: hand example, GRPO divides by the unbiased std + 1e-4, Dr. GRPO does not", () => {
    // Group 1: [1, 2, 3], mean 2, unbiased std 1. Group 2: [0, 0, 4], mean 4/3, std √(16/3) = 2.309401.
    const s = [1, 2, 3, 0, 0, 4];
    const g = groupAdvantages(s, 3, "grpo");
    const sd2 = Math.sqrt(16 / 3);
    const want = [-1 / 1.0001, 0, 1 / 1.0001, -4 / 3 / (sd2 + 1e-4), -4 / 3 / (sd2 + 1e-4), 8 / 3 / (sd2 + 1e-4)];
    g.forEach((x, i) => close(x, want[i], 1e-12, `grpo[${i}]`));
    close(g[3], -0.5773253, 1e-6, "grpo[3] typed");
    const d = groupAdvantages(s, 3, "dr-grpo");
    [-1, 0, 1, -4 / 3, -4 / 3, 8 / 3].forEach((w, i) => close(d[i], w, 1e-12, `dr[${i}]`));
    // A group whose scores are all equal: advantage 0 (no NaN from 0/0).
    assert.deepEqual(groupAdvantages([5, 5], 2, "grpo"), [0, 0]);
    assert.throws(() => groupAdvantages([1, 2, 3], 2, "grpo"), /not whole groups of 2/);
    assert.throws(() => groupAdvantages([1, 2], 1, "grpo"), /groupSize must be an integer ≥ 2/);
    assert.throws(() => groupAdvantages([1, NaN], 2, "grpo"), /group 0 has a score that is not finite/);
  });

  test("k3 = exp(r) − r − 1: a hand value, 0 at equality, ≥ 0, and unbiased for KL(π‖π_ref)", () => {
    close(k3(Math.log(0.5), Math.log(0.25)), 0.1931471805599454, 1e-12, "k3");
    assert.equal(k3(-1.3, -1.3), 0);
    for (const [a, b] of [
      [-3, -0.1],
      [-0.1, -3],
      [-20, -1e-3],
    ])
      assert.ok(k3(a, b) >= 0);
    const pi = [0.5, 0.3, 0.2];
    const ref = [0.2, 0.5, 0.3];
    const expectation = pi.reduce((acc, p, i) => acc + p * k3(Math.log(p), Math.log(ref[i])), 0);
    const kl = pi.reduce((acc, p, i) => acc + p * Math.log(p / ref[i]), 0);
    close(expectation, kl, 1e-12, "E_π[k3] = KL");
    const t = tf.tidy(() =>
      Array.from(k3Tensor(tf.tensor1d([Math.log(0.5), -2]), tf.tensor1d([Math.log(0.25), -2])).dataSync()),
    );
    close(t[0], 0.1931472, 1e-6, "tensor k3");
    assert.equal(t[1], 0);
  });

  test("groupPolicyLoss: hand values with clipping and KL; GRPO averages per completion, Dr. GRPO divides by L_max", () => {
    const L = (x: number) => Math.log(x);
    const run = (variant: "grpo" | "dr-grpo") =>
      tf.tidy(() => {
        const lp = tf.tensor2d([L(0.5), L(0.5), L(0.5), 0], [2, 2]);
        const old = tf.tensor2d([L(0.5), L(0.5 / 1.5), L(0.5), 0], [2, 2]); // ratio 1.5 at [0, 1]
        const ref = tf.tensor2d([L(0.25), L(0.5), L(0.5), 0], [2, 2]); // k3 = 0.1931 at [0, 0]
        const mask = tf.tensor2d([1, 1, 1, 0], [2, 2]);
        const out = groupPolicyLoss(lp, old, ref, tf.tensor1d([1, -2]), mask, {
          variant,
          eps: 0.2,
          beta: 0.1,
          maxTokens: 4,
        });
        return [out.loss, out.clipfrac, out.kl].map((x) => x.dataSync()[0]);
      });
    // Row 0: (1 − 0.1·0.193147) + min(1.5, 1.2) = 2.1806853; row 1: −2 (one token).
    const row0 = 1 - 0.1 * 0.1931471805599454 + 1.2;
    const [g, gClip, gKl] = run("grpo");
    close(g, -(row0 / 2 + -2 / 1) / 2, 1e-6, "GRPO loss");
    close(g, 0.45482874, 1e-6, "GRPO loss typed");
    close(gClip, 1 / 3, 1e-6, "clipfrac");
    close(gKl, 0.1931471805599454 / 3, 1e-6, "mean k3");
    const [d] = run("dr-grpo");
    close(d, -(row0 / 4 + -2 / 4) / 2, 1e-6, "Dr. GRPO loss");
  });

  test("groupPolicyLoss's gradient equals central finite differences", () => {
    const lp0 = [-0.7, -1.1, -0.4, -2.0];
    const f = (lp: number[]) =>
      tf.tidy(
        () =>
          groupPolicyLoss(
            tf.tensor2d(lp, [2, 2]),
            tf.tensor2d([-0.6, -1.3, -0.5, -2.0], [2, 2]),
            tf.tensor2d([-0.9, -1.0, -0.2, -2.0], [2, 2]),
            tf.tensor1d([0.7, -1.2]),
            tf.tensor2d([1, 1, 1, 0], [2, 2]),
            { variant: "grpo", eps: 0.2, beta: 0.3, maxTokens: 4 },
          ).loss.dataSync()[0],
      );
    const g = tf.tidy(() =>
      Array.from(
        tf
          .grad(
            (x: tf.Tensor) =>
              groupPolicyLoss(
                x as tf.Tensor2D,
                tf.tensor2d([-0.6, -1.3, -0.5, -2.0], [2, 2]),
                tf.tensor2d([-0.9, -1.0, -0.2, -2.0], [2, 2]),
                tf.tensor1d([0.7, -1.2]),
                tf.tensor2d([1, 1, 1, 0], [2, 2]),
                { variant: "grpo", eps: 0.2, beta: 0.3, maxTokens: 4 },
              ).loss,
          )(tf.tensor2d(lp0, [2, 2]))
          .dataSync(),
      ),
    );
    const h = 1e-3;
    lp0.forEach((_, i) => {
      const up = lp0.slice();
      const dn = lp0.slice();
      up[i] += h;
      dn[i] -= h;
      close(g[i], (f(up) - f(dn)) / (2 * h), 2e-3, `∂/∂lp[${i}]`);
    });
    assert.equal(g[3], 0, "a masked token has no gradient");
  });
});

describe("OAIF labelling and TR-DPO updates", () => {
  before(async () => {
    await initBackend("cpu");
  });

  test("labelPairs: the higher score is chosen, an exact tie gives no pair, a non-finite score is named", () => {
    assert.deepEqual(labelPairs([0.2, 0.9, 0.5, 0.5, 1, -1]), [
      { chosen: 1, rejected: 0 },
      null,
      { chosen: 4, rejected: 5 },
    ]);
    assert.throws(() => labelPairs([1, 2, 3]), /not pairs/);
    assert.throws(() => labelPairs([1, NaN]), /pair 0 has a score that is not finite/);
  });

  test("soft and hard reference updates: α θ + (1 − α) θ_ref every τ steps", () => {
    assert.deepEqual(mixWeights([1, 2], [3, 5], 0.25), [2.5, 4.25]);
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map((s) => syncDue(s, 3)),
      [false, false, true, false, false, true],
    );
    assert.throws(() => syncDue(1, 0), /tau must be an integer ≥ 1/);
    const ref: tf.Variable[] = [tf.variable(tf.tensor1d([3, 5])), tf.variable(tf.tensor2d([[1]]))];
    const pol: tf.Variable[] = [tf.variable(tf.tensor1d([1, 2])), tf.variable(tf.tensor2d([[-1]]))];
    const before = tf.memory().numTensors;
    mixInto(ref, pol, 0.25);
    assert.equal(tf.memory().numTensors, before, "no tensor left behind");
    assert.deepEqual(Array.from(ref[0].dataSync()), [2.5, 4.25]);
    assert.deepEqual(Array.from(ref[1].dataSync()), [0.5]);
    mixInto(ref, pol, 1); // hard: a copy
    assert.deepEqual(Array.from(ref[0].dataSync()), [1, 2]);
    const seven = tf.tensor1d([7, 7]);
    pol[0].assign(seven);
    seven.dispose();
    assert.deepEqual(Array.from(ref[0].dataSync()), [1, 2], "the copy does not alias the policy");
    assert.throws(() => mixInto(ref, pol, 0), /alpha must lie in \(0, 1\]/);
    assert.throws(() => mixInto(ref.slice(0, 1), pol, 0.5), /1 variables, the policy 2/);
    tf.dispose([...ref, ...pol]);
  });
});

describe("DPOP (Pal et al. 2024, Eq. 3)", () => {
  const entry = getLoss("dpop") as PairLossEntry;
  before(async () => {
    await initBackend("cpu");
  });
  test("hand values: the penalty fires only when the chosen log-ratio is negative; λ = 0 is DPO", () => {
    // a = −1 (chosen below the reference), b = 0.5, β = 0.1, λ = 50: z = 0.1(−1 − 0.5 − 50) = −5.15.
    const [l, da, db] = dpop64(-1, 0.5, 0.1, 50);
    close(l, 5.15578265291507, 1e-12, "loss");
    close(da, -5.070593575649483, 1e-12, "∂/∂a");
    close(db, 0.09942340344410751, 1e-12, "∂/∂b");
    // a ≥ 0: DPO exactly (a = b: log 2, ∓β/2).
    assert.deepEqual(dpop64(0.5, 0.5, 0.1, 50), [Math.LN2, -0.05, 0.05]);
    const dpo = getLoss("dpo") as PairLossEntry;
    const b64 = {
      policyChosen: Float64Array.from([-3, -5]),
      policyRejected: Float64Array.from([-4, -4]),
      refChosen: Float64Array.from([-2, -6]),
      refRejected: Float64Array.from([-4.5, -4.2]),
      chosenLengths: Float64Array.from([1, 1]),
      rejectedLengths: Float64Array.from([1, 1]),
    };
    const o0 = resolveLossOptions("dpop", { beta: 0.1, dpopLambda: 0 });
    const od = resolveLossOptions("dpo", { beta: 0.1 });
    assert.deepEqual(Array.from(entry.twin(b64, o0).losses), Array.from(dpo.twin(b64, od).losses));
    const o = resolveLossOptions("dpop", { beta: 0.1 });
    assert.equal(o.dpopLambda, 50, "the paper's λ is the default");
    const out = entry.twin(b64, o);
    assert.ok(out.losses[0] > dpo.twin(b64, od).losses[0], "pair 0 (chosen fell) is penalised");
    assert.equal(out.losses[1], dpo.twin(b64, od).losses[1], "pair 1 (chosen rose) is plain DPO");
  });

  test("the tfjs loss's autodiff gradient equals finite differences of the loss (both sides of the kink)", () => {
    const o = resolveLossOptions("dpop", { beta: 0.2, dpopLambda: 5 });
    const rc = [-2, -6];
    const rr = [-4.5, -4.2];
    const pr = [-4, -4];
    const lossAt = (pc: number[]) =>
      tf.tidy(
        () =>
          tf
            .sum(
              entry.loss(
                {
                  policyChosen: tf.tensor1d(pc),
                  policyRejected: tf.tensor1d(pr),
                  refChosen: tf.tensor1d(rc),
                  refRejected: tf.tensor1d(rr),
                },
                o,
              ).losses,
            )
            .dataSync()[0],
      );
    const pc0 = [-3, -5]; // pair 0 below the reference by 1, pair 1 above by 1
    const g = tf.tidy(() =>
      Array.from(
        tf
          .grad((pc: tf.Tensor) =>
            tf.sum(
              entry.loss(
                {
                  policyChosen: pc,
                  policyRejected: tf.tensor1d(pr),
                  refChosen: tf.tensor1d(rc),
                  refRejected: tf.tensor1d(rr),
                },
                o,
              ).losses,
            ),
          )(tf.tensor1d(pc0))
          .dataSync(),
      ),
    );
    const h = 1e-2;
    for (let i = 0; i < 2; i++) {
      const up = pc0.slice();
      const dn = pc0.slice();
      up[i] += h;
      dn[i] -= h;
      close(g[i], (lossAt(up) - lossAt(dn)) / (2 * h), 1e-3, `∂/∂pc[${i}]`);
      close(g[i], dpop64(pc0[i] - rc[i], pr[i] - rr[i], 0.2, 5)[1], 1e-5, `twin ∂/∂pc[${i}]`);
    }
    assert.ok(Math.abs(g[0]) > 5 * Math.abs(g[1]), "the penalised pair pulls (1 + λ) times harder");
  });
});

describe("tiny end-to-end runs: GRPO, Dr. GRPO, online and iterative DPO, TR-DPO", () => {
  let tokenizer: WordTokenizer;
  let reference: Transformer;
  const texts = ["the film is good", "the film is bad", "a good story", "a bad plot", "the cast is good fun"];
  const prompts = ["the film", "a", "the cast"];
  before(async () => {
    await initBackend("cpu");
    tokenizer = WordTokenizer.fit(texts, 50);
    reference = new Transformer({ vocabSize: tokenizer.size, contextLength: 12, dModel: 16, nHeads: 2, nLayers: 1 }, 3);
  });
  const goodId = () => tokenizer.encode("good")[0];
  const reward = (_p: readonly string[], _c: readonly string[], seqs: readonly { completion: readonly number[] }[]) =>
    seqs.map((s) => s.completion.filter((t) => t === goodId()).length + 0.01 * s.completion.length);
  /** Run `train` on a fresh policy twice: numTensors flat, the same logs both times. */
  const twice = <T>(train: (policy: Transformer) => T): T => {
    const once = () => {
      const policy = reference.clone();
      const n = tf.memory().numTensors;
      const r = train(policy);
      policy.releaseDecodingCache();
      assert.equal(tf.memory().numTensors, n, "numTensors flat");
      policy.dispose();
      return r;
    };
    const a = once();
    assert.deepEqual(once(), a, "same seed, same numbers");
    return a;
  };

  for (const variant of ["grpo", "dr-grpo"] as const)
    test(`${variant}: finite logs, KL 0 at the first rollout, lengths recorded`, () => {
      const r = twice(
        (p) =>
          trainGrpo(p, reference, tokenizer, prompts, reward, {
            variant,
            beta: 0.04,
            iterations: 3,
            promptsPerIteration: 2,
            groupSize: 3,
            epochs: 2,
            learningRate: 1e-2,
            maxNewTokens: 5,
            seed: 4,
            verbose: false,
          }).logs,
      );
      assert.equal(r.length, 3);
      for (const l of r) for (const [k, v] of Object.entries(l)) assert.ok(Number.isFinite(v), `${k} = ${v}`);
      close(r[0]["objective/kl"], 0, 1e-5, "the policy starts at the reference");
      assert.ok(r.every((l) => l["completion/mean_length"] >= 1 && l["completion/mean_length"] <= 6));
      assert.equal(r[2]["online/samples"], 18);
      assert.ok(r[2]["objective/kl"] !== 0, "the policy moved");
      // At the first step ratio = 1 and k3 = 0, so −J is −mean_i(Â_i · n_i / D_i): 0 for GRPO (D_i = n_i, and
      // a group's advantages sum to 0); −mean_i(Â_i n_i)/L_max for Dr. GRPO, not 0 when lengths differ.
      const p1 = reference.clone();
      const first = trainGrpo(p1, reference, tokenizer, prompts, reward, {
        variant,
        beta: 0.04,
        iterations: 1,
        promptsPerIteration: 2,
        groupSize: 3,
        epochs: 1,
        maxNewTokens: 5,
        seed: 4,
        verbose: false,
      }).logs[0]["loss/policy_avg"];
      p1.dispose();
      if (variant === "grpo") close(first, 0, 1e-6, "GRPO's first loss");
      else assert.ok(Math.abs(first) > 1e-4, `Dr. GRPO's first loss ${first}`);
    });

  test("online DPO (OAIF: one step a round) and iterative DPO (epochs over a round's pairs)", () => {
    const oaif = twice(
      (p) =>
        trainOnlineDpo(p, reference, tokenizer, prompts, reward, {
          beta: 0.1,
          rounds: 3,
          promptsPerRound: 4,
          epochs: 1,
          batchSize: 4,
          learningRate: 1e-2,
          maxNewTokens: 5,
          seed: 2,
          verbose: false,
        }).logs,
    );
    assert.deepEqual(
      oaif.map((l) => [l.step, l.round, l["online/samples"]]),
      [
        [1, 1, 8],
        [2, 2, 16],
        [3, 3, 24],
      ],
    );
    assert.ok(oaif.every((l) => l["online/tie_fraction"] >= 0 && l["online/tie_fraction"] <= 1));
    const untied = oaif.filter((l) => l["online/tie_fraction"] < 1);
    assert.ok(untied.length > 0 && untied.every((l) => Number.isFinite(l.loss)));
    close(untied[0].loss, Math.LN2, 1e-4, "first DPO step at the reference: log 2");
    const opts = { epochs: 3, promptsPerRound: 5, batchSize: 4 };
    assert.equal(onlineDpoStepsPerRound(opts), 4);
    const iter = twice(
      (p) =>
        trainOnlineDpo(p, reference, tokenizer, prompts, reward, {
          ...opts,
          beta: 0.1,
          rounds: 2,
          learningRate: 1e-2,
          maxNewTokens: 5,
          seed: 2,
          verbose: false,
        }).logs,
    );
    assert.deepEqual(
      iter.map((l) => l.round),
      [1, 1, 1, 1, 2, 2, 2, 2],
    );
    // A judge that ties every pair: no update, but every step is still logged (loss NaN) and reported.
    const seen: number[] = [];
    const tied = trainOnlineDpo(reference.clone(), reference, tokenizer, prompts, (ps) => ps.map(() => 0), {
      beta: 0.1,
      rounds: 2,
      promptsPerRound: 3,
      epochs: 2,
      batchSize: 2,
      maxNewTokens: 3,
      verbose: false,
      onStep: (step) => seen.push(step),
    });
    assert.deepEqual(seen, [1, 2, 3, 4, 5, 6]);
    assert.ok(tied.logs.every((l) => Number.isNaN(l.loss) && l["online/tie_fraction"] === 1));
    assert.throws(
      () =>
        trainOnlineDpo(reference, reference, tokenizer, prompts, () => [1], {
          beta: 0.1,
          rounds: 1,
          promptsPerRound: 2,
          epochs: 1,
          batchSize: 2,
          maxNewTokens: 3,
          verbose: false,
        }),
      /returned 1 scores for 4 samples/,
    );
  });

  test("TR-DPO: syncs every τ steps (soft and hard), the caller's reference untouched, α = 1 and τ > steps is DPO", () => {
    const seq = (p: string, c: string) => ({
      prompt: tokenizer.encode(p),
      completion: tokenizer.encode(c),
      ended: true,
    });
    const pairs = [
      ["the film", "is good", "is bad"],
      ["a", "good story", "bad plot"],
      ["the cast", "is good fun", "is bad"],
    ].map(
      ([p, c, r]) =>
        ({
          prompt: p,
          chosen: c,
          rejected: r,
          chosenSeq: seq(p, c),
          rejectedSeq: seq(p, r),
          scoreChosen: 1,
          scoreRejected: 0,
        }) as TokenizedPair,
    );
    const refBefore = Array.from(reference.variables[0].dataSync());
    const run = (alpha: number, tau: number) =>
      twice((p) => {
        const r = trainTrDpo(p, reference, pairs, {
          beta: 0.1,
          alpha,
          tau,
          steps: 5,
          batchSize: 2,
          learningRate: 1e-2,
          seed: 1,
          verbose: false,
        });
        return { losses: r.logs.map((l) => l.loss), syncs: r.logs.map((l) => l["trdpo/syncs"]) };
      });
    const soft = run(0.5, 2);
    assert.deepEqual(soft.syncs, [0, 1, 1, 2, 2]);
    const hard = run(1, 1);
    assert.deepEqual(hard.syncs, [1, 2, 3, 4, 5]);
    const never = run(1, 100);
    assert.deepEqual(never.syncs, [0, 0, 0, 0, 0]);
    // Same minibatches (same seed): identical until the first sync, then the moved reference changes the loss.
    assert.equal(soft.losses[0], never.losses[0]);
    assert.equal(soft.losses[1], never.losses[1]);
    assert.notEqual(soft.losses[2], never.losses[2]);
    // After a hard sync the reference is the policy: the next step's margin is 0, loss log 2.
    hard.losses.forEach((l) => close(l, Math.LN2, 1e-5, "hard τ = 1: every step starts at its reference"));
    assert.deepEqual(
      Array.from(reference.variables[0].dataSync()),
      refBefore,
      "the caller's reference is not modified",
    );
  });
});

describe("DPOP against DPO on pairs one token apart (Pal et al. 2024, §3: the failure mode DPOP fixes)", () => {
  test("DPO lowers the chosen completions' log-probs, DPOP keeps them at or above the reference's", async () => {
    await initBackend("cpu");
    const texts = ["the film is good", "the film is bad", "a good story", "a bad story", "the cast is good fun"];
    const tok = WordTokenizer.fit([...texts, "the cast is bad fun"], 50);
    const ref = new Transformer({ vocabSize: tok.size, contextLength: 12, dModel: 16, nHeads: 2, nLayers: 1 }, 3);
    const seq = (p: string, c: string) => ({ prompt: tok.encode(p), completion: tok.encode(c), ended: true });
    const pairs = [
      ["the film", "is good", "is bad"],
      ["a", "good story", "bad story"],
      ["the cast", "is good fun", "is bad fun"],
    ].map(
      ([p, c, r]) =>
        ({
          prompt: p,
          chosen: c,
          rejected: r,
          chosenSeq: seq(p, c),
          rejectedSeq: seq(p, r),
          scoreChosen: 1,
          scoreRejected: 0,
        }) as TokenizedPair,
    );
    const data = { pairs, rankings: [], unpaired: [], tiedPrompts: 0, tiedLists: 0, flippedFraction: 0 } as RlaifData;
    const chosen = pairs.map((p) => p.chosenSeq);
    const before = Array.from(sequenceLogps(ref, chosen));
    const change = (method: string, lossOptions: Record<string, unknown>) => {
      const pol = ref.clone();
      trainPreference(pol, ref, data, {
        method,
        lossOptions,
        steps: 60,
        batchSize: 3,
        learningRate: 1e-2,
        seed: 1,
        verbose: false,
      });
      const after = Array.from(sequenceLogps(pol, chosen));
      pol.dispose();
      return after.map((a, i) => a - before[i]);
    };
    const dpo = change("dpo", { beta: 0.1 });
    const dpop = change("dpop", { beta: 0.1, dpopLambda: 50 });
    ref.dispose();
    assert.ok(dpo.filter((d) => d < -1).length >= 2, `DPO's chosen log-prob changes ${dpo}`);
    assert.ok(
      dpop.every((d) => d > -0.1),
      `DPOP's chosen log-prob changes ${dpop}`,
    );
  });
});

describe("the fig2 kind: issue 28's methods and their settings", () => {
  const resolve = (c: Record<string, unknown>) =>
    fig2Kind.resolve(c as JsonObject, inlineComplainer()) as Record<string, unknown>;
  test("each new method's config holds its own section (preset defaults), the existing methods' configs none", () => {
    const g = resolve({ preset: "ci", method: "dr-grpo-gt", knob: 0.04 });
    assert.deepEqual(g.grpo, FIG2_ONLINE_PRESETS.ci.grpo);
    assert.deepEqual(resolve({ preset: "full", method: "tr-dpo-hard", knob: 0.1 }).trDpoHard, { alpha: 1, tau: 256 });
    assert.deepEqual(resolve({ preset: "ci", method: "dpop", knob: 0.1 }).dpop, { lambda: 50 });
    assert.deepEqual(
      resolve({ preset: "ci", method: "online-dpo", knob: 0.1 }).onlineDpo,
      FIG2_ONLINE_PRESETS.ci.onlineDpo,
    );
    for (const m of ["dpo", "ppo-gt", "rloo", "best-of-n", "sft"]) {
      const c = resolve({ preset: "ci", method: m, knob: m === "sft" ? 0 : m === "best-of-n" ? 16 : 1 });
      for (const k of ["grpo", "onlineDpo", "iterativeDpo", "trDpo", "trDpoHard", "dpop"])
        assert.ok(!(k in c), `${m} has no ${k}`);
    }
  });
  test("bad settings are named: a section on another method, tr-dpo with α = 1, a group of 1, β = 0", () => {
    assert.throws(() => resolve({ preset: "ci", method: "dpo", knob: 0.1, grpo: { groupSize: 4 } }), /grpo/);
    assert.throws(
      () => resolve({ preset: "ci", method: "tr-dpo", knob: 0.1, trDpo: { alpha: 1 } }),
      /trDpo\.alpha.*tr-dpo-hard/s,
    );
    assert.throws(
      () => resolve({ preset: "ci", method: "tr-dpo-hard", knob: 0.1, trDpoHard: { alpha: 0.5 } }),
      /trDpoHard\.alpha/,
    );
    assert.throws(
      () => resolve({ preset: "ci", method: "grpo", knob: 0.1, grpo: { groupSize: 1 } }),
      /grpo\.groupSize/,
    );
    assert.throws(() => resolve({ preset: "ci", method: "online-dpo-gt", knob: 0 }), /knob/);
    assert.throws(() => resolve({ preset: "ci", method: "grpo", knob: 0.1, offline: { epochs: 3 } }), /offline/);
    // tr-dpo trains on the offline pairs: its offline settings are its own
    assert.equal(
      (resolve({ preset: "ci", method: "tr-dpo", knob: 0.1, offline: { epochs: 3 } }).offline as { epochs: number })
        .epochs,
      3,
    );
  });
});

describe("issue 28's verdicts (src/fig2/onlineSummary.ts)", () => {
  const row = (method: string, knob: number, seed: number, step: number, extra: Partial<CheckpointRow>) =>
    ({ method, knob, seed, step, reward: 0.5, kl: 1, meanLength: 8, ...extra }) as CheckpointRow;
  test("Dr. GRPO's length: paired by (β, seed) at the last checkpoint; yes, partly and no", () => {
    const rows = (d: number[]) =>
      d.flatMap((x, seed) => [
        row("grpo-gt", 0.04, seed, 1, { meanLength: 2 }), // an earlier checkpoint: not the one compared
        row("grpo-gt", 0.04, seed, 2, { meanLength: 10 }),
        row("dr-grpo-gt", 0.04, seed, 2, { meanLength: 10 + x }),
      ]);
    const yes = lengthVerdict(rows([-2, -3, -2.5]));
    assert.equal(yes.reproduced, "yes", yes.measured);
    assert.match(yes.measured, /mean length difference -2\.50 tokens \[-3\.74, -1\.26\] over 3 pairs/);
    assert.equal(lengthVerdict(rows([-3, 1, -1])).reproduced, "partly");
    assert.equal(lengthVerdict(rows([1, 2, 0])).reproduced, "no");
    assert.equal(lengthVerdict([row("grpo-gt", 0.04, 0, 1, {})]).reproduced, "n/a");
  });
  test("DPOP's chosen log-ratio: rewards/chosen ÷ β at each run's last checkpoint; yes, partly and no", () => {
    const rows = (xs: number[], method = "dpop") =>
      xs.map((x, seed) => row(method, 0.1, seed, 3, { log: { "rewards/chosen": 0.1 * x } }));
    const dpo = rows([-2, -2.2], "dpo");
    const yes = dpopVerdict([...rows([0.5, -0.1, 0.2]), ...dpo]);
    assert.equal(yes.reproduced, "yes", yes.measured);
    assert.match(yes.measured, /DPOP 0\.20 .*\(3 runs\), DPO -2\.10 .*\(2 runs\)/);
    assert.equal(dpopVerdict(rows([-0.5, 0.3])).reproduced, "partly");
    assert.equal(dpopVerdict(rows([-1])).reproduced, "partly", "one run: no interval");
    assert.equal(dpopVerdict(rows([-1, -1.2, -0.9])).reproduced, "no");
    assert.equal(dpopVerdict(dpo).reproduced, "n/a");
  });
  test("summariseFig2 grades the study's claims only when its methods are present", () => {
    const base = [row("dpo", 0.1, 0, 1, { perPromptReward: [0.5, 0.6], perPromptKl: [1, 1] })];
    assert.ok(!summariseFig2(base).verdicts.some((v) => v.claim.startsWith("OAIF")));
    const withStudy = summariseFig2([
      ...base,
      row("online-dpo-gt", 0.1, 0, 1, { reward: 0.7, perPromptReward: [0.7, 0.7], perPromptKl: [1, 1] }),
    ]);
    assert.ok(withStudy.verdicts.some((v) => v.claim.startsWith("OAIF")));
    assert.ok(
      !withStudy.verdicts.some((v) => v.claim.startsWith("Unlikelihood")),
      "the DPO paper's rows it did not run are left out",
    );
  });
});
