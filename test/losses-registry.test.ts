// Every registered loss, in one loop: the float64 twin equals the tfjs loss (values and autodiff
// gradients), the twin's derivative equals central finite differences, float32 extremes (|h| up to 1e3)
// stay finite with finite gradients, option validation names the option, and no tensor leaks.
import { before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend";
import {
  getLoss,
  listLossTypes,
  preferenceLoss,
  resolveLossOptions,
  type LossOptions,
  type OptionValues,
  type PairBatch64,
  type PairLossEntry,
  type RankingLossEntry,
  type UnpairedLossEntry,
} from "../src/losses/index";
import { marginEntry } from "../src/losses/pairCommon";
import { Rng } from "../src/random";
import { near } from "./fixtures";

before(async () => {
  await initBackend();
});

const B = 6;

/** A random batch: log-probs in [−12, −0.5], lengths 1..9, margins spread over roughly [−6, 6]. */
function randomBatch(seed: number): PairBatch64 {
  const rng = new Rng(seed);
  const lp = () => Float64Array.from({ length: B }, () => -0.5 - 11.5 * rng.uniform());
  const len = () => Float64Array.from({ length: B }, () => 1 + rng.int(9));
  return {
    policyChosen: lp(),
    policyRejected: lp(),
    refChosen: lp(),
    refRejected: lp(),
    chosenLengths: len(),
    rejectedLengths: len(),
  };
}

/** The option sets each pair loss is checked under: its defaults, then each non-default knob it takes. */
function optionSets(entry: PairLossEntry): Array<Record<string, unknown>> {
  const takes = (k: string) => k in entry.options;
  const sets: Array<Record<string, unknown>> = [{ beta: 0.7 }];
  if (takes("labelSmoothing")) sets.push({ beta: 0.7, labelSmoothing: 0.2 });
  if (takes("fDivergence"))
    for (const f of ["forward_kl", "js_divergence", "alpha_divergence"])
      sets.push({ beta: 0.7, fDivergence: f, fAlphaCoef: 0.5 });
  if (takes("rpoAlpha")) sets.push({ beta: 0.7, rpoAlpha: 0.5 });
  if (takes("referenceFree")) sets.push({ beta: 0.7, referenceFree: true });
  if (takes("lengthNormalize")) sets.push({ beta: 0.7, lengthNormalize: false });
  if (takes("variant"))
    sets.push({ beta: 0.7, variant: "robust", labelSmoothing: 0.2 }, { beta: 0.7, variant: "hinge" });
  if (takes("bcoDelta")) sets.push({ beta: 0.7, bcoDelta: 0.3 });
  if (takes("simpoGamma")) sets.push({ beta: 2, simpoGamma: 1.2 });
  if (takes("discopopTau")) sets.push({ beta: 0.7, discopopTau: 0.5 });
  if (takes("unlikelihoodAlpha")) sets.push({ unlikelihoodAlpha: 0.3 });
  if (takes("dpopLambda")) sets.push({ beta: 0.7, dpopLambda: 2 }, { beta: 0.7, dpopLambda: 0 });
  return sets.map((s) => Object.fromEntries(Object.entries(s).filter(([k]) => takes(k))));
}

function tfLossAndGrads(
  entry: PairLossEntry,
  b: PairBatch64,
  o: LossOptions,
): { losses: number[]; dChosen: number[]; dRejected: number[] } {
  return tf.tidy(() => {
    const f = (pc: tf.Tensor, pr: tf.Tensor) =>
      entry.loss(
        {
          policyChosen: pc,
          policyRejected: pr,
          refChosen: tf.tensor1d(Array.from(b.refChosen)),
          refRejected: tf.tensor1d(Array.from(b.refRejected)),
          chosenLengths: Array.from(b.chosenLengths),
          rejectedLengths: Array.from(b.rejectedLengths),
        },
        o,
      ).losses;
    const pc = tf.tensor1d(Array.from(b.policyChosen));
    const pr = tf.tensor1d(Array.from(b.policyRejected));
    const losses = Array.from(f(pc, pr).dataSync());
    // + 0·Σy: losses that ignore y_l (sft) still get a (zero) gradient for it.
    const [gc, gr] = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.add(tf.sum(f(x, y)), tf.mul(0, tf.sum(y))))([pc, pr]);
    return { losses, dChosen: Array.from(gc.dataSync()), dRejected: Array.from(gr.dataSync()) };
  });
}

