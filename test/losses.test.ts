// The preference losses against hand-computed values, float64 finite differences of JS re-implementations,
// extreme inputs, and the identities that tie them together (cDPO(ε=0) = DPO, PL-DPO(N=2) = DPO, ...).
import { before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend";
import {
  checkKtoWeightRatio,
  dpoLoss,
  ipoLoss,
  ktoLoss,
  ktoMismatchedPairs,
  listwiseDpoLoss,
  preferenceMetrics,
  resetKtoWarnings,
  stopGradient,
} from "../src/losses/index";
import { sequenceLogProbs, sequenceTokenCounts } from "../src/logprobs";
import { Rng } from "../src/random";
import { near as close } from "./fixtures";

const sig = (x: number) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));
const logSig = (x: number) => (x >= 0 ? -Math.log1p(Math.exp(-x)) : x - Math.log1p(Math.exp(x)));
const lse = (xs: number[]) => {
  const m = Math.max(...xs);
  return m + Math.log(xs.reduce((s, x) => s + Math.exp(x - m), 0));
};

/** Central finite differences, in float64, of a JS scalar function of a flat vector. */
function fdGrad(f: (x: number[]) => number, x: number[], h = 1e-6): number[] {
  return x.map((_, i) => {
    const up = x.slice();
    const dn = x.slice();
    up[i] += h;
    dn[i] -= h;
    return (f(up) - f(dn)) / (2 * h);
  });
}

/** tfjs gradients of sum(fn(xs)) with respect to every input, as flat arrays. */
function tfGrads(fn: (...xs: tf.Tensor[]) => tf.Tensor, xs: number[][]): number[][] {
  return tf.tidy(() => {
    const g = tf.grads((...ts: tf.Tensor[]) => tf.sum(fn(...ts)));
    return g(xs.map((x) => tf.tensor1d(x))).map((t) => Array.from(t.dataSync()));
  });
}

type Variant = "sigmoid" | "robust" | "hinge";
function dpoJs(pc: number, pr: number, rc: number, rr: number, beta: number, eps: number, variant: Variant): number {
  const z = beta * (pc - pr - (rc - rr));
  if (variant === "hinge") return Math.max(0, 1 - z);
  if (variant === "robust") return (-(1 - eps) * logSig(z) + eps * logSig(-z)) / (1 - 2 * eps);
  return -(1 - eps) * logSig(z) - eps * logSig(-z);
}

const PC = [-1, -2, -10, -3.5];
const PR = [-3, -1, -12, -3.25];
const RC = [-2, -2, -11, -3];
const RR = [-2, -2, -11, -3.5];
// h = (πc − πr) − (refc − refr) = [2, −1, 2, −0.75]

before(async () => {
  await initBackend();
});

