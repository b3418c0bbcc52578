// Builders shared by several test files (not a test file itself: node --test runs test/*.test.ts).
import type { RunRecord } from "../src/sweep/store";

/** A stored sweep result of the synthetic kind: only its id and score matter to the store's tests. */
export const syntheticRecord = (id: string, score: number): RunRecord => ({
  id,
  kind: "synthetic",
  seed: 0,
  index: 0,
  config: {},
  factors: {},
  metrics: { score },
  ms: 1,
  finishedAt: "t",
});
