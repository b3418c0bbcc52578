// Language-model track: tokenizer, transformer log-probs against a plain-JS reference forward pass,
// judges, RLAIF data generation, and the first steps of every trainer (hand-derived first-step losses,
// decreasing losses, finite values, no tensor leaks). Tiny models only: the whole file runs in seconds.
import { before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend";
import { Rng } from "../src/random";
import { WordTokenizer, splitWords, UNK, BOS, EOS, PAD, NON_EMITTED } from "../src/lm/tokenizer";
import { Transformer, parameterCount } from "../src/lm/transformer";
import { matMulFast } from "../src/lm/fastMatMul";
import { tokenLogProbs, modelTokenLogProbs, maskedSequenceSum, sequenceLogProbsFromLabels } from "../src/lm/logprobs";
import { packSequences, packTexts, sftRow, disposeBatch, type Sequence } from "../src/lm/batching";
import { near } from "./fixtures";
import {
  generateReviewCorpus,
  documentsFromLines,
  splitCorpus,
  splitCorpusByPrompt,
  promptOf,
  type Document,
} from "../src/lm/corpus";
import { sampleToken, sampleCompletions, sampleGroups } from "../src/lm/sampling";
import { prefill, decodeStep, selectRows, disposeKvCache } from "../src/lm/kvCache";
import { availableBackends, type BackendName } from "../src/backend";
import { trainSft } from "../src/lm/sft";
import { saveCheckpoint, loadCheckpoint } from "../src/lm/checkpoint";
import { fsSeams } from "../src/fsAtomic";
import {
  defaultConstitution,
  judge,
  lengthPrinciple,
  bannedWordsPrinciple,
  afinnSentiment,
  vaderSentiment,
} from "../src/lm/judges";
import {
  buildPreferenceData,
  rankByScore,
  pairsToJsonl,
  unpairedToJsonl,
  detokenize,
  trlPromptCompletion,
  type ScoredCompletion,
} from "../src/lm/rlaif";
import { trainPreference, type PreferenceMethod } from "../src/lm/preferenceTrainer";
import { trainRloo } from "../src/lm/rloo";
import { evaluatePolicy } from "../src/lm/evaluate";
import { lmPreset, setupCorpus, trainReference, makeRlaifData, leakedPrompts } from "../src/lm/pipeline";

before(async () => {
  await initBackend();
});

describe("tokenizer", () => {
  test("splits words and punctuation, keeps apostrophes inside words", () => {
    assert.deepEqual(splitWords("The film, I didn't LIKE it."), ["the", "film", ",", "i", "didn't", "like", "it", "."]);
  });
  test("fit is deterministic: specials first, then by frequency, ties by code point", () => {
    const tok = WordTokenizer.fit(["b a b", "c a b"], 6);
    assert.deepEqual(tok.vocab, ["<pad>", "<bos>", "<eos>", "<unk>", "b", "a"]);
    assert.deepEqual(tok.encode("a b c"), [5, 4, UNK]);
    assert.equal(tok.decode([BOS, 4, 5, EOS, PAD]), "b a");
    assert.ok(Math.abs(tok.unknownRate(["a c"]) - 0.5) < 1e-12);
  });
  test("round-trips through JSON and rejects malformed vocabularies", () => {
    const tok = WordTokenizer.fit(generateReviewCorpus(50, 1).docs.map((d) => d.text));
    const again = WordTokenizer.fromJSON(JSON.parse(JSON.stringify(tok.toJSON())));
    assert.deepEqual(again.vocab, tok.vocab);
    assert.throws(() => new WordTokenizer(["x", "<bos>", "<eos>", "<unk>"]), /vocab\[0\] must be "<pad>"/);
    assert.throws(() => tok.decode([tok.size]), /outside/);
  });
});

describe("corpus", () => {
  test("the generator is seeded and its prompts are sentence prefixes", () => {
    const a = generateReviewCorpus(20, 3).docs;
    assert.deepEqual(a, generateReviewCorpus(20, 3).docs);
    assert.notDeepEqual(a, generateReviewCorpus(20, 4).docs);
    for (const d of a) assert.ok(splitWords(d.text).join(" ").startsWith(promptOf(d)) && d.promptWords >= 3);
  });
  test("line loader counts skipped short lines and cuts long ones", () => {
    const r = documentsFromLines("t", ["one two", "", "a b c d e f g", Array(40).fill("w").join(" ")], {
      promptWords: 2,
      maxWords: 10,
    });
    assert.equal(r.lines, 3);
    assert.equal(r.skippedShort, 1);
    assert.equal(r.corpus.docs.length, 2);
    assert.equal(splitWords(r.corpus.docs[1].text).length, 10);
    assert.equal(r.corpus.docs[1].truncated, true, "a cut line is marked truncated");
    assert.equal(r.corpus.docs[0].truncated, undefined);
  });
  test("prompt-level split: evaluation prompts never reach training (generated grammar and many-opening text)", () => {
    const rng = new Rng(3);
    const lines = Array.from({ length: 600 }, () =>
      Array.from({ length: 6 + rng.int(6) }, () => `w${rng.int(40)}`).join(" "),
    );
    const corpora = [generateReviewCorpus(4000, 0), documentsFromLines("lines", lines, { promptWords: 3 }).corpus];
    for (const c of corpora) {
      const s = splitCorpusByPrompt(c, 0.3, 0);
      assert.deepEqual(splitCorpusByPrompt(c, 0.3, 0), s, "deterministic");
      assert.equal(s.train.length + s.heldOut.length, c.docs.length);
      const openings = new Set(c.docs.map(promptOf));
      assert.equal(s.heldOutPrompts.length, Math.round(0.3 * openings.size));
      const startsWith = (d: Document, p: string) => splitWords(d.text).slice(0, splitWords(p).length).join(" ") === p;
      for (const p of s.heldOutPrompts)
        assert.ok(!s.train.some((d) => startsWith(d, p)), `a training sentence starts with evaluation prompt "${p}"`);
      for (const d of s.heldOut)
        assert.ok(
          s.heldOutPrompts.some((p) => startsWith(d, p)),
          `held-out "${d.text}" has no evaluation prompt`,
        );
    }
    // 105 openings in the grammar: 0.3 reserves 32, the default preset's evaluation prompts.
    assert.equal(splitCorpusByPrompt(corpora[0], 0.3, 0).heldOutPrompts.length, 32);
    assert.throws(() => splitCorpusByPrompt(corpora[0], 0, 0), /heldOutFraction/);
  });
  test("setupCorpus: evaluation and training prompts are disjoint; leakedPrompts finds a leak", () => {
    const preset = lmPreset("default");
    const c = generateReviewCorpus(preset.corpusSize, preset.seed);
    const setup = setupCorpus(c, preset);
    assert.equal(setup.evalPrompts.length, 32);
    const train = new Set(setup.trainPrompts);
    assert.ok(
      setup.evalPrompts.every((p) => !train.has(p)),
      "evaluation prompts are not training prompts",
    );
    assert.deepEqual(new Set(setup.train.map(promptOf)), train);
    const evalSet = new Set(setup.evalPrompts);
    assert.ok(
      setup.train.every((d) => !evalSet.has(promptOf(d))),
      "no training sentence opens with an evaluation prompt",
    );
    assert.ok(setup.heldOut.every((d) => evalSet.has(promptOf(d))));
    assert.deepEqual(leakedPrompts(setup.evalPrompts, setup.trainPrompts, setup.train), []);
    // The checker can fail: move one held-out sentence into training.
    const moved = setup.heldOut[0];
    assert.deepEqual(leakedPrompts(setup.evalPrompts, setup.trainPrompts, [...setup.train, moved]), [promptOf(moved)]);
    assert.deepEqual(leakedPrompts(setup.evalPrompts, [...setup.trainPrompts, setup.evalPrompts[3]], setup.train), [
      setup.evalPrompts[3],
    ]);
    assert.throws(
      () => setupCorpus(c, { ...preset, heldOutFraction: 0.1 }),
      /reserves 11 evaluation prompts, fewer than evaluation\.prompts = 32/,
    );
  });
  test("SFT rows: <eos> only on complete sentences; cut rows end without it", () => {
    assert.deepEqual(sftRow([5, 6, 7], true, 8), [5, 6, 7, EOS]);
    assert.deepEqual(sftRow([5, 6, 7], false, 8), [5, 6, 7], "a line cut at maxWords gets no <eos>");
    assert.deepEqual(
      sftRow([4, 5, 6, 7, 8, 9, 10], true, 8),
      [4, 5, 6, 7, 8, 9, 10],
      "6 + <bos> + <eos> would not fit 8: cut, no <eos>",
    );
    const b = packTexts(
      [
        [5, 6, EOS],
        [5, 6, 7],
        [4, 5, 6, 7, 8, 9, 10, 11, 12],
      ],
      8,
    );
    const ids = b.ids.arraySync();
    assert.deepEqual(ids[0].slice(0, 4), [BOS, 5, 6, EOS]);
    assert.deepEqual(ids[1].slice(0, 5), [BOS, 5, 6, 7, PAD]);
    assert.deepEqual(ids[2], [BOS, 4, 5, 6, 7, 8, 9, 10]);
    assert.deepEqual(b.lengths, [3, 3, 7], "every token after <bos> is scored");
    disposeBatch(b);
  });
  test("split is deterministic and disjoint", () => {
    const c = generateReviewCorpus(100, 0);
    const s = splitCorpus(c, 0.2, 5);
    assert.equal(s.heldOut.length, 20);
    assert.equal(s.train.length, 80);
    assert.deepEqual(splitCorpus(c, 0.2, 5).heldOut, s.heldOut);
  });
});

// ---- A plain-JS forward pass of the same architecture, position by position, for reference ----------

function arr(v: tf.Tensor): number[] {
  return Array.from(v.dataSync());
}

function referenceLogits(model: Transformer, ids: number[]): number[][] {
  const c = model.config;
  const P = (n: string) => arr(model.params.get(n)!);
  const d = c.dModel;
  const H = c.nHeads;
  const dh = d / H;
  const hidden = d * c.mlpRatio;
  const matvec = (x: number[], w: number[], b: number[] | null, rows: number, cols: number) => {
    const out = new Array(cols).fill(0);
    for (let j = 0; j < cols; j++) {
      let s = b ? b[j] : 0;
      for (let i = 0; i < rows; i++) s += x[i] * w[i * cols + j];
      out[j] = s;
    }
    return out;
  };
  const ln = (x: number[], g: number[], b: number[]) => {
    const m = x.reduce((a, v) => a + v, 0) / x.length;
    const v = x.reduce((a, u) => a + (u - m) ** 2, 0) / x.length;
    return x.map((u, i) => ((u - m) / Math.sqrt(v + 1e-5)) * g[i] + b[i]);
  };
  const gelu = (x: number) => 0.5 * x * (1 + Math.tanh(0.7978845608 * (x + 0.044715 * x ** 3)));
  const wte = P("wte");
  const wpe = P("wpe");
  let xs = ids.map((id, t) => Array.from({ length: d }, (_, j) => wte[id * d + j] + wpe[t * d + j]));
  for (let l = 0; l < c.nLayers; l++) {
    const qkv = xs.map((x) =>
      matvec(ln(x, P(`h${l}.ln1.g`), P(`h${l}.ln1.b`)), P(`h${l}.attn.wqkv`), P(`h${l}.attn.bqkv`), d, 3 * d),
    );
    const attnOut = xs.map((_, t) => {
      const merged: number[] = [];
      for (let h = 0; h < H; h++) {
        const q = qkv[t].slice(h * dh, (h + 1) * dh);
        const scores: number[] = [];
        for (let s = 0; s <= t; s++) {
          const k = qkv[s].slice(d + h * dh, d + (h + 1) * dh);
          scores.push(q.reduce((a, v, i) => a + v * k[i], 0) / Math.sqrt(dh));
        }
        const mx = Math.max(...scores);
        const w = scores.map((s) => Math.exp(s - mx));
        const z = w.reduce((a, b) => a + b, 0);
        for (let i = 0; i < dh; i++) merged.push(w.reduce((a, ws, s) => a + (ws / z) * qkv[s][2 * d + h * dh + i], 0));
      }
      return matvec(merged, P(`h${l}.attn.wo`), P(`h${l}.attn.bo`), d, d);
    });
    xs = xs.map((x, t) => x.map((v, i) => v + attnOut[t][i]));
    xs = xs.map((x) => {
      const hdn = matvec(
        ln(x, P(`h${l}.ln2.g`), P(`h${l}.ln2.b`)),
        P(`h${l}.mlp.w1`),
        P(`h${l}.mlp.b1`),
        d,
        hidden,
      ).map(gelu);
      const out = matvec(hdn, P(`h${l}.mlp.w2`), P(`h${l}.mlp.b2`), hidden, d);
      return x.map((v, i) => v + out[i]);
    });
  }
  return xs.map((x) => {
    const h = ln(x, P("lnf.g"), P("lnf.b"));
    return Array.from({ length: c.vocabSize }, (_, v) => h.reduce((a, u, i) => a + u * wte[v * d + i], 0));
  });
}

function randomize(model: Transformer, seed: number): void {
  // Non-trivial layer-norm gains/biases so the reference comparison exercises every parameter.
  const rng = new Rng(seed);
  for (const [, v] of model.params)
    v.assign(
      tf.tensor(
        Array.from({ length: v.size }, () => rng.normal() * 0.3),
        v.shape,
      ),
    );
}

describe("transformer", () => {
  const config = { vocabSize: 11, contextLength: 8, dModel: 8, nHeads: 2, nLayers: 2 };

  test("logits match a position-by-position plain-JS forward pass", () => {
    const model = new Transformer(config, 1);
    randomize(model, 2);
    const rows = [
      [1, 4, 7, 2, 9, 3],
      [1, 10, 5, 5, 0, 0],
    ];
    const logits = tf.tidy(() => model.forward(tf.tensor2d(rows, [2, 6], "int32")).arraySync());
    rows.forEach((row, b) => {
      const ref = referenceLogits(model, row);
      ref.forEach((r, t) =>
        r.forEach((v, k) =>
          assert.ok(
            Math.abs(v - logits[b][t][k]) < 2e-4 * (1 + Math.abs(v)),
            `b${b} t${t} k${k}: ${logits[b][t][k]} vs ${v}`,
          ),
        ),
      );
    });
    model.dispose();
  });

  test("sequence log-probs equal explicit sums of per-position log-softmax", () => {
    const model = new Transformer(config, 3);
    randomize(model, 4);
    const seqs: Sequence[] = [
      { prompt: [4, 5], completion: [6, 7], ended: true },
      { prompt: [8], completion: [9, 10, 4, 5], ended: false },
    ];
    const batch = packSequences(seqs, config.contextLength);
    const got = tf.tidy(() => arr(maskedSequenceSum(tokenLogProbs(model.forward(batch.ids), batch.ids), batch.mask)));
    const rows = batch.ids.arraySync();
    seqs.forEach((s, b) => {
      const full = [BOS, ...s.prompt, ...s.completion, ...(s.ended ? [EOS] : [])];
      const ref = referenceLogits(model, full);
      let expected = 0;
      for (let t = s.prompt.length; t < full.length - 1; t++) {
        const l = ref[t];
        const mx = Math.max(...l);
        expected += l[full[t + 1]] - mx - Math.log(l.reduce((a, v) => a + Math.exp(v - mx), 0));
      }
      assert.deepEqual(rows[b].slice(0, full.length), full);
      assert.ok(Math.abs(got[b] - expected) < 1e-3, `row ${b}: ${got[b]} vs ${expected}`);
    });
    // The labels (ignore_index = −100) convention gives the same numbers.
    const labels = tf.tensor2d(
      rows.map((r, b) =>
        r.map((v, t) =>
          t >= 1 + seqs[b].prompt.length &&
          t < 1 + seqs[b].prompt.length + seqs[b].completion.length + (seqs[b].ended ? 1 : 0)
            ? v
            : -100,
        ),
      ),
      undefined,
      "int32",
    );
    const viaLabels = tf.tidy(() => arr(sequenceLogProbsFromLabels(model.forward(batch.ids), labels)));
    viaLabels.forEach((v, b) => assert.ok(Math.abs(v - got[b]) < 1e-4));
    labels.dispose();
    disposeBatch(batch);
    model.dispose();
  });

  test("tokenLogProbs gradient equals the gradient of an explicit oneHot · logSoftmax", () => {
    const rng = new Rng(8);
    const logits = tf.tensor3d(
      Array.from({ length: 2 * 5 * 7 }, () => rng.normal() * 2),
      [2, 5, 7],
    );
    const ids = tf.tensor2d(
      Array.from({ length: 10 }, () => rng.int(7)),
      [2, 5],
      "int32",
    );
    const w = tf.tensor2d(
      Array.from({ length: 8 }, () => rng.normal()),
      [2, 4],
    );
    const fast = tf.grad((l: tf.Tensor) => tf.sum(tf.mul(tokenLogProbs(l as tf.Tensor3D, ids), w)))(logits);
    const slow = tf.grad((l: tf.Tensor) => {
      const head = tf.slice(l, [0, 0, 0], [2, 4, 7]);
      const picked = tf.sum(tf.mul(tf.logSoftmax(head), tf.oneHot(tf.slice(ids, [0, 1], [2, 4]), 7)), -1);
      return tf.sum(tf.mul(picked, w));
    })(logits);
    arr(fast).forEach((v, i) => assert.ok(Math.abs(v - arr(slow)[i]) < 1e-5, `${i}: ${v} vs ${arr(slow)[i]}`));
    tf.dispose([logits, ids, w, fast, slow]);
  });

  test("tokenLogProbs with excluded tokens is log-softmax over the others: what the sampler draws from", () => {
    const rng = new Rng(9);
    const V = 6;
    const logits = tf.tensor3d(
      Array.from({ length: V * 2 }, () => rng.normal() * 2),
      [1, 2, V],
    );
    const lp = (target: number, excluded: readonly number[]) =>
      tf.tidy(() => tokenLogProbs(logits, tf.tensor2d([[4, target]], [1, 2], "int32"), excluded).dataSync()[0]);
    const row = Array.from(logits.dataSync().slice(0, V));
    const allowed = [2, 3, 4, 5];
    const z = Math.log(allowed.reduce((a, v) => a + Math.exp(row[v]), 0));
    for (const v of allowed) assert.ok(Math.abs(lp(v, NON_EMITTED) - (row[v] - z)) < 1e-5, `token ${v}`);
    assert.ok(
      Math.abs(allowed.reduce((a, v) => a + Math.exp(lp(v, NON_EMITTED)), 0) - 1) < 1e-5,
      "sums to 1 over the emitted tokens",
    );
    assert.ok(
      allowed.reduce((a, v) => a + Math.exp(lp(v, [])), 0) < 1 - 1e-3,
      "the full softmax leaks mass to <pad>/<bos>",
    );
    // The sampler's frequencies match exp(log-prob) under the exclusion.
    const draws = 20000;
    const counts = new Array(V).fill(0);
    const srng = new Rng(1);
    for (let i = 0; i < draws; i++) counts[sampleToken(row, srng, 1, 0, NON_EMITTED)]++;
    assert.equal(counts[PAD] + counts[BOS], 0);
    for (const v of allowed) {
      const p = Math.exp(lp(v, NON_EMITTED));
      assert.ok(
        Math.abs(counts[v] / draws - p) < 4 * Math.sqrt((p * (1 - p)) / draws) + 1e-9,
        `token ${v}: ${counts[v] / draws} vs ${p}`,
      );
    }
    logits.dispose();
  });

  test("matMulFast matches tf.matMul forward and gradient, with and without transposes", () => {
    const rng = new Rng(5);
    const mk = (shape: number[]) =>
      tf.tensor(
        Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()),
        shape,
      );
    for (const [ta, tb, sa, sb] of [
      [false, false, [2, 3, 4], [2, 4, 5]],
      [false, true, [3, 4], [5, 4]],
      [true, false, [4, 3], [4, 5]],
    ] as Array<[boolean, boolean, number[], number[]]>) {
      const a = mk(sa);
      const b = mk(sb);
      const f1 = (x: tf.Tensor, y: tf.Tensor) =>
        tf.sum(tf.square(tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D, ta, tb)));
      const f2 = (x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.square(matMulFast(x, y, ta, tb)));
      const g1 = tf.grads(f1)([a, b]);
      const g2 = tf.grads(f2)([a, b]);
      g1.forEach((g, i) => arr(g).forEach((v, j) => assert.ok(Math.abs(v - arr(g2[i])[j]) < 1e-4)));
      tf.dispose([a, b, ...g1, ...g2]);
    }
  });

  test("same seed → same weights; parameterCount matches the variables; clone is independent", () => {
    const a = new Transformer(config, 9);
    const b = new Transformer(config, 9);
    assert.deepEqual(arr(a.params.get("h1.mlp.w1")!), arr(b.params.get("h1.mlp.w1")!));
    assert.equal(
      a.variables.reduce((s, v) => s + v.size, 0),
      parameterCount(config),
    );
    const c = a.clone();
    c.params.get("wte")!.assign(tf.zerosLike(c.params.get("wte")!));
    assert.notDeepEqual(arr(a.params.get("wte")!), arr(c.params.get("wte")!));
    [a, b, c].forEach((m) => m.dispose());
    assert.throws(() => new Transformer({ ...config, dModel: 9 }), /not divisible/);
  });

  test("checkpoint save/load restores identical logits", () => {
    const tok = WordTokenizer.fit(["a b c d e f g"]);
    const model = new Transformer({ ...config, vocabSize: tok.size }, 4);
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "prefopt-lm-")), "m.json");
    saveCheckpoint(file, model, tok, { note: "test" });
    const { model: back, tokenizer, meta } = loadCheckpoint(file);
    const ids = tf.tensor2d([[1, 4, 5, 6]], [1, 4], "int32");
    assert.deepEqual(
      tf.tidy(() => arr(back.forward(ids))),
      tf.tidy(() => arr(model.forward(ids))),
    );
    assert.deepEqual(tokenizer.vocab, tok.vocab);
    assert.deepEqual(meta, { note: "test" });
    ids.dispose();
    model.dispose();
    back.dispose();
  });

  test("a checkpoint save that fails part-way (disk full) leaves the previous checkpoint intact", () => {
    const tok = WordTokenizer.fit(["a b c d e f g"]);
    const model = new Transformer({ ...config, vocabSize: tok.size }, 4);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "prefopt-lm-"));
    const file = path.join(dir, "m.json");
    saveCheckpoint(file, model, tok, { note: "old" });
    const before = fs.readFileSync(file, "utf8");
    const saved = fsSeams.writeSync;
    let calls = 0;
    // The first write lands 100 bytes, the next reports a full disk: what write(2) does on ENOSPC.
    fsSeams.writeSync = (fd, buffer, offset, length) => {
      if (calls++ === 0) return saved(fd, buffer, offset, Math.min(length, 100));
      throw Object.assign(new Error("ENOSPC: no space left on device"), { code: "ENOSPC" });
    };
    try {
      assert.throws(() => saveCheckpoint(file, model, tok, { note: "new" }), /could not write .*m\.json.*ENOSPC/);
    } finally {
      fsSeams.writeSync = saved;
    }
    assert.equal(fs.readFileSync(file, "utf8"), before);
    assert.deepEqual(fs.readdirSync(dir), ["m.json"]);
    assert.deepEqual(loadCheckpoint(file).meta, { note: "old" });
    model.dispose();
  });
});