describe("dpoLoss", () => {
  test("a rejected log-prob of −∞ gives loss 0 and zero gradient at labelSmoothing 0, not NaN (issue 15, item 8)", () => {
    const t = tf.tensor1d;
    for (const variant of ["sigmoid", "robust"] as const) {
      const out = dpoLoss(t([-1]), t([-Infinity]), t([-1]), t([-1]), { beta: 0.5, variant });
      assert.deepEqual(Array.from(out.losses.dataSync()), [0], `${variant}: loss at h = +∞`);
      const g = tf.grad((pc: tf.Tensor) =>
        tf.sum(dpoLoss(pc, t([-Infinity]), t([-1]), t([-1]), { beta: 0.5, variant }).losses),
      )(t([-1]));
      assert.deepEqual(Array.from(g.dataSync(), Math.abs), [0], `${variant}: gradient at h = +∞`);
    }
  });

  test("hand-computed values for every variant (h = [2, −1, 2, −0.75], β = 0.5, ε = 0.1)", () => {
    // sigmoid, ε = 0: −log σ(βh) = log(1 + e^{−βh}); βh = [1, −0.5, 1, −0.375]
    const plain = [
      Math.log1p(Math.exp(-1)),
      Math.log1p(Math.exp(0.5)),
      Math.log1p(Math.exp(-1)),
      Math.log1p(Math.exp(0.375)),
    ];
    // = [0.31326169, 0.97407698, 0.31326169, 0.89812326]
    close(plain, [0.31326169, 0.97407698, 0.31326169, 0.89812326], 1e-7, "hand arithmetic");
    const cdpo = plain.map((l, i) => 0.9 * l + 0.1 * Math.log1p(Math.exp([1, -0.5, 1, -0.375][i])));
    const robust = plain.map((l, i) => (0.9 * l - 0.1 * Math.log1p(Math.exp([1, -0.5, 1, -0.375][i]))) / 0.8);
    const hinge = [0, 1.5, 0, 1.375];
    const t = tf.tensor1d;
    const cases: Array<[Variant, number, number[]]> = [
      ["sigmoid", 0, plain],
      ["sigmoid", 0.1, cdpo],
      ["robust", 0.1, robust],
      ["hinge", 0, hinge],
    ];
    for (const [variant, eps, want] of cases) {
      const out = dpoLoss(t(PC), t(PR), t(RC), t(RR), { beta: 0.5, labelSmoothing: eps, variant });
      close(out.losses.dataSync(), want, 1e-5, `${variant} ε=${eps}`);
      close(out.chosenRewards.dataSync(), [0.5, 0, 0.5, -0.25], 1e-6, "chosen rewards β(πc − refc)");
      close(out.rejectedRewards.dataSync(), [-0.5, 0.5, -0.5, 0.125], 1e-6, "rejected rewards");
      tf.dispose([out.losses, out.chosenRewards, out.rejectedRewards]);
    }
  });

  test("cDPO with ε = 0 and robust with ε = 0 are plain DPO", () => {
    const t = tf.tensor1d;
    const a = dpoLoss(t(PC), t(PR), t(RC), t(RR), { beta: 0.3 }).losses.dataSync();
    const b = dpoLoss(t(PC), t(PR), t(RC), t(RR), { beta: 0.3, labelSmoothing: 0 }).losses.dataSync();
    const c = dpoLoss(t(PC), t(PR), t(RC), t(RR), { beta: 0.3, variant: "robust" }).losses.dataSync();
    close(b, a, 0, "cDPO ε=0");
    close(c, a, 1e-7, "robust ε=0");
  });

  test("referenceFree drops the reference margin", () => {
    const t = tf.tensor1d;
    const out = dpoLoss(t(PC), t(PR), null, null, { beta: 0.5, referenceFree: true });
    close(
      out.losses.dataSync(),
      PC.map((c, i) => dpoJs(c, PR[i], 0, 0, 0.5, 0, "sigmoid")),
      1e-6,
      "reference-free",
    );
    close(
      out.chosenRewards.dataSync(),
      PC.map((c) => 0.5 * c),
      1e-6,
      "reference-free rewards",
    );
  });

  test("gradients match float64 central finite differences for every variant", () => {
    const rng = new Rng(3);
    const xs = [0, 1, 2, 3].map(() => Array.from({ length: 6 }, () => 3 * rng.normal()));
    for (const [variant, eps] of [
      ["sigmoid", 0],
      ["sigmoid", 0.2],
      ["robust", 0.2],
      ["hinge", 0],
    ] as Array<[Variant, number]>) {
      const beta = 0.7;
      const got = tfGrads((a, b, c, d) => dpoLoss(a, b, c, d, { beta, labelSmoothing: eps, variant }).losses, xs);
      const flat = xs.flat();
      const f = (v: number[]) => {
        let s = 0;
        for (let i = 0; i < 6; i++) s += dpoJs(v[i], v[6 + i], v[12 + i], v[18 + i], beta, eps, variant);
        return s;
      };
      close(got.flat(), fdGrad(f, flat), 2e-4, `${variant} ε=${eps} gradient`);
    }
  });

  test("finite losses and gradients for |h| up to 1e3", () => {
    const h = [-1000, -300, -88, -1, 0, 1, 88, 300, 1000];
    for (const variant of ["sigmoid", "robust", "hinge"] as Variant[]) {
      for (const beta of [0.1, 1, 5]) {
        const zeros = h.map(() => 0);
        const loss = tf.tidy(() =>
          Array.from(
            dpoLoss(tf.tensor1d(h), tf.tensor1d(zeros), tf.tensor1d(zeros), tf.tensor1d(zeros), {
              beta,
              labelSmoothing: variant === "hinge" ? 0 : 0.1,
              variant,
            }).losses.dataSync(),
          ),
        );
        close(
          loss,
          h.map((x) => dpoJs(x, 0, 0, 0, beta, variant === "hinge" ? 0 : 0.1, variant)),
          1e-5,
          `${variant} β=${beta} loss`,
        );
        const [g] = tfGrads(
          (a) =>
            dpoLoss(a, tf.zerosLike(a), tf.zerosLike(a), tf.zerosLike(a), {
              beta,
              labelSmoothing: variant === "hinge" ? 0 : 0.1,
              variant,
            }).losses,
          [h],
        );
        assert.ok(g.every(Number.isFinite), `${variant} β=${beta}: non-finite gradient ${g}`);
        // −log σ(βh) has slope −β σ(−βh): −β at h → −∞, 0 at h → +∞ (plus the ε term).
        if (variant === "sigmoid") close([g[0], g[g.length - 1]], [-beta * 0.9, beta * 0.1], 1e-5, "asymptotic slopes");
      }
    }
  });

  test("works elementwise on [S, B] (several seeds stacked) exactly as on each row", () => {
    const rng = new Rng(9);
    const rows = [0, 1, 2, 3].map(() => Array.from({ length: 15 }, () => 2 * rng.normal()));
    const stacked = tf.tidy(() => {
      const t = (r: number[]) => tf.tensor2d(r, [3, 5]);
      return Array.from(
        dpoLoss(t(rows[0]), t(rows[1]), t(rows[2]), t(rows[3]), { beta: 0.4, labelSmoothing: 0.05 }).losses.dataSync(),
      );
    });
    const flat = rows[0].map((_, i) => dpoJs(rows[0][i], rows[1][i], rows[2][i], rows[3][i], 0.4, 0.05, "sigmoid"));
    close(stacked, flat, 1e-5, "[3, 5] losses");
  });

  test("the implicit rewards carry no gradient (and stopGradient is the identity forward)", () => {
    const [gc, gr] = tfGrads(
      (a, b) => {
        const o = dpoLoss(a, b, tf.zerosLike(a), tf.zerosLike(a), { beta: 2 });
        return tf.add(o.chosenRewards, tf.mul(3, o.rejectedRewards));
      },
      [
        [1, 2, 3],
        [0, -1, 5],
      ],
    );
    close([...gc, ...gr], [0, 0, 0, 0, 0, 0], 0, "reward gradients");
    // Control: the same expression without stopGradient does have a gradient (so the test can fail).
    const [gPlain] = tfGrads((a) => tf.mul(2, a), [[1, 2, 3]]);
    close(gPlain, [2, 2, 2], 0, "control gradient");
    const [gStop] = tfGrads((a) => tf.add(tf.mul(2, stopGradient(a)), a), [[1, 2, 3]]);
    close(gStop, [1, 1, 1], 0, "stopGradient(a)·2 + a");
  });

  test("rejects bad arguments with clear messages", () => {
    const t = tf.tensor1d([0, 0]);
    const u = tf.tensor1d([0, 0, 0]);
    assert.throws(() => dpoLoss(t, t, t, t, { beta: 0 }), /dpoLoss.*beta/);
    assert.throws(() => dpoLoss(t, t, t, t, { beta: 1, labelSmoothing: 0.5 }), /labelSmoothing/);
    assert.throws(() => dpoLoss(t, u, t, t, { beta: 1 }), /policyRejected has shape \[3\]/);
    assert.throws(() => dpoLoss(t, t, null, null, { beta: 1 }), /referenceFree/);
  });
});

