// What the pair losses share: input checks, log-ratios, f-divergence scores, rewards and the chosen-NLL
// term, each on tensors and in float64; and marginEntry, which builds a registry entry for every loss of
// the form φ(β·Δ) from its φ alone (sigmoid, robust, hinge, EXO, DiscoPOP, IPO, SimPO, CPO, …).
import * as tf from "@tensorflow/tfjs";
import { checkSameShape, stopGradient } from "./common";
import {
  requiredOption,
  sharedOptions,
  type FDivergence,
  type LossOptionName,
  type OptionValues,
  type SharedOptions,
} from "./options";
import type { LossOutput, LossState, OptionDecl, PairBatch, PairBatch64, PairGrad64, PairLossEntry } from "./registry";
import { logSigmoid as logSigmoid64, sigmoid as sigmoid64 } from "./math64";
import { logSigmoid } from "../ops";

/** exp(x) with x clamped at 80 first, as TRL's cap_exp does (float32's largest exponent is ~88.7). */
export const EXP_CAP = 80;

/** The batch's tensors, checked: reference log-probs are zeros when absent or referenceFree. */
export interface PairTensors {
  pc: tf.Tensor;
  pr: tf.Tensor;
  rc: tf.Tensor;
  rr: tf.Tensor;
  /** Token counts (same shape as the log-probs), or null when not given. */
  lc: tf.Tensor | null;
  lr: tf.Tensor | null;
  hasReference: boolean;
}

/** Shape and presence checks shared by every pair loss. Tensors it creates belong to the caller's tidy. */
export function pairTensors(
  name: string,
  batch: PairBatch,
  o: SharedOptions,
  needs: { reference: boolean; lengths: "required" | "optional" | "no" },
): PairTensors {
  const where = `preferenceLoss("${name}")`;
  const { policyChosen: pc, policyRejected: pr } = batch;
  if (!pc || !pr) throw new Error(`${where}: batch.policyChosen and batch.policyRejected are required`);
  const useRef = needs.reference && o.referenceFree !== true;
  const hasRef = batch.refChosen != null && batch.refRejected != null;
  if (useRef && !hasRef)
    throw new Error(`${where}: batch.refChosen and batch.refRejected are required (or set referenceFree: true)`);
  checkSameShape(where, {
    policyChosen: pc,
    policyRejected: pr,
    refChosen: useRef ? batch.refChosen : null,
    refRejected: useRef ? batch.refRejected : null,
  });
  let lc: tf.Tensor | null = null;
  let lr: tf.Tensor | null = null;
  const given = batch.chosenLengths != null && batch.rejectedLengths != null;
  if (needs.lengths === "required" && !given)
    throw new Error(`${where}: batch.chosenLengths and batch.rejectedLengths are required (completion token counts)`);
  if (needs.lengths !== "no" && given) {
    lc = lengthTensor(where, "chosenLengths", batch.chosenLengths!, pc.shape);
    lr = lengthTensor(where, "rejectedLengths", batch.rejectedLengths!, pr.shape);
  }
  const zeros = useRef ? null : tf.zerosLike(pc);
  return {
    pc,
    pr,
    rc: useRef ? batch.refChosen! : zeros!,
    rr: useRef ? batch.refRejected! : zeros!,
    lc,
    lr,
    hasReference: useRef,
  };
}

/**
 * Token counts as a float32 tensor of exactly the log-probs' shape. A number[] must match a rank-1 batch;
 * a tensor must have the log-probs' shape (a transposed or reshaped tensor of the same size is an error,
 * not a silent permutation). Every count must be > 0.
 */
export function lengthTensor(where: string, field: string, lengths: tf.Tensor | number[], shape: number[]): tf.Tensor {
  const got = Array.isArray(lengths) ? [lengths.length] : lengths.shape;
  if (got.length !== shape.length || got.some((d, i) => d !== shape[i])) {
    throw new Error(`${where}: ${field} has shape [${got}], the log-probs have shape [${shape}]`);
  }
  const values = Array.isArray(lengths) ? lengths : Array.from(lengths.dataSync());
  const bad = values.findIndex((n) => !(Number.isFinite(n) && n > 0));
  if (bad >= 0) throw new Error(`${where}: ${field}[${bad}] = ${values[bad]}; token counts must be > 0`);
  return Array.isArray(lengths) ? tf.tensor1d(lengths, "float32") : tf.cast(lengths, "float32");
}

