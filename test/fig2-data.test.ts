// The data side of the Figure 2 reproduction (src/fig2): the ground-truth classifier, the prefix split by
// prompt, pair construction with ties, the TRL round trip through the data layer's loaders, and the learned
// Bradley–Terry reward model's first steps. Real-data checks skip, saying why, where ../shared/data is absent.
import { before, test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend";
import { Rng } from "../src/random";
import { locateDataFile } from "../src/data/registry";
import { Transformer } from "../src/lm/transformer";
import { WordTokenizer, UNK } from "../src/lm/tokenizer";
import type { Sequence } from "../src/lm/batching";
import type { TokenizedPair as PreferencePair, ScoredCompletion } from "../src/lm/rlaif";
import { minimiseLbfgs } from "../src/fig2/lbfgs";
import {
  SentimentClassifier,
  evaluateClassifier,
  loadSentimentExamples,
  reliabilityBins,
  wilsonInterval,
  textNgrams,
  readClassifier,
  writeClassifier,
  type SentimentExample,
} from "../src/fig2/classifier";
import { makePrefixSplit, findPrefixLeaks, assertNoPrefixLeak, trainDocuments } from "../src/fig2/prefixes";
import { buildPairwiseData, bradleyTerryLabel, sampleScoredGroups, type ScoredGroup } from "../src/fig2/pairs";
import { writeTrlFiles, readTrlFiles, textToSequence } from "../src/lm/trlFiles";
import { trainOnTrlFile } from "../src/lm/trainOnTrlFile";
import {
  LearnedRewardModel,
  bradleyTerryRewardLoss,
  trainLearnedRewardModel,
  pairAccuracy,
  splitPairsByPrompt,
  rewardPrinciple,
  learnedRewardFromPairs,
} from "../src/fig2/rewardModel";

before(async () => {
  await initBackend();
});

const hasRt = locateDataFile("rt-polarity/rt-polarity.pos") !== null;
const NO_RT = "rt-polarity is absent from ../shared/data and the cache (npm run data -- fetch rt-polarity)";

// ---- L-BFGS ---------------------------------------------------------------------------------------

test("L-BFGS finds the minimiser of a convex quadratic and of Rosenbrock's function", () => {
  // f(x) = ½ xᵀAx − bᵀx with A = [[3, 1], [1, 2]], b = [1, 1]: x* = A⁻¹b = [0.2, 0.4].
  const q = minimiseLbfgs(
    (x, g) => {
      g[0] = 3 * x[0] + x[1] - 1;
      g[1] = x[0] + 2 * x[1] - 1;
      return 0.5 * (3 * x[0] * x[0] + 2 * x[0] * x[1] + 2 * x[1] * x[1]) - x[0] - x[1];
    },
    new Float64Array([5, -5]),
    { tolerance: 1e-10 },
  );
  assert.ok(Math.abs(q.x[0] - 0.2) < 1e-8 && Math.abs(q.x[1] - 0.4) < 1e-8, `got ${q.x}`);
  const r = minimiseLbfgs(
    (x, g) => {
      g[0] = -2 * (1 - x[0]) - 400 * x[0] * (x[1] - x[0] * x[0]);
      g[1] = 200 * (x[1] - x[0] * x[0]);
      return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] * x[0]) ** 2;
    },
    new Float64Array([-1.2, 1]),
    { iterations: 500, tolerance: 1e-8 },
  );
  assert.ok(Math.abs(r.x[0] - 1) < 1e-5 && Math.abs(r.x[1] - 1) < 1e-5, `Rosenbrock: got ${r.x}`);
});

// ---- classifier -----------------------------------------------------------------------------------

/** Sentences whose label is carried by one planted word ("great"/"awful") among random filler words. */
function plantedSentences(n: number, seed: number, flipRate = 0): SentimentExample[] {
  const rng = new Rng(seed);
  const filler = ["the", "film", "plot", "was", "a", "story", "with", "and", "some", "actors", "scene", "of"];
  return Array.from({ length: n }, () => {
    const label = rng.uniform() < 0.5 ? 1 : 0;
    const words = Array.from({ length: 6 }, () => filler[rng.int(filler.length)]);
    words.splice(rng.int(7), 0, label ? "great" : "awful");
    return { text: words.join(" "), label: (rng.uniform() < flipRate ? 1 - label : label) as 0 | 1 };
  });
}