describe("ipoLoss", () => {
  test("hand-computed (h − 1/(2β))² with summed log-probs (the paper's default)", () => {
    const t = tf.tensor1d;
    // h = [2, −1, 2, −0.75], β = 0.5 → target 1: [1, 4, 1, 3.0625]
    const out = ipoLoss(t(PC), t(PR), t(RC), t(RR), { beta: 0.5 });
    close(out.losses.dataSync(), [1, 4, 1, 3.0625], 1e-6, "ipo");
    close(out.chosenRewards.dataSync(), [0.5, 0, 0.5, -0.25], 1e-6, "ipo chosen rewards");
  });

  test("lengthNormalize divides every log-prob by its token count; errors without lengths", () => {
    const t = tf.tensor1d;
    const lc = [2, 4, 5, 1];
    const lr = [1, 2, 4, 5];
    const want = PC.map((_, i) => {
      const h = (PC[i] - RC[i]) / lc[i] - (PR[i] - RR[i]) / lr[i];
      return (h - 1 / (2 * 0.25)) ** 2;
    });
    const out = ipoLoss(t(PC), t(PR), t(RC), t(RR), {
      beta: 0.25,
      lengthNormalize: true,
      chosenLengths: lc,
      rejectedLengths: t(lr),
    });
    close(out.losses.dataSync(), want, 1e-6, "length-normalised ipo");
    assert.throws(() => ipoLoss(t(PC), t(PR), t(RC), t(RR), { beta: 0.25, lengthNormalize: true }), /chosenLengths/);
    assert.throws(
      () =>
        ipoLoss(t(PC), t(PR), t(RC), t(RR), {
          beta: 0.25,
          lengthNormalize: true,
          chosenLengths: [1, 0, 1, 1],
          rejectedLengths: lr,
        }),
      /chosenLengths\[1\] = 0/,
    );
  });

  test("lengthNormalize rejects lengths of a transposed or reshaped shape (issue 15, item 9)", () => {
    // [2, 3] inputs with [3, 2] lengths have the same size: they used to be reshaped, permuting the losses.
    const x = tf.tensor2d([
      [-1, -2, -3],
      [-4, -5, -6],
    ]);
    const lengthsT = tf.tensor2d([
      [1, 2],
      [3, 4],
      [5, 6],
    ]);
    assert.throws(
      () =>
        ipoLoss(x, x, x, x, { beta: 0.5, lengthNormalize: true, chosenLengths: lengthsT, rejectedLengths: lengthsT }),
      /chosenLengths has shape \[3,2\], the log-probs have shape \[2,3\]/,
    );
    assert.throws(
      () =>
        ipoLoss(x, x, x, x, {
          beta: 0.5,
          lengthNormalize: true,
          chosenLengths: [1, 2, 3, 4, 5, 6],
          rejectedLengths: [1, 2, 3, 4, 5, 6],
        }),
      /chosenLengths has shape \[6\]/,
    );
    tf.dispose([x, lengthsT]);
  });

  test("gradient matches finite differences; finite at |h| = 1e3", () => {
    const rng = new Rng(5);
    const xs = [0, 1, 2, 3].map(() => Array.from({ length: 5 }, () => 2 * rng.normal()));
    const beta = 0.3;
    const got = tfGrads((a, b, c, d) => ipoLoss(a, b, c, d, { beta }).losses, xs);
    const f = (v: number[]) => {
      let s = 0;
      for (let i = 0; i < 5; i++) s += (v[i] - v[5 + i] - (v[10 + i] - v[15 + i]) - 1 / (2 * beta)) ** 2;
      return s;
    };
    close(got.flat(), fdGrad(f, xs.flat(), 1e-5), 1e-3, "ipo gradient");
    const [g] = tfGrads(
      (a) => ipoLoss(a, tf.zerosLike(a), tf.zerosLike(a), tf.zerosLike(a), { beta: 0.1 }).losses,
      [[-1000, 1000]],
    );
    close(g, [2 * (-1000 - 5), 2 * (1000 - 5)], 1e-6, "ipo gradient at extremes");
  });
});

