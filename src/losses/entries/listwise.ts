// "listwise": Plackett–Luce DPO on full rankings (prefopt's listwiseDpoLoss).
import * as tf from "@tensorflow/tfjs";
import { listwiseDpoLoss } from "../listwise";
import { registerLoss } from "../registry";

/**
 * listwiseDpoLoss (src/losses/listwise.ts, Rafailov et al. 2023 App. A.3): −Σ_k log[e^{βu_k}/Σ_{j≥k} e^{βu_j}].
 * Rewards: the best response's as chosen, the worst's as rejected. The twin writes ∂/∂u_j for every j.
 */
export const listwiseEntry = registerLoss({
  name: "listwise",
  aliases: ["listwise-dpo"],
  summary: "listwise DPO: Plackett–Luce negative log-likelihood of the ranking under βu",
  citation: "Rafailov et al. 2023, DPO, Appendix A.3 (Plackett–Luce objective); Plackett 1975, Luce 1959",
  data: "rankings",
  needsReference: true,
  lengths: "no",
  options: { beta: true },
  loss(batch, o) {
    return tf.tidy(() => {
      const out = listwiseDpoLoss(batch.policy, batch.ref, { beta: o.beta });
      const n = out.rewards.shape[out.rewards.rank - 1];
      const at = (k: number) =>
        tf.squeeze(
          tf.slice(
            out.rewards,
            [...out.rewards.shape.slice(0, -1).map(() => 0), k],
            [...out.rewards.shape.slice(0, -1), 1],
          ),
          [out.rewards.rank - 1],
        );
      return { losses: out.losses, chosenRewards: at(0), rejectedRewards: at(n - 1), extras: {} };
    });
  },
  twin(b, o) {
    const n = b.n;
    const rows = b.policy.length / n;
    const beta = o.beta;
    const out = { losses: new Float64Array(rows), dPolicy: new Float64Array(b.policy.length) };
    for (let r = 0; r < rows; r++) {
      let loss = 0;
      for (let k = 0; k < n - 1; k++) {
        let max = -Infinity;
        for (let j = k; j < n; j++) max = Math.max(max, beta * (b.policy[r * n + j] - b.ref[r * n + j]));
        let z = 0;
        for (let j = k; j < n; j++) z += Math.exp(beta * (b.policy[r * n + j] - b.ref[r * n + j]) - max);
        const lse = max + Math.log(z);
        loss -= beta * (b.policy[r * n + k] - b.ref[r * n + k]) - lse;
        out.dPolicy[r * n + k] -= beta;
        for (let j = k; j < n; j++)
          out.dPolicy[r * n + j] += beta * Math.exp(beta * (b.policy[r * n + j] - b.ref[r * n + j]) - lse);
      }
      out.losses[r] = loss;
    }
    return out;
  },
});
