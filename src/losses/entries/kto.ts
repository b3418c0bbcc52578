// "kto": Kahneman–Tversky Optimisation on unpaired judgements (prefopt's ktoLoss).
import { ktoLoss } from "../kto";
import { sigmoid } from "../math64";
import { registerLoss } from "../registry";

/**
 * ktoLoss (src/losses/kto.ts, Ethayarajh et al. 2024 Eq. 8): desirable λ_D(1 − σ(β(Δ − z0))), undesirable
 * λ_U(1 − σ(β(z0 − Δ))), z0 held constant. The batch gives z0 or the mismatched pairs to estimate it. The
 * desirable:undesirable weight ratio is not checked per batch here: trainers check the dataset once.
 */
export const ktoEntry = registerLoss({
  name: "kto",
  summary: "KTO: λ_D(1 − σ(β(Δ − z0))) for desirable, λ_U(1 − σ(β(z0 − Δ))) for undesirable responses",
  citation:
    "Ethayarajh et al. 2024, KTO: Model Alignment as Prospect Theoretic Optimization, Eq. 8; HALOs kto loss; TRL KTOTrainer",
  data: "unpaired",
  needsReference: true,
  lengths: "no",
  options: { beta: true, desirableWeight: true, undesirableWeight: true },
  loss(batch, o) {
    const out = ktoLoss(batch.policy, batch.ref, batch.desirable, {
      beta: o.beta,
      desirableWeight: o.desirableWeight,
      undesirableWeight: o.undesirableWeight,
      z0: batch.z0,
      klPolicyLogps: batch.klPolicy,
      klRefLogps: batch.klRef,
      checkWeightRatio: false,
    });
    return {
      losses: out.losses,
      chosenRewards: out.chosenRewards,
      rejectedRewards: out.rejectedRewards,
      extras: { kl: out.kl },
    };
  },
  twin(b, o) {
    const n = b.policy.length;
    const out = { losses: new Float64Array(n), dPolicy: new Float64Array(n) };
    const beta = o.beta;
    for (let i = 0; i < n; i++) {
      const h = b.policy[i] - b.ref[i];
      const w = b.desirable[i] ? o.desirableWeight : o.undesirableWeight;
      const s = sigmoid(b.desirable[i] ? beta * (h - b.z0) : beta * (b.z0 - h)); // σ(β·(signed margin))
      out.losses[i] = w * (1 - s);
      out.dPolicy[i] = (b.desirable[i] ? -1 : 1) * w * beta * s * (1 - s);
    }
    return out;
  },
});
