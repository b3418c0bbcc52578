// ORPO (TRL's ORPOTrainer): the odds-ratio term on average log-probs, plus the chosen NLL.
import * as tf from "@tensorflow/tfjs";
import { logSigmoid } from "../../ops";
import { log1mexp, logSigmoid as ls, sigmoid } from "../math64";
import { LOG1MEXP_MAX, log1mexpTf, pairGrad, pairTensors, withNll, withNll64 } from "../pairCommon";
import { registerLoss } from "../registry";
import { stopGradient } from "../common";

/**
 * With p̄ = log π(y)/|y| (average log-prob, clamped at −1e-6 so that 1 − e^p̄ > 0) and the log odds
 * lo(p̄) = p̄ − log(1 − e^p̄):  −β log σ(lo(p̄_w) − lo(p̄_l)) + rpoAlpha · NLL(y_w), rpoAlpha defaulting to 1
 * (ORPO is NLL + λ·L_OR; TRL's beta is λ). dlo/dp̄ = 1/(1 − e^p̄).
 */
export const orpoLoss = registerLoss({
  name: "orpo",
  summary: "ORPO: −β log σ(log odds(y_w) − log odds(y_l)) on average log-probs, + NLL(y_w)",
  citation:
    "Hong et al. 2024, ORPO: Monolithic Preference Optimization without Reference Model, L_ORPO = L_SFT + λ·L_OR with L_OR = −log σ(log odds ratio); TRL ORPOTrainer.odds_ratio_loss",
  data: "pairs",
  needsReference: false,
  lengths: "required",
  batchCoupled: true,
  options: { beta: true, rpoAlpha: { default: 1 } },
  loss(batch, o) {
    return tf.tidy(() => {
      const t = pairTensors("orpo", batch, o, { reference: false, lengths: "required" });
      const beta = o.beta;
      const [aw, al] = [tf.minimum(tf.div(t.pc, t.lc!), LOG1MEXP_MAX), tf.minimum(tf.div(t.pr, t.lr!), LOG1MEXP_MAX)];
      const lor = tf.sub(tf.sub(aw, log1mexpTf(aw)), tf.sub(al, log1mexpTf(al)));
      const ratio = logSigmoid(lor);
      const losses = withNll(tf.mul(ratio, -beta), t, o);
      return {
        losses,
        chosenRewards: stopGradient(tf.mul(aw, beta)),
        rejectedRewards: stopGradient(tf.mul(al, beta)),
        extras: { log_odds_chosen: stopGradient(lor), log_odds_ratio: stopGradient(ratio) },
      };
    });
  },
  twin(b, o) {
    const n = b.policyChosen.length;
    const g = pairGrad(n);
    const beta = o.beta;
    for (let i = 0; i < n; i++) {
      const [rw, rl] = [b.policyChosen[i] / b.chosenLengths[i], b.policyRejected[i] / b.rejectedLengths[i]];
      const [aw, al] = [Math.min(rw, LOG1MEXP_MAX), Math.min(rl, LOG1MEXP_MAX)];
      const lor = aw - log1mexp(aw) - (al - log1mexp(al));
      const dLor = beta * sigmoid(-lor); // −∂/∂lor of −β log σ(lor), sign applied below
      g.losses[i] = -beta * ls(lor);
      g.dChosen[i] = rw < LOG1MEXP_MAX ? -dLor / (1 - Math.exp(aw)) / b.chosenLengths[i] : 0;
      g.dRejected[i] = rl < LOG1MEXP_MAX ? dLor / (1 - Math.exp(al)) / b.rejectedLengths[i] : 0;
    }
    return withNll64(b, o, g);
  },
});