test("classifier: beats the majority baseline on a planted signal, and its optimum satisfies the stationarity condition", () => {
  const train = plantedSentences(400, 1, 0.1);
  const test_ = plantedSentences(400, 2);
  const clf = SentimentClassifier.fit(train, { l2: 1, bigrams: false, minDocs: 1, tolerance: 1e-9 });
  const ev = evaluateClassifier(clf, test_);
  const majority = Math.max(...[0, 1].map((c) => test_.filter((e) => e.label === c).length)) / test_.length;
  assert.ok(ev.accuracy > 0.97 && ev.ci95[0] > majority + 0.3, `accuracy ${ev.accuracy} vs majority ${majority}`);
  assert.ok(clf.probPositive("great film") > 0.8 && clf.probPositive("awful film") < 0.2);
  // ∂/∂w_j [Σ softplus(z_i) − y_i z_i + (λ/2)‖w‖²] = Σ_i (σ(z_i) − y_i) φ_ij + λ w_j = 0 at the optimum;
  // recomputed here by hand from the serialised weights.
  const json = clf.toJSON();
  const grad = new Map(json.features.map((f, j) => [f, json.weights[j]])); // λ w_j with λ = 1
  let gb = 0;
  for (const e of train) {
    const r = clf.probPositive(e.text) - e.label;
    gb += r;
    for (const f of new Set(textNgrams(e.text, false))) if (grad.has(f)) grad.set(f, (grad.get(f) as number) + r);
  }
  assert.ok(Math.abs(gb) < 1e-6, `bias gradient ${gb}`);
  for (const [f, g] of grad) assert.ok(Math.abs(g) < 1e-6, `gradient for ${f}: ${g}`);
});

test("classifier: deterministic fit, JSON round trip (hash pins it), clear errors", () => {
  const train = plantedSentences(200, 3, 0.2);
  const a = SentimentClassifier.fit(train);
  const b = SentimentClassifier.fit(train);
  assert.equal(a.hash, b.hash);
  assert.deepEqual(a.toJSON().weights, b.toJSON().weights);
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "fig2-clf-")), "clf.json");
  writeClassifier(file, a);
  const c = readClassifier(file);
  assert.equal(c.hash, a.hash);
  assert.equal(c.probPositive("a great story"), a.probPositive("a great story"));
  assert.deepEqual(Array.from(c.reward(["the plot"], ["was great"])), [a.probPositive("the plot was great")]);
  const other = SentimentClassifier.fit(plantedSentences(200, 4, 0.2));
  assert.notEqual(other.hash, a.hash);
  fs.writeFileSync(file, JSON.stringify({ ...a.toJSON(), weights: [1] }));
  assert.throws(() => readClassifier(file), /clf\.json.*equal length/);
  assert.throws(() => SentimentClassifier.fit([{ text: "x", label: 2 as 0 }]), /train\[0\]\.label/);
});

test("Wilson interval and ECE match hand-computed values", () => {
  const [lo, hi] = wilsonInterval(8, 10);
  assert.ok(Math.abs(lo - 0.4902) < 1e-4 && Math.abs(hi - 0.9433) < 1e-4, `${lo}, ${hi}`);
  assert.deepEqual(
    wilsonInterval(0, 5).map((x) => +x.toFixed(4)),
    [0, 0.4345],
  );
  // Two bins: [0, .5): p = .1, .2 with labels 0, 1 → |0.5 − 0.15| = 0.35; [.5, 1]: p = .85, .95 (labels 1, 1)
  // → |1 − 0.9| = 0.1; ECE = ½·0.35 + ½·0.1 = 0.225.
  const { ece, bins } = reliabilityBins([0.1, 0.2, 0.85, 0.95], [0, 1, 1, 1], 2);
  assert.ok(Math.abs(ece - 0.225) < 1e-12, `ece ${ece}`);
  assert.deepEqual(
    bins.map((b) => b.count),
    [2, 2],
  );
  assert.equal(reliabilityBins([1], [1], 10).bins[9].count, 1, "p = 1 falls in the last bin");
  assert.throws(() => reliabilityBins([1.2], [1]), /probs\[0\] = 1\.2/);
});