const pairEntries = listLossTypes({ data: "pairs" }).map((i) => getLoss(i.name) as PairLossEntry);

describe("registry: every pair loss", () => {
  test("the registry has TRL's whole loss_type list plus prefopt's and the baselines", () => {
    const names = listLossTypes().map((i) => i.name);
    for (const n of [
      "sigmoid",
      "hinge",
      "ipo",
      "exo_pair",
      "nca_pair",
      "robust",
      "bco_pair",
      "sppo_hard",
      "aot",
      "aot_unpaired",
      "apo_zero",
      "apo_down",
      "discopop",
      "sft",
      "sigmoid_norm",
      "simpo",
      "cpo",
      "orpo",
      "kto",
      "listwise",
      "dpo",
    ]) {
      assert.ok(names.includes(n), `${n} is registered`);
    }
    assert.equal(getLoss("listwise-dpo").name, "listwise");
    assert.equal(getLoss("preferred-ft").name, "sft");
  });

  for (const entry of pairEntries) {
    for (const raw of optionSets(entry)) {
      const label = `${entry.name} ${JSON.stringify(raw)}`;
      test(`${label}: float64 twin = tfjs loss and autodiff gradient`, () => {
        const o = resolveLossOptions(entry.name, raw);
        for (const seed of [1, 2]) {
          const b = randomBatch(seed);
          const twin = entry.twin(b, o);
          const tfOut = tfLossAndGrads(entry, b, o);
          near(tfOut.losses, twin.losses, 2e-4, `${label} losses`);
          near(tfOut.dChosen, twin.dChosen, 2e-3, `${label} ∂/∂log π(y_w)`);
          near(tfOut.dRejected, twin.dRejected, 2e-3, `${label} ∂/∂log π(y_l)`);
        }
      });
      test(`${label}: twin derivative = central finite differences (float64)`, (t) => {
        // BCO's δ is a constant by definition (detached); finite differences would move it with the batch.
        if (entry.createState && raw.bcoDelta === undefined) return t.skip("δ from the batch is held constant");
        const o = resolveLossOptions(entry.name, raw);
        const b = randomBatch(3);
        const g = entry.twin(b, o);
        const total = (bb: PairBatch64) => entry.twin(bb, o).losses.reduce((s, v) => s + v, 0);
        for (const [field, grad] of [
          ["policyChosen", g.dChosen],
          ["policyRejected", g.dRejected],
        ] as const) {
          for (let i = 0; i < B; i++) {
            const h = 1e-6;
            const up = { ...b, [field]: Float64Array.from(b[field]) };
            const dn = { ...b, [field]: Float64Array.from(b[field]) };
            up[field][i] += h;
            dn[field][i] -= h;
            const fd = (total(up) - total(dn)) / (2 * h);
            assert.ok(
              Math.abs(fd - grad[i]) <= 1e-5 * (1 + Math.abs(fd)),
              `${label} ${field}[${i}]: twin ${grad[i]} vs finite difference ${fd}`,
            );
          }
        }
      });
      test(`${label}: finite values and gradients in float32 for |h| up to 1e3; no tensor leaks`, () => {
        const o = resolveLossOptions(entry.name, raw);
        const before = tf.memory().numTensors;
        for (const m of [1e3, -1e3, 300, -300, 0]) {
          // Margins of ±m on both the policy side and the per-response log-ratios.
          const b: PairBatch64 = {
            policyChosen: Float64Array.from([-1, -1 - Math.max(0, -m), -0.5, -1e3]),
            policyRejected: Float64Array.from([-1 - Math.max(0, m), -1, -1e3, -0.5]),
            refChosen: Float64Array.from([-1, -1, -1e3, -0.5]),
            refRejected: Float64Array.from([-1, -1, -0.5, -1e3]),
            chosenLengths: Float64Array.from([1, 1, 1, 1]),
            rejectedLengths: Float64Array.from([1, 1, 1, 1]),
          };
          const got = tfLossAndGrads(entry, b, o);
          for (const [what, v] of Object.entries(got))
            v.forEach((x, i) => assert.ok(Number.isFinite(x), `${label} m=${m}: ${what}[${i}] = ${x}`));
          const twin = entry.twin(b, o);
          for (const [what, v] of Object.entries(twin))
            (v as Float64Array).forEach((x, i) =>
              assert.ok(Number.isFinite(x), `${label} m=${m}: twin ${what}[${i}] = ${x}`),
            );
        }
        assert.equal(tf.memory().numTensors, before, `${label}: tensors leaked`);
      });
    }
  }
});

