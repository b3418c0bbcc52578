// PPO as the paper ran it (src/lm/ppo.ts, ppoMath.ts, ppoValueHead.ts): GAE, per-token rewards, whitening,
// value clipping and the running score moments against hand-worked numbers; the KL controller holding
// its target on a toy policy whose KL responds to β with a lag (and a broken controller failing there); a
// tiny end-to-end run (memory flat, deterministic, the value head's log-probs equal the plain scorer's; the
// timing hook's three phases, the numbers the same without it).
import { before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend";
import {
  adaptiveKlUpdate,
  clippedValueLoss,
  clippedValueLossTensor,
  gaeAdvantages,
  perTokenRewards,
  piKlUpdate,
  ppoClipLoss,
  updateMoments,
  whiten,
  type PiKlGains,
} from "../src/lm/ppoMath";
import { ValueHead, logProbsAndValues } from "../src/lm/ppoValueHead";
import { trainPpo, type PpoTiming } from "../src/lm/ppo";
import { Transformer } from "../src/lm/transformer";
import { WordTokenizer } from "../src/lm/tokenizer";
import { packSequences, disposeBatch } from "../src/lm/batching";
import { modelTokenLogProbs } from "../src/lm/logprobs";

const close = (a: number, b: number, tol = 1e-9, what = "") =>
  assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b} (tol ${tol})`);

describe("PPO's pure steps by hand", () => {
  test("per-token rewards: −β(lp_old − lp_ref) at every token, the score added at the last", () => {
    const r = perTokenRewards(2, [-1, -2], [-1.5, -1], 0.1);
    close(r[0], -0.05);
    close(r[1], 0.1 + 2);
    assert.throws(() => perTokenRewards(1, [-1], [-1, -2], 0.1), /1 vs 2/);
    assert.throws(() => perTokenRewards(1, [], [], 0.1), /no scored token/);
  });

  test("GAE on a 3-token sample, γ = 1, λ = 0.95, worked by hand", () => {
    // δ2 = 1.0 + 0 − 0.6 = 0.4; δ1 = −0.2 + 0.6 − 0.4 = 0; δ0 = 0.1 + 0.4 − 0.5 = 0.
    // A2 = 0.4, A1 = 0 + 0.95·0.4 = 0.38, A0 = 0 + 0.95·0.38 = 0.361; G = A + V.
    const g = gaeAdvantages([0.1, -0.2, 1.0], [0.5, 0.4, 0.6], 1, 0.95);
    [0.361, 0.38, 0.4].forEach((a, t) => close(g.advantages[t], a, 1e-12, `A${t}`));
    [0.861, 0.78, 1.0].forEach((x, t) => close(g.returns[t], x, 1e-12, `G${t}`));
  });

  test("GAE on a 4-token sample with γ = 0.9, λ = 0.5, and its λ = 1 (Monte Carlo) and λ = 0 (TD) ends", () => {
    const r = [0, 0.5, -1, 2];
    const v = [1, 0, 0.5, 1];
    // δ3 = 2 − 1 = 1; δ2 = −1 + 0.9·1 − 0.5 = −0.6; δ1 = 0.5 + 0.9·0.5 − 0 = 0.95; δ0 = 0 + 0 − 1 = −1.
    // A3 = 1; A2 = −0.6 + 0.45·1 = −0.15; A1 = 0.95 + 0.45·(−0.15) = 0.8825; A0 = −1 + 0.45·0.8825 = −0.602875.
    const g = gaeAdvantages(r, v, 0.9, 0.5);
    [-0.602875, 0.8825, -0.15, 1].forEach((a, t) => close(g.advantages[t], a, 1e-12, `A${t}`));
    // λ = 1: A_t = Σ_{s≥t} γ^{s−t} r_s − V_t.
    const mc = gaeAdvantages(r, v, 0.9, 1);
    r.forEach((_, t) => {
      const ret = r.slice(t).reduce((a, x, j) => a + 0.9 ** j * x, 0);
      close(mc.advantages[t], ret - v[t], 1e-12, `MC A${t}`);
    });
    // λ = 0: A_t = δ_t.
    const td = gaeAdvantages(r, v, 0.9, 0);
    [-1, 0.95, -0.6, 1].forEach((d, t) => close(td.advantages[t], d, 1e-12, `TD A${t}`));
    assert.throws(() => gaeAdvantages([1], [1, 2], 1, 0.95), /1 rewards but 2 values/);
    assert.throws(() => gaeAdvantages([1], [1], 1.5, 0.95), /γ and λ/);
  });

  test("whitening over the mask: unbiased variance, masked entries untouched, scale-only form", () => {
    const w = whiten([1, 2, 3, 4]);
    const sd = Math.sqrt(5 / 3);
    [-1.5, -0.5, 0.5, 1.5].forEach((x, i) => close(w[i], x / Math.sqrt(sd * sd + 1e-8), 1e-6));
    // Entries 1, 3, 5 under the mask: mean 3, unbiased var 4 → (x − 3)/2; the 100 is left as it is.
    const m = whiten([1, 3, 100, 5], [1, 1, 0, 1]);
    [-1, 0, 100, 1].forEach((x, i) => close(m[i], x, 1e-6));
    const s = whiten([1, 3, 100, 5], [1, 1, 0, 1], false);
    [2, 3, 100, 4].forEach((x, i) => close(s[i], x, 1e-6));
    assert.throws(() => whiten([1, 2], [1, 0]), /at least 2/);
  });

  test("clipped value loss: ½ max of the plain and the clipped squared error, tensor form agrees", () => {
    // V = 1, V_old = 0.5, c = 0.2 → clip(V) = 0.7. G = 2: max(1², 1.3²) = 1.69 → 0.845 (the clipped term).
    close(clippedValueLoss(1, 0.5, 2, 0.2), 0.845, 1e-12);
    // G = 0: max(1², 0.7²) = 1 → 0.5 (the plain term); inside the clip range both terms agree.
    close(clippedValueLoss(1, 0.5, 0, 0.2), 0.5, 1e-12);
    close(clippedValueLoss(0.6, 0.5, 1, 0.2), 0.5 * 0.16, 1e-12);
    const out = tf.tidy(() => {
      const t = (xs: number[]) => tf.tensor2d(xs, [1, 4]);
      const r = clippedValueLossTensor(t([1, 1, 0.6, 9]), t([0.5, 0.5, 0.5, 0]), t([2, 0, 1, 0]), t([1, 1, 1, 0]), 0.2);
      return [r.loss.dataSync()[0], r.clipfrac.dataSync()[0]];
    });
    close(out[0], (0.845 + 0.5 + 0.08) / 3, 1e-6, "mean over the 3 masked tokens");
    close(out[1], 1 / 3, 1e-6, "val/clipfrac");
  });

  test("PPO-clip loss by hand: the clip binds only on the side that would overshoot", () => {
    // ρ = e^{0.5} ≈ 1.6487 with A = 1 → min(1.6487, 1.2) = 1.2; with A = −1 → min(−1.6487, −1.2) = −1.6487.
    const [loss, frac] = tf.tidy(() => {
      const lp = tf.tensor2d([[0.5, 0.5, 0]]);
      const old = tf.tensor2d([[0, 0, 0]]);
      const adv = tf.tensor2d([[1, -1, 2]]);
      const r = ppoClipLoss(lp, old, adv, tf.tensor2d([[1, 1, 1]]), 0.2);
      return [r.loss.dataSync()[0], r.clipfrac.dataSync()[0]];
    });
    close(loss, -(1.2 - Math.exp(0.5) + 2) / 3, 1e-6);
    close(frac, 2 / 3, 1e-6);
  });

  test("running score moments equal the moments of everything seen", () => {
    const a = [1, 2, 6];
    const b = [4, -3];
    const m = updateMoments(updateMoments({ mean: 0, variance: 0, count: 0 }, a), b);
    const all = [...a, ...b];
    const mean = all.reduce((x, y) => x + y, 0) / all.length;
    close(m.mean, mean, 1e-12);
    close(m.variance, all.reduce((x, y) => x + (y - mean) ** 2, 0) / all.length, 1e-12);
    assert.equal(m.count, 5);
  });
});

/**
 * A toy policy whose KL answers β with a lag: π = N(μ, 1), π_ref = N(0, 1), KL = μ²/2, reward c·μ. Each
 * iteration takes `steps` gradient steps of size η on c·μ − β·μ²/2 (optimum μ* = c/β, KL* = c²/2β²), then
 * the controller sees the KL. Returns the KL of every iteration.
 */
function toyRun(
  target: number,
  update: (beta: number, kl: number) => number,
  opts: { iterations?: number; beta0?: number; c?: number; eta?: number; steps?: number } = {},
): number[] {
  const c = opts.c ?? 1;
  const eta = opts.eta ?? 0.3;
  let beta = opts.beta0 ?? 0.1;
  let mu = 0;
  const kls: number[] = [];
  for (let it = 0; it < (opts.iterations ?? 40); it++) {
    for (let s = 0; s < (opts.steps ?? 4); s++) mu += eta * (c - beta * mu);
    const kl = (mu * mu) / 2;
    kls.push(kl);
    beta = update(beta, kl);
  }
  void target;
  return kls;
}

function piController(target: number, gains?: PiKlGains): (beta: number, kl: number) => number {
  let state = { logBeta: NaN, lastError: 0 };
  return (beta, kl) => {
    if (Number.isNaN(state.logBeta)) state.logBeta = Math.log(beta);
    state = piKlUpdate(state, kl, target, gains);
    return Math.exp(state.logBeta);
  };
}

/** Whether the last `tail` iterations' KL all lie within ±25% of the target. */
const holds = (kls: number[], target: number, tail = 10) =>
  kls.slice(-tail).every((kl) => Math.abs(kl / target - 1) <= 0.25);

describe("the KL controller holds its target", () => {
  test("PI on log β: final KL within ±25% for targets 3–20 within 40 iterations, from β far too small", () => {
    for (const target of [3, 6, 12, 20]) {
      const kls = toyRun(target, piController(target));
      assert.ok(holds(kls, target), `target ${target}: last KLs ${kls.slice(-10).map((k) => k.toFixed(2))}`);
      // It did have to act: without control (β fixed at 0.1) the toy's KL heads for c²/2β² = 50.
      assert.ok(
        !holds(
          toyRun(target, (b) => b),
          target,
        ),
        `target ${target} held without a controller`,
      );
    }
  });

  test("a broken controller (sign flipped) fails the same check", () => {
    for (const target of [3, 12]) {
      const kls = toyRun(target, piController(target, { ki: -0.5, kp: -1 }));
      assert.ok(!holds(kls, target), `a sign-flipped controller held target ${target}`);
    }
  });

  test("PI step by hand; the error is clipped and β bounded; a KL ≤ 0 reads as 'far too small'", () => {
    // KL = 2·target: e = log 2; log β' = log β + 0.5·log 2 + 1·(log 2 − 0).
    const s = piKlUpdate({ logBeta: Math.log(0.1), lastError: 0 }, 6, 3);
    close(s.logBeta, Math.log(0.1) + 1.5 * Math.log(2), 1e-12);
    close(s.lastError, Math.log(2), 1e-12);
    const far = piKlUpdate({ logBeta: 0, lastError: 0 }, 3000, 3);
    close(far.lastError, 1, 1e-12, "clipped to maxError 1");
    close(piKlUpdate({ logBeta: 0, lastError: 0 }, 0.003, 3).lastError, -0.5, 1e-12, "clipped to minError −0.5");
    close(piKlUpdate({ logBeta: 0, lastError: 0 }, 0, 3).lastError, -0.5, 1e-12);
    close(piKlUpdate({ logBeta: Math.log(99), lastError: 0 }, 30, 3).logBeta, Math.log(100), 1e-12);
    assert.throws(() => piKlUpdate({ logBeta: 0, lastError: 0 }, 1, 0), /targetKl must be > 0/);
  });

  test("Ziegler's controller (kept for RLOO) by hand", () => {
    close(adaptiveKlUpdate(0.1, 6, 3, 10, 100), 0.1 * (1 + 0.2 * 0.1), 1e-12);
    close(adaptiveKlUpdate(0.1, 2.7, 3, 10, 100), 0.1 * (1 - 0.1 * 0.1), 1e-12);
  });
});

describe("PPO end to end on a tiny transformer", () => {
  let tokenizer: WordTokenizer;
  let reference: Transformer;
  const texts = ["the film is good", "the film is bad", "a good story", "a bad plot", "the cast is good fun"];
  // Three short iterations: what both end-to-end tests train (each adds its own seed and options).
  const TINY_RUN = {
    beta: 0.1,
    targetKl: 2,
    iterations: 3,
    batchSize: 8,
    miniBatchSize: 4,
    ppoEpochs: 2,
    learningRate: 1e-2,
    maxNewTokens: 5,
  };
  before(async () => {
    await initBackend("cpu");
    tokenizer = WordTokenizer.fit(texts, 50);
    reference = new Transformer({ vocabSize: tokenizer.size, contextLength: 12, dModel: 16, nHeads: 2, nLayers: 1 }, 3);
  });
  const goodId = () => tokenizer.encode("good")[0];
  const reward = (_p: readonly string[], _c: readonly string[], seqs: readonly { completion: readonly number[] }[]) =>
    seqs.map((s) => s.completion.filter((t) => t === goodId()).length);

  test("the value head reads the same body pass: log-probs equal the plain scorer's; a zero head gives V = 0", () => {
    const head = new ValueHead(16);
    const batch = packSequences(
      [
        { prompt: tokenizer.encode("the film"), completion: tokenizer.encode("is good"), ended: true },
        { prompt: tokenizer.encode("a"), completion: tokenizer.encode("bad plot"), ended: false },
      ],
      12,
    );
    const [a, b, v] = tf.tidy(() => {
      const pv = logProbsAndValues(reference, head, batch.ids, batch.mask);
      return [
        Array.from(pv.logProbs.dataSync()),
        Array.from(modelTokenLogProbs(reference, batch.ids, batch.mask).dataSync()),
        Array.from(pv.values.dataSync()),
      ];
    });
    assert.deepEqual(a, b);
    assert.ok(v.every((x) => x === 0));
    assert.equal(v.length, a.length);
    disposeBatch(batch);
    head.dispose();
  });

  test("iterations run with memory flat, finite logs, KL 0 at the start, β moved by the controller, same seed same numbers", () => {
    const run = () => {
      const policy = reference.clone();
      const before = tf.memory().numTensors;
      const r = trainPpo(policy, reference, tokenizer, ["the film", "a", "the cast"], reward, {
        ...TINY_RUN,
        seed: 7,
        verbose: false,
      });
      policy.releaseDecodingCache();
      assert.equal(tf.memory().numTensors, before, "numTensors flat");
      policy.dispose();
      return r;
    };
    const r = run();
    assert.equal(r.logs.length, 3);
    for (const l of r.logs) for (const [k, v] of Object.entries(l)) assert.ok(Number.isFinite(v), `${k} = ${v}`);
    assert.ok(Math.abs(r.logs[0]["objective/kl"]) < 1e-4, `first KL ${r.logs[0]["objective/kl"]}`);
    assert.equal(r.betas[0], 0.1);
    // KL ≈ 0 < target 2: e = −0.5 (clipped), log β falls by (ki + kp)·0.5 = 0.75.
    close(r.betas[1], 0.1 * Math.exp(-0.75), 1e-9);
    assert.ok((r.logs[0]["loss/value_avg"] as number) > 0, "the value head starts at 0 and has returns to fit");
    assert.deepEqual(
      run().logs.map((l) => [l["objective/kl"], l["loss/policy_avg"]]),
      r.logs.map((l) => [l["objective/kl"], l["loss/policy_avg"]]),
    );
  });

  test("the timing hook reports sampling, scoring and update for every iteration; the results are the same without it", () => {
    // The reward busy-waits 15 ms: it is scoring, so every scoring phase holds at least that much.
    const slowReward = (
      p: readonly string[],
      c: readonly string[],
      seqs: readonly { completion: readonly number[] }[],
    ) => {
      const until = performance.now() + 15;
      while (performance.now() < until);
      return reward(p, c, seqs);
    };
    const run = (withHook: boolean) => {
      const policy = reference.clone();
      const timings: Array<[number, PpoTiming]> = [];
      const t0 = performance.now();
      const r = trainPpo(policy, reference, tokenizer, ["the film", "a", "the cast"], slowReward, {
        ...TINY_RUN,
        seed: 11,
        verbose: false,
        ...(withHook ? { onTiming: (it: number, t: PpoTiming) => timings.push([it, t]) } : {}),
      });
      const wallMs = performance.now() - t0;
      const weights = policy.variables.map((v) => Array.from(v.dataSync()));
      policy.releaseDecodingCache();
      policy.dispose();
      return { r, timings, wallMs, weights };
    };
    const hooked = run(true);
    const plain = run(false);
    assert.deepEqual(
      hooked.timings.map(([it, t]) => [it, Object.keys(t).sort()]),
      [1, 2, 3].map((it) => [it, ["samplingMs", "scoringMs", "updateMs"]]),
    );
    for (const [it, t] of hooked.timings) {
      assert.ok(t.samplingMs > 0 && t.updateMs > 0, `iteration ${it}: ${JSON.stringify(t)}`);
      assert.ok(t.scoringMs >= 15, `iteration ${it}: scoring ${t.scoringMs} ms holds the 15 ms reward`);
    }
    const phases = hooked.timings.reduce((a, [, t]) => a + t.samplingMs + t.scoringMs + t.updateMs, 0);
    assert.ok(phases <= hooked.wallMs, `phases ${phases} ms within the call's ${hooked.wallMs} ms`);
    assert.deepEqual(hooked.r.logs, plain.r.logs);
    assert.deepEqual(hooked.r.betas, plain.r.betas);
    assert.deepEqual(hooked.weights, plain.weights);
  });

  test("bad settings and rewards are refused with the field named", () => {
    const policy = reference.clone();
    const base = { beta: 0.1, iterations: 1, batchSize: 4, maxNewTokens: 3, verbose: false };
    try {
      assert.throws(
        () => trainPpo(policy, reference, tokenizer, ["a"], reward, { ...base, beta: 0 }),
        /beta must be > 0/,
      );
      assert.throws(
        () => trainPpo(policy, reference, tokenizer, ["a"], reward, { ...base, batchSize: 1 }),
        /batchSize/,
      );
      assert.throws(
        () => trainPpo(policy, reference, tokenizer, ["a"], () => [1], base),
        /returned 1 scores for 4 samples/,
      );
      assert.throws(
        () => trainPpo(policy, reference, tokenizer, ["a"], reward, { ...base, targetKl: 1, klController: "adaptive" }),
        /needs klHorizon/,
      );
    } finally {
      policy.dispose();
    }
  });
});