test(
  "classifier on rt-polarity: held-out accuracy with a 95% CI, trained on the prefix split's training sentences",
  { skip: hasRt ? false : NO_RT },
  async () => {
    const examples = await loadSentimentExamples();
    assert.equal(examples.length, 10662);
    const split = makePrefixSplit(examples, { seed: 0 });
    const clf = SentimentClassifier.fit(split.trainSentences);
    const ev = evaluateClassifier(clf, split.evalSentences);
    // Measured: 78.8 % [77.0, 80.5], ECE 0.040 (bag-of-n-gram models reach ~76-79 % on this corpus).
    assert.ok(ev.ci95[0] > 0.74, `held-out accuracy ${ev.accuracy} [${ev.ci95}]`);
    assert.ok(ev.ece < 0.08, `ECE ${ev.ece}`);
    assert.ok(ev.n === split.evalSentences.length && ev.n > 1500);
  },
);

// ---- prefix split ---------------------------------------------------------------------------------

function syntheticSentences(n: number, seed: number): SentimentExample[] {
  const rng = new Rng(seed);
  const words = [
    "the",
    "a",
    "this",
    "film",
    "movie",
    "is",
    "was",
    "great",
    "dull",
    "plot",
    "and",
    "but",
    "very",
    "not",
    "fun",
    ",",
    ".",
  ];
  return Array.from({ length: n }, () => ({
    text: Array.from({ length: 3 + rng.int(12) }, () => words[rng.int(words.length)]).join(" "),
    label: rng.int(2) as 0 | 1,
  }));
}

test("prefix split: 2-8-word prompts, disjoint roots, no evaluation prefix starts a training sentence; deterministic", () => {
  const s = makePrefixSplit(syntheticSentences(600, 5), { seed: 3 });
  assert.ok(
    s.evalSentences.length > 60 && s.trainSentences.length > 300,
    `${s.evalSentences.length} / ${s.trainSentences.length}`,
  );
  for (const p of [...s.trainPrompts, ...s.evalPrompts])
    assert.ok(p.words >= 2 && p.words <= 8 && p.prompt.split(" ").length === p.words);
  const root = (t: string) => t.split(" ").slice(0, 2).join(" ");
  const evalRoots = new Set(s.evalSentences.map((x) => root(x.text)));
  assert.ok(s.trainSentences.every((x) => !evalRoots.has(root(x.text))));
  assert.deepEqual(
    findPrefixLeaks(
      s.evalPrompts.map((p) => p.prompt),
      s.trainSentences.map((x) => x.text),
      s.trainPrompts.map((p) => p.prompt),
    ),
    [],
  );
  assert.ok(trainDocuments(s).every((d, i) => d.promptWords === s.trainSentences[i].prefixWords));
  assert.deepEqual(makePrefixSplit(syntheticSentences(600, 5), { seed: 3 }).evalPrompts, s.evalPrompts);
  assert.notDeepEqual(makePrefixSplit(syntheticSentences(600, 5), { seed: 4 }).evalPrompts, s.evalPrompts);
});

test("prefix split: a planted leak fails the check (training text starting with an evaluation prompt, or the prompt itself)", () => {
  const s = makePrefixSplit(syntheticSentences(600, 6), { seed: 0 });
  const evalPrompts = s.evalPrompts.map((p) => p.prompt);
  const victim = evalPrompts[0];
  const trainTexts = s.trainSentences.map((x) => x.text);
  // A preference completion whose prompt + text starts with an evaluation prompt, with other spacing/case.
  const leaked = [...trainTexts, `${victim.toUpperCase().replace(/ ,/g, ",")} and then some`];
  const leaks = findPrefixLeaks(evalPrompts, leaked);
  assert.equal(leaks.length, 1);
  assert.equal(leaks[0].prompt, victim);
  assert.equal(leaks[0].reason, "train-text-starts-with-it");
  assert.throws(
    () => assertNoPrefixLeak(evalPrompts, leaked, [], "planted"),
    /planted: 1 evaluation prompt\(s\) reach training/,
  );
  assert.equal(findPrefixLeaks(evalPrompts, trainTexts, [victim])[0].reason, "is-train-prompt");
  assert.throws(() => makePrefixSplit(syntheticSentences(50, 1), { rootWords: 3 }), /rootWords \(3\)/);
});

// ---- pairs ----------------------------------------------------------------------------------------

function fakeSeq(ids: number[], ended = true): Sequence {
  return { prompt: [4, 5], completion: ids, ended };
}

