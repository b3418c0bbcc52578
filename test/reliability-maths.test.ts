// Issue 22's maths and LM-track items, one test each ("item N: ..."): seed aliasing, ragged listwise
// rankings, a bad PREFOPT_THREADS, pairs made identical by truncation, β beyond float32, Plackett–Luce
// probability and NLL edge cases, a prompt too long for the context, and a NaN z0.
import { before, test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend";
import { Rng } from "../src/random";
import { plackettLuceProbability } from "../src/notebook";
import { plackettLuceNll } from "../src/losses/listwise";
import { ktoLoss } from "../src/losses/kto";
import { ipoLoss } from "../src/losses/ipo";
import { dpoLoss } from "../src/losses/dpo";
import { resolveLossOptions } from "../src/losses/registry";
import "../src/losses/all";
import { WordTokenizer } from "../src/lm/tokenizer";
import { Transformer } from "../src/lm/transformer";
import { trainPreference, sequenceLogps } from "../src/lm/preferenceTrainer";
import { readTrlFiles, trainOnTrlFile } from "../src/fig2/pairs";
import type { RlaifData } from "../src/lm/rlaif";
import type { Sequence } from "../src/lm/batching";

before(async () => {
  await initBackend();
});

const tok = () =>
  WordTokenizer.fit(["the film was great , i loved it .", "the plot is dull and slow .", "what a waste of time !"], 40);

function writeJsonl(rows: object[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "reliability-maths-"));
  const file = path.join(dir, "mine.jsonl");
  fs.writeFileSync(file, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
  return file;
}

test("item 5: seeds 2^32·k + s and s give different streams and different forks", () => {
  for (const [a, b] of [
    [1, 2 ** 32 + 1],
    [0, 2 ** 32],
    [7, 5 * 2 ** 32 + 7],
    [3, -(2 ** 32) + 3],
  ]) {
    assert.notEqual(new Rng(a).nextUint32(), new Rng(b).nextUint32(), `first output of ${a} vs ${b}`);
    assert.notEqual(
      new Rng(a).fork("rewards").nextUint32(),
      new Rng(b).fork("rewards").nextUint32(),
      `fork ${a} vs ${b}`,
    );
  }
  // Forks of wide seeds keep more than 32 bits: 2^53 parents cannot share 2^32 children.
  const child = new Rng(2 ** 40 + 5).fork("x");
  assert.ok(child.seed >= 2 ** 32, `a wide parent's fork is wide (seed ${child.seed})`);
  // Seeds below 2^32 keep the streams every stored result was computed with (values from the code before).
  assert.equal(new Rng(1).fork("rewards").seed, 810153877);
  assert.equal(new Rng(1).nextUint32(), 2442144158);
  assert.equal(new Rng(12345).nextUint32(), 518667457);
});

test("item 6: listwise LM training scores each ranking over its own length (4 and 2, not both cut to 2)", () => {
  const t = tok();
  const reference = new Transformer({ vocabSize: t.size, contextLength: 12, dModel: 8, nHeads: 2, nLayers: 1 }, 3);
  const policy = reference.clone();
  const s = (prompt: string, completion: string): Sequence => ({
    prompt: t.encode(prompt),
    completion: t.encode(completion),
    ended: true,
  });
  const c = (prompt: string, completion: string, score: number) => ({
    seq: s(prompt, completion),
    text: completion,
    score,
  });
  const data: RlaifData = {
    pairs: [],
    unpaired: [],
    rankings: [
      {
        prompt: "the film",
        ranking: [
          c("the film", "was great", 4),
          c("the film", "was dull", 3),
          c("the film", "was slow", 2),
          c("the film", "is a waste", 1),
        ],
      },
      { prompt: "the plot", ranking: [c("the plot", "is great", 2), c("the plot", "is dull", 1)] },
    ],
    tiedPrompts: 0,
    tiedLists: 0,
    flippedFraction: 0,
  };
  const before = tf.memory().numTensors;
  const r = trainPreference(policy, reference, data, {
    method: "listwise",
    lossOptions: { beta: 0.5 },
    steps: 1,
    batchSize: 2,
    learningRate: 1e-3,
    verbose: false,
  });
  // policy = reference at step 1: every u_k = 0, so a ranking of N has NLL Σ_{k<N} log(N − k + 1) = log N!.
  const expected = (Math.log(24) + Math.log(2)) / 2;
  assert.ok(
    Math.abs(r.logs[0].loss - expected) < 1e-5,
    `loss ${r.logs[0].loss}, expected (log 4! + log 2!)/2 = ${expected}`,
  );
  assert.equal(r.cachedReferenceLogps, 6, "reference log-probs for all 4 + 2 responses");
  // logps/chosen averages each ranking's best response's log-prob, logps/rejected its worst (the 4th and the 2nd).
  const mean = (xs: Float32Array) => (xs[0] + xs[1]) / 2;
  const rk = data.rankings;
  const best = mean(sequenceLogps(reference, [rk[0].ranking[0].seq, rk[1].ranking[0].seq]));
  const worst = mean(sequenceLogps(reference, [rk[0].ranking[3].seq, rk[1].ranking[1].seq]));
  assert.ok(Math.abs(r.logs[0]["logps/chosen"] - best) < 1e-4, `logps/chosen ${r.logs[0]["logps/chosen"]} vs ${best}`);
  assert.ok(
    Math.abs(r.logs[0]["logps/rejected"] - worst) < 1e-4,
    `logps/rejected ${r.logs[0]["logps/rejected"]} vs ${worst}`,
  );
  assert.equal(tf.memory().numTensors, before, "no tensor leaks");
  // A ranking of one response is refused by name.
  data.rankings.push({ prompt: "what a", ranking: [c("what a", "waste", 1)] });
  assert.throws(
    () => trainPreference(policy, reference, data, { method: "listwise", steps: 1, batchSize: 2, verbose: false }),
    /rankings\[2\] \(prompt "what a"\) ranks 1 response/,
  );
  policy.dispose();
  reference.dispose();
});

test("item 9: an invalid PREFOPT_THREADS is an error naming the variable, not a silent cpu fallback", async () => {
  const saved = process.env.PREFOPT_THREADS;
  try {
    for (const bad of ["0", "abc", "1.5"]) {
      process.env.PREFOPT_THREADS = bad;
      await assert.rejects(
        async () => initBackend(),
        new RegExp(`PREFOPT_THREADS must be a positive integer, got "${bad.replace(".", "\\.")}"`),
      );
    }
  } finally {
    if (saved === undefined) delete process.env.PREFOPT_THREADS;
    else process.env.PREFOPT_THREADS = saved;
  }
});

test("item 10: pairs and rankings whose completions become identical after truncation are left out and counted", async () => {
  const t = tok();
  // contextLength 6: <bos> + "the film" (2) leaves 3 completion tokens; the texts differ at the 4th word.
  const prefs = writeJsonl([
    { prompt: "the film", chosen: " was great, i loved it.", rejected: " was great, i hated it." },
    { prompt: "the film", chosen: " was great.", rejected: " was dull." },
    { prompt: "the plot", chosen: " is zebra", rejected: " is giraffe" }, // both words → <unk>
  ]);
  const read = await readTrlFiles({ preferences: prefs }, t, 6);
  assert.equal(read.data.pairs.length, 1, "only the pair that still differs is kept");
  assert.deepEqual(read.identical, { pairs: 2, rankings: 0 });
  assert.equal(read.warnings.length, 1);
  assert.match(read.warnings[0], /2 pair\(s\) left out/);
  assert.ok(read.warnings[0].includes(`${prefs}:1`) && read.warnings[0].includes(`${prefs}:3`), read.warnings[0]);
  const ranks = writeJsonl([
    { prompt: "the film", responses: [" was great, i loved it.", " was great, i hated it.", " was dull."] },
    { prompt: "the plot", responses: [" is great.", " is dull."] },
  ]);
  const readR = await readTrlFiles({ rankings: ranks }, t, 6);
  assert.equal(readR.data.rankings.length, 1);
  assert.deepEqual(readR.identical, { pairs: 0, rankings: 1 });
  assert.match(readR.warnings[0], /1 ranking\(s\) left out/);
});

test("item 12: β beyond what float32 carries is refused (1e39 overflows; IPO's 1/(2β) at 1e-39 is ∞)", () => {
  assert.throws(
    () => resolveLossOptions("dpo", { beta: 1e39 }),
    /option beta is beyond float32's largest finite value/,
  );
  assert.throws(
    () => resolveLossOptions("ipo", { beta: 1e-39 }),
    /option beta is below float32's smallest normal value/,
  );
  const x = tf.tensor1d([-1, -2]);
  assert.throws(() => dpoLoss(x, x, x, x, { beta: 1e39 }), /dpoLoss.*beta is beyond float32/);
  assert.throws(() => ipoLoss(x, x, x, x, { beta: 1e-39 }), /ipoLoss.*beta is below float32's smallest normal/);
  // IPO squares 1/(2β): β = 1.2e-38 (a normal float32) still gives (4e37)² = ∞, so IPO stops at 2^-64.
  assert.throws(() => resolveLossOptions("ipo", { beta: 1.2e-38 }), /option beta must be >= 2\^-64 .* for IPO/);
  assert.throws(() => ipoLoss(x, x, x, x, { beta: 2 ** -65 }), /ipoLoss.*beta must be >= 2\^-64/);
  const ok = ipoLoss(x, tf.tensor1d([-3, -1]), x, x, { beta: 2 ** -64 });
  assert.ok(Array.from(ok.losses.dataSync()).every(Number.isFinite), "IPO at β = 2^-64 is finite");
  assert.deepEqual(resolveLossOptions("dpo", { beta: 3e38 }).beta, 3e38);
  tf.dispose([x, ok.losses, ok.chosenRewards, ok.rejectedRewards]);
});

test("item 13: plackettLuceProbability refuses a repeated, out-of-range or missing index", () => {
  assert.throws(() => plackettLuceProbability([1, 2, 3], [0, 0, 0]), /order\[1\] = 0 repeats an index/);
  assert.throws(
    () => plackettLuceProbability([1, 2, 3], [0, 1, 3]),
    /order\[2\] = 3 is not an index of the 3 utilities/,
  );
  assert.throws(() => plackettLuceProbability([1, 2, 3], [0, 1.5, 2]), /order\[1\] = 1.5 is not an index/);
  assert.throws(() => plackettLuceProbability([1, 2, 3], [2, 0]), /order ranks 2 of the 3 items/);
  assert.throws(() => plackettLuceProbability([1, NaN], [0, 1]), /every utility must be finite/);
  // A valid permutation still gives the hand value: r = (0, log 2, log 3), order (2, 0, 1): 3/6 · 1/3 = 1/6.
  assert.ok(Math.abs(plackettLuceProbability([0, Math.log(2), Math.log(3)], [2, 0, 1]) - 1 / 6) < 1e-15);
});

test("item 22: plackettLuceNll of empty rankings (shape [2, 0]) is 0 per ranking, not a tfjs error", () => {
  const nll = plackettLuceNll(tf.zeros([2, 0]));
  assert.deepEqual(nll.shape, [2]);
  assert.deepEqual(Array.from(nll.dataSync()), [0, 0]);
  const one = plackettLuceNll(tf.tensor2d([[5], [-1]]));
  assert.deepEqual(Array.from(one.dataSync()), [0, 0], "one item: nothing is ranked");
  tf.dispose([nll, one]);
});

test("item 23: trainOnTrlFile with a prompt longer than the context names the file and line", async () => {
  const t = tok();
  const rows = [
    { prompt: "the film", chosen: " was great.", rejected: " was dull." },
    { prompt: "the film was great , i loved it . the plot", chosen: " is great.", rejected: " is dull." },
  ];
  const file = writeJsonl(rows);
  // The same records with a blank line first: the long prompt is on the file's line 3 (not its 2nd record's line).
  const spaced = path.join(path.dirname(file), "spaced.jsonl");
  fs.writeFileSync(spaced, "\n" + rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
  const reference = new Transformer({ vocabSize: t.size, contextLength: 8, dModel: 8, nHeads: 2, nLayers: 1 }, 1);
  const opts = { method: "dpo", steps: 1, batchSize: 1, verbose: false };
  for (const [source, where] of [
    [file, `${file}:2`],
    [spaced, `${spaced}:3`],
    [rows, "records:2"],
  ] as const) {
    await assert.rejects(
      trainOnTrlFile(source, reference, reference, t, opts),
      (err: Error) => err.message.startsWith(`${where}: field "prompt": `) && /leaving no room/.test(err.message),
    );
  }
  reference.dispose();
});

test("item 34: ktoLoss refuses a NaN or infinite z0 tensor", () => {
  const p = tf.tensor1d([-1, -2]);
  const r = tf.tensor1d([-1.5, -1]);
  for (const bad of [NaN, Infinity]) {
    const z0 = tf.scalar(bad);
    assert.throws(
      () => ktoLoss(p, r, [true, false], { beta: 0.1, z0 }),
      /options\.z0 must be finite, got (NaN|Infinity)/,
    );
    z0.dispose();
  }
  const rows = tf.tensor1d([0.1, NaN]);
  assert.throws(
    () => ktoLoss(tf.tensor2d([[-1], [-2]]), tf.tensor2d([[-1], [-1]]), [true], { beta: 0.1, z0: rows }),
    /z0 must be finite, got NaN at flat index 1/,
  );
  tf.dispose([p, r, rows]);
});
