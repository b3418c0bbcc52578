// Bradley–Terry / Plackett–Luce maximum likelihood: recovery of known utilities from simulated data,
// agreement between the two fitters, the existence condition, and the parametric trainer.
import { before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend";
import { choleskySolve, fitBradleyTerry } from "../src/rewardModels/bradleyTerry";
import { fitPlackettLuce } from "../src/rewardModels/plackettLuce";
import { evaluateRewardModel, linearRewardModel, trainRewardModel } from "../src/rewardModels/parametric";
import { sampleBradleyTerryPairs, samplePlackettLuceRankings } from "../src/synthetic";
import { Rng } from "../src/random";

const centre = (v: number[]) => {
  const m = v.reduce((a, b) => a + b, 0) / v.length;
  return v.map((x) => x - m);
};
const maxAbsDiff = (a: number[], b: number[]) => Math.max(...a.map((x, i) => Math.abs(x - b[i])));
const TRUE = centre([1.5, 0.8, 0.3, 0, -0.4, -1.1, -2]);

before(async () => {
  await initBackend();
});

describe("fitBradleyTerry (Newton) and fitPlackettLuce (MM)", () => {
  test("BT recovers known utilities from 20 000 simulated comparisons within 0.1", () => {
    const pairs = sampleBradleyTerryPairs(TRUE, 20000, { rng: new Rng(1) });
    const fit = fitBradleyTerry(pairs, TRUE.length);
    assert.ok(fit.converged && fit.iterations < 20, `converged in ${fit.iterations} Newton steps`);
    assert.ok(Math.abs(fit.utilities.reduce((a, b) => a + b, 0)) < 1e-9, "centred");
    assert.ok(maxAbsDiff(fit.utilities, TRUE) < 0.1, `max error ${maxAbsDiff(fit.utilities, TRUE)}`);
  });

  test("PL recovers known utilities from 3000 full rankings within 0.1, and top-3 rankings too", () => {
    const full = samplePlackettLuceRankings(TRUE, 3000, { rng: new Rng(2) });
    const fit = fitPlackettLuce(full, TRUE.length);
    assert.ok(fit.converged, `MM did not converge in ${fit.iterations} iterations`);
    assert.ok(maxAbsDiff(fit.utilities, TRUE) < 0.1, `full rankings: max error ${maxAbsDiff(fit.utilities, TRUE)}`);
    // Top-3 lists out of 7: each stage chooses among ALL items not yet listed (choiceSets: "all").
    const top3 = samplePlackettLuceRankings(TRUE, 4000, { rng: new Rng(3), length: 3 });
    const fitTop = fitPlackettLuce(top3, TRUE.length, { choiceSets: "all" });
    assert.ok(fitTop.converged);
    assert.ok(
      maxAbsDiff(fitTop.utilities, TRUE) < 0.12,
      `top-3 lists: max error ${maxAbsDiff(fitTop.utilities, TRUE)}`,
    );
    // Reading the same lists as rankings of the listed items only is a different (biased) model here.
    const wrong = fitPlackettLuce(top3, TRUE.length);
    assert.ok(maxAbsDiff(wrong.utilities, TRUE) > 0.5, "choiceSets matters");
  });

  test("PL on pairs is BT: the MM and Newton fits agree to 1e-6, with and without l2", () => {
    const pairs = sampleBradleyTerryPairs(TRUE, 3000, { rng: new Rng(4), temperature: 0.7 });
    for (const l2 of [0, 0.5]) {
      const bt = fitBradleyTerry(pairs, TRUE.length, { l2 });
      const pl = fitPlackettLuce(pairs, TRUE.length, { l2 });
      assert.ok(bt.converged && pl.converged, `l2=${l2}: converged`);
      assert.ok(maxAbsDiff(bt.utilities, pl.utilities) < 1e-6, `l2=${l2}: ${bt.utilities} vs ${pl.utilities}`);
      assert.ok(Math.abs(bt.logLikelihood - pl.logLikelihood) < 1e-6, "same log-likelihood");
    }
  });

  test("60 items: Newton converges in a few steps and MM agrees (the float64 line-search plateau case)", () => {
    const rng = new Rng(40);
    const u = Array.from({ length: 60 }, () => rng.normal());
    const pairs = sampleBradleyTerryPairs(u, 3000, { rng });
    const bt = fitBradleyTerry(pairs, 60);
    const pl = fitPlackettLuce(pairs, 60);
    assert.ok(bt.converged && bt.iterations < 15, `Newton: ${bt.iterations} steps, converged ${bt.converged}`);
    assert.ok(pl.converged && maxAbsDiff(bt.utilities, pl.utilities) < 1e-6);
  });

  test("the fit is the maximum: the gradient vanishes and perturbations lower the likelihood", () => {
    const pairs = sampleBradleyTerryPairs(TRUE, 500, { rng: new Rng(5) });
    const fit = fitBradleyTerry(pairs, TRUE.length);
    const ll = (th: number[]) => pairs.reduce((s, [w, l]) => s - Math.log1p(Math.exp(-(th[w] - th[l]))), 0);
    assert.ok(Math.abs(ll(fit.utilities) - fit.logLikelihood) < 1e-9);
    const rng = new Rng(6);
    for (let k = 0; k < 50; k++) {
      const p = fit.utilities.map((v) => v + 0.01 * rng.normal());
      assert.ok(ll(p) < fit.logLikelihood, "a perturbation increased the likelihood");
    }
  });

  test("hand-checked three-item cycle: 0≻1, 1≻2, 2≻0, 0≻2 → θ0 − θ2 = 2·0.41962", () => {
    // Symmetry gives θ1 = 0 and θ0 = −θ2 = a with stationarity 1 − σ(a) + 1 − 2σ(2a) ... solved numerically
    // in float64 by bisection here, independently of both fitters.
    const g = (a: number) => 1 - 1 / (1 + Math.exp(-a)) + (1 - 1 / (1 + Math.exp(-2 * a))) - 1 / (1 + Math.exp(-2 * a));
    let lo = 0;
    let hi = 2;
    for (let i = 0; i < 100; i++) {
      const mid = (lo + hi) / 2;
      if (g(mid) > 0) lo = mid;
      else hi = mid;
    }
    const pairs: Array<[number, number]> = [
      [0, 1],
      [1, 2],
      [2, 0],
      [0, 2],
    ];
    for (const fit of [fitBradleyTerry(pairs, 3), fitPlackettLuce(pairs, 3)]) {
      assert.ok(maxAbsDiff(fit.utilities, [lo, 0, -lo]) < 1e-8, `${fit.method}: ${fit.utilities} vs ±${lo}`);
    }
  });

  test("no MLE: errors name the items that never win / never lose; l2 > 0 fits anyway", () => {
    const pairs: Array<[number, number]> = [
      [0, 1],
      [1, 2],
      [2, 1],
      [0, 2],
    ]; // item 0 never loses, 3 unseen
    assert.throws(() => fitBradleyTerry(pairs, 4), /never compared: 3;.*never lose: 0/);
    assert.throws(
      () =>
        fitPlackettLuce(
          [
            [0, 1, 2],
            [1, 2],
          ],
          3,
        ),
      /never lose: 0/,
    );
    assert.throws(
      () =>
        fitBradleyTerry(
          [
            [0, 1],
            [1, 0],
            [2, 3],
            [3, 2],
          ],
          4,
          { itemNames: ["a", "b", "c", "d"] },
        ),
      /2 strongly connected groups: \{0 \(a\), 1 \(b\)\}, \{2 \(c\), 3 \(d\)\}|\{2 \(c\), 3 \(d\)\}, \{0 \(a\), 1 \(b\)\}/,
    );
    const reg = fitBradleyTerry(pairs, 4, { l2: 0.1 });
    assert.ok(reg.converged && reg.utilities.every(Number.isFinite));
    assert.ok(reg.utilities[0] > reg.utilities[1] && Math.abs(reg.utilities[3] - 0) < 0.5);
    const regPl = fitPlackettLuce(pairs, 4, { l2: 0.1 });
    assert.ok(maxAbsDiff(reg.utilities, regPl.utilities) < 1e-6, "penalised BT and PL agree");
  });

  test("bad input is rejected with the field named", () => {
    assert.throws(() => fitBradleyTerry([[0, 5]], 3), /pairs\[0\]\[1\] = 5/);
    assert.throws(() => fitBradleyTerry([[1, 1]], 3), /two distinct items/);
    assert.throws(() => fitPlackettLuce([[0]], 3), /rankings\[0\] has 1 items/);
    assert.throws(() => fitPlackettLuce([[0, 1, 0]], 3), /repeats an item/);
  });
});

/** argmax_w Σ log σ(w·d) by Newton's method in float64 (d = x_winner − x_loser). */
function logisticMle(diffs: number[][]): number[] {
  const d = diffs[0].length;
  let w = new Array(d).fill(0);
  for (let it = 0; it < 50; it++) {
    const g = new Float64Array(d);
    const h = new Float64Array(d * d);
    for (const x of diffs) {
      const p = 1 / (1 + Math.exp(-x.reduce((s, v, i) => s + v * w[i], 0)));
      for (let i = 0; i < d; i++) {
        g[i] += (1 - p) * x[i];
        for (let j = 0; j < d; j++) h[i * d + j] += p * (1 - p) * x[i] * x[j];
      }
    }
    w = w.map((v, i) => v + choleskySolve(h, g, d)[i]);
  }
  return w;
}

describe("trainRewardModel (parametric Bradley–Terry / Plackett–Luce)", () => {
  // Items with features x_i ∈ R^3 and true reward r = x·w*; data sampled from BT / PL on r.
  const wTrue = [1.2, -0.7, 0.4];
  const rng = new Rng(12);
  const nItems = 40;
  const feats = Array.from({ length: nItems }, () => wTrue.map(() => rng.normal()));
  const rewards = feats.map((x) => x.reduce((s, v, i) => s + v * wTrue[i], 0));
  const cosine = (a: number[], b: number[]) =>
    a.reduce((s, v, i) => s + v * b[i], 0) /
    Math.sqrt(a.reduce((s, v) => s + v * v, 0) * b.reduce((s, v) => s + v * v, 0));

  test("reaches the float64 MLE on BT pairs (full batch within 0.005, minibatches within 0.05), deterministically, with no leaks", () => {
    const pairs = sampleBradleyTerryPairs(rewards, 3000, { rng: new Rng(13) });
    const data = {
      kind: "pairs" as const,
      winners: tf.tensor2d(pairs.map(([w]) => feats[w])),
      losers: tf.tensor2d(pairs.map(([, l]) => feats[l])),
    };
    const run = (batchSize: number, epochs: number, learningRate: number, seed = 7) => {
      const beforeModel = tf.memory().numTensors;
      const model = linearRewardModel(3, { seed: 1 });
      assert.equal(tf.memory().numTensors, beforeModel + 1, "a linear model holds exactly its weight variable");
      const before = tf.memory().numTensors;
      const seen: number[] = [];
      const history = trainRewardModel(model, data, {
        epochs,
        batchSize,
        learningRate,
        seed,
        onEpoch: () => seen.push(tf.memory().numTensors),
      });
      // Adam's moment slots appear at the first step; after that the count stays flat.
      assert.ok(
        seen.every((n) => n === seen[0]),
        `tensor count drifted during training: ${seen}`,
      );
      assert.equal(tf.memory().numTensors, before, "no tensors leaked");
      const w = Array.from(model.variables[0].dataSync());
      model.variables.forEach((v) => v.dispose());
      return { w, history };
    };
    const a = run(250, 30, 0.02);
    const b = run(250, 30, 0.02);
    assert.deepEqual(a.w, b.w, "same seed, same weights");
    assert.notDeepEqual(run(250, 2, 0.02, 8).w, run(250, 2, 0.02, 7).w, "the seed sets the minibatch order");
    // The exact maximum-likelihood weights for this data (logistic regression on x_w − x_l, Newton, float64):
    const mle = logisticMle(pairs.map(([w, l]) => feats[w].map((v, i) => v - feats[l][i])));
    // minibatch Adam ends within its gradient noise of the MLE; full-batch Adam converges onto it
    assert.ok(maxAbsDiff(a.w, mle) < 0.05, `minibatch Adam weights ${a.w} vs the MLE ${mle}`);
    const full = run(3000, 150, 0.05);
    assert.ok(maxAbsDiff(full.w, mle) < 0.005, `full-batch Adam weights ${full.w} vs the MLE ${mle}`);
    assert.ok(maxAbsDiff(mle, wTrue) < 0.25, `MLE ${mle} vs the true ${wTrue}`);
    assert.ok(a.history[a.history.length - 1].loss < a.history[0].loss, "loss decreased");
    tf.dispose([data.winners, data.losers]);
  });

  test("rankings: PL likelihood recovers the weight direction; validation metrics reported", () => {
    const rankings = samplePlackettLuceRankings(rewards.slice(0, 8), 600, { rng: new Rng(14) });
    const mk = (rs: number[][]) => ({
      kind: "rankings" as const,
      items: tf.tensor3d(rs.map((r) => r.map((i) => feats[i]))),
    });
    const train = mk(rankings.slice(0, 500));
    const val = mk(rankings.slice(500));
    const model = linearRewardModel(3, { seed: 2 });
    const history = trainRewardModel(model, train, {
      epochs: 20,
      batchSize: 50,
      learningRate: 0.05,
      seed: 3,
      validation: val,
    });
    const w = Array.from(model.variables[0].dataSync());
    assert.ok(cosine(w, wTrue) > 0.97, `cosine ${cosine(w, wTrue)}`);
    const last = history[history.length - 1];
    assert.ok(last.validationAccuracy! > 0.6 && Number.isFinite(last.validationLoss!));
    const ev = evaluateRewardModel(model, val);
    assert.ok(Math.abs(ev.loss - last.validationLoss!) < 1e-9);
    tf.dispose([train.items, val.items, ...model.variables]);
  });

  test("an untrained (zero) model has BT loss log 2 and accuracy ½ on pairs", () => {
    const model = linearRewardModel(3);
    const data = {
      kind: "pairs" as const,
      winners: tf.tensor2d([feats[0], feats[1]]),
      losers: tf.tensor2d([feats[2], feats[3]]),
    };
    const ev = evaluateRewardModel(model, data);
    assert.ok(Math.abs(ev.loss - Math.log(2)) < 1e-6);
    assert.equal(ev.accuracy, 0.5);
    assert.throws(
      () => trainRewardModel(model, { kind: "pairs", winners: data.winners, losers: tf.zeros([3, 3]) }),
      /same shape/,
    );
    tf.dispose([data.winners, data.losers, ...model.variables]);
  });
});
