// Adam (Kingma & Ba 2015, Algorithm 1) with global-norm clipping, one JS kernel per variable.
//
// tfjs's AdamOptimizer.applyGradients runs ~14 kernels per variable (mul, add, square, div, sqrt, …) and
// adamStep (../optim.ts) one more to scale each gradient by the clipping factor: ~420 kernel calls per step
// for the transformer's 28 variables, each with its fixed cost (at the Figure-2 size most of a step is
// per-kernel cost, not arithmetic). FusedAdam does the same arithmetic in one pass per variable:
//   g = s·∇                                 (s: the clipping factor, 1 when the norm is within bounds)
//   m ← β₁m + (1 − β₁)g,   v ← β₂v + (1 − β₂)g²
//   θ ← θ − η · (m / (1 − β₁ᵗ)) / (√(v / (1 − β₂ᵗ)) + ε)
// rounding every intermediate to float32 in tfjs's order (Math.fround; float32 +, ·, /, √ computed in
// float64 and rounded once are exactly the float32 results), so parameters and moments are bit-identical
// to tf.train.adam's (test/lm.test.ts compares them). Backends without the JS kernels (tfjs-node) or
// PREFOPT_FUSED=0 run tfjs's own applyGradients.
import * as tf from "@tensorflow/tfjs";
import { defineJsKernel, hasJsKernel, runJsKernel } from "./jsKernel";

const f = Math.fround;

defineJsKernel({
  name: "PrefoptAdam",
  outputShapes: ([value]) => [value.shape, value.shape, value.shape],
  body: ([value, m, v, grad], [newValue, newM, newV], _shapes, attrs) => {
    const [scale, b1, c1, b2, c2, omb1, omb2, eps, negLr] = attrs.constants as number[];
    for (let i = 0; i < value.length; i++) {
      const g = f(grad[i] * scale);
      const m1 = f(f(m[i] * b1) + f(g * c1));
      const v1 = f(f(v[i] * b2) + f(f(g * g) * c2));
      const step = f(f(m1 / omb1) / f(f(Math.sqrt(f(v1 / omb2))) + eps));
      newValue[i] = f(step * negLr) + value[i]; // rounded to float32 by the store
      newM[i] = m1;
      newV[i] = v1;
    }
  },
});

/** What FusedAdam reads of tfjs's AdamOptimizer (private there). */
interface AdamState {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
  accBeta1: tf.Variable;
  accBeta2: tf.Variable;
  accumulatedFirstMoment: Array<{ originalName: string; variable: tf.Variable } | undefined>;
  accumulatedSecondMoment: Array<{ originalName: string; variable: tf.Variable } | undefined>;
  incrementIterations(): void;
}

/** tf.train.adam, with `applyScaled` doing clipping and the update in one kernel per variable. */
export class FusedAdam extends tf.AdamOptimizer {
  /**
   * θ ← Adam(θ, s·∇) for every named gradient, s a float32 scale (the clipping factor); the same numbers as
   * applyGradients on the gradients multiplied by s.
   */
  applyScaled(grads: tf.NamedTensorMap, scale: number): void {
    if (!hasJsKernel("PrefoptAdam")) {
      tf.tidy(() => {
        const scaled: tf.NamedTensorMap = {};
        const s = tf.scalar(scale);
        for (const name of Object.keys(grads)) scaled[name] = tf.mul(grads[name], s);
        this.applyGradients(scaled as unknown as Parameters<tf.AdamOptimizer["applyGradients"]>[0]);
      });
      return;
    }
    const self = this as unknown as AdamState;
    const [acc1, acc2] = [self.accBeta1.dataSync()[0], self.accBeta2.dataSync()[0]];
    const constants = [
      f(scale),
      f(self.beta1),
      f(1 - self.beta1),
      f(self.beta2),
      f(1 - self.beta2),
      f(1 - acc1),
      f(1 - acc2),
      f(self.epsilon),
      f(-self.learningRate),
    ];
    Object.keys(grads).forEach((name, i) => {
      const value = tf.engine().registeredVariables[name];
      if (!value) throw new Error(`FusedAdam: no variable named ${name}`);
      const slot = (list: AdamState["accumulatedFirstMoment"], suffix: string) =>
        (list[i] ??= {
          originalName: `${name}/${suffix}`,
          variable: tf.tidy(() => tf.zerosLike(value).variable(false)),
        }).variable;
      const m = slot(self.accumulatedFirstMoment, "m");
      const v = slot(self.accumulatedSecondMoment, "v");
      const [newValue, newM, newV] = runJsKernel("PrefoptAdam", [value, m, v, grads[name]], { constants });
      m.assign(newM);
      v.assign(newV);
      value.assign(newValue);
      tf.dispose([newValue, newM, newV]);
    });
    tf.tidy(() => {
      self.accBeta1.assign(tf.mul(self.accBeta1, self.beta1));
      self.accBeta2.assign(tf.mul(self.accBeta2, self.beta2));
    });
    self.incrementIterations();
  }
}

/** Whether `o` is a FusedAdam (tfjs's Optimizer answers `instanceof` by duck typing: any optimizer passes). */
export function isFusedAdam(o: tf.Optimizer): o is FusedAdam {
  return Object.getPrototypeOf(o) === FusedAdam.prototype;
}