describe("registry: option validation", () => {
  test("unknown options, other losses' options and bad values are errors naming the option", () => {
    assert.throws(
      () => resolveLossOptions("ipo", { labelSmoothing: 0.1 }),
      /option labelSmoothing is not an option of loss "ipo"; it takes beta/,
    );
    assert.throws(() => resolveLossOptions("sigmoid", { beta: 0 }), /option beta must be > 0, got 0/);
    assert.throws(() => resolveLossOptions("sigmoid", { labelSmoothing: 0.5 }), /labelSmoothing must be < 0.5/);
    assert.throws(
      () => resolveLossOptions("sigmoid", { fDivergence: "chi2" }),
      /fDivergence must be one of reverse_kl, forward_kl, js_divergence, alpha_divergence/,
    );
    assert.throws(() => resolveLossOptions("discopop", { discopopTau: 2 }), /discopopTau must be <= 1/);
    assert.throws(
      () => resolveLossOptions("dpo", { variant: "hinge", labelSmoothing: 0.1 }),
      /labelSmoothing is not used by variant hinge/,
    );
    assert.throws(() => resolveLossOptions("nope"), /unknown loss "nope"; registered losses: dpo, .*sigmoid/);
    assert.deepEqual(resolveLossOptions("exo_pair", {}), {
      beta: 0.1,
      labelSmoothing: 1e-3,
      referenceFree: false,
      fDivergence: "reverse_kl",
      fAlphaCoef: 1,
      rpoAlpha: 0,
    });
  });
  test("missing inputs are errors naming them", () => {
    const t = tf.tensor1d([-1, -2]);
    assert.throws(
      () => preferenceLoss("sigmoid", { policyChosen: t, policyRejected: t }),
      /refChosen and batch.refRejected are required/,
    );
    assert.throws(
      () => preferenceLoss("ipo", { policyChosen: t, policyRejected: t, refChosen: t, refRejected: t }),
      /lengthNormalize .* needs batch.chosenLengths/,
    );
    assert.throws(
      () => preferenceLoss("simpo", { policyChosen: t, policyRejected: t }),
      /chosenLengths and batch.rejectedLengths are required/,
    );
    assert.throws(
      () =>
        preferenceLoss("sigmoid_norm", {
          policyChosen: t,
          policyRejected: t,
          refChosen: t,
          refRejected: t,
          chosenLengths: [1, 2, 3],
          rejectedLengths: [1, 2],
        }),
      /chosenLengths has shape \[3\], the log-probs have shape \[2\]/,
    );
    t.dispose();
  });
});

describe("unlikelihood (DPO §6.1 baseline)", () => {
  test("hand values: −log π(y_w) − α log(1 − π(y_l)) on sequence log-probs, and its gradient", () => {
    // log π(y_w) = −2, log π(y_l) = −0.5, α = 0.3: 2 − 0.3·log(1 − e^−0.5) = 2 − 0.3·(−0.932752) = 2.2798256;
    // ∂/∂log π(y_l) = α e^x/(1 − e^x) = 0.3·0.606531/0.393469 = 0.4624482. Second pair: 5 − log(1 − e^−20).
    const pc = tf.tensor1d([-2, -5]);
    const pr = tf.tensor1d([-0.5, -20]);
    const out = preferenceLoss("unlikelihood", { policyChosen: pc, policyRejected: pr }, { unlikelihoodAlpha: 0.3 });
    near(out.losses.dataSync(), [2.2798256, 5 + 0.3 * 2.061e-9], 1e-6, "unlikelihood losses");
    const g = tf.grad((x: tf.Tensor) =>
      tf.sum(
        preferenceLoss("unlikelihood", { policyChosen: pc, policyRejected: x }, { unlikelihoodAlpha: 0.3 }).losses,
      ),
    )(pr);
    near(g.dataSync(), [0.4624482, 0.3 * 2.061e-9], 1e-5, "unlikelihood ∂/∂log π(y_l)");
    // A rejected sequence of probability 1 is clamped (log π ≤ −1e-6): large but finite.
    const sure = preferenceLoss("unlikelihood", { policyChosen: pc, policyRejected: tf.tensor1d([0, -1e-9]) }, {});
    near(sure.losses.dataSync(), [2 + 13.8155106, 5 + 13.8155106], 1e-4, "clamped at π(y_l) = 1");
  });
});

