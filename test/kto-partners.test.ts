// KTO's mismatched partners (issue 23 item 7): TRL's +1 offset (x_i with y_{i−1}) after a seeded shuffle,
// so a file that lists each prompt's samples together gives few partners of the same prompt.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { Rng } from "../src/random";
import { ktoMismatchedPairs } from "../src/losses/kto";
import { getLoss } from "../src/losses/registry";
import "../src/losses/all";
import { trainingUnits } from "../src/lm/preferenceTrainer";
import type { RlaifData } from "../src/lm/rlaif";

test("ktoMismatchedPairs: TRL's order without a shuffle, (x_0, y_3), (x_1, y_0), (x_2, y_1), (x_3, y_2)", () => {
  assert.deepEqual(ktoMismatchedPairs(4), [
    [0, 3],
    [1, 0],
    [2, 1],
    [3, 2],
  ]);
  assert.deepEqual(ktoMismatchedPairs(2), [
    [0, 1],
    [1, 0],
  ]);
});

test("ktoMismatchedPairs with an rng: a shuffle, then each takes the one before it (hand-checked order)", () => {
  const n = 5;
  // The shuffle the function does, replayed: partner of order[p] is order[p − 1] (cyclically).
  const order = new Rng(9).shuffle(Array.from({ length: n }, (_, i) => i));
  const expected = new Map(order.map((i, p) => [i, order[(p - 1 + n) % n]]));
  const pairs = ktoMismatchedPairs(n, new Rng(9));
  assert.deepEqual(
    pairs.map(([x]) => x),
    [0, 1, 2, 3, 4],
    "one pair per prompt, in prompt order",
  );
  for (const [x, y] of pairs) assert.equal(y, expected.get(x), `partner of ${x}`);
  // One n-cycle: nobody is their own partner and every completion is used exactly once.
  assert.ok(pairs.every(([x, y]) => x !== y));
  assert.deepEqual(pairs.map(([, y]) => y).sort(), [0, 1, 2, 3, 4]);
  assert.deepEqual(ktoMismatchedPairs(n, new Rng(9)), pairs, "same seed, same partners");
  assert.notDeepEqual(ktoMismatchedPairs(n, new Rng(10)), pairs, "another seed, other partners");
});

test("trainPreference's KTO units: on a file grouped by prompt, few partners share the prompt (was 1 in 2)", () => {
  // 50 prompts × 4 samples, listed prompt by prompt (as the fig2 unpaired file is). The old partner,
  // example i + 2, shared the prompt for half of them; a random partner does for about 3/199 of them.
  const prompts = 50;
  const k = 4;
  const unpaired: RlaifData["unpaired"] = [];
  for (let p = 0; p < prompts; p++)
    for (let j = 0; j < k; j++)
      unpaired.push({
        prompt: `p${p}`,
        completion: `c${p}-${j}`,
        label: j % 2 === 0,
        // Prompt tokens identify the prompt; the completion's one token identifies the example.
        seq: { prompt: [10 + p], completion: [1000 + unpaired.length], ended: true },
      });
  const data: RlaifData = { pairs: [], rankings: [], unpaired, tiedPrompts: 0, tiedLists: 0, flippedFraction: 0 };
  const { units, labels } = trainingUnits(getLoss("kto"), data, 16, 0, "test");
  assert.equal(units.length, prompts * k);
  assert.deepEqual(
    labels,
    unpaired.map((e) => e.label),
  );
  const partnerOf = units.map(([, mismatched]) => mismatched.completion[0] - 1000);
  units.forEach(([own, mismatched], i) => {
    assert.deepEqual(own, unpaired[i].seq, "the example itself comes first");
    assert.deepEqual(mismatched.prompt, unpaired[i].seq.prompt, "the partner keeps the example's prompt");
  });
  assert.ok(
    partnerOf.every((j, i) => j !== i),
    "nobody is their own partner",
  );
  assert.deepEqual(
    [...partnerOf].sort((a, b) => a - b),
    Array.from(partnerOf.keys()),
    "each completion used once",
  );
  const samePrompt = partnerOf.filter((j, i) => unpaired[j].prompt === unpaired[i].prompt).length;
  assert.ok(samePrompt <= 10, `${samePrompt} of ${units.length} partners share the prompt (expected ≈ 3)`);
  // Seeded: the run's seed fixes the partners; another seed moves them.
  const again = trainingUnits(getLoss("kto"), data, 16, 0, "test").units.map(([, m]) => m.completion[0]);
  assert.deepEqual(
    again,
    partnerOf.map((j) => j + 1000),
  );
  const other = trainingUnits(getLoss("kto"), data, 16, 1, "test").units.map(([, m]) => m.completion[0]);
  assert.notDeepEqual(other, again);
});