/**
 * f'(u) of the f-divergence at u = π/π_ref, from x = log u, up to an additive constant (which cancels in
 * every margin s(y_w) − s(y_l)): the per-response score of f-DPO (Wang et al. 2023, "Beyond Reverse KL",
 * Table 1 and Eq. 8; TRL dpo_loss's f_divergence_type):
 *   reverse_kl  x                    forward_kl  −e^{−x}
 *   js_divergence  log σ(x)  (= log(2u/(1+u)) − log 2)     alpha_divergence  −e^{−αx}/α  (= (1 − u^{−α})/α − 1/α)
 * Exponents are clamped at EXP_CAP (TRL's cap_exp), so the score and its gradient stay finite in float32.
 */
export function fScore(x: tf.Tensor, f: FDivergence, alpha: number): tf.Tensor {
  if (f === "reverse_kl") return x;
  if (f === "js_divergence") return logSigmoid(x);
  const a = f === "forward_kl" ? 1 : alpha;
  return tf.div(tf.neg(tf.exp(tf.minimum(tf.mul(x, -a), EXP_CAP))), a);
}

/** fScore in float64 with its derivative ds/dx. */
export function fScore64(x: number, f: FDivergence, alpha: number): [number, number] {
  if (f === "reverse_kl") return [x, 1];
  if (f === "js_divergence") return [logSigmoid64(x), sigmoid64(-x)];
  const a = f === "forward_kl" ? 1 : alpha;
  const capped = -a * x > EXP_CAP;
  const e = Math.exp(capped ? EXP_CAP : -a * x);
  return [-e / a, capped ? 0 : e];
}

/** β(log π − log π_ref) of chosen and rejected, no gradient (β log π without a reference). */
export function pairRewards(t: PairTensors, beta: number): { chosenRewards: tf.Tensor; rejectedRewards: tf.Tensor } {
  return {
    chosenRewards: stopGradient(tf.mul(tf.sub(t.pc, t.rc), beta)),
    rejectedRewards: stopGradient(tf.mul(tf.sub(t.pr, t.rr), beta)),
  };
}

/**
 * The chosen completions' negative log-likelihood as per-example values whose mean over the last axis is
 * TRL's token-mean cross-entropy Σ_i −log π(y_w,i) / Σ_i |y_w,i| (its `nll_loss`, as used by rpo_alpha,
 * CPO and ORPO): nll_i = −log π(y_w,i) · B / Σ_j |y_w,j|. Without token counts each completion counts as
 * one unit: nll_i = −log π(y_w,i), the sequence NLL.
 */
export function chosenNll(pc: tf.Tensor, lc: tf.Tensor | null): tf.Tensor {
  if (lc === null) return tf.neg(pc);
  const n = pc.shape[pc.rank - 1];
  return tf.div(tf.mul(tf.neg(pc), n), tf.sum(lc, -1, true));
}

/** chosenNll in float64: values and the constant ∂nll_i/∂pc_i (= −B/Σ|y_w|). */
export function chosenNll64(b: PairBatch64): { nll: Float64Array; slope: number } {
  const n = b.policyChosen.length;
  let tokens = 0;
  for (let i = 0; i < n; i++) tokens += b.chosenLengths[i];
  const slope = -n / tokens;
  return { nll: b.policyChosen.map((p) => p * slope), slope };
}

/** Adds rpoAlpha · chosenNll to the losses (a no-op at rpoAlpha 0). */
export function withNll(losses: tf.Tensor, t: PairTensors, o: SharedOptions): tf.Tensor {
  const alpha = o.rpoAlpha ?? 0;
  return alpha === 0 ? losses : tf.add(losses, tf.mul(chosenNll(t.pc, t.lc), alpha));
}