describe("sampling", () => {
  test("top-k = 1 is greedy; forbidden tokens are never drawn; temperature must be positive", () => {
    const rng = new Rng(0);
    assert.equal(sampleToken([0.1, 3, 2, -1], rng, 1, 1), 1);
    for (let i = 0; i < 50; i++) assert.notEqual(sampleToken([5, 0, 0], rng, 1, 0, [0]), 0);
    for (let i = 0; i < 50; i++) assert.ok([1, 2].includes(sampleToken([0, 3, 2, -1], rng, 1, 2)));
    assert.throws(() => sampleToken([1, 2], rng, 0), /temperature/);
  });
  test("sampleToken draws exactly what softmax sampling over float64 scaled logits draws (the plain definition)", () => {
    // The plain definition: logits / T in float64, forbidden at −∞, then Rng.categoricalLogits.
    const plain = (logits: ArrayLike<number>, rng: Rng, t: number, forbid: number[]) => {
      const scaled = Float64Array.from(logits as ArrayLike<number>, (z) => z / t);
      for (const f of forbid) scaled[f] = -Infinity;
      return rng.categoricalLogits(scaled);
    };
    const gen = new Rng(42);
    const rows: Array<[Float32Array, number, number[]]> = [];
    for (let r = 0; r < 300; r++) {
      const n = 1 + gen.int(r < 200 ? 40 : 2500);
      const row = Float32Array.from({ length: n }, () => gen.normal() * (1 + gen.int(8)));
      if (r % 7 === 0) row[gen.int(n)] = -Infinity;
      if (r % 5 === 0) row.fill(row[0], 0, Math.min(n, 3)); // ties
      const forbid = r % 3 === 0 ? [0, 1] : r % 3 === 1 ? [] : [n - 1];
      if (r % 11 === 0) row[0] = 50; // a forbidden token holding the largest logit
      rows.push([row, [1, 0.7, 2.5][r % 3], forbid]);
    }
    rows.push([Float32Array.from([Number.NaN, 1, 2]), 1, [0]]); // NaN at a forbidden token: drawn around
    const [a, b] = [new Rng(9), new Rng(9)];
    for (const [row, t, forbid] of rows)
      for (let k = 0; k < 5; k++) {
        const outcome = (f: () => number) => {
          try {
            return f();
          } catch (err) {
            return (err as Error).message; // e.g. every token forbidden: both must refuse, the same way
          }
        };
        assert.equal(
          outcome(() => sampleToken(row, a, t, 0, forbid)),
          outcome(() => plain(row, b, t, forbid)),
        );
      }
    assert.equal(a.uniform(), b.uniform(), "the same number of draws");
    // Where the plain definition throws (NaN, or every token at −∞), so does sampleToken.
    assert.throws(() => sampleToken([Number.NaN, 1], a), /NaN/);
    assert.throws(() => sampleToken([1, 2], a, 1, 0, [0, 1]), /NaN/);
    assert.throws(() => sampleToken([Infinity, 2], a), /NaN/);
  });
  test("same seed → same completions, within the context budget", () => {
    const model = new Transformer({ vocabSize: 12, contextLength: 10, dModel: 8, nHeads: 2, nLayers: 1 }, 0);
    const prompts = [[4, 5], [6], [7, 8, 9]];
    const a = sampleCompletions(model, prompts, new Rng(1), { maxNewTokens: 20 });
    const b = sampleCompletions(model, prompts, new Rng(1), { maxNewTokens: 20 });
    assert.deepEqual(a, b);
    for (const s of a) {
      assert.ok(1 + s.prompt.length + s.completion.length + (s.ended ? 1 : 0) <= 10);
      assert.ok(!s.completion.includes(PAD) && !s.completion.includes(BOS) && !s.completion.includes(EOS));
    }
    model.dispose();
  });
});

