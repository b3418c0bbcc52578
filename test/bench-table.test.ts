// docs/lm-engine.md's benchmark table from `npm run bench` output (scripts/benchTable.ts).
import { describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { markdownTable, resultsFromOutput, type SizeResult } from "../scripts/benchTable";

const fig2: SizeResult = {
  size: "fig2",
  config: { vocabSize: 2000, dModel: 64, nHeads: 4, nLayers: 2, contextLength: 24 },
  pairsPerStep: 32,
  achievedGflops: 19.6,
  matmulGflops512: 46.3,
  dpo: [
    { round: 1, threads: 1, oursMs: 150, peerMs: 72 },
    { round: 1, threads: 2, oursMs: 109, peerMs: 117 },
    { round: 2, threads: 1, oursMs: 170, peerMs: 74 },
    { round: 2, threads: 2, oursMs: 148, peerMs: 148 },
  ],
  bestVsBest: { ours: { threads: 2, ms: 148 }, peer: { threads: 1, ms: 74 }, ratio: 2 },
  sampling: [{ shape: "Figure-2 model", cachedTokensPerSecond: 6355, plainTokensPerSecond: 2472, speedup: 2.6 }],
  rloo: { samplingMs: 79, scoringMs: 43, updateMs: 143 },
  ppo: { samples: 256, maxNewTokens: 12, epochs: 2, miniBatchSize: 64, samplingMs: 610, scoringMs: 250, updateMs: 900 },
};

describe("the benchmark's Markdown table", () => {
  test("one row per size: each round per thread count, best against best, GFLOP/s; then sampling, RLOO and PPO", () => {
    const lines = markdownTable([fig2]).split("\n");
    assert.equal(
      lines[2],
      "| fig2 (V2000, d64, 4h, 2L, ctx 24, 32 pairs) | 150 / 170 ms | 109 / 148 ms | 72 / 74 ms | 117 / 148 ms | **2.00×** (148 ms at 2t vs 74 ms at 1t) | 19.6 (46.3) |",
    );
    assert.match(lines[4], /6,355 tokens\/s with the key\/value cache, 2,472 without \(2\.6×\)/);
    assert.match(lines[5], /^- RLOO iteration .*: sampling 79 ms, scoring 43 ms, update 143 ms$/);
    assert.match(
      lines[6],
      /^- PPO iteration .*256 rollouts of 12 tokens, 2 epochs x 4 minibatches of 64\): sampling 610 ms, scoring 250 ms .*update 900 ms$/,
    );
  });

  test("without the peer the peer's columns and the ratio are dashes, not zeros", () => {
    const noPeer: SizeResult = {
      ...fig2,
      dpo: fig2.dpo!.map((r) => ({ ...r, peerMs: null })),
      bestVsBest: { ours: { threads: 2, ms: 148 }, peer: null, ratio: null },
      sampling: undefined,
      rloo: undefined,
      ppo: undefined,
    };
    assert.equal(
      markdownTable([noPeer]).split("\n")[2],
      "| fig2 (V2000, d64, 4h, 2L, ctx 24, 32 pairs) | 150 / 170 ms | 109 / 148 ms | – | – | – | 19.6 (46.3) |",
    );
  });

  test("a saved output is read from its result lines only; a broken one is an error naming it", () => {
    const text = `[fig2] DPO step …\n  round 1 …\n${JSON.stringify(fig2)}\nbest vs best …\n`;
    assert.deepEqual(resultsFromOutput(text), [fig2]);
    assert.throws(() => resultsFromOutput('{"size": "fig2", oops}\n'), /result line 1 is not JSON/);
  });
});