/** The float64 side of withNll: adds the term and its derivative in place. */
export function withNll64(b: PairBatch64, o: SharedOptions, g: PairGrad64): PairGrad64 {
  const alpha = o.rpoAlpha ?? 0;
  if (alpha === 0) return g;
  const { nll, slope } = chosenNll64(b);
  for (let i = 0; i < nll.length; i++) {
    g.losses[i] += alpha * nll[i];
    g.dChosen[i] += alpha * slope;
  }
  return g;
}

/** A fresh PairGrad64 of n examples. */
export function pairGrad(n: number): PairGrad64 {
  return { losses: new Float64Array(n), dChosen: new Float64Array(n), dRejected: new Float64Array(n) };
}

/** Where the margin Δ of a φ(βΔ) loss comes from. */
export type MarginSource =
  /** s(log π(y_w)/π_ref(y_w)) − s(log π(y_l)/π_ref(y_l)), s the f-divergence score (reverse KL: DPO's h). */
  | "logratio"
  /** The log-ratios divided by their token counts (per-token averages): TRL's ipo, sigmoid_norm. */
  | "averageLogratio"
  /** log π(y_w) − log π(y_l), no reference: CPO. */
  | "policy"
  /** log π(y_w)/|y_w| − log π(y_l)/|y_l|, no reference: SimPO. */
  | "averagePolicy";

export interface MarginSpec<K extends LossOptionName> {
  name: string;
  aliases?: string[];
  summary: string;
  citation: string;
  margin: MarginSource;
  /** Accepts the fDivergence / fAlphaCoef options (logratio margins only). */
  fDivergence?: boolean;
  /** The options it takes (beta among them): the entry's OptionDecl, which types `o` below. */
  options: OptionDecl<K>;
  check?(o: OptionValues<K>): { option: string; problem: string } | undefined;
  /** φ on z = βΔ, elementwise (tfjs). */
  phi(z: tf.Tensor, o: OptionValues<K>): tf.Tensor;
  /** φ and dφ/dz in float64. */
  phi64(z: number, o: OptionValues<K>): [number, number];
  /** Lengths when the margin does not need them: "optional" when only rpoAlpha's NLL uses them. */
  lengths?: "optional" | "no";
}

