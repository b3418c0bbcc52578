// PPO's critic: a scalar value head on the policy transformer's final hidden states, sharing its body, as
// TRL's AutoModelForCausalLMWithValueHead (the PPO the DPO paper ran, §6.1 / App. C) and Ziegler et al.
// (2019) do:
//
//   V(x, y_<t) = w · LN_f(h_t) + b,
//
// read at position t, the state from which token t+1 is drawn, so values line up with the (B, T−1) token
// log-probs and their loss mask. One body pass gives both the log-probs and the values; the value loss's
// gradient reaches the shared body (TRL's vf_coef weighs it, default 0.1). The head starts at w = 0, b = 0
// (V ≡ 0: a neutral first baseline, and the same start for every seed).
import * as tf from "@tensorflow/tfjs";
import { tokenLogProbsFromHidden } from "./logprobs";
import { layerNorm, ownedVariable, type Transformer } from "./transformer";

export class ValueHead {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;

  constructor(dModel: number) {
    if (!(Number.isInteger(dModel) && dModel > 0)) throw new Error(`ValueHead: dModel must be > 0, got ${dModel}`);
    this.weight = ownedVariable(tf.zeros([dModel, 1]));
    this.bias = ownedVariable(tf.zeros([1]));
  }

  get variables(): tf.Variable[] {
    return [this.weight, this.bias];
  }

  dispose(): void {
    this.weight.dispose();
    this.bias.dispose();
  }
}

/**
 * Token log-probs (B, T−1) of `policy` and the value head's V (B, T−1) at the same positions, from one body
 * pass over `ids` (B, T). `scored` is the loss mask (only those positions go through the vocabulary head).
 */
export function logProbsAndValues(
  policy: Transformer,
  head: ValueHead,
  ids: tf.Tensor2D,
  scored?: tf.Tensor2D,
): { logProbs: tf.Tensor2D; values: tf.Tensor2D } {
  const [B, T] = ids.shape;
  const d = policy.config.dModel;
  return tf.tidy(() => {
    const hidden = policy.hidden(ids); // (B·T, d), before the final layer norm
    const logProbs = tokenLogProbsFromHidden(policy, hidden, ids, scored);
    const g = policy.params.get("lnf.g");
    const b = policy.params.get("lnf.b");
    if (!g || !b) throw new Error("logProbsAndValues: the policy has no final layer norm (lnf.g, lnf.b)");
    const h = tf.slice(hidden.reshape([B, T, d]), [0, 0, 0], [B, T - 1, d]).reshape([B * (T - 1), d]) as tf.Tensor2D;
    const values = tf
      .add(tf.matMul(layerNorm(h, g, b), head.weight as tf.Tensor2D), head.bias)
      .reshape([B, T - 1]) as tf.Tensor2D;
    return { logProbs, values };
  });
}
