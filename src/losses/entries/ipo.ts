// TRL loss_type "ipo": IPO on per-token average log-ratios (prefopt's ipoLoss with lengthNormalize).
import * as tf from "@tensorflow/tfjs";
import { ipoBetaProblem, ipoLoss } from "../ipo";
import { pairGrad, pairTensors, withNll, withNll64 } from "../pairCommon";
import { registerLoss } from "../registry";

/**
 * (Δ − 1/(2β))², β = IPO's τ. Δ = a/|y_w| − b/|y_l| (lengthNormalize, the default: TRL's form, which TRL
 * says the IPO authors confirmed produced the paper's results) or a − b (summed log-ratios: Eq. 17 as
 * written, and prefopt's ipoLoss default; see src/losses/ipo.ts). ∂/∂a = 2(Δ − 1/(2β))/|y_w|.
 */
export const ipoEntry = registerLoss({
  name: "ipo",
  summary: "IPO: (h − 1/(2τ))², h on per-token average log-ratios (TRL) or summed (lengthNormalize: false)",
  citation:
    "Azar et al. 2023, A General Theoretical Paradigm to Understand Learning from Human Preferences, Eq. 17; TRL dpo_loss loss_type='ipo'",
  data: "pairs",
  needsReference: true,
  lengths: "optional",
  options: { beta: true, lengthNormalize: true, referenceFree: true, rpoAlpha: true },
  check(o) {
    const problem = ipoBetaProblem(o.beta);
    return problem ? { option: "beta", problem } : undefined;
  },
  loss(batch, o) {
    return tf.tidy(() => {
      const t = pairTensors("ipo", batch, o, { reference: true, lengths: "optional" });
      if (o.lengthNormalize && t.lc === null) {
        throw new Error(
          'preferenceLoss("ipo"): lengthNormalize (the default, TRL\'s per-token IPO) needs batch.chosenLengths and batch.rejectedLengths; pass them, or lengthNormalize: false for summed log-probs',
        );
      }
      const out = ipoLoss(t.pc, t.pr, t.rc, t.rr, {
        beta: o.beta,
        lengthNormalize: o.lengthNormalize,
        chosenLengths: t.lc ?? undefined,
        rejectedLengths: t.lr ?? undefined,
      });
      return { ...out, losses: withNll(out.losses, t, o), extras: {} };
    });
  },
  twin(b, o) {
    const n = b.policyChosen.length;
    const g = pairGrad(n);
    const free = o.referenceFree === true;
    const target = 1 / (2 * o.beta);
    for (let i = 0; i < n; i++) {
      const [lw, ll] = o.lengthNormalize ? [b.chosenLengths[i], b.rejectedLengths[i]] : [1, 1];
      const a = b.policyChosen[i] - (free ? 0 : b.refChosen[i]);
      const c = b.policyRejected[i] - (free ? 0 : b.refRejected[i]);
      const d = a / lw - c / ll - target;
      g.losses[i] = d * d;
      g.dChosen[i] = (2 * d) / lw;
      g.dRejected[i] = (-2 * d) / ll;
    }
    return withNll64(b, o, g);
  },
});
