// Float64 scalar building blocks for the losses' twins (src/losses/entries/*.ts), each stable for any
// finite input. Derivatives are written next to the functions they differentiate.

/** σ(x) = 1/(1 + e^−x), without overflow on either side. */
export const sigmoid = (x: number): number => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x)));

/** softplus(x) = log(1 + e^x), stable: max(x, 0) + log1p(e^−|x|). d/dx = σ(x). */
export const softplus = (x: number): number => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x)));

/** log σ(x) = −softplus(−x). d/dx = σ(−x). */
export const logSigmoid = (x: number): number => -softplus(-x);

/**
 * log(1 − e^x) for x < 0, stable on both sides (Mächler 2012, "Accurately computing log(1 − exp(−|a|))"):
 * log(−expm1(x)) near 0, log1p(−e^x) far from it. d/dx = −e^x/(1 − e^x) = −1/expm1(−x).
 */
export const log1mexp = (x: number): number => (x > -Math.LN2 ? Math.log(-Math.expm1(x)) : Math.log1p(-Math.exp(x)));

/**
 * The label-smoothed logistic loss of a scaled margin z: −(1−ε) log σ(z) − ε log σ(−z) and its
 * derivative −(1−ε) σ(−z) + ε σ(z). ε = 0 is DPO's −log σ(z).
 */
export function smoothedLogistic(z: number, eps: number): [number, number] {
  return [-(1 - eps) * logSigmoid(z) - eps * logSigmoid(-z), -(1 - eps) * sigmoid(-z) + eps * sigmoid(z)];
}
