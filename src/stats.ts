// Statistics over seeds: mean, sample standard deviation and Student-t confidence intervals.
//
// With n seeds the 95% interval for the mean is  x̄ ± t_{0.975, n−1} · s/√n  (s with n−1 in the
// denominator). The t quantile comes from the regularised incomplete beta function:
//   P(T ≤ t) = 1 − ½ I_{ν/(ν+t²)}(ν/2, ½)  for t ≥ 0  (Abramowitz & Stegun 26.7.1),
// inverted by bisection, so no table is needed and any ν > 0 works.

/** log Γ(x) for x > 0 (Lanczos approximation, g = 7, 9 terms; ~1e-15 relative). */
export function logGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.abs(Math.sin(Math.PI * x))) - logGamma(1 - x);
  const z = x - 1;
  let a = c[0];
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += c[i] / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction for I_x(a, b) (modified Lentz), valid for x < (a+1)/(a+b+2). */
function betaContinuedFraction(x: number, a: number, b: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 500; m++) {
    const m2 = 2 * m;
    let aa = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    aa = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + aa * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + aa / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return h;
}

/** The regularised incomplete beta function I_x(a, b), for 0 ≤ x ≤ 1 and a, b > 0. */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  if (x < (a + 1) / (a + b + 2)) return (front * betaContinuedFraction(x, a, b)) / a;
  return 1 - (front * betaContinuedFraction(1 - x, b, a)) / b;
}

/** CDF of Student's t distribution with ν degrees of freedom. */
export function studentTCdf(t: number, nu: number): number {
  const tail = 0.5 * incompleteBeta(nu / (nu + t * t), nu / 2, 0.5);
  return t >= 0 ? 1 - tail : tail;
}

/** The p-quantile of Student's t with ν > 0 degrees of freedom (bisection to ~1e-12). */
export function studentTQuantile(p: number, nu: number): number {
  if (!(p > 0 && p < 1)) throw new Error(`studentTQuantile: p must be in (0, 1), got ${p}`);
  if (!(nu > 0)) throw new Error(`studentTQuantile: degrees of freedom must be > 0, got ${nu}`);
  if (p < 0.5) return -studentTQuantile(1 - p, nu);
  let lo = 0;
  let hi = 1;
  while (studentTCdf(hi, nu) < p) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-12 * Math.max(1, hi); i++) {
    const mid = 0.5 * (lo + hi);
    if (studentTCdf(mid, nu) < p) lo = mid;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}

export interface SeedStats {
  /** Number of finite values the statistics use. */
  n: number;
  /** Values that were NaN or ±Infinity (a diverged run): counted, never averaged in. */
  nonFinite: number;
  mean: number;
  /** Sample standard deviation (n − 1); NaN when n < 2. */
  sd: number;
  /** Half-width of the two-sided confidence interval, t_{(1+level)/2, n−1} · sd/√n; NaN when n < 2. */
  ciHalf: number;
  ciLow: number;
  ciHigh: number;
}

/** Mean, sd and Student-t confidence interval (default 95%) of the finite values in `values`. */
export function seedStats(values: number[], level = 0.95): SeedStats {
  const finite = values.filter((v) => Number.isFinite(v));
  const n = finite.length;
  const mean = n === 0 ? NaN : finite.reduce((a, b) => a + b, 0) / n;
  const sd = n < 2 ? NaN : Math.sqrt(finite.reduce((s, v) => s + (v - mean) * (v - mean), 0) / (n - 1));
  const ciHalf = n < 2 ? NaN : studentTQuantile((1 + level) / 2, n - 1) * (sd / Math.sqrt(n));
  return { n, nonFinite: values.length - n, mean, sd, ciHalf, ciLow: mean - ciHalf, ciHigh: mean + ciHalf };
}