function group(prompt: string, items: Array<[string, number]>): ScoredGroup {
  return {
    prompt,
    samples: items.map(([text, score], i): ScoredCompletion => ({ text, score, seq: fakeSeq([10 + i]) })),
  };
}

test("pairs: all 6 per prefix, ties (equal reward, identical text) left out and counted, rankings and KTO labels", () => {
  const groups = [
    group("p1", [
      ["a", 0.9],
      ["b", 0.1],
      ["c", 0.6],
      ["d", 0.3],
    ]), // 6 pairs, no tie
    group("p2", [
      ["a", 0.7],
      ["a", 0.7],
      ["c", 0.2],
      ["d", 0.2],
    ]), // identical a/a, equal-score c/d: 4 pairs
    group("p3", [
      ["x", 0.5],
      ["x", 0.5],
      ["x", 0.5],
      ["x", 0.5],
    ]), // all identical: no pair
  ];
  const d = buildPairwiseData(groups);
  const st = d.stats;
  assert.equal(st.candidatePairs, 18);
  assert.equal(st.pairs, 10);
  assert.equal(st.tiedPairs, 8);
  assert.equal(st.identicalPairs, 7); // 1 in p2, 6 in p3
  assert.equal(st.tiedPrompts, 1);
  assert.equal(d.pairs.filter((p) => p.prompt === "p1").length, 6);
  assert.ok(d.pairs.every((p) => p.scoreChosen > p.scoreRejected));
  assert.equal(st.rankings, 1);
  assert.equal(st.tiedLists, 2);
  assert.deepEqual(
    d.rankings[0].ranking.map((c) => c.text),
    ["a", "c", "d", "b"],
  );
  // KTO: desirable ⇔ r > 0.5 (p3's 0.5 is not above it).
  assert.equal(st.desirable, 2 + 2);
  assert.equal(st.undesirable, 2 + 2 + 4);
  assert.equal(d.unpaired.length, 12);
  assert.ok(Math.abs(st.meanMargin - d.pairs.reduce((s, p) => s + p.scoreChosen - p.scoreRejected, 0) / 10) < 1e-12);
  // A tolerance turns near-equal rewards into ties.
  assert.equal(
    buildPairwiseData(
      [
        group("q", [
          ["a", 0.5],
          ["b", 0.52],
          ["c", 0.9],
          ["d", 0.1],
        ]),
      ],
      { tieTolerance: 0.05 },
    ).stats.tiedPairs,
    1,
  );
  // Empty completions are left out of everything and counted.
  const e = buildPairwiseData([
    group("q", [
      ["", 0.5],
      ["b", 0.52],
      ["c", 0.9],
      ["d", 0.1],
    ]),
  ]);
  assert.equal(e.stats.emptyCompletions, 1);
  assert.equal(e.stats.pairs, 3);
  assert.equal(e.stats.tiedLists, 1);
});

test("pairs: Bradley-Terry labels follow sigma((r_i - r_j)/tau), are seeded, and flips are counted", () => {
  const rng = new Rng(0);
  const n = 20000;
  let wins = 0;
  for (let i = 0; i < n; i++) if (bradleyTerryLabel(0.6, 0.5, 0.1, rng)) wins++;
  const p = 1 / (1 + Math.exp(-1));
  assert.ok(Math.abs(wins / n - p) < 4 * Math.sqrt((p * (1 - p)) / n), `${wins / n} vs ${p}`);
  const groups = Array.from({ length: 50 }, (_, i) =>
    group(`p${i}`, [
      ["a", 0.9],
      ["b", 0.1],
      ["c", 0.55],
      ["d", 0.45],
    ]),
  );
  const a = buildPairwiseData(groups, { labels: "bradley-terry", temperature: 0.2, seed: 7 });
  const b = buildPairwiseData(groups, { labels: "bradley-terry", temperature: 0.2, seed: 7 });
  assert.deepEqual(
    a.pairs.map((x) => x.chosen),
    b.pairs.map((x) => x.chosen),
  );
  assert.ok(a.stats.flippedPairs > 0 && a.stats.flippedPairs < 0.5 * a.stats.pairs);
  assert.equal(a.stats.flippedPairs, a.pairs.filter((x) => x.scoreChosen < x.scoreRejected).length);
  assert.equal(buildPairwiseData(groups).stats.flippedPairs, 0);
});