/** A registry entry for a loss φ(βΔ) (+ rpoAlpha · NLL when it takes rpoAlpha). */
export function marginEntry<K extends LossOptionName>(spec: MarginSpec<K>): PairLossEntry<K> {
  const averaged = spec.margin === "averageLogratio" || spec.margin === "averagePolicy";
  const needsReference = spec.margin === "logratio" || spec.margin === "averageLogratio";
  const lengths = averaged ? "required" : (spec.lengths ?? ("rpoAlpha" in spec.options ? "optional" : "no"));
  const needs = { reference: needsReference, lengths } as const;
  return {
    name: spec.name,
    aliases: spec.aliases,
    summary: spec.summary,
    citation: spec.citation,
    data: "pairs",
    needsReference,
    lengths,
    options: spec.options,
    check: spec.check,
    loss(batch: PairBatch, o: OptionValues<K>): LossOutput {
      const so = sharedOptions(o);
      return tf.tidy(() => {
        const t = pairTensors(spec.name, batch, so, needs);
        const beta = requiredOption(so, "beta");
        let delta: tf.Tensor;
        if (spec.margin === "logratio") {
          const f = so.fDivergence ?? "reverse_kl";
          delta =
            f === "reverse_kl"
              ? tf.sub(tf.sub(t.pc, t.pr), tf.sub(t.rc, t.rr)) // TRL's order: (π_w − π_l) − (ref_w − ref_l)
              : tf.sub(
                  fScore(tf.sub(t.pc, t.rc), f, so.fAlphaCoef ?? 1),
                  fScore(tf.sub(t.pr, t.rr), f, so.fAlphaCoef ?? 1),
                );
        } else if (spec.margin === "averageLogratio") {
          delta = tf.sub(tf.div(tf.sub(t.pc, t.rc), t.lc!), tf.div(tf.sub(t.pr, t.rr), t.lr!));
        } else if (spec.margin === "policy") {
          delta = tf.sub(t.pc, t.pr);
        } else {
          delta = tf.sub(tf.div(t.pc, t.lc!), tf.div(t.pr, t.lr!));
        }
        const losses = withNll(spec.phi(tf.mul(delta, beta), o), t, so);
        // SimPO's rewards are β times the average log-probs (TRL's CPOTrainer averages them for simpo).
        const rewards =
          spec.margin === "averagePolicy"
            ? pairRewards({ ...t, pc: tf.div(t.pc, t.lc!), pr: tf.div(t.pr, t.lr!) }, beta)
            : pairRewards(t, beta);
        return { losses, ...rewards, extras: {} };
      });
    },
    twin(b: PairBatch64, o: OptionValues<K>): PairGrad64 {
      const so = sharedOptions(o);
      const n = b.policyChosen.length;
      const g = pairGrad(n);
      const beta = requiredOption(so, "beta");
      const f = so.fDivergence ?? "reverse_kl";
      const free = !needsReference || so.referenceFree === true;
      for (let i = 0; i < n; i++) {
        const a = b.policyChosen[i] - (free ? 0 : b.refChosen[i]);
        const c = b.policyRejected[i] - (free ? 0 : b.refRejected[i]);
        let delta: number;
        let dA: number; // ∂Δ/∂log π(y_w)
        let dB: number; // ∂Δ/∂log π(y_l)
        if (spec.margin === "logratio" || spec.margin === "policy") {
          const [sa, da] = fScore64(a, f, so.fAlphaCoef ?? 1);
          const [sb, db] = fScore64(c, f, so.fAlphaCoef ?? 1);
          [delta, dA, dB] = [sa - sb, da, -db];
        } else {
          [delta, dA, dB] = [
            a / b.chosenLengths[i] - c / b.rejectedLengths[i],
            1 / b.chosenLengths[i],
            -1 / b.rejectedLengths[i],
          ];
        }
        const [v, dv] = spec.phi64(beta * delta, o);
        g.losses[i] = v;
        g.dChosen[i] = dv * beta * dA;
        g.dRejected[i] = dv * beta * dB;
      }
      return withNll64(b, so, g);
    },
  };
}

export interface LogratioSpec<K extends LossOptionName> {
  name: string;
  summary: string;
  citation: string;
  /** The options it takes (beta among them): the entry's OptionDecl, which types `o` below. */
  options: OptionDecl<K>;
  createState?: () => LossState;
  /**
   * The loss from the log-ratios a = log π(y_w)/π_ref(y_w), b = log π(y_l)/π_ref(y_l) (tfjs), with `prepare`'s
   * constants (e.g. BCO's δ).
   */
  phi(a: tf.Tensor, b: tf.Tensor, o: OptionValues<K>, k: tf.Tensor | null): tf.Tensor;
  /** [loss, ∂/∂a, ∂/∂b] in float64 (k: row constant from prepare64). */
  phi64(a: number, b: number, o: OptionValues<K>, k: number): [number, number, number];
  /** A constant per batch row computed before the loss, no gradient (BCO's δ); may update `state`. */
  prepare?(t: PairTensors, o: OptionValues<K>, state?: LossState): tf.Tensor;
  prepare64?(b: PairBatch64, o: OptionValues<K>, state?: LossState): number;
  extras?: (k: tf.Tensor) => Record<string, tf.Tensor>;
  /** A check of the resolved options beyond each option's range (see LossEntry.check). */
  check?(o: OptionValues<K>): { option: string; problem: string } | undefined;
}