/** Run `check` once on every backend that loads here, then return to the default backend. */
async function onEveryBackend(check: (name: BackendName) => void | Promise<void>): Promise<void> {
  try {
    for (const name of await availableBackends()) {
      await initBackend(name);
      await check(name);
    }
  } finally {
    await initBackend();
  }
}

describe("incremental decoding (key/value cache)", () => {
  const config = { vocabSize: 23, contextLength: 12, dModel: 16, nHeads: 2, nLayers: 2 };

  test("on every backend, fused and plain, each decode step's logits equal the full forward pass's at that position", async () => {
    await onEveryBackend(async (backend) => {
      for (const fused of [true, false]) {
        const name = `${backend}${fused ? "" : " (PREFOPT_FUSED=0)"}`;
        if (fused) delete process.env.PREFOPT_FUSED;
        else process.env.PREFOPT_FUSED = "0";
        try {
          const model = new Transformer(config, 3);
          const rows = [
            [1, 5, 9],
            [1, 7],
            [1, 4, 6, 8, 10, 12],
          ];
          const full = rows.map((r) => [...r, 11, 13, 14, 15, 16].slice(0, 10));
          const start = tf.memory().numTensors;
          let { logits, cache } = prefill(model, rows);
          let step = 0;
          for (;;) {
            const got = logits.arraySync() as number[][];
            logits.dispose();
            rows.forEach((r, b) => {
              const pos = r.length - 1 + step;
              const want = tf.tidy(
                () =>
                  model.forward(tf.tensor2d([full[b].slice(0, pos + 1)], [1, pos + 1], "int32")).arraySync()[0][pos],
              );
              got[b].forEach((v, j) =>
                assert.ok(
                  Math.abs(v - want[j]) < 1e-4,
                  `${name}: row ${b} position ${pos} token ${j}: ${v} vs ${want[j]}`,
                ),
              );
            });
            step++;
            if (Math.max(...rows.map((r) => r.length - 1 + step)) >= full[0].length) break;
            const r = decodeStep(
              model,
              rows.map((r, b) => full[b][r.length - 1 + step]),
              rows.map((r) => r.length - 1 + step),
              cache,
            );
            logits = r.logits;
            cache = r.cache;
          }
          // Dropping rows keeps the others' caches: row 2 alone continues exactly.
          cache = selectRows(cache, [2]);
          const pos = rows[2].length - 1 + step;
          const r = decodeStep(model, [full[2][pos]], [pos], cache);
          const want = tf.tidy(
            () => model.forward(tf.tensor2d([full[2].slice(0, pos + 1)], [1, pos + 1], "int32")).arraySync()[0][pos],
          );
          (r.logits.arraySync() as number[][])[0].forEach((v, j) =>
            assert.ok(Math.abs(v - want[j]) < 1e-4, `${name}: after selectRows, token ${j}`),
          );
          r.logits.dispose();
          disposeKvCache(r.cache);
          assert.equal(
            tf.memory().numTensors,
            start + 1,
            `${name}: only the decoding copy of Eᵀ stays (kept by the model)`,
          );
          model.dispose();
        } finally {
          delete process.env.PREFOPT_FUSED;
        }
      }
    });
  });

  test("on every backend, modelTokenLogProbs with the loss mask (head on scored positions only) equals the full values × mask, with the same gradients", async () => {
    await onEveryBackend(async (name) => {
      const model = new Transformer({ ...config, vocabSize: 40 }, 7);
      const batch = packSequences(
        [
          { prompt: [5, 9], completion: [30, 31, 12], ended: true },
          { prompt: [7, 39, 11, 4], completion: [12], ended: false },
          { prompt: [6], completion: [8, 8], ended: true },
        ],
        model.config.contextLength,
      );
      const w = tf.randomNormal(batch.mask.shape, 0, 1, "float32", 3);
      const masked = (scored?: tf.Tensor2D) =>
        tf.variableGrads(
          () => tf.sum(tf.mul(tf.mul(modelTokenLogProbs(model, batch.ids, scored), batch.mask), w)) as tf.Scalar,
          model.variables,
        );
      const sparse = masked(batch.mask);
      const full = masked();
      const lpSparse = tf.tidy(() => modelTokenLogProbs(model, batch.ids, batch.mask).dataSync());
      const lpFull = tf.tidy(() => tf.mul(modelTokenLogProbs(model, batch.ids), batch.mask).dataSync());
      near(lpSparse, lpFull, 1e-5, `${name}: log-probs`);
      near(sparse.value.dataSync(), full.value.dataSync(), 1e-5, `${name}: value`);
      for (const k of Object.keys(full.grads))
        near(sparse.grads[k].dataSync(), full.grads[k].dataSync(), 1e-4, `${name}: d/d${k}`);
      assert.throws(() => modelTokenLogProbs(model, batch.ids, tf.ones([3, 2]) as tf.Tensor2D), /mask shape \[3,2\]/);
      tf.dispose([sparse.value, full.value, w, ...Object.values(sparse.grads), ...Object.values(full.grads)]);
      disposeBatch(batch);
      model.dispose();
    });
  });

  test("on every backend, modelTokenLogProbs (head on T−1 positions) equals tokenLogProbs(forward) in values and gradients", async () => {
    await onEveryBackend(async (name) => {
      const model = new Transformer({ ...config, vocabSize: 40 }, 6);
      const ids = tf.tensor2d(
        [
          [1, 5, 9, 30, 2, 0],
          [1, 7, 39, 11, 12, 2],
        ],
        [2, 6],
        "int32",
      );
      const w = tf.tensor2d([
        [0.3, -1, 2, 0.5, 0],
        [1, 0.2, -0.7, 1.5, 2],
      ]);
      const fast = tf.variableGrads(
        () => tf.sum(tf.mul(modelTokenLogProbs(model, ids), w)) as tf.Scalar,
        model.variables,
      );
      const plain = tf.variableGrads(
        () => tf.sum(tf.mul(tokenLogProbs(model.forward(ids), ids, NON_EMITTED), w)) as tf.Scalar,
        model.variables,
      );
      assert.ok(Math.abs(fast.value.dataSync()[0] - plain.value.dataSync()[0]) < 1e-4, `${name}: value`);
      for (const k of Object.keys(plain.grads)) {
        const a = fast.grads[k].dataSync();
        const b = plain.grads[k].dataSync();
        a.forEach((v, i) =>
          assert.ok(Math.abs(v - b[i]) < 1e-4 * (1 + Math.abs(b[i])), `${name}: d/d${k}[${i}] ${v} vs ${b[i]}`),
        );
      }
      tf.dispose([fast.value, plain.value, ids, w, ...Object.values(fast.grads), ...Object.values(plain.grads)]);
      model.dispose();
    });
  });

  test("same seed → the same samples with and without the cache (ragged prompts, <eos>, context limit)", () => {
    const model = new Transformer(config, 4);
    const prompts = [[4, 5], [6], [7, 8, 9, 10, 11, 12, 13, 14], [15, 16, 17, 18, 19, 20, 21, 22, 4, 5, 6], [9, 9, 9]];
    for (const opts of [{ maxNewTokens: 20 }, { maxNewTokens: 5, temperature: 0.7, topK: 5 }]) {
      const before = tf.memory().numTensors;
      const cached = sampleCompletions(model, prompts, new Rng(9), opts);
      const plain = sampleCompletions(model, prompts, new Rng(9), { ...opts, useCache: false });
      assert.deepEqual(cached, plain);
      assert.ok(
        cached.some((s) => s.completion.length > 0),
        "something was sampled",
      );
      assert.ok(tf.memory().numTensors <= before + 1, "no tensors leak (the model may keep its Eᵀ copy)");
    }
    const g1 = sampleGroups(model, prompts, 3, new Rng(2), { maxNewTokens: 8, batchSize: 4 });
    const g2 = sampleGroups(model, prompts, 3, new Rng(2), { maxNewTokens: 8, batchSize: 4, useCache: false });
    assert.deepEqual(g1, g2);
    model.dispose();
  });

  test("a training step invalidates the decoding copy of Eᵀ", () => {
    const model = new Transformer(config, 5);
    const rows = [[1, 4, 5]];
    const lastLogits = () => tf.tidy(() => model.forward(tf.tensor2d(rows, [1, 3], "int32")).arraySync()[0][2]);
    const first = prefill(model, rows);
    disposeKvCache(first.cache);
    first.logits.dispose(); // the model now keeps Eᵀ of the initial weights
    const wte = model.params.get("wte")!;
    wte.assign(tf.tidy(() => tf.randomNormal(wte.shape, 0, 1, "float32", 99)));
    const after = prefill(model, rows);
    const got = (after.logits.arraySync() as number[][])[0];
    const want = lastLogits();
    got.forEach((v, j) =>
      assert.ok(Math.abs(v - want[j]) < 1e-3 * (1 + Math.abs(want[j])), `token ${j}: ${v} vs ${want[j]} (stale Eᵀ?)`),
    );
    disposeKvCache(after.cache);
    after.logits.dispose();
    model.dispose();
  });
});