function tinyTokenizer(): WordTokenizer {
  return WordTokenizer.fit(
    ["the film was great , i loved it .", "the plot is dull and slow .", "what a waste of time !"],
    40,
  );
}

test("TRL round trip: files written via src/data/export read back through loadPreferences/loadUnpaired/loadRankings give the same token sequences", async () => {
  const tok = tinyTokenizer();
  const ctx = 16;
  const texts: Array<[string, number, boolean]> = [
    ["was great , i loved it .", 0.9, true],
    ["is dull and zebra .", 0.2, true],
    ["was , what a waste", 0.4, false],
    ["loved the plot !", 0.7, true],
  ];
  const groups: ScoredGroup[] = ["the film", "the plot"].map((prompt) => ({
    prompt,
    samples: texts.map(([t, score, ended]) => {
      const completion = tok.encode(t); // "zebra" is out of vocabulary → <unk>
      return { text: tok.decode(completion), score, seq: { prompt: tok.encode(prompt), completion, ended } };
    }),
  }));
  assert.ok(groups[0].samples[1].text.includes("<unk>"));
  const built = buildPairwiseData(groups);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fig2-trl-"));
  const files = await writeTrlFiles(dir, built);
  const first = JSON.parse(fs.readFileSync(files.preferences, "utf8").split("\n")[0]);
  assert.deepEqual(Object.keys(first).slice(0, 3), ["prompt", "chosen", "rejected"]);
  assert.equal(first.chosen, " was great, i loved it.", "TRL spacing: the completion carries its leading space");
  const read = await readTrlFiles(files, tok, ctx);
  assert.equal(read.data.pairs.length, 12);
  assert.deepEqual(
    read.data.pairs.map((p) => [p.chosenSeq, p.rejectedSeq]),
    built.pairs.map((p) => [p.chosenSeq, p.rejectedSeq]),
  );
  assert.deepEqual(
    read.data.unpaired.map((e) => [e.seq, e.label]),
    built.unpaired.map((e) => [e.seq, e.label]),
  );
  assert.deepEqual(
    read.data.rankings.map((r) => r.ranking.map((c) => c.seq)),
    built.rankings.map((r) => r.ranking.map((c) => c.seq)),
  );
  assert.deepEqual(
    read.data.pairs.map((p) => p.scoreChosen),
    built.pairs.map((p) => p.scoreChosen),
  );
  assert.equal(read.reports.preferences?.accepted, 12);
  // A bad record names file, line and field.
  fs.appendFileSync(files.unpaired, JSON.stringify({ prompt: "the film", completion: " ok", label: "yes" }) + "\n");
  await assert.rejects(readTrlFiles({ unpaired: files.unpaired }, tok, ctx), (err: Error) =>
    /unpaired\.jsonl:9: field "label"/.test(err.message),
  );
  // Too long for the context: cut, counted, no <eos>.
  const cut = textToSequence(tok, "the film", "was great , i loved it . the plot is dull and slow .", 10);
  assert.equal(cut.truncated, true);
  assert.equal(cut.seq.ended, false);
  assert.equal(
    1 + cut.seq.prompt.length + cut.seq.completion.length,
    10,
    "<bos> + prompt + completion fill the context",
  );
  assert.deepEqual(textToSequence(tok, "the <unk>", "great", 10).seq.prompt, [tok.idOf("the"), UNK]);
});