function ktoJs(delta: number[], desirable: boolean[], z0: number, beta: number, wD = 1, wU = 1): number[] {
  return delta.map((d, i) => (desirable[i] ? wD * (1 - sig(beta * (d - z0))) : wU * (1 - sig(beta * (z0 - d)))));
}

describe("ktoLoss", () => {
  test("hand-computed values with z0 from mismatched pairs", () => {
    resetKtoWarnings();
    const t = tf.tensor1d;
    const pol = [-1, -2, -3, -4];
    const ref = [-1.5, -2, -2, -5];
    const desirable = [true, false, true, false];
    // z0 = max(0, mean([−1 − (−2), −3 − (−2.5)])) = max(0, mean([1, −0.5])) = 0.25
    const out = ktoLoss(t(pol), t(ref), desirable, {
      beta: 2,
      klPolicyLogps: t([-1, -3]),
      klRefLogps: t([-2, -2.5]),
      desirableWeight: 1.2,
    });
    assert.equal(out.kl.dataSync()[0], 0.25);
    // Δ = [0.5, 0, −1, 1]:  desirable 1.2(1 − σ(2(Δ − 0.25))), undesirable 1 − σ(2(0.25 − Δ))
    const want = [1.2 * (1 - sig(0.5)), 1 - sig(0.5), 1.2 * (1 - sig(-2.5)), 1 - sig(-1.5)];
    close(out.losses.dataSync(), want, 1e-6, "kto losses");
    close(out.chosenRewards.dataSync(), [1, -2], 1e-6, "desirable rewards");
    close(out.rejectedRewards.dataSync(), [0, 2], 1e-6, "undesirable rewards");
    assert.equal(out.weightRatio, 1.2);
    // A negative mean KL is clamped to z0 = 0.
    const neg = ktoLoss(t(pol), t(ref), desirable, { beta: 2, klPolicyLogps: t([-3]), klRefLogps: t([-1]) });
    assert.equal(neg.kl.dataSync()[0], 0);
  });

  test("the gradient is the same whether z0 is computed in-batch or passed as a constant", () => {
    const rng = new Rng(11);
    const pol = Array.from({ length: 6 }, () => rng.normal());
    const ref = Array.from({ length: 6 }, () => rng.normal());
    const klp = Array.from({ length: 6 }, () => rng.normal() + 1);
    const klr = Array.from({ length: 6 }, () => rng.normal());
    const desirable = [true, true, false, true, false, false];
    const z0 = Math.max(0, klp.reduce((s, v, i) => s + v - klr[i], 0) / 6);
    assert.ok(z0 > 0, "the test needs a positive z0");
    const inBatch = tfGrads(
      (p, r, kp, kr) => ktoLoss(p, r, desirable, { beta: 0.5, klPolicyLogps: kp, klRefLogps: kr }).losses,
      [pol, ref, klp, klr],
    );
    const constant = tfGrads((p, r) => ktoLoss(p, r, desirable, { beta: 0.5, z0 }).losses, [pol, ref]);
    close(inBatch[0], constant[0], 1e-6, "d/dπ");
    close(inBatch[1], constant[1], 1e-6, "d/dref");
    close([...inBatch[2], ...inBatch[3]], new Array(12).fill(0), 0, "no gradient through z0");
    // and against float64 finite differences of the formula with z0 held fixed
    const f = (v: number[]) =>
      ktoJs(
        v.slice(0, 6).map((p, i) => p - v[6 + i]),
        desirable,
        z0,
        0.5,
      ).reduce((a, b) => a + b, 0);
    close([...constant[0], ...constant[1]], fdGrad(f, [...pol, ...ref]), 1e-4, "kto gradient vs FD");
  });

  test("no NaN: batch of one, only desirable, only undesirable, empty KL set, extreme Δ", () => {
    const t = tf.tensor1d;
    const checks: Array<[string, number[], boolean[], tf.Tensor, tf.Tensor]> = [
      ["batch of one", [-1], [true], tf.zeros([0]), tf.zeros([0])],
      ["no undesirable", [-1, 2], [true, true], t([-1, 0]), t([0, 0])],
      ["no desirable", [-1, 2], [false, false], t([-1, 0]), t([0, 0])],
      ["extreme Δ", [-1000, 1000, 1e3], [true, false, false], t([1000, -1000]), t([0, 0])],
    ];
    for (const [name, pol, desirable, kp, kr] of checks) {
      const g = tfGrads(
        (p) => ktoLoss(p, tf.zerosLike(p), desirable, { beta: 1, klPolicyLogps: kp, klRefLogps: kr }).losses,
        [pol],
      );
      const out = ktoLoss(t(pol), tf.zeros([pol.length]), desirable, { beta: 1, klPolicyLogps: kp, klRefLogps: kr });
      assert.ok(Array.from(out.losses.dataSync()).every(Number.isFinite), `${name}: losses`);
      assert.ok(g[0].every(Number.isFinite), `${name}: gradient`);
      assert.ok(Number.isFinite(out.kl.dataSync()[0]), `${name}: kl`);
    }
    const empty = ktoLoss(t([0.5]), t([0]), [true], {
      beta: 1,
      klPolicyLogps: tf.zeros([0]),
      klRefLogps: tf.zeros([0]),
    });
    assert.equal(empty.kl.dataSync()[0], 0, "empty KL set gives z0 = 0");
    close(empty.losses.dataSync(), [1 - sig(0.5)], 1e-6, "batch of one");
    assert.deepEqual(ktoMismatchedPairs(1), []);
    // TRL's +1 offset: x_i with y_{i−1}, x_0 with y_{n−1}.
    assert.deepEqual(ktoMismatchedPairs(3), [
      [0, 2],
      [1, 0],
      [2, 1],
    ]);
  });

  test("works on [S, B] with a z0 per row (KL axis last)", () => {
    const pol = tf.tensor2d([
      [0, 1, 2],
      [3, -1, 0],
    ]);
    const ref = tf.zeros([2, 3]);
    const out = ktoLoss(pol, ref, [true, false, true], {
      beta: 1,
      klPolicyLogps: tf.tensor2d([
        [1, 3],
        [-2, -4],
      ]),
      klRefLogps: tf.zeros([2, 2]),
    });
    close(out.kl.dataSync(), [2, 0], 0, "z0 per row");
    const want = [...ktoJs([0, 1, 2], [true, false, true], 2, 1), ...ktoJs([3, -1, 0], [true, false, true], 0, 1)];
    close(out.losses.dataSync(), want, 1e-6, "[2, 3] losses");
    assert.deepEqual(out.chosenRewards.shape, [2, 2]);
  });

  test("a mask tensor gives every leading row its own desirable flags", () => {
    const pol = [
      [0, 1, 2],
      [3, -1, 0],
    ];
    const mask = [
      [1, 0, 1],
      [0, 0, 1],
    ];
    const out = ktoLoss(tf.tensor2d(pol), tf.zeros([2, 3]), tf.tensor2d(mask, [2, 3], "int32"), {
      beta: 0.5,
      z0: tf.tensor2d([[0.5], [0]]),
    });
    const want = [...ktoJs(pol[0], [true, false, true], 0.5, 0.5), ...ktoJs(pol[1], [false, false, true], 0, 0.5)];
    close(out.losses.dataSync(), want, 1e-6, "masked losses");
    close(out.chosenRewards.dataSync(), [0, 1, 0], 1e-6, "desirable rewards, flattened");
    close(out.rejectedRewards.dataSync(), [0.5, 1.5, -0.5], 1e-6, "undesirable rewards, flattened");
    assert.equal(out.weightRatio, 1);
    assert.throws(
      () => ktoLoss(tf.tensor2d(pol), tf.zeros([2, 3]), tf.ones([3]), { beta: 1, z0: 0 }),
      /mask has shape \[3\]/,
    );
  });

  test("warns once when λ_D n_D / (λ_U n_U) is outside [1, 4/3] and returns the ratio", () => {
    resetKtoWarnings();
    const warnings: string[] = [];
    const original = console.warn;
    console.warn = (msg: string) => warnings.push(msg);
    try {
      const t = tf.tensor1d([0, 0, 0]);
      const balanced = ktoLoss(t, t, [true, false, false], { beta: 1, z0: 0, desirableWeight: 2.5 });
      assert.ok(Math.abs(balanced.weightRatio - 1.25) < 1e-12);
      assert.equal(warnings.length, 0);
      const skewed = ktoLoss(t, t, [true, false, false], { beta: 1, z0: 0 });
      assert.equal(skewed.weightRatio, 0.5);
      ktoLoss(t, t, [true, true, true], { beta: 1, z0: 0 });
      assert.equal(warnings.length, 1, "warned exactly once");
      assert.match(warnings[0], /outside \[1, 4\/3\]/);
      // A trainer checks the dataset once and turns the per-minibatch check off.
      resetKtoWarnings();
      const quiet = ktoLoss(t, t, [true, true, false], { beta: 1, z0: 0, checkWeightRatio: false });
      assert.equal(quiet.weightRatio, 2);
      assert.equal(warnings.length, 1, "no warning with checkWeightRatio: false");
      assert.equal(checkKtoWeightRatio(100, 100), 1);
      assert.ok(
        Math.abs(checkKtoWeightRatio(10, 90, 12, 1) - 4 / 3) < 1e-12,
        "the paper's 90%-dropped setting with λ_D = 12",
      );
      assert.equal(warnings.length, 1);
      assert.equal(checkKtoWeightRatio(10, 90, 1, 1, "my data"), 1 / 9);
      assert.equal(warnings.length, 2);
      assert.match(warnings[1], /^my data: .*0\.111 is outside/);
    } finally {
      console.warn = original;
    }
  });

  test("errors: flags that do not match the batch, missing reference point", () => {
    const t = tf.tensor1d([0, 0]);
    assert.throws(() => ktoLoss(t, t, [true], { beta: 1, z0: 0 }), /desirable has 1 flags/);
    assert.throws(() => ktoLoss(t, t, [true, false], { beta: 1 }), /klPolicyLogps/);
  });
});

