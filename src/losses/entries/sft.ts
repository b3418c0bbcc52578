// TRL loss_type "sft": the chosen completions' NLL alone, i.e. Preferred-FT of the DPO paper.
import * as tf from "@tensorflow/tfjs";
import { chosenNll, chosenNll64, pairGrad, pairTensors } from "../pairCommon";
import { registerLoss } from "../registry";

/**
 * Preferred-FT (Rafailov et al. 2023 §6.1: supervised fine-tuning on the chosen completions only), TRL's
 * "sft": per-example values whose batch mean is the token-mean cross-entropy Σ_i −log π(y_w,i) / Σ_i |y_w,i|,
 * i.e. −log π(y_w,i)·B/Σ_j|y_w,j| (see chosenNll). Without token counts, −log π(y_w,i): the sequence NLL
 * (the bandit's responses are single tokens). The rejected completions and the reference are unused;
 * rewards are zeros because this entry takes no reference (TRL's loss_type="sft" still logs β·log-ratios
 * against its reference model; pair `sft` with a reference-based type in a loss_weights list to log those).
 */
export const sftLoss = registerLoss({
  name: "sft",
  aliases: ["preferred-ft"],
  summary: "Preferred-FT: NLL of the chosen completions (token mean over the batch)",
  citation:
    "Rafailov et al. 2023, DPO, §6.1 baseline 'Preferred-FT'; TRL dpo_loss loss_type='sft' (MPO's generation term)",
  data: "pairs",
  needsReference: false,
  lengths: "optional",
  batchCoupled: true,
  options: {},
  loss(batch, o) {
    return tf.tidy(() => {
      const t = pairTensors("sft", batch, o, { reference: false, lengths: "optional" });
      return {
        losses: chosenNll(t.pc, t.lc),
        chosenRewards: tf.zerosLike(t.pc),
        rejectedRewards: tf.zerosLike(t.pr),
        extras: {},
      };
    });
  },
  twin(b) {
    const g = pairGrad(b.policyChosen.length);
    const { nll, slope } = chosenNll64(b);
    g.losses.set(nll);
    g.dChosen.fill(slope);
    return g;
  },
});