test("train the LM track on a user's own TRL file (DPO, KTO, listwise), no tensor leaks", async () => {
  const tok = tinyTokenizer();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fig2-user-"));
  const prefs = path.join(dir, "mine.jsonl");
  fs.writeFileSync(
    prefs,
    [
      { prompt: "the film", chosen: " was great, i loved it.", rejected: " was dull." },
      { prompt: "the plot", chosen: " is great!", rejected: " is a waste of time." },
    ]
      .map((r) => JSON.stringify(r))
      .join("\n") + "\n",
  );
  const unp = path.join(dir, "kto.jsonl");
  fs.writeFileSync(
    unp,
    [
      { prompt: "the film", completion: " was great.", label: true },
      { prompt: "the plot", completion: " is dull.", label: false },
      { prompt: "what a", completion: " waste.", label: false },
      { prompt: "i loved", completion: " it!", label: true },
    ]
      .map((r) => JSON.stringify(r))
      .join("\n") + "\n",
  );
  const rank = path.join(dir, "rank.jsonl");
  fs.writeFileSync(
    rank,
    JSON.stringify({ prompt: "the film", responses: [" was great.", " was slow.", " was dull."] }) + "\n",
  );
  const reference = new Transformer({ vocabSize: tok.size, contextLength: 16, dModel: 8, nHeads: 2, nLayers: 1 }, 1);
  const policy = reference.clone();
  const before = tf.memory().numTensors;
  const dpo = await trainOnTrlFile(prefs, policy, reference, tok, {
    method: "dpo",
    lossOptions: { beta: 0.1 },
    steps: 3,
    batchSize: 2,
    verbose: false,
  });
  assert.equal(dpo.read.data.pairs.length, 2);
  assert.ok(
    dpo.read.data.pairs.every((p) => p.chosenSeq.ended),
    "TRL completions end with EOS",
  );
  assert.ok(Number.isFinite(dpo.logs[dpo.logs.length - 1].loss));
  await trainOnTrlFile(unp, policy, reference, tok, {
    method: "kto",
    lossOptions: { beta: 0.1 },
    steps: 2,
    batchSize: 4,
    verbose: false,
  });
  const lw = await trainOnTrlFile(rank, policy, reference, tok, {
    method: "listwise",
    lossOptions: { beta: 0.1 },
    steps: 2,
    batchSize: 1,
    verbose: false,
  });
  assert.equal(lw.read.data.rankings[0].ranking.length, 3);
  assert.equal(tf.memory().numTensors, before);
  policy.dispose();
  reference.dispose();
});

test("sampleScoredGroups: K samples per prompt, the reward called once on all of them", () => {
  const tok = tinyTokenizer();
  const model = new Transformer({ vocabSize: tok.size, contextLength: 16, dModel: 8, nHeads: 2, nLayers: 1 }, 2);
  let calls = 0;
  const groups = sampleScoredGroups(
    model,
    tok,
    ["the film", "the plot", "what a"],
    (p, c) => {
      calls++;
      assert.equal(p.length, 12);
      return Float64Array.from(c, (t) => t.length / 100);
    },
    { k: 4, maxNewTokens: 5, seed: 3 },
  );
  assert.equal(calls, 1);
  assert.deepEqual(
    groups.map((g) => g.samples.length),
    [4, 4, 4],
  );
  assert.ok(
    groups.every((g) => g.samples.every((s) => s.score === s.text.length / 100 && s.seq.completion.length <= 5)),
  );
  model.dispose();
});

// ---- learned reward model -------------------------------------------------------------------------

test("Transformer.hiddenStates · Eᵀ is forward (the reward head reads the states the LM head reads)", () => {
  const m = new Transformer({ vocabSize: 12, contextLength: 8, dModel: 8, nHeads: 2, nLayers: 2 }, 3);
  tf.tidy(() => {
    const ids = tf.tensor2d(
      [
        [1, 4, 5, 6],
        [1, 7, 2, 0],
      ],
      [2, 4],
      "int32",
    );
    const viaHidden = tf
      .matMul(m.hiddenStates(ids).reshape([8, 8]), m.params.get("wte") as tf.Variable, false, true)
      .reshape([2, 4, 12]);
    const diff = tf.max(tf.abs(tf.sub(viaHidden, m.forward(ids)))).dataSync()[0];
    assert.ok(diff < 1e-5, `max difference ${diff}`);
  });
  m.dispose();
});

function plantedPairs(n: number, seed: number): PreferencePair[] {
  // Chosen completions contain token 7 ("good"), rejected ones token 8 ("bad"), among random tokens 4..11.
  const rng = new Rng(seed);
  const rand = () => Array.from({ length: 1 + rng.int(4) }, () => 4 + rng.int(8)).filter((t) => t !== 7 && t !== 8);
  return Array.from({ length: n }, (_, i) => {
    const prompt = [4 + rng.int(3)];
    const c = [...rand(), 7, ...rand()];
    const r = [...rand(), 8, ...rand()];
    return {
      prompt: `p${i % 10}`,
      chosen: "",
      rejected: "",
      chosenSeq: { prompt, completion: c, ended: true },
      rejectedSeq: { prompt, completion: r, ended: rng.uniform() < 0.5 },
      scoreChosen: 1,
      scoreRejected: 0,
    };
  });
}

