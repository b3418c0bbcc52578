// prefopt's "dpo": dpoLoss, one name for TRL's sigmoid, robust and hinge chosen by `variant`.
import * as tf from "@tensorflow/tfjs";
import { dpoLoss } from "../dpo";
import { logSigmoid, sigmoid } from "../math64";
import { pairGrad, pairTensors, withNll, withNll64 } from "../pairCommon";
import { registerLoss } from "../registry";

/** The float64 twin of dpoLoss at the margin h: [loss, dloss/dh] (ε·log σ(−βh) dropped at ε = 0, so h = ±∞ is finite). */
export function dpoMargin64(h: number, beta: number, eps: number, variant: string): [number, number] {
  const z = beta * h;
  if (variant === "hinge") return z < 1 ? [1 - z, -beta] : [0, 0];
  const [lossW, gW] = [-logSigmoid(z), -beta * sigmoid(-z)]; // −log σ(βh) and its derivative
  if (eps === 0) return [lossW, gW];
  const [lossL, gL] = [-logSigmoid(-z), beta * sigmoid(z)]; // −log σ(−βh)
  if (variant === "robust")
    return [((1 - eps) * lossW - eps * lossL) / (1 - 2 * eps), ((1 - eps) * gW - eps * gL) / (1 - 2 * eps)];
  return [(1 - eps) * lossW + eps * lossL, (1 - eps) * gW + eps * gL];
}

/** dpoMargin64 with dpoLoss's options: [loss, dloss/dh] at the margin h (for notebooks' gradient-weight plots). */
export function dpoPair(
  h: number,
  o: { beta: number; labelSmoothing?: number; variant?: "sigmoid" | "robust" | "hinge" },
): [number, number] {
  return dpoMargin64(h, o.beta, o.labelSmoothing ?? 0, o.variant ?? "sigmoid");
}

/** dpoLoss (src/losses/dpo.ts): variant sigmoid = TRL "sigmoid", robust = "robust", hinge = "hinge". */
export const dpoEntry = registerLoss({
  name: "dpo",
  summary: "DPO with variant sigmoid (cDPO's ε), robust or hinge: prefopt's dpoLoss",
  citation:
    "Rafailov et al. 2023, DPO, Eq. 7; Mitchell 2023 (cDPO); Chowdhury et al. 2024 (robust); Zhao et al. 2023 (hinge)",
  data: "pairs",
  needsReference: true,
  lengths: "optional",
  options: { beta: true, labelSmoothing: true, variant: true, referenceFree: true, rpoAlpha: true },
  check: (o) =>
    o.variant === "hinge" && o.labelSmoothing !== 0
      ? { option: "labelSmoothing", problem: "is not used by variant hinge; leave it at 0" }
      : undefined,
  loss(batch, o) {
    return tf.tidy(() => {
      const t = pairTensors("dpo", batch, o, { reference: true, lengths: "optional" });
      const out = dpoLoss(t.pc, t.pr, t.rc, t.rr, {
        beta: o.beta,
        labelSmoothing: o.labelSmoothing,
        variant: o.variant,
      });
      return { ...out, losses: withNll(out.losses, t, o), extras: {} };
    });
  },
  twin(b, o) {
    const n = b.policyChosen.length;
    const g = pairGrad(n);
    const free = o.referenceFree === true;
    for (let i = 0; i < n; i++) {
      const h = b.policyChosen[i] - b.policyRejected[i] - (free ? 0 : b.refChosen[i] - b.refRejected[i]);
      const [v, d] = dpoMargin64(h, o.beta, o.labelSmoothing, o.variant);
      [g.losses[i], g.dChosen[i], g.dRejected[i]] = [v, d, -d];
    }
    return withNll64(b, o, g);
  },
});