describe("judges", () => {
  test("both sentiment judges rank positive above negative text, in [−1, 1]", () => {
    for (const j of [afinnSentiment, vaderSentiment]) {
      const pos = j("the plot was", "wonderful , i loved it .");
      const neg = j("the plot was", "awful , i hated it .");
      assert.ok(pos > 0.5 && neg < -0.5 && pos <= 1 && neg >= -1, `${pos} ${neg}`);
      assert.equal(j("the plot was", "long ."), 0);
    }
  });
  test("length and banned-word principles, and the weighted total", () => {
    const len = lengthPrinciple(2, 4);
    assert.equal(len("", "a b c"), 1);
    assert.equal(len("", "a b c d e f"), 0.5);
    assert.equal(len("", ""), 0.5);
    assert.equal(len("", Array(20).fill("w").join(" ")), -1);
    const ban = bannedWordsPrinciple(["stupid"]);
    assert.equal(ban("", "so Stupid ."), -1);
    assert.equal(ban("", "so good ."), 0);
    const c = defaultConstitution();
    const j = judge(c, "the plot was", "stupid .");
    const expected = c.reduce((s, p) => s + p.weight * j.parts[p.name], 0);
    assert.ok(Math.abs(j.total - expected) < 1e-12);
    assert.equal(j.parts["no-insults"], -1);
  });
});

