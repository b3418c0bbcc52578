// The fused Adam step (src/lm/kernels/adam.ts) against tfjs's own AdamOptimizer: parameters and both
// moments must be bit-identical after several clipped steps, on every backend that loads.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { availableBackends, initBackend } from "../src/backend";
import { Rng } from "../src/random";
import { adamStep, makeAdam } from "../src/lm/optim";
import { FusedAdam, isFusedAdam } from "../src/lm/kernels/adam";

const SHAPES = [[7, 5], [5], [3, 1, 4], [1]];

function makeVars(seed: number): tf.Variable[] {
  const rng = new Rng(seed);
  return SHAPES.map((s) => {
    const n = s.reduce((a, b) => a * b, 1);
    return tf.variable(
      tf.tensor(
        Float32Array.from({ length: n }, () => rng.normal()),
        s,
      ),
    );
  });
}

/** Σ_i w_i·x_i² + sin(x_i)·k summed over every variable: gradients of varied size and sign. */
function lossOf(vars: tf.Variable[], k: number): tf.Scalar {
  return tf.addN(vars.map((v, i) => tf.sum(tf.add(tf.mul(tf.square(v), 0.5 + i), tf.mul(tf.sin(v), k))))) as tf.Scalar;
}

test("FusedAdam through adamStep equals tf.train.adam bit for bit (clipped and unclipped steps), on every backend", async () => {
  try {
    for (const name of await availableBackends()) {
      await initBackend(name);
      const [a, b] = [makeVars(1), makeVars(1)];
      const plain = tf.train.adam(0.05, 0.9, 0.999, 1e-8);
      const fused = makeAdam(0.05);
      assert.ok(isFusedAdam(fused) && !isFusedAdam(plain));
      let before = 0;
      // k = 40 makes the gradient norm exceed clipNorm 1 (clipping active), k = 0.01 keeps it inside.
      for (const [step, k] of [40, 0.01, 40, 3, 0.01, 40].entries()) {
        const ra = adamStep(plain, a, () => lossOf(a, k), 1);
        const rb = adamStep(fused, b, () => lossOf(b, k), 1);
        assert.equal(rb.loss, ra.loss, `${name} step ${step}: loss`);
        assert.equal(rb.gradNorm, ra.gradNorm, `${name} step ${step}: gradient norm`);
        a.forEach((v, i) => assert.deepEqual(b[i].dataSync(), v.dataSync(), `${name} step ${step}: variable ${i}`));
        if (step === 0) assert.ok(ra.gradNorm > 1, "the first step is clipped");
        if (step === 0) before = tf.memory().numTensors; // after both optimizers made their slots
      }
      assert.equal(tf.memory().numTensors, before, `${name}: no tensor leaks across steps`);
      const weights = async (o: tf.Optimizer) => (await o.getWeights()).map((w) => Array.from(w.tensor.dataSync()));
      assert.deepEqual(await weights(fused), await weights(plain), `${name}: iterations and moments m, v`);
      tf.dispose([...a, ...b]);
      plain.dispose();
      fused.dispose();
    }
  } finally {
    await initBackend();
  }
});

test("FusedAdam.applyScaled refuses a gradient for a variable it cannot find", async () => {
  await initBackend();
  const opt = new FusedAdam(0.1, 0.9, 0.999, 1e-8);
  const g = tf.ones([2]);
  assert.throws(() => opt.applyScaled({ "no-such-variable": g }, 1), /FusedAdam: no variable named no-such-variable/);
  g.dispose();
  opt.dispose();
});