describe("unlikelihood, token-level (Welleck et al. Eq. 4)", () => {
  test("hand values and gradient with per-token log-probs; padding ignored; bad shapes named", () => {
    // Pair 1: rejected tokens log p = [−0.5, −2] (third position padding); pair 2: [−1] then padding.
    // Σ_t log(1 − p_t): log(1 − e^−0.5) + log(1 − e^−2) = −0.9327521 − 0.1454135 = −1.0781656; log(1 − e^−1) = −0.4586751.
    // α = 0.3: losses 2 + 0.3·1.0781656 = 2.3234497 and 5 + 0.3·0.4586751 = 5.1376025.
    // ∂/∂log p_t = α e^x/(1 − e^x): 0.3·1.5414 = 0.4624482 (x = −0.5), 0.3·0.1565 = 0.0469502 (x = −2), 0.3·0.5819767 = 0.1745930 (x = −1).
    const pc = tf.tensor1d([-2, -5]);
    const pr = tf.tensor1d([-2.5, -1]);
    const tok = tf.tensor2d([
      [-0.5, -2, 0],
      [-1, -7, 0],
    ]);
    const mask = tf.tensor2d([
      [1, 1, 0],
      [1, 0, 0],
    ]);
    const batch = (x: tf.Tensor) => ({
      policyChosen: pc,
      policyRejected: pr,
      rejectedTokenLogps: x,
      rejectedTokenMask: mask,
    });
    const out = preferenceLoss("unlikelihood", batch(tok), { unlikelihoodAlpha: 0.3 });
    near(out.losses.dataSync(), [2.3234497, 5.1376025], 1e-6, "token-level unlikelihood losses");
    const g = tf.grad((x: tf.Tensor) =>
      tf.sum(preferenceLoss("unlikelihood", batch(x), { unlikelihoodAlpha: 0.3 }).losses),
    )(tok);
    near(g.dataSync(), [0.4624482, 0.0469502, 0, 0.174593, 0, 0], 1e-5, "∂/∂ token log-probs (0 on padding)");
    // Without tokens each completion is one token: the sequence form on policyRejected.
    near(
      preferenceLoss(
        "unlikelihood",
        { policyChosen: pc, policyRejected: pr },
        { unlikelihoodAlpha: 0.3 },
      ).losses.dataSync(),
      [2 - 0.3 * Math.log(-Math.expm1(-2.5)), 5 - 0.3 * Math.log(-Math.expm1(-1))],
      1e-6,
      "one token per completion",
    );
    assert.throws(
      () => preferenceLoss("unlikelihood", { policyChosen: pc, policyRejected: pr, rejectedTokenLogps: tok }, {}),
      /go together/,
    );
    assert.throws(
      () => preferenceLoss("unlikelihood", { ...batch(tok), rejectedTokenMask: tf.ones([2, 2]) }, {}),
      /must both be \[B, T\]/,
    );
    assert.throws(
      () =>
        preferenceLoss(
          "unlikelihood",
          { ...batch(tok), policyChosen: tf.zeros([3]), policyRejected: tf.zeros([3]) },
          {},
        ),
      /2 rows for 3 pairs/,
    );
  });
});

/** The tfjs losses at the input `make()` builds, and the gradient of their sum with respect to it. */
function lossAndGradient(f: (p: tf.Tensor) => tf.Tensor, make: () => tf.Tensor): { losses: number[]; grad: number[] } {
  return tf.tidy(() => {
    const p = make();
    return {
      losses: Array.from(f(p).dataSync()),
      grad: Array.from(
        tf
          .grad((x: tf.Tensor) => tf.sum(f(x)))(p)
          .dataSync(),
      ),
    };
  });
}