function listwiseJs(u: number[], beta: number): number {
  let loss = 0;
  for (let k = 0; k < u.length - 1; k++) loss -= beta * u[k] - lse(u.slice(k).map((v) => beta * v));
  return loss;
}

describe("listwiseDpoLoss (Plackett–Luce DPO)", () => {
  test("hand-computed: u = [1, 0, −1], β = 1 → log(1 + e^{−1} + e^{−2}) + log(1 + e^{−1})", () => {
    const out = listwiseDpoLoss(tf.tensor2d([[1, 0, -1]]), tf.zeros([1, 3]), { beta: 1 });
    const want = Math.log(1 + Math.exp(-1) + Math.exp(-2)) + Math.log(1 + Math.exp(-1)); // 0.72009 (≈ 0.4076 + 0.3133)
    close(out.losses.dataSync(), [want], 1e-6, "PL-DPO");
    close([want], [0.7209], 1e-3, "hand arithmetic");
    close(out.rewards.dataSync(), [1, 0, -1], 0, "rewards");
  });

  test("equals DPO at N = 2 (values and gradients)", () => {
    const rng = new Rng(21);
    const pc = Array.from({ length: 7 }, () => 3 * rng.normal());
    const pr = Array.from({ length: 7 }, () => 3 * rng.normal());
    const rc = Array.from({ length: 7 }, () => rng.normal());
    const rr = Array.from({ length: 7 }, () => rng.normal());
    const t = tf.tensor1d;
    const dpo = dpoLoss(t(pc), t(pr), t(rc), t(rr), { beta: 0.8 }).losses.dataSync();
    const pl = listwiseDpoLoss(tf.stack([t(pc), t(pr)], 1), tf.stack([t(rc), t(rr)], 1), {
      beta: 0.8,
    }).losses.dataSync();
    close(pl, dpo, 1e-6, "PL(N=2) vs DPO");
    const gd = tfGrads((a, b, c, d) => dpoLoss(a, b, c, d, { beta: 0.8 }).losses, [pc, pr, rc, rr]);
    const gp = tfGrads(
      (a, b, c, d) => listwiseDpoLoss(tf.stack([a, b], 1), tf.stack([c, d], 1), { beta: 0.8 }).losses,
      [pc, pr, rc, rr],
    );
    close(gp.flat(), gd.flat(), 1e-6, "gradients");
  });

  test("gradients match finite differences on [S, B, N] inputs", () => {
    const rng = new Rng(4);
    const shape = [2, 3, 4];
    const size = 24;
    const pol = Array.from({ length: size }, () => 2 * rng.normal());
    const ref = Array.from({ length: size }, () => rng.normal());
    const beta = 0.6;
    const got = tf.tidy(() => {
      const g = tf.grads((p: tf.Tensor, r: tf.Tensor) => tf.sum(listwiseDpoLoss(p, r, { beta }).losses));
      return g([tf.tensor(pol, shape), tf.tensor(ref, shape)]).map((x) => Array.from(x.dataSync()));
    });
    const f = (v: number[]) => {
      let s = 0;
      for (let r = 0; r < 6; r++)
        s += listwiseJs(
          v.slice(r * 4, r * 4 + 4).map((p, j) => p - v[size + r * 4 + j]),
          beta,
        );
      return s;
    };
    close(got.flat(), fdGrad(f, [...pol, ...ref]), 2e-4, "PL-DPO gradient");
    const losses = listwiseDpoLoss(tf.tensor(pol, shape), tf.tensor(ref, shape), { beta }).losses;
    assert.deepEqual(losses.shape, [2, 3]);
  });

  test("finite with exact gradients at ties and for spreads up to 1e3", () => {
    const [gTie] = tfGrads(
      (p) => listwiseDpoLoss(tf.reshape(p, [1, 3]), tf.zeros([1, 3]), { beta: 1 }).losses,
      [[0, 0, 0]],
    );
    // at u = 0: d/du_1 = −1 + 1/3, d/du_2 = 1/3 − 1 + 1/2, d/du_3 = 1/3 + 1/2
    close(gTie, [-2 / 3, -1 / 6, 5 / 6], 1e-6, "gradient at ties");
    const u = [1000, -1000, 500, 0, -300];
    const out = listwiseDpoLoss(tf.tensor2d([u]), tf.zeros([1, 5]), { beta: 1 });
    close(out.losses.dataSync(), [listwiseJs(u, 1)], 1e-5, "extreme loss");
    const [g] = tfGrads((p) => listwiseDpoLoss(tf.reshape(p, [1, 5]), tf.zeros([1, 5]), { beta: 1 }).losses, [u]);
    assert.ok(g.every(Number.isFinite), `gradient ${g}`);
    close(
      g,
      fdGrad((v) => listwiseJs(v, 1), u, 1e-3),
      1e-3,
      "extreme gradient",
    );
  });
});