function fakeGroup(scores: number[], prompt = [4]): ScoredCompletion[] {
  return scores.map((s, i) => ({ seq: { prompt, completion: [5 + i], ended: true }, text: `w${i}`, score: s }));
}

describe("RLAIF data", () => {
  test("noiseless labels: best vs worst pairs, best-first rankings, KTO split, ties reported", () => {
    const d = buildPreferenceData(
      [fakeGroup([0.1, 0.9, -0.5]), fakeGroup([0.2, 0.2, 0.2]), fakeGroup([0.5, -0.1, 0.5])],
      ["p1", "p2", "p3"],
      new Rng(0),
    );
    assert.equal(d.pairs.length, 2);
    assert.equal(d.tiedPrompts, 1);
    assert.deepEqual([d.pairs[0].chosen, d.pairs[0].rejected], ["w1", "w2"]);
    assert.deepEqual(
      d.rankings.map((r) => r.prompt),
      ["p1"],
      "lists with a tie (all tied, or two tied at the top) are not ranked",
    );
    assert.equal(d.tiedLists, 2);
    assert.deepEqual(
      d.rankings[0].ranking.map((r) => r.score),
      [0.9, 0.1, -0.5],
    );
    assert.deepEqual(
      [d.pairs[1].scoreChosen, d.pairs[1].scoreRejected],
      [0.5, -0.1],
      "a tie at the top still gives a best-vs-worst pair",
    );
    assert.deepEqual(
      d.unpaired.map((u) => [u.completion, u.label]),
      [
        ["w1", true],
        ["w2", false],
        ["w0", true],
        ["w1", false],
      ],
    );
    assert.equal(pairsToJsonl(d.pairs.slice(0, 1)), '{"prompt":"p1","chosen":" w1","rejected":" w2"}\n');
    assert.equal(d.flippedFraction, 0);
    // With label noise the Gumbel draw is the order: tied lists are kept.
    const noisy = buildPreferenceData([fakeGroup([0.2, 0.2, 0.2])], ["p"], new Rng(0), 0.5);
    assert.deepEqual([noisy.rankings.length, noisy.tiedLists, noisy.pairs.length], [1, 0, 1]);
  });
  test("TRL export: ordinary spacing, the completion carries the leading space", () => {
    assert.equal(detokenize("superb , i loved it ."), "superb, i loved it.");
    assert.equal(detokenize("a ( b ) c !"), "a (b) c!");
    assert.deepEqual(trlPromptCompletion("the plot was", "superb , i loved it ."), {
      prompt: "the plot was",
      completion: " superb, i loved it.",
    });
    assert.deepEqual(trlPromptCompletion("the plot was", ", but dull ."), {
      prompt: "the plot was",
      completion: ", but dull.",
    });
    assert.deepEqual(trlPromptCompletion("the plot was", ""), { prompt: "the plot was", completion: "" });
    const pair = {
      prompt: "the plot was",
      chosen: "superb .",
      rejected: "dull , i left early .",
      chosenSeq: { prompt: [], completion: [], ended: true },
      rejectedSeq: { prompt: [], completion: [], ended: true },
      scoreChosen: 1,
      scoreRejected: 0,
    };
    const line = JSON.parse(pairsToJsonl([pair]));
    assert.deepEqual(line, { prompt: "the plot was", chosen: " superb.", rejected: " dull, i left early." });
    assert.equal(line.prompt + line.chosen, "the plot was superb.");
    assert.deepEqual(
      JSON.parse(
        unpairedToJsonl([{ prompt: "the plot was", completion: "superb .", label: true, seq: pair.chosenSeq }]),
      ),
      { prompt: "the plot was", completion: " superb.", label: true },
    );
    // The internal records keep the tokenizer's spacing (what the trainers and judges saw).
    assert.equal(pair.chosen, "superb .");
  });
  test("BT label noise: P(a ranked first) = σ((s_a − s_b)/τ)", () => {
    const rng = new Rng(7);
    const tau = 0.5;
    let first = 0;
    const n = 20000;
    for (let i = 0; i < n; i++) if (rankByScore([0.3, 0], rng, tau)[0] === 0) first++;
    const p = 1 / (1 + Math.exp(-0.3 / tau));
    assert.ok(Math.abs(first / n - p) < 4 * Math.sqrt((p * (1 - p)) / n), `${first / n} vs ${p}`);
  });
});

