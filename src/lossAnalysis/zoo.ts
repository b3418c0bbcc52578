// The loss zoo: every registered pair loss (plus KTO on split pairs, cDPO, the f-divergences and the §4
// "naive" objective) under one β, in the order the notebook shows them. Built from listLossTypes(), so a
// newly registered pair loss joins the zoo without an edit here.
import "../losses/all";
import { getLoss, listLossTypes } from "../losses/registry";
import { F_DIVERGENCES } from "../losses/options";
import type { PairDataset } from "../bandit/datasets";
import type { PolicyTable } from "../bandit/tabular";
import type { ObjectiveSpec } from "./objective";

export interface ZooMember extends ObjectiveSpec {
  /** Unique label (the loss name, or name + the option that distinguishes it). */
  label: string;
  options: Record<string, unknown>;
  /** What the loss is built from: "margin" φ(βh), "log-ratios" a and b separately, "policy-only" (no reference), "unpaired", "none". */
  family: string;
}

/** Registry names the zoo leaves out, and why (shown in the notebook). */
export const ZOO_SKIPPED: Record<string, string> = {
  dpo: "prefopt's dpo is sigmoid / robust / hinge by its variant option: the same three entries (checked equal)",
};

/**
 * One member per registered pair loss with `beta` where the loss takes it (and the registry's other
 * defaults), then: sigmoid with ε = 0.1 (cDPO), robust with ε = 0.1 (robust at ε = 0 is sigmoid), sigmoid
 * with each non-reverse f-divergence, KTO on the pairs split into judgements, and `naive` (DPO without the weight).
 */
export function lossZoo(beta: number, eps = 0.1): ZooMember[] {
  const out: ZooMember[] = [];
  const withBeta = (name: string, extra: Record<string, unknown> = {}) =>
    "beta" in getLoss(name).options ? { beta, ...extra } : { ...extra };
  for (const info of listLossTypes({ data: "pairs" })) {
    if (info.name in ZOO_SKIPPED) continue;
    const family = !info.needsReference
      ? "policy-only"
      : ["nca_pair", "bco_pair", "sppo_hard", "apo_zero", "apo_down"].includes(info.name)
        ? "log-ratios"
        : "margin";
    if (info.name === "robust")
      out.push({
        label: `robust ε=${eps}`,
        lossType: "robust",
        options: withBeta("robust", { labelSmoothing: eps }),
        family,
      });
    else out.push({ label: info.name, lossType: info.name, options: withBeta(info.name), family });
    if (info.name === "sigmoid") {
      out.push({
        label: `cDPO ε=${eps}`,
        lossType: "sigmoid",
        options: withBeta("sigmoid", { labelSmoothing: eps }),
        family,
      });
      for (const f of F_DIVERGENCES.filter((d) => d !== "reverse_kl")) {
        // α = ½ (TRL's default α = 1 is forward KL again).
        const extra = f === "alpha_divergence" ? { fDivergence: f, fAlphaCoef: 0.5 } : { fDivergence: f };
        out.push({
          label: f === "alpha_divergence" ? "f-DPO α=0.5" : `f-DPO ${f}`,
          lossType: "sigmoid",
          options: withBeta("sigmoid", extra),
          family,
        });
      }
    }
  }
  out.push({ label: "kto (split pairs)", lossType: "kto", options: { beta }, family: "unpaired" });
  out.push({ label: "naive (no weight)", lossType: "naive", options: { beta }, family: "none" });
  return out;
}

/**
 * The DPO paper's §4 weighting on a dataset at a policy: each pair's weight σ(r̂_l − r̂_w), r̂ = β·log π/π_ref,
 * split by whether the implicit rewards order the pair wrongly (r̂_l > r̂_w). Returns the mis-ordered pairs'
 * share of the count and of the total weight (the gradient's magnitude per pair is β·weight·|∇h|).
 */
export function dpoWeightShares(
  policy: PolicyTable,
  ref: PolicyTable,
  data: PairDataset,
  beta: number,
): {
  misordered: number;
  countShare: number;
  weightShare: number;
  meanWeightMisordered: number;
  meanWeightOrdered: number;
} {
  let [nMis, wMis, wAll] = [0, 0, 0];
  for (const p of data.pairs) {
    const h =
      Math.log(policy[p.prompt][p.chosen] / ref[p.prompt][p.chosen]) -
      Math.log(policy[p.prompt][p.rejected] / ref[p.prompt][p.rejected]);
    const w = 1 / (1 + Math.exp(beta * h)); // σ(−βh) = σ(r̂_l − r̂_w)
    wAll += w;
    if (h < 0) {
      nMis += 1;
      wMis += w;
    }
  }
  const n = data.pairs.length;
  return {
    misordered: nMis,
    countShare: nMis / n,
    weightShare: wMis / wAll,
    meanWeightMisordered: nMis > 0 ? wMis / nMis : NaN,
    meanWeightOrdered: n > nMis ? (wAll - wMis) / (n - nMis) : NaN,
  };
}
