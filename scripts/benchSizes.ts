// The model sizes the engine benchmark (bench-lm.ts) and profile (profile-lm.ts) run at, and the peer's;
// and the median the benchmark scripts report.
import type { TransformerConfig } from "../src/lm/transformer";

/** The benchmarks' median: the upper middle of the sorted times (the middle one for an odd count). */
export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export interface BenchSize {
  config: TransformerConfig;
  /** Preference pairs per DPO step (2 rows each: chosen and rejected). */
  pairs: number;
}

export const SIZES: Record<string, BenchSize> = {
  // The Figure-2 model (src/fig2/shared.ts): what the reproductions train.
  fig2: { config: { vocabSize: 2000, contextLength: 24, dModel: 64, nHeads: 4, nLayers: 2 }, pairs: 32 },
  bench: { config: { vocabSize: 2048, contextLength: 64, dModel: 128, nHeads: 4, nLayers: 2 }, pairs: 32 },
  large: { config: { vocabSize: 8192, contextLength: 128, dModel: 256, nHeads: 8, nLayers: 4 }, pairs: 16 },
};

export function sizeOf(name: string): BenchSize {
  const size = SIZES[name];
  if (!size) throw new Error(`--size must be one of ${Object.keys(SIZES).join(", ")}, got "${name}"`);
  return size;
}