// ---- Trainers: first steps -------------------------------------------------------------------------

describe("trainers on a tiny model", () => {
  const preset = {
    ...lmPreset("quick"),
    model: { contextLength: 24, dModel: 16, nHeads: 2, nLayers: 1 },
    sft: { steps: 30, batchSize: 32, learningRate: 1e-2 },
    rlaif: { prompts: 12, k: 3, maxNewTokens: 8, noiseTemperature: 0 },
    evaluation: { prompts: 4, samplesPerPrompt: 2 },
  };
  let setup: ReturnType<typeof setupCorpus>;
  let reference: Transformer;
  let data: ReturnType<typeof makeRlaifData>;
  const constitution = defaultConstitution();

  before(() => {
    setup = setupCorpus(generateReviewCorpus(300, 0), preset);
    reference = trainReference(setup, preset, false).model;
    data = makeRlaifData(reference, setup, constitution, preset);
  });

  test("SFT lowers held-out perplexity below the uniform model's and is seeded", () => {
    const m = new Transformer({ ...preset.model, vocabSize: setup.tokenizer.size }, 0);
    const r = trainSft(m, setup.trainRows, setup.heldOutRows, { ...preset.sft, steps: 10, verbose: false });
    assert.ok(
      r.finalHeldOutPerplexity < setup.tokenizer.size / 2,
      `ppl ${r.finalHeldOutPerplexity} vs V ${setup.tokenizer.size}`,
    );
    assert.ok(r.losses[9] < r.losses[0]);
    const m2 = new Transformer({ ...preset.model, vocabSize: setup.tokenizer.size }, 0);
    const r2 = trainSft(m2, setup.trainRows, setup.heldOutRows, { ...preset.sft, steps: 10, verbose: false });
    assert.deepEqual(r2.losses, r.losses);
    m.dispose();
    m2.dispose();
  });

  test("RLAIF data from samples has TRL fields and chosen scores ≥ rejected", () => {
    assert.ok(data.pairs.length + data.tiedPrompts === 12);
    for (const p of data.pairs) {
      assert.equal(typeof p.prompt, "string");
      assert.ok(p.scoreChosen > p.scoreRejected);
      assert.equal(p.chosen, setup.tokenizer.decode(p.chosenSeq.completion));
    }
    assert.equal(data.rankings.length + data.tiedLists, 12);
    for (const g of data.rankings)
      for (let j = 1; j < g.ranking.length; j++)
        assert.ok(g.ranking[j - 1].score > g.ranking[j].score, "rankings are strict");
    const train = new Set(setup.trainPrompts);
    assert.ok(
      data.pairs.every((p) => train.has(p.prompt)) && data.rankings.every((r) => train.has(r.prompt)),
      "RLAIF prompts are training prompts",
    );
    assert.ok(data.pairs.every((p) => !setup.evalPrompts.includes(p.prompt)));
    assert.equal(data.unpaired.length, 2 * data.pairs.length);
  });

  const firstLoss: Record<string, (beta: number, n: number) => number> = {
    dpo: () => Math.log(2), // policy = reference → margin 0 → −log σ(0)
    ipo: (beta) => (1 / (2 * beta)) ** 2, // h = 0 → (0 − 1/(2β))²
    kto: () => 0.5, // r = z₀ = 0 → 1 − σ(0), unit weights
    listwise: (_beta, n) => {
      let s = 0;
      for (let k = 2; k <= n; k++) s += Math.log(k);
      return s;
    }, // −Σ log(1/(N−k+1)) = log N!
  };

  for (const method of ["dpo", "ipo", "kto", "listwise"] as PreferenceMethod[]) {
    test(`${method}: first-step loss is the hand-derived value, loss then decreases, no leaks`, () => {
      const policy = reference.clone();
      const beta = 0.5;
      const before = tf.memory().numTensors;
      // 5e-3: at 1e-2 one Adam step on this tiny model overshoots IPO's target margin (loss 1 → 35 → …).
      const r = trainPreference(policy, reference, data, {
        method,
        lossOptions: { beta },
        steps: 8,
        batchSize: 64,
        learningRate: 5e-3,
        logEvery: 1,
        verbose: false,
      });
      assert.equal(tf.memory().numTensors, before, "numTensors flat across training");
      const expected = firstLoss[method](beta, preset.rlaif.k);
      assert.ok(
        Math.abs(r.logs[0].loss - expected) < 1e-3 * (1 + expected),
        `first loss ${r.logs[0].loss} vs ${expected}`,
      );
      assert.ok(
        r.logs[r.logs.length - 1].loss < r.logs[0].loss,
        `loss ${r.logs[0].loss} → ${r.logs[r.logs.length - 1].loss}`,
      );
      for (const l of r.logs)
        for (const [k, v] of Object.entries(l))
          if (k !== "rewards/accuracies") assert.ok(Number.isFinite(v), `${k} = ${v}`);
      if (method !== "kto") assert.ok(r.logs[r.logs.length - 1]["rewards/margins"] > 0);
      assert.ok(r.cachedReferenceLogps > 0);
      policy.dispose();
    });
  }

  test("any registered pair loss trains the LM (token counts from the completion mask); old flat options are refused", () => {
    for (const [method, lossOptions] of [
      ["simpo", { beta: 2 }],
      ["orpo", { beta: 0.5 }],
      ["bco_pair", { beta: 0.5 }],
      ["sft", {}],
      ["dpo", { beta: 0.5, variant: "robust", labelSmoothing: 0.1 }],
    ] as const) {
      const policy = reference.clone();
      const before = tf.memory().numTensors;
      const r = trainPreference(policy, reference, data, {
        method,
        lossOptions,
        steps: 3,
        batchSize: 16,
        learningRate: 5e-3,
        logEvery: 1,
        verbose: false,
      });
      assert.equal(tf.memory().numTensors, before, `${method}: numTensors flat`);
      for (const l of r.logs)
        for (const [k, v] of Object.entries(l)) assert.ok(Number.isFinite(v), `${method} ${k} = ${v}`);
      if (method === "bco_pair") assert.ok("bco/delta" in r.logs[0], "the loss's extras are logged");
      if (method === "sft") assert.equal(r.cachedReferenceLogps, 0, "policy-only losses skip the reference pass");
      policy.dispose();
    }
    assert.throws(
      () => trainPreference(reference, reference, data, { method: "dpo", beta: 0.1, steps: 1, batchSize: 2 } as never),
      /beta moved into lossOptions/,
    );
    assert.throws(
      () =>
        trainPreference(reference, reference, data, {
          method: "ipo",
          lossOptions: { labelSmoothing: 0.1 },
          steps: 1,
          batchSize: 2,
        }),
      /lossOptions\.labelSmoothing is not an option of loss "ipo"/,
    );
  });

  test("PPO: finite objectives, KL starts at 0, no leaks", () => {
    const policy = reference.clone();
    const before = tf.memory().numTensors;
    const r = trainRloo(policy, reference, setup.tokenizer, setup.trainPrompts, constitution, {
      beta: 0.1,
      iterations: 3,
      promptsPerIteration: 4,
      k: 2,
      maxNewTokens: 8,
      learningRate: 1e-2,
      verbose: false,
    });
    // The policy keeps one decoding copy of Eᵀ (remade when its weights change): owned, not leaked.
    policy.releaseDecodingCache();
    assert.equal(tf.memory().numTensors, before);
    assert.ok(Math.abs(r.logs[0]["objective/kl"]) < 1e-4, `first KL ${r.logs[0]["objective/kl"]}`);
    assert.equal(r.logs[0]["policy/clipfrac_avg"] >= 0, true);
    for (const l of r.logs) for (const v of Object.values(l)) assert.ok(Number.isFinite(v));
    policy.dispose();
  });

  test("evaluation: the reference has zero KL to itself, rewards are the judge's", () => {
    const ev = evaluatePolicy(reference, reference, setup.tokenizer, setup.evalPrompts.slice(0, 3), constitution, {
      samplesPerPrompt: 2,
      maxNewTokens: 8,
      seed: 1,
    });
    assert.equal(ev.samples.length, 6);
    assert.ok(Math.abs(ev.kl) < 1e-6);
    for (const s of ev.samples)
      assert.ok(Math.abs(s.reward - judge(constitution, s.prompt, s.completion).total) < 1e-12);
  });
});
