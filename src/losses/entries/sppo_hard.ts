// TRL loss_type "sppo_hard": Self-Play Preference Optimisation with hard win probabilities.
import * as tf from "@tensorflow/tfjs";
import { logratioEntry } from "../pairCommon";
import { registerLoss } from "../registry";
import { ipoBetaProblem } from "../ipo";

/**
 * (a − 1/(2β))² + (b + 1/(2β))², a and b the log-ratios: SPPO's square loss with P(y_w ≻ y_l) = 1 for the
 * winner and 0 for the loser (the paper's η is TRL's 1/β). ∂/∂a = 2(a − 1/(2β)), ∂/∂b = 2(b + 1/(2β)).
 */
export const sppoHardLoss = registerLoss(
  logratioEntry({
    name: "sppo_hard",
    summary: "SPPO (hard labels): (a − 1/(2β))² + (b + 1/(2β))²",
    citation:
      "Wu et al. 2024, Self-Play Preference Optimization for Language Model Alignment, Eq. 4.7 / Algorithm 1 with hard P; TRL dpo_loss loss_type='sppo_hard'",
    options: { beta: true, referenceFree: true, rpoAlpha: true },
    // Its (a − 1/(2β))² and (b + 1/(2β))² overflow float32 as IPO's does: the same smallest β (IPO_MIN_BETA).
    check(o) {
      const problem = ipoBetaProblem(o.beta, "sppo_hard");
      return problem ? { option: "beta", problem } : undefined;
    },
    phi: (a, b, o) => {
      const t = 0.5 / o.beta;
      return tf.add(tf.square(tf.sub(a, t)), tf.square(tf.add(b, t)));
    },
    phi64: (a, b, o) => {
      const t = 0.5 / o.beta;
      return [(a - t) ** 2 + (b + t) ** 2, 2 * (a - t), 2 * (b + t)];
    },
  }),
);