describe("sequenceLogProbs", () => {
  const B = 2;
  const T = 4;
  const V = 5;
  const rng = new Rng(8);
  const logits = Array.from({ length: B * T * V }, () => 2 * rng.normal());
  // labels[:, 0] is never a target; −100 marks prompt / padding.
  const labels = [-100, -100, 3, 1, 7, 0, 4, -100].map((v) => (v === 7 ? -100 : v));
  const jsLogp = (lg: number[], average: boolean): number[] =>
    [0, 1].map((b) => {
      let s = 0;
      let n = 0;
      for (let t = 0; t < T - 1; t++) {
        const y = labels[b * T + t + 1];
        if (y === -100) continue;
        const row = lg.slice((b * T + t) * V, (b * T + t + 1) * V);
        s += row[y] - lse(row);
        n++;
      }
      return average ? s / Math.max(n, 1) : s;
    });

  test("sum and mean over the counted tokens, target of position t is label t+1", () => {
    const lt = tf.tensor3d(logits, [B, T, V]);
    const yt = tf.tensor2d(labels, [B, T], "int32");
    close(sequenceLogProbs(lt, yt).dataSync(), jsLogp(logits, false), 1e-5, "sum");
    close(sequenceLogProbs(lt, yt, { average: true }).dataSync(), jsLogp(logits, true), 1e-5, "mean");
    close(sequenceTokenCounts(yt).dataSync(), [2, 2], 0, "counts");
  });

  test("gradient matches finite differences", () => {
    const got = tf.tidy(() => {
      const yt = tf.tensor2d(labels, [B, T], "int32");
      const g = tf.grad((l: tf.Tensor) => tf.sum(tf.mul(sequenceLogProbs(l, yt), tf.tensor1d([1, -2]))));
      return Array.from(g(tf.tensor3d(logits, [B, T, V])).dataSync());
    });
    const want = fdGrad((v) => {
      const [a, b] = jsLogp(v, false);
      return a - 2 * b;
    }, logits);
    close(got, want, 1e-4, "d/dlogits");
    // logits at the last position and at positions whose target is ignored get no gradient
    for (const pos of [
      [0, 0],
      [0, 3],
      [1, 2],
      [1, 3],
    ]) {
      const off = (pos[0] * T + pos[1]) * V;
      close(got.slice(off, off + V), [0, 0, 0, 0, 0], 0, `position ${pos}`);
    }
  });

  test("rejects labels outside the vocabulary", () => {
    const bad = labels.slice();
    bad[5] = 9;
    assert.throws(
      () => sequenceLogProbs(tf.tensor3d(logits, [B, T, V]), tf.tensor2d(bad, [B, T], "int32")),
      /labels\[1\]\[1\] = 9/,
    );
  });
});