describe("registry: every unpaired and ranking loss", () => {
  const fd = (f: (x: Float64Array) => number, x: Float64Array, i: number) => {
    const up = Float64Array.from(x);
    const dn = Float64Array.from(x);
    up[i] += 1e-6;
    dn[i] -= 1e-6;
    return (f(up) - f(dn)) / 2e-6;
  };
  for (const info of listLossTypes({ data: "unpaired" })) {
    test(`${info.name}: twin = tfjs (values, gradients), = finite differences; finite at |Δ| = 1e3`, () => {
      const entry = getLoss(info.name) as UnpairedLossEntry;
      const o = resolveLossOptions(info.name, { beta: 0.7, desirableWeight: 1.3, undesirableWeight: 0.8 });
      const desirable = [true, false, true, false, true];
      for (const scale of [1, 1e3]) {
        const policy = Float64Array.from([-1.5, -0.2, -3, -0.9, -2.2], (v) => v * scale);
        const ref = Float64Array.from([-1, -1.1, -2.5, -0.4, -2.9]);
        const z0 = 0.3;
        const twin = entry.twin({ policy, ref, desirable, z0 }, o);
        const got = lossAndGradient(
          (p) => entry.loss({ policy: p, ref: tf.tensor1d(Array.from(ref)), desirable, z0 }, o).losses,
          () => tf.tensor1d(Array.from(policy)),
        );
        near(got.losses, twin.losses, 2e-5, `${info.name} losses ×${scale}`);
        near(got.grad, twin.dPolicy, 2e-4, `${info.name} gradient ×${scale}`);
        if (scale === 1)
          for (let i = 0; i < 5; i++)
            near(
              [twin.dPolicy[i]],
              [
                fd(
                  (x) => entry.twin({ policy: x, ref, desirable, z0 }, o).losses.reduce((s, v) => s + v, 0),
                  policy,
                  i,
                ),
              ],
              1e-5,
              `${info.name} FD[${i}]`,
            );
      }
    });
  }
  for (const info of listLossTypes({ data: "rankings" })) {
    test(`${info.name}: twin = tfjs (values, gradients), = finite differences; finite at spreads of 1e3`, () => {
      const entry = getLoss(info.name) as RankingLossEntry;
      const o = resolveLossOptions(info.name, { beta: 0.7 });
      for (const scale of [1, 1e3]) {
        const policy = Float64Array.from([-1, -2.5, -0.3, -4, -0.7, -1.9], (v) => v * scale); // 2 rankings of 3
        const ref = Float64Array.from([-1.2, -2, -1, -3, -1, -1]);
        const twin = entry.twin({ policy, ref, n: 3 }, o);
        const got = lossAndGradient(
          (p) => entry.loss({ policy: p, ref: tf.tensor2d(Array.from(ref), [2, 3]) }, o).losses,
          () => tf.tensor2d(Array.from(policy), [2, 3]),
        );
        near(got.losses, twin.losses, 2e-5, `${info.name} losses ×${scale}`);
        near(got.grad, twin.dPolicy, 2e-4, `${info.name} gradient ×${scale}`);
        if (scale === 1)
          for (let i = 0; i < 6; i++)
            near(
              [twin.dPolicy[i]],
              [fd((x) => entry.twin({ policy: x, ref, n: 3 }, o).losses.reduce((s, v) => s + v, 0), policy, i)],
              1e-5,
              `${info.name} FD[${i}]`,
            );
      }
    });
  }
});

// Typed options (issue 25 item 3): an entry's `options` declaration is also the type its functions see.
// `npx tsc --noEmit` checks the @ts-expect-error lines: each must be an error, or tsc fails.
test("typed loss options: an entry's functions see exactly the options it declares, typed", () => {
  const o: OptionValues<"beta" | "variant" | "bcoDelta"> = { beta: 0.1, variant: "robust" };
  const beta: number = o.beta;
  const delta: number | undefined = o.bcoDelta; // optional (no default): may be absent
  // @ts-expect-error an option the entry does not declare
  void o.labelSmoothing;
  // @ts-expect-error a value outside the enum
  const badVariant: OptionValues<"variant"> = { variant: "logistic" };
  // @ts-expect-error a required option (it has a default, so resolveLossOptions always fills it) left out
  const missing: OptionValues<"beta"> = {};
  const entry = marginEntry({
    name: "typed_options_probe",
    summary: "not registered",
    citation: "none",
    margin: "logratio",
    options: { beta: true, labelSmoothing: true },
    phi: (z, opts) => {
      // @ts-expect-error variant is not among this entry's options
      void opts.variant;
      return tf.mul(z, opts.labelSmoothing);
    },
    phi64: (z, opts) => [z * opts.labelSmoothing, opts.labelSmoothing],
  });
  // At run time the same declaration is the schema: resolving fills the defaults the type promises.
  const resolved = resolveLossOptions("dpo", { beta: 0.2 });
  assert.deepEqual([resolved.beta, resolved.variant, resolved.labelSmoothing], [0.2, "sigmoid", 0]);
  assert.deepEqual(Object.keys(entry.options).sort(), ["beta", "labelSmoothing"]);
  assert.deepEqual([beta, delta, badVariant.variant, Object.keys(missing).length], [0.1, undefined, "logistic", 0]);
});
