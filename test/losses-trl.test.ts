// TRL-name semantics, spot-checked by hand: one or two pairs, each expected value written out from TRL's
// dpo_loss / CPOTrainer / ORPOTrainer formulas (the comments give the arithmetic), not from src/losses.
import { before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend";
import { createLossState, pairLossAt, preferenceLoss } from "../src/losses/index";

before(async () => {
  await initBackend();
});

const sig = (x: number) => 1 / (1 + Math.exp(-x));
const logSig = (x: number) => -Math.log1p(Math.exp(-x));

// One pair: log π(y_w) = −3, log π(y_l) = −5, log π_ref(y_w) = −4, log π_ref(y_l) = −4.5, |y_w| = 2, |y_l| = 4.
// Log-ratios a = 1, b = −0.5; margin h = a − b = 1.5; β = 0.5 so βh = 0.75, βa = 0.5, βb = −0.25.
function pair() {
  return {
    policyChosen: tf.tensor1d([-3]),
    policyRejected: tf.tensor1d([-5]),
    refChosen: tf.tensor1d([-4]),
    refRejected: tf.tensor1d([-4.5]),
    chosenLengths: [2],
    rejectedLengths: [4],
  };
}

function value(lossType: string | string[], options: Record<string, unknown>, batch = pair()): number {
  const out = preferenceLoss(lossType, batch, options);
  const v = out.losses.dataSync()[0];
  tf.dispose([out.losses, out.chosenRewards, out.rejectedRewards, ...Object.values(out.extras)]);
  return v;
}

const cases: Array<[string, string | string[], Record<string, unknown>, number]> = [
  ["sigmoid: −log σ(βh)", "sigmoid", { beta: 0.5 }, -logSig(0.75)],
  ["sigmoid, ε = 0.1 (cDPO)", "sigmoid", { beta: 0.5, labelSmoothing: 0.1 }, -0.9 * logSig(0.75) - 0.1 * logSig(-0.75)],
  ["robust, ε = 0.1", "robust", { beta: 0.5, labelSmoothing: 0.1 }, (-0.9 * logSig(0.75) + 0.1 * logSig(-0.75)) / 0.8],
  ["hinge: relu(1 − βh)", "hinge", { beta: 0.5 }, 0.25],
  // TRL's ipo: per-token averages, Δ = 1/2 − (−0.5)/4 = 0.625; (0.625 − 1/(2·0.5))² = 0.140625.
  ["ipo (TRL: per-token average)", "ipo", { beta: 0.5 }, 0.140625],
  ["ipo, summed (Eq. 17 as written)", "ipo", { beta: 0.5, lengthNormalize: false }, (1.5 - 1) ** 2],
  [
    "exo_pair, ε = 1e-3 default",
    "exo_pair",
    { beta: 0.5 },
    sig(0.75) * (logSig(0.75) - Math.log(1 - 1e-3)) + sig(-0.75) * (logSig(-0.75) - Math.log(1e-3)),
  ],
  ["nca_pair", "nca_pair", { beta: 0.5 }, -logSig(0.5) - 0.5 * logSig(-0.5) - 0.5 * logSig(0.25)],
  // One fresh batch: δ = mean(βa, βb) = mean(0.5, −0.25) = 0.125.
  ["bco_pair, δ = batch mean", "bco_pair", { beta: 0.5 }, -logSig(0.5 - 0.125) - logSig(-(-0.25 - 0.125))],
  ["sppo_hard: (a − 1)² + (b + 1)²", "sppo_hard", { beta: 0.5 }, 0 + 0.25],
  ["apo_zero", "apo_zero", { beta: 0.5 }, 1 - sig(0.5) + sig(-0.25)],
  ["apo_down", "apo_down", { beta: 0.5 }, sig(0.5) + 1 - sig(0.75)],
  [
    "discopop, τ = 0.05",
    "discopop",
    { beta: 0.5 },
    -logSig(0.75) * (1 - sig(0.75 / 0.05)) + Math.exp(-0.75) * sig(0.75 / 0.05),
  ],
  // Token mean over the batch: 3 nats over 2 tokens.
  ["sft (Preferred-FT)", "sft", {}, 1.5],
  ["sigmoid_norm: −log σ(β·0.625)", "sigmoid_norm", { beta: 0.5 }, -logSig(0.3125)],
  // SimPO: Δ = −3/2 − (−5/4) = −0.25; −log σ(2·(−0.25) − 0.5) = −log σ(−1).
  ["simpo, β = 2, γ = 0.5", "simpo", { beta: 2, simpoGamma: 0.5 }, -logSig(-1)],
  // CPO: −log σ(β(log π_w − log π_l)) + NLL = −log σ(1) + 1.5.
  ["cpo", "cpo", { beta: 0.5 }, -logSig(1) + 1.5],
  // ORPO: log odds of the average log-probs −1.5 and −1.25; −β log σ(ratio) + NLL.
  [
    "orpo",
    "orpo",
    { beta: 0.5 },
    -0.5 * logSig(-1.5 - Math.log(1 - Math.exp(-1.5)) - (-1.25 - Math.log(1 - Math.exp(-1.25)))) + 1.5,
  ],
  [
    "f-DPO forward_kl: Δ = −e^−a + e^−b",
    "sigmoid",
    { beta: 0.5, fDivergence: "forward_kl" },
    -logSig(0.5 * (-Math.exp(-1) + Math.exp(0.5))),
  ],
  [
    "f-DPO js_divergence: Δ = log σ(a) − log σ(b)",
    "sigmoid",
    { beta: 0.5, fDivergence: "js_divergence" },
    -logSig(0.5 * (logSig(1) - logSig(-0.5))),
  ],
  // TRL: logits = (e^{−αb} − e^{−αa})/α at α = 0.5.
  [
    "f-DPO alpha_divergence, α = 0.5",
    "sigmoid",
    { beta: 0.5, fDivergence: "alpha_divergence", fAlphaCoef: 0.5 },
    -logSig((0.5 * (Math.exp(0.25) - Math.exp(-0.5))) / 0.5),
  ],
  // α ≠ ½ pins the convention (the two TRL generations differ there): ours is the paper's and old TRL's
  // alpha_divergence_coef, s(x) = −e^{−αx}/α; newer TRL's f_alpha_divergence_coef α' = 1 − α gives the same
  // score e^{(α'−1)x}/(α'−1). At α = 0.3: Δ = (−e^{−0.3} + e^{0.15})/0.3.
  [
    "f-DPO alpha_divergence, α = 0.3 (newer TRL's 0.7)",
    "sigmoid",
    { beta: 0.5, fDivergence: "alpha_divergence", fAlphaCoef: 0.3 },
    -logSig((0.5 * (-Math.exp(-0.3) + Math.exp(0.15))) / 0.3),
  ],
  ["rpo_alpha = 1: sigmoid + NLL", "sigmoid", { beta: 0.5, rpoAlpha: 1 }, -logSig(0.75) + 1.5],
  [
    "MPO: 0.8·sigmoid + 0.2·bco_pair + 1·sft",
    ["sigmoid", "bco_pair", "sft"],
    { beta: 0.5, lossWeights: [0.8, 0.2, 1] },
    0.8 * -logSig(0.75) + 0.2 * (-logSig(0.375) - logSig(0.375)) + 1.5,
  ],
  ["unlikelihood", "unlikelihood", {}, 3 - Math.log(1 - Math.exp(-5))],
];

describe("preferenceLoss: TRL loss_type semantics by hand", () => {
  for (const [label, type, options, want] of cases) {
    test(label, () => {
      const got = value(type, options);
      assert.ok(Math.abs(got - want) <= 1e-5 * (1 + Math.abs(want)), `${label}: ${got} vs ${want}`);
    });
  }

  test("aot and aot_unpaired sort across the batch", () => {
    // Two pairs. Policy margins m = [2, −1], reference margins m_ref = [−0.5, −0.5]: sorted Δ = [−1 + 0.5, 2 + 0.5] = [−0.5, 2.5].
    // Log-ratios a = [1, 0], b = [−1.5, 0.5]: sorted Δ = [0 − (−1.5), 1 − 0.5] = [1.5, 0.5].
    const batch = {
      policyChosen: tf.tensor1d([-1, -3]),
      policyRejected: tf.tensor1d([-3, -2]),
      refChosen: tf.tensor1d([-2, -3]),
      refRejected: tf.tensor1d([-1.5, -2.5]),
    };
    const aot = preferenceLoss("aot", batch, { beta: 0.5 });
    assert.deepEqual(
      Array.from(aot.losses.dataSync(), (v) => +v.toFixed(6)),
      [-logSig(-0.25), -logSig(1.25)].map((v) => +v.toFixed(6)),
    );
    const un = preferenceLoss("aot_unpaired", batch, { beta: 0.5 });
    assert.deepEqual(
      Array.from(un.losses.dataSync(), (v) => +v.toFixed(6)),
      [-logSig(0.75), -logSig(0.25)].map((v) => +v.toFixed(6)),
    );
  });

  test("bco_pair keeps TRL's running mean across steps (one observation per batch)", () => {
    const state = createLossState("bco_pair")!;
    const first = preferenceLoss("bco_pair", pair(), { beta: 0.5 }, state);
    // Second batch with rewards βa = βb = 1 (a = b = 2): batch mean 1; running mean (0.125 + 1)/2 = 0.5625.
    const second = pair();
    second.policyChosen = tf.tensor1d([-2]);
    second.refChosen = tf.tensor1d([-4]);
    second.policyRejected = tf.tensor1d([-2.5]);
    second.refRejected = tf.tensor1d([-4.5]);
    const out = preferenceLoss("bco_pair", second, { beta: 0.5 }, state);
    assert.ok(Math.abs(first.metrics["bco/delta"] - 0.125) < 1e-6);
    assert.ok(Math.abs(out.metrics["bco/delta"] - 0.5625) < 1e-6, `δ = ${out.metrics["bco/delta"]}`);
    assert.ok(Math.abs(out.losses.dataSync()[0] - (-logSig(1 - 0.5625) - logSig(0.5625 - 1))) < 1e-5);
  });

  test("MPO: one state object reaches bco_pair wherever it stands in the list", () => {
    const state = createLossState("bco_pair")!;
    preferenceLoss(["sigmoid", "bco_pair", "sft"], pair(), { beta: 0.5 }, state);
    const out = preferenceLoss(["sigmoid", "bco_pair", "sft"], pair(), { beta: 0.5 }, state);
    // Two identical batches: the running mean stays 0.125 and has two observations.
    assert.equal((state as { count: number }).count, 2);
    assert.ok(Math.abs(out.metrics["bco/delta"] - 0.125) < 1e-6);
  });

  test("rewards and metrics under TRL's names", () => {
    const out = preferenceLoss("sigmoid", pair(), { beta: 0.5 });
    assert.deepEqual(Object.fromEntries(Object.entries(out.metrics).map(([k, v]) => [k, +v.toFixed(6)])), {
      "rewards/chosen": 0.5,
      "rewards/rejected": -0.25,
      "rewards/margins": 0.75,
      "rewards/accuracies": 1,
      "logps/chosen": -3,
      "logps/rejected": -5,
    });
  });
});

describe("pairLossAt: per-example gradient weights from the float64 twins", () => {
  test("DPO's weight is βσ(−βh) (DPO §4); IPO's pull is linear, 2(h − 1/(2τ)); SimPO's margin shifts DPO's by γ", () => {
    for (const h of [-2, 0, 0.5, 3]) {
      const dpo = pairLossAt("sigmoid", { beta: 0.5 }, { policyChosen: h, policyRejected: 0 });
      assert.ok(
        Math.abs(dpo.dChosen + 0.5 * sig(-0.5 * h)) < 1e-12 && Math.abs(dpo.dRejected - 0.5 * sig(-0.5 * h)) < 1e-12,
      );
      const ipo = pairLossAt("ipo", { beta: 0.25 }, { policyChosen: h, policyRejected: 0 });
      assert.ok(Math.abs(ipo.dChosen - 2 * (h - 2)) < 1e-12);
      const simpo = pairLossAt("simpo", { beta: 2, simpoGamma: 1 }, { policyChosen: h - 5, policyRejected: -5 });
      assert.ok(Math.abs(simpo.loss + logSig(2 * h - 1)) < 1e-12);
    }
  });
});