describe("preferenceMetrics", () => {
  test("TRL's names and values", () => {
    const m = preferenceMetrics({
      chosenRewards: tf.tensor1d([1, 0.5, -1]),
      rejectedRewards: tf.tensor1d([0, 1, -2]),
      policyChosen: tf.tensor1d([-3, -4, -5]),
      policyRejected: tf.tensor1d([-6, -6, -6]),
    });
    assert.deepEqual(Object.keys(m).sort(), [
      "logps/chosen",
      "logps/rejected",
      "rewards/accuracies",
      "rewards/chosen",
      "rewards/margins",
      "rewards/rejected",
    ]);
    close(
      [
        m["rewards/chosen"],
        m["rewards/rejected"],
        m["rewards/margins"],
        m["rewards/accuracies"],
        m["logps/chosen"],
        m["logps/rejected"],
      ],
      [1 / 6, -1 / 3, 0.5, 2 / 3, -4, -6],
      1e-6,
      "metrics",
    );
    const kto = preferenceMetrics({
      chosenRewards: tf.tensor1d([1, 2]),
      rejectedRewards: tf.tensor1d([0]),
      kl: tf.scalar(0.3),
    });
    assert.equal(kto["rewards/margins"], undefined);
    close([kto["kl"], kto["rewards/chosen"]], [0.3, 1.5], 1e-6, "kto metrics");
  });
});

test("the losses leak no tensors", () => {
  const before = tf.memory().numTensors;
  tf.tidy(() => {
    const t = tf.tensor1d([1, 2]);
    dpoLoss(t, t, t, t, { beta: 1 });
    ipoLoss(t, t, t, t, { beta: 1 });
    ktoLoss(t, t, [true, false], { beta: 1, klPolicyLogps: t, klRefLogps: t });
    listwiseDpoLoss(tf.reshape(t, [1, 2]), tf.zeros([1, 2]), { beta: 1 });
  });
  const out = dpoLoss(tf.tensor1d([1]), tf.tensor1d([0]), tf.tensor1d([0]), tf.tensor1d([0]), { beta: 1 });
  const created = tf.memory().numTensors - before;
  tf.dispose([out.losses, out.chosenRewards, out.rejectedRewards]);
  assert.equal(created, 3 + 4, "only the 3 outputs and the 4 inputs remain");
});
