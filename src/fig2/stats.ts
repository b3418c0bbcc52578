// Confidence intervals for means of evaluation samples that come several per prompt.
//
// Samples for the same prompt are not independent (the prompt sets the tone), so treating N = P·M samples
// as i.i.d. understates the standard error. With cluster totals S_g = Σ_{i∈g} y_i, sizes n_g, N = Σ n_g,
// ȳ = Σ S_g / N, the cluster-robust (CR1, Liang & Zeger 1986) variance of ȳ over G clusters is
//
//   Var̂(ȳ) = G/(G−1) · Σ_g (S_g − n_g ȳ)² / N²,
//
// and the 95% interval is ȳ ± t_{G−1, 0.975} · √Var̂ (degrees of freedom from the number of clusters, not
// of samples). With equal cluster sizes this is exactly the usual t interval on the G cluster means.
// Paired comparisons (two policies on the same prompts) use per-prompt differences as the clusters.
import { studentTQuantile } from "../stats";

export interface ClusteredMean {
  mean: number;
  /** Cluster-robust standard error (NaN with fewer than 2 clusters). */
  stdErr: number;
  /** Half-width of the 95% (or `level`) interval: t_{G−1} · stdErr. */
  halfWidth: number;
  clusters: number;
  samples: number;
}

/** Mean of `values` with a CI that treats each distinct `clusters[i]` as one independent unit. */
export function clusteredMean(
  values: readonly number[],
  clusters: readonly (string | number)[],
  level = 0.95,
): ClusteredMean {
  if (values.length !== clusters.length)
    throw new Error(`clusteredMean: ${values.length} values but ${clusters.length} cluster ids`);
  if (values.length === 0) throw new Error("clusteredMean: no values");
  if (!values.every(Number.isFinite)) throw new Error("clusteredMean: a value is not finite");
  const sums = new Map<string | number, { s: number; n: number }>();
  let total = 0;
  values.forEach((v, i) => {
    const c = sums.get(clusters[i]) ?? { s: 0, n: 0 };
    c.s += v;
    c.n += 1;
    sums.set(clusters[i], c);
    total += v;
  });
  const N = values.length;
  const G = sums.size;
  const mean = total / N;
  if (G < 2) return { mean, stdErr: NaN, halfWidth: NaN, clusters: G, samples: N };
  let ss = 0;
  for (const { s, n } of sums.values()) ss += (s - n * mean) ** 2;
  const stdErr = Math.sqrt(((G / (G - 1)) * ss) / (N * N));
  return { mean, stdErr, halfWidth: studentTQuantile(0.5 + level / 2, G - 1) * stdErr, clusters: G, samples: N };
}

/** The t interval on per-cluster values (one number per prompt, e.g. a per-prompt mean or difference). */
export function meanOfClusters(perCluster: readonly number[], level = 0.95): ClusteredMean {
  return clusteredMean(
    perCluster,
    perCluster.map((_, i) => i),
    level,
  );
}

/** Per-cluster means, in order of first appearance: [ids, means]. */
export function clusterMeans(
  values: readonly number[],
  clusters: readonly string[],
): { ids: string[]; means: number[] } {
  const acc = new Map<string, { s: number; n: number }>();
  values.forEach((v, i) => {
    const c = acc.get(clusters[i]) ?? { s: 0, n: 0 };
    c.s += v;
    c.n += 1;
    acc.set(clusters[i], c);
  });
  return { ids: [...acc.keys()], means: [...acc.values()].map((c) => c.s / c.n) };
}
