// The one source of randomness in prefopt. Every sampler, initialiser and shuffle takes an `Rng` (or a
// seed that makes one), so the same seed gives the same numbers on every backend and machine.
//
// Generator: xoshiro128** (Blackman & Vigna, 2018), 32-bit state words, seeded through splitmix32 so that
// nearby seeds give unrelated streams. Period 2^128 − 1, passes BigCrush; plain JS integer arithmetic.

function splitmix32(state: number): () => number {
  let s = state >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** FNV-1a hash of a string to 32 bits: used to derive named sub-streams and content-keyed splits. */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export class Rng {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  private spareNormal: number | null = null;
  /** Seeded outside [0, 2^32) (as are its forks): forks carry 52 bits, not 32. */
  private readonly wide: boolean;

  constructor(readonly seed: number) {
    if (!Number.isSafeInteger(seed)) throw new Error(`Rng seed must be an integer with |seed| < 2^53, got ${seed}`);
    // Every bit of the seed counts: seeds in [0, 2^32) seed splitmix32 directly (their streams are the
    // ones every stored result was computed with); any other seed also mixes its high word and sign into
    // all four state words, so no two seeds share a stream. (Mixing into s2 and s3 only was not enough:
    // the first output reads s1 alone, so 2^32·k + s gave s's first number, hence s's fork.)
    const lo = seed >>> 0;
    const hi = Math.floor(seed / 2 ** 32);
    this.wide = hi !== 0;
    const mix = splitmix32(lo);
    if (!this.wide) {
      this.s0 = mix();
      this.s1 = mix();
      this.s2 = mix();
      this.s3 = mix();
    } else {
      const high = splitmix32((hi >>> 0) ^ 0x5bd1e995);
      this.s0 = (mix() ^ high()) >>> 0;
      this.s1 = (mix() ^ high()) >>> 0;
      this.s2 = (mix() ^ high()) >>> 0;
      this.s3 = (mix() ^ high() ^ (hi < 0 ? 0x80000000 : 0)) >>> 0;
    }
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Next 32-bit unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.s1 << 9) >>> 0;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    this.s0 >>>= 0;
    this.s1 >>>= 0;
    this.s2 >>>= 0;
    return result;
  }

  /** Uniform on [0, 1) with 53 random bits. */
  uniform(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    if (!Number.isInteger(n) || n <= 0) throw new Error(`Rng.int needs a positive integer, got ${n}`);
    return Math.floor(this.uniform() * n);
  }

  /** Standard normal (Marsaglia polar method). */
  normal(): number {
    if (this.spareNormal !== null) {
      const v = this.spareNormal;
      this.spareNormal = null;
      return v;
    }
    let u = 0;
    let v = 0;
    let s = 0;
    do {
      u = 2 * this.uniform() - 1;
      v = 2 * this.uniform() - 1;
      s = u * u + v * v;
    } while (s >= 1 || s === 0);
    const f = Math.sqrt((-2 * Math.log(s)) / s);
    this.spareNormal = v * f;
    return u * f;
  }

  /** Standard Gumbel: −log(−log U). argmax(logits + Gumbel) samples softmax(logits). */
  gumbel(): number {
    let u = this.uniform();
    while (u === 0) u = this.uniform();
    return -Math.log(-Math.log(u));
  }

  bernoulli(p: number): boolean {
    return this.uniform() < p;
  }

  /** Index drawn with probability proportional to `weights` (non-negative, not all zero). */
  categorical(weights: ArrayLike<number>): number {
    let total = 0;
    for (let i = 0; i < weights.length; i++) {
      if (!(weights[i] >= 0)) throw new Error(`categorical weight ${i} is ${weights[i]}; weights must be >= 0`);
      total += weights[i];
    }
    if (!(total > 0)) throw new Error("categorical weights sum to zero");
    let u = this.uniform() * total;
    for (let i = 0; i < weights.length; i++) {
      u -= weights[i];
      if (u < 0) return i;
    }
    for (let i = weights.length - 1; i >= 0; i--) if (weights[i] > 0) return i;
    return weights.length - 1;
  }

  /** Index drawn from softmax(logits), computed stably. */
  categoricalLogits(logits: ArrayLike<number>): number {
    let max = -Infinity;
    for (let i = 0; i < logits.length; i++) max = Math.max(max, logits[i]);
    const w = new Float64Array(logits.length); // the same numbers as Array.from(logits, exp), ~5x faster
    for (let i = 0; i < logits.length; i++) w[i] = Math.exp(logits[i] - max);
    return this.categorical(w);
  }

  /** Fisher–Yates shuffle, in place; returns the array. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = items[i];
      items[i] = items[j];
      items[j] = tmp;
    }
    return items;
  }

  /** An independent generator for a named purpose, so adding draws in one place never shifts another. */
  fork(label: string): Rng {
    const low = (hashString(label) ^ this.nextUint32()) >>> 0;
    if (!this.wide) return new Rng(low); // the 32-bit forks every stored result was computed with
    // A wide generator's fork keeps 52 bits (a 32-bit child seed would send 2^53 parents to 2^32
    // children); its high word is never 0, so the child is wide too and never a narrow seed's stream.
    return new Rng(low + 2 ** 32 * (1 + (this.nextUint32() >>> 12)));
  }

  /** A 31-bit integer seed for tfjs functions that take one (initialisers, tf.random*). */
  tfSeed(): number {
    return this.nextUint32() >>> 1;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** `new Rng(seed)`, accepting an existing Rng unchanged. */
export function makeRng(seedOrRng: number | Rng): Rng {
  return typeof seedOrRng === "number" ? new Rng(seedOrRng) : seedOrRng;
}