test("reward model: loss goes down and held-out pair accuracy rises on a planted preference; no tensor leaks", () => {
  const sft = new Transformer({ vocabSize: 12, contextLength: 16, dModel: 16, nHeads: 2, nLayers: 1 }, 4);
  const rm = new LearnedRewardModel(sft, 0);
  const { train, heldOut } = splitPairsByPrompt(plantedPairs(200, 1), 0.3, 0);
  assert.ok(new Set(train.map((p) => p.prompt)).size + new Set(heldOut.map((p) => p.prompt)).size === 10);
  assert.ok(train.every((p) => !heldOut.some((h) => h.prompt === p.prompt)));
  const before = tf.memory().numTensors;
  const res = trainLearnedRewardModel(rm, train, heldOut, {
    steps: 40,
    batchSize: 16,
    learningRate: 3e-3,
    seed: 1,
    verbose: false,
    evalEvery: 20,
  });
  const first = res.logs.slice(0, 5).reduce((s, l) => s + l.loss, 0) / 5;
  const last = res.logs.slice(-5).reduce((s, l) => s + l.loss, 0) / 5;
  assert.ok(last < first - 0.2, `loss ${first} → ${last}`);
  const acc = res.heldOut[res.heldOut.length - 1];
  assert.ok(acc.accuracy > 0.9, `held-out accuracy ${acc.accuracy}`);
  assert.equal(res.heldOut.length, 2);
  assert.equal(tf.memory().numTensors, before, "training and evaluation leave no tensors behind");
  // The original SFT model is untouched (the reward model trains a clone).
  const scorer = rewardPrinciple("rm", (_p, c) => Float64Array.from(c, (t) => t.length));
  assert.equal(scorer.judge("x", "abc"), 3);
  rm.dispose();
  sft.dispose();
});

test("reward model gradients: bias gets exactly 0, head weight matches the hand-derived gradient, body matches finite differences", () => {
  const sft = new Transformer({ vocabSize: 12, contextLength: 12, dModel: 8, nHeads: 2, nLayers: 1 }, 5);
  const rm = new LearnedRewardModel(sft, 2);
  const pairs = plantedPairs(6, 3);
  const chosen = pairs.map((p) => p.chosenSeq);
  const rejected = pairs.map((p) => p.rejectedSeq);
  const lossFn = () =>
    tf.tidy(() => tf.mean(bradleyTerryRewardLoss(rm.rewardsTensor(chosen), rm.rewardsTensor(rejected))) as tf.Scalar);
  const { value, grads } = tf.variableGrads(lossFn, rm.variables);
  const gb = grads[rm.headBias.name].dataSync()[0];
  assert.equal(gb, 0, "b cancels in r_w − r_l");
  // ∂L/∂w = −(1/B) Σ (1 − σ(Δ_i)) (h_w,i − h_l,i), with h the last-token hidden state.
  const d = 8;
  const hOf = (seqs: Sequence[]): number[][] =>
    seqs.map((s) => {
      const ids = tf.tensor2d([[1, ...s.prompt, ...s.completion, ...(s.ended ? [2] : [])]], undefined, "int32");
      const h = rm.body.hiddenStates(ids as tf.Tensor2D);
      const T = h.shape[1];
      const v = Array.from(h.slice([0, T - 1, 0], [1, 1, d]).dataSync());
      tf.dispose([ids, h]);
      return v;
    });
  const hw = hOf(chosen);
  const hl = hOf(rejected);
  const w = Array.from(rm.headWeight.dataSync());
  const expected = new Array(d).fill(0);
  for (let i = 0; i < pairs.length; i++) {
    const delta = hw[i].reduce((s, x, j) => s + x * w[j], 0) - hl[i].reduce((s, x, j) => s + x * w[j], 0);
    const coef = -(1 - 1 / (1 + Math.exp(-delta))) / pairs.length;
    for (let j = 0; j < d; j++) expected[j] += coef * (hw[i][j] - hl[i][j]);
  }
  const gw = Array.from(grads[rm.headWeight.name].dataSync());
  gw.forEach((g, j) => assert.ok(Math.abs(g - expected[j]) < 1e-5, `head w[${j}]: ${g} vs ${expected[j]}`));
  // Central finite difference on one body weight (float32: step 1e-2, relative tolerance 3 %).
  const v = rm.body.params.get("h0.mlp.w1") as tf.Variable;
  const g = grads[v.name].dataSync();
  let at = 0;
  for (let i = 1; i < g.length; i++) if (Math.abs(g[i]) > Math.abs(g[at])) at = i;
  const orig = v.dataSync().slice();
  const eps = 1e-2;
  const lossAt = (delta: number) => {
    const x = orig.slice();
    x[at] += delta;
    v.assign(tf.tensor(x, v.shape));
    const l = lossFn();
    const out = l.dataSync()[0];
    l.dispose();
    return out;
  };
  const fd = (lossAt(eps) - lossAt(-eps)) / (2 * eps);
  v.assign(tf.tensor(orig, v.shape));
  assert.ok(Math.abs(fd - g[at]) < 0.03 * Math.abs(g[at]) + 1e-5, `finite difference ${fd} vs autodiff ${g[at]}`);
  value.dispose();
  tf.dispose(grads);
  rm.dispose();
  sft.dispose();
});