/** A registry entry for a loss of the two log-ratios separately (NCA, BCO, SPPO, APO), + rpoAlpha · NLL. */
export function logratioEntry<K extends LossOptionName>(spec: LogratioSpec<K>): PairLossEntry<K> {
  const needs = { reference: true, lengths: "optional" } as const;
  return {
    name: spec.name,
    summary: spec.summary,
    citation: spec.citation,
    data: "pairs",
    needsReference: true,
    lengths: "optional",
    batchCoupled: spec.prepare !== undefined,
    options: spec.options,
    createState: spec.createState,
    check: spec.check,
    loss(batch, o, state) {
      const so = sharedOptions(o);
      return tf.tidy(() => {
        const t = pairTensors(spec.name, batch, so, needs);
        const k = spec.prepare ? spec.prepare(t, o, state) : null;
        const losses = withNll(spec.phi(tf.sub(t.pc, t.rc), tf.sub(t.pr, t.rr), o, k), t, so);
        return {
          losses,
          ...pairRewards(t, requiredOption(so, "beta")),
          extras: k && spec.extras ? spec.extras(k) : {},
        };
      });
    },
    twin(b, o, state) {
      const so = sharedOptions(o);
      const n = b.policyChosen.length;
      const g = pairGrad(n);
      const free = so.referenceFree === true;
      const k = spec.prepare64 ? spec.prepare64(b, o, state) : 0;
      for (let i = 0; i < n; i++) {
        const a = b.policyChosen[i] - (free ? 0 : b.refChosen[i]);
        const c = b.policyRejected[i] - (free ? 0 : b.refRejected[i]);
        [g.losses[i], g.dChosen[i], g.dRejected[i]] = spec.phi64(a, c, o, k);
      }
      return withNll64(b, so, g);
    },
  };
}

/** log π values are clamped at this before log(1 − π): π = 1 exactly would make log(1 − π) = −∞. */
export const LOG1MEXP_MAX = -1e-6;

/**
 * log(1 − e^x) on tensors, for x clamped at LOG1MEXP_MAX: log(−expm1(x)) for x > −ln 2 (tfjs has no expm1:
 * a cubic series for x > −1e-3, relative error < 1e-10, else 1 − e^x), log1p(−e^x) below. Each branch
 * sees only inputs from its own domain, so the unused branch of tf.where never feeds NaN into gradients.
 */
export function log1mexpTf(x: tf.Tensor): tf.Tensor {
  const xc = tf.minimum(x, LOG1MEXP_MAX);
  const near = tf.maximum(xc, -Math.LN2);
  const tiny = tf.maximum(near, -1e-3);
  const series = tf.mul(tf.neg(tiny), tf.add(1, tf.mul(tiny, tf.add(0.5, tf.div(tiny, 6)))));
  // Branch masks by tf.step (zero gradient): tf.where's condition would need a gradient for tf.greater.
  const isTiny = tf.step(tf.add(near, 1e-3));
  const nearValue = tf.log(tf.add(tf.mul(isTiny, series), tf.mul(tf.sub(1, isTiny), tf.sub(1, tf.exp(near)))));
  const farValue = tf.log1p(tf.neg(tf.exp(tf.minimum(xc, -Math.LN2))));
  const isNear = tf.step(tf.add(xc, Math.LN2));
  return tf.add(tf.mul(isNear, nearValue), tf.mul(tf.sub(1, isNear), farValue));
}

/** Ascending sort along the last axis, differentiable (a gather by the sorting permutation). */
export function sortLastAxis(x: tf.Tensor): tf.Tensor {
  const n = x.shape[x.rank - 1];
  // The permutation as a fresh constant: indices that stay on the tape break gather's gradient.
  const order = tf.tidy(() => tf.topk(tf.neg(x), n).indices.dataSync());
  const orderT = tf.tensor(order, x.shape, "int32");
  if (x.rank === 1) return tf.gather(x, orderT);
  const rows = x.size / n;
  const offsets = tf.reshape(tf.mul(tf.range(0, rows, 1, "int32"), tf.scalar(n, "int32")), [
    ...x.shape.slice(0, -1),
    1,
  ]);
  return tf.reshape(tf.gather(tf.reshape(x, [-1]), tf.reshape(tf.add(orderT, offsets), [-1])), x.shape);
}

/** The permutation that sorts `x` ascending (ties by index). */
export function sortPermutation(x: ArrayLike<number>): number[] {
  return Array.from({ length: x.length }, (_, i) => i).sort((i, j) => x[i] - x[j] || i - j);
}
