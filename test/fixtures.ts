// Builders shared by several test files (not a test file itself: node --test runs test/*.test.ts).
import * as assert from "node:assert/strict";
import type { RunRecord } from "../src/sweep/store";
import type { CheckpointRow } from "../src/fig2/run";

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

/** Element-wise: finite, and within tol relative to 1 + |expected|. */
export function near(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    assert.ok(Number.isFinite(actual[i]), `${what}[${i}] = ${actual[i]} is not finite`);
    assert.ok(
      Math.abs(actual[i] - expected[i]) <= tol * (1 + Math.abs(expected[i])),
      `${what}[${i}]: ${actual[i]} vs ${expected[i]}`,
    );
  }
}

/**
 * A Figure-2 checkpoint row with neutral values (reward ½, KL 1 on two prompts, length 0): the tests of
 * the controllers' table and of notebook 12's report set only what they check through `extra`.
 */
export const checkpointRow = (
  method: string,
  knob: number,
  seed: number,
  step: number,
  extra: Partial<CheckpointRow> = {},
): CheckpointRow =>
  ({
    method,
    knob,
    seed,
    step,
    reward: 0.5,
    kl: 1,
    perPromptReward: [0.5, 0.5],
    perPromptKl: [1, 1],
    meanLength: 0,
    ...extra,
  }) as CheckpointRow;