test("reward model scorer: texts → sequences → r, equal to scoreSequences; pair accuracy CI", () => {
  const tok = tinyTokenizer();
  const sft = new Transformer({ vocabSize: tok.size, contextLength: 16, dModel: 8, nHeads: 2, nLayers: 1 }, 6);
  const rm = new LearnedRewardModel(sft, 0);
  const r = rm.scorer(tok)(["the film", "the plot"], ["was great .", "is dull <unk>"]);
  const direct = rm.scoreSequences([
    textToSequence(tok, "the film", "was great .", 16).seq,
    textToSequence(tok, "the plot", "is dull <unk>", 16).seq,
  ]);
  assert.deepEqual(Array.from(r), Array.from(direct));
  const acc = pairAccuracy(
    rm,
    plantedPairs(20, 9).map((p) => ({
      ...p,
      chosenSeq: { ...p.chosenSeq, completion: p.chosenSeq.completion.map((t: number) => Math.min(t, tok.size - 1)) },
      rejectedSeq: {
        ...p.rejectedSeq,
        completion: p.rejectedSeq.completion.map((t: number) => Math.min(t, tok.size - 1)),
      },
    })),
  );
  assert.equal(acc.n, 20);
  assert.ok(acc.ci95[0] <= acc.accuracy && acc.accuracy <= acc.ci95[1]);
  rm.dispose();
  sft.dispose();
});

test("learnedRewardFromPairs (notebook 06's path): split by prompt, train, batch reward over sampled sequences", () => {
  const sft = new Transformer({ vocabSize: 12, contextLength: 16, dModel: 16, nHeads: 2, nLayers: 1 }, 7);
  const pairs = plantedPairs(120, 4);
  const r = learnedRewardFromPairs(sft, pairs, {
    steps: 30,
    batchSize: 16,
    learningRate: 3e-3,
    seed: 2,
    verbose: false,
    heldOutFraction: 0.3,
  });
  assert.equal(r.trainPairs.length + r.heldOutPairs.length, 120);
  assert.ok(r.result.heldOut[r.result.heldOut.length - 1].accuracy > 0.8);
  const seqs = [pairs[0].chosenSeq, pairs[0].rejectedSeq];
  const scores = r.batchReward(["p0", "p0"], ["", ""], seqs);
  assert.deepEqual(Array.from(scores), Array.from(r.rewardModel.scoreSequences(seqs)));
  assert.ok(scores[0] > scores[1]);
  r.rewardModel.dispose();
  sft.dispose();
});

test("without the corpus, loading says how to get it (npm run data -- fetch rt-polarity)", async () => {
  const empty = fs.mkdtempSync(path.join(os.tmpdir(), "fig2-nodata-"));
  const saved = [process.env.PREFOPT_SHARED_DATA, process.env.PREFOPT_DATA_CACHE];
  process.env.PREFOPT_SHARED_DATA = empty;
  process.env.PREFOPT_DATA_CACHE = empty;
  try {
    await assert.rejects(loadSentimentExamples(), /npm run data -- fetch rt-polarity/);
  } finally {
    if (saved[0] === undefined) delete process.env.PREFOPT_SHARED_DATA;
    else process.env.PREFOPT_SHARED_DATA = saved[0];
    if (saved[1] === undefined) delete process.env.PREFOPT_DATA_CACHE;
    else process.env.PREFOPT_DATA_CACHE = saved[1];
  }
});
