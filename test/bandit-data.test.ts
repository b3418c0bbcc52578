// The shared bandit datasets: committed files equal the generator's output, the loader reports bad lines
// precisely, and the converters keep every label.
import { describe, test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { Rng } from "../src/random";
import {
  countDesirable,
  datasetFromJsonl,
  datasetToJsonl,
  generateBanditData,
  ipoTotalOrderDataset,
  ktoClassWeights,
  loadBanditDataset,
  loadGroundTruth,
  pairsToUnpaired,
  rankingsToPairs,
  sampleBanditPairs,
  sampleBanditRankings,
  type PairDataset,
  type RankingDataset,
} from "../src/bandit/index";

const DATA = path.join(__dirname, "..", "data");

describe("committed data/ files", () => {
  test("equal what scripts/generate-data.ts produces (run `npm run generate-data` after changing the generator)", () => {
    const files = generateBanditData();
    assert.ok(files.size >= 7);
    for (const [name, text] of files) {
      const file = path.join(DATA, name);
      assert.ok(fs.existsSync(file), `${file} is missing`);
      assert.equal(fs.readFileSync(file, "utf8"), text, `${file} differs from the generator's output`);
    }
  });
  test("load, validate, and describe themselves; the KTO file is the pairs split into judgements", () => {
    const truth = loadGroundTruth(path.join(DATA, "bandit-ground-truth.json"));
    const pairs = loadBanditDataset(path.join(DATA, "bandit-bt-pairs.jsonl")) as PairDataset;
    const kto = loadBanditDataset(path.join(DATA, "bandit-kto-unpaired.jsonl"));
    assert.equal(pairs.kind, "pairs");
    assert.equal(pairs.nResponses, truth.nResponses);
    assert.deepEqual(kto, { ...pairsToUnpaired(pairs), description: kto.description });
    assert.deepEqual(loadBanditDataset(path.join(DATA, "ipo-d1.jsonl")), ipoTotalOrderDataset());
  });
});

describe("loader errors name file, line and field", () => {
  const header = '{"kind":"pairs","nPrompts":1,"nResponses":3,"description":"x"}';
  test("out-of-range response", () => {
    assert.throws(
      () =>
        datasetFromJsonl(
          `${header}\n{"prompt":0,"chosen":0,"rejected":1}\n{"prompt":0,"chosen":7,"rejected":1}\n`,
          "f.jsonl",
        ),
      /f\.jsonl:3: field "chosen" must be an integer in \[0, 3\), got 7/,
    );
  });
  test("bad JSON, bad header, repeated ranking entries", () => {
    assert.throws(() => datasetFromJsonl(`${header}\n{oops\n`, "g.jsonl"), /g\.jsonl:2: not valid JSON/);
    assert.throws(
      () => datasetFromJsonl('{"kind":"triples","nPrompts":1,"nResponses":3}\n', "h.jsonl"),
      /h\.jsonl:1: field "kind"/,
    );
    const rk = '{"kind":"rankings","nPrompts":1,"nResponses":3}\n{"prompt":0,"order":[1,1,0]}\n';
    assert.throws(() => datasetFromJsonl(rk, "r.jsonl"), /r\.jsonl:2: field "order" repeats a response/);
  });
  test("round trip", () => {
    const d = sampleBanditRankings([[0, 1, 2]], 5, { rng: new Rng(1) });
    assert.deepEqual(datasetFromJsonl(datasetToJsonl(d)), d);
  });
});

describe("converters and samplers", () => {
  test("rankingsToPairs: N(N−1)/2 pairs per ranking, winner before loser", () => {
    const r: RankingDataset = {
      kind: "rankings",
      nPrompts: 1,
      nResponses: 4,
      rankings: [{ prompt: 0, order: [2, 0, 3, 1] }],
    };
    const p = rankingsToPairs(r).pairs.map((q) => `${q.chosen}>${q.rejected}`);
    assert.deepEqual(p, ["2>0", "2>3", "2>1", "0>3", "0>1", "3>1"]);
  });
  test("pairsToUnpaired keeps exactly round(keep·n) desirable examples; KTO weights follow λ_D n_D/(λ_U n_U) ∈ [1, 4/3]", () => {
    const pairs = sampleBanditPairs([[1, 0, -1]], 100, { rng: new Rng(2) });
    const all = countDesirable(pairsToUnpaired(pairs));
    assert.deepEqual(all, { desirable: 100, undesirable: 100 });
    const tenth = pairsToUnpaired(pairs, { keepDesirable: 0.1, rng: new Rng(3) });
    assert.deepEqual(countDesirable(tenth), { desirable: 10, undesirable: 100 });
    const w = ktoClassWeights(countDesirable(tenth));
    assert.equal((w.desirableWeight * 10) / (w.undesirableWeight * 100), 1);
    assert.throws(() => ktoClassWeights(all, 1.5), /ratio must be in \[1, 4\/3\]/);
    assert.throws(() => pairsToUnpaired(pairs, { keepDesirable: 0.5 }), /needs opts.rng/);
  });
  test("Bradley–Terry pair frequencies match σ(r_i − r_j); PL first places match softmax(r)", () => {
    const r = [[1, 0, -0.5]];
    const pairs = sampleBanditPairs(r, 30000, { rng: new Rng(4) });
    const between01 = pairs.pairs.filter((p) => p.chosen + p.rejected === 1);
    const win0 = between01.filter((p) => p.chosen === 0).length / between01.length;
    assert.ok(Math.abs(win0 - 1 / (1 + Math.exp(-1))) < 0.015, `P(0≻1) = ${win0}`);
    const ranks = sampleBanditRankings(r, 30000, { rng: new Rng(5) });
    const z = Math.exp(1) + 1 + Math.exp(-0.5);
    const first0 = ranks.rankings.filter((k) => k.order[0] === 0).length / 30000;
    assert.ok(Math.abs(first0 - Math.exp(1) / z) < 0.01, `P(0 first) = ${first0}`);
  });
});
