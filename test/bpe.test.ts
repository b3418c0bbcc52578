// The byte-level BPE tokenizer of the real-preference track (src/lm/bpe.ts): merges against hand-derived
// ones (counts and the smallest-pair tie-break), byte fallback (nothing is <unk>), exact round trips,
// determinism (the order of the training texts does not matter), the vocabulary size, and save/load.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { BpeTokenizer, BYTE_OFFSET, preTokenize } from "../src/lm/bpe";
import { UNK } from "../src/lm/tokenizer";

const b = (ch: string) => ch.charCodeAt(0) + BYTE_OFFSET;

test("bpe: merges by count, hand-derived (Sennrich et al. 2016, Algorithm 1)", () => {
  // Pre-tokens "ab", " ab" ×2, " cd": pair counts (a,b) 3, (␠,a) 2, (␠,c) 1, (c,d) 1 → merge (a,b) = 260;
  // then (␠,260) 2 → 261; then every pair occurs once: training stops (exhausted).
  const { tokenizer, stats } = BpeTokenizer.train(["ab ab ab cd"], 1000);
  assert.deepEqual(tokenizer.merges, [
    [b("a"), b("b")],
    [b(" "), 260],
  ]);
  assert.deepEqual(stats, { merges: 2, preTokens: 3, exhausted: true });
  assert.equal(tokenizer.size, 262);
  assert.deepEqual(tokenizer.encode(" ab"), [261]);
  assert.deepEqual(tokenizer.encode("abab"), [260, 260]);
  assert.deepEqual(tokenizer.encode("cd"), [b("c"), b("d")]);
});

test("bpe: ties go to the smallest pair of ids (deterministic)", () => {
  // "ab", " ab", " cd" ×2: (a,b), (c,d), (␠,c) all count 2; the smallest by ids is (␠,c) = (36, 103) → 260.
  // Then (a,b) 2 and (260,d) 2 tie: (a,b) = (101, 102) is smaller → 261; then (260,d) → 262; then stop.
  const { tokenizer } = BpeTokenizer.train(["ab ab cd cd"], 1000);
  assert.deepEqual(tokenizer.merges, [
    [b(" "), b("c")],
    [b("a"), b("b")],
    [260, b("d")],
  ]);
  assert.deepEqual(tokenizer.encode(" cd ab"), [262, b(" "), 261]);
});

const CORPUS = [
  "Human: How do I bake bread at home?\n\nAssistant: Mix flour, water, salt and yeast, then knead it.",
  "Human: What is the capital of France?\n\nAssistant: Paris is the capital of France.",
  "Plastic bottles should be banned because they pollute the oceans and harm wildlife.",
  "Banning plastic bottles would hurt people who have no clean tap water at home.",
  "Evolution is supported by fossils, genetics and direct observation of bacteria.",
];

test("bpe: byte fallback: text never seen in training encodes without <unk> and decodes exactly", () => {
  const { tokenizer } = BpeTokenizer.train(CORPUS, 320);
  const unseen = "Ünïcödé — 日本語, emoji 😀👍🏽, tabs\tand  double  spaces,\r\nnewlines\n\n\n, NUL\u0000, 12345.6";
  const ids = tokenizer.encode(unseen);
  assert.ok(!ids.includes(UNK), "no <unk>");
  assert.ok(
    ids.every((id) => id >= BYTE_OFFSET && id < tokenizer.size),
    "only byte and merge ids",
  );
  assert.equal(tokenizer.decode(ids), unseen);
  for (const t of CORPUS) assert.equal(tokenizer.decode(tokenizer.encode(t)), t);
  // Pre-tokens cover the text: nothing is skipped by the regular expression.
  assert.equal(preTokenize(unseen).join(""), unseen);
  // Merges compress: fewer tokens than bytes on the training text.
  const text = CORPUS.join(" ");
  assert.ok(tokenizer.encode(text).length < new TextEncoder().encode(text).length * 0.8);
});

test("bpe: the round trip is exact for well-formed UTF-16 only: a lone surrogate comes back as U+FFFD", () => {
  const { tokenizer } = BpeTokenizer.train(CORPUS, 320);
  // UTF-8 cannot encode an unpaired surrogate; TextEncoder writes U+FFFD (bytes EF BF BD) in its place.
  for (const lone of ["\uD800", "\uDFFF", "\uDC00\uD800"]) {
    const s = `a${lone}b`;
    const ids = tokenizer.encode(s);
    assert.ok(!ids.includes(UNK));
    assert.equal(tokenizer.decode(ids), `a${"\uFFFD".repeat(lone.length)}b`);
    assert.notEqual(tokenizer.decode(ids), s);
  }
  // A surrogate pair (well-formed) round-trips exactly.
  const pair = "a\uD83D\uDE00b";
  assert.equal(tokenizer.decode(tokenizer.encode(pair)), pair);
});

test("bpe: deterministic: same merges from the same texts in any order, and from a second run", () => {
  const a = BpeTokenizer.train(CORPUS, 330).tokenizer.merges;
  const again = BpeTokenizer.train(CORPUS, 330).tokenizer.merges;
  const reversed = BpeTokenizer.train([...CORPUS].reverse(), 330).tokenizer.merges;
  assert.deepEqual(again, a);
  assert.deepEqual(reversed, a);
});

test("bpe: vocabulary size: exactly vocabSize when the text allows, fewer (exhausted) when not; too small refused", () => {
  const { tokenizer, stats } = BpeTokenizer.train(CORPUS, 300);
  assert.equal(tokenizer.size, 300);
  assert.deepEqual([stats.merges, stats.exhausted], [40, false]);
  const big = BpeTokenizer.train(CORPUS, 5000);
  assert.ok(big.stats.exhausted && big.tokenizer.size < 5000 && big.tokenizer.size === 260 + big.stats.merges);
  assert.equal(BpeTokenizer.train(CORPUS, 260).tokenizer.size, 260, "bytes only");
  assert.throws(() => BpeTokenizer.train(CORPUS, 259), /vocabSize must be an integer ≥ 260/);
});

test("bpe: saved and loaded with the checkpoint (JSON) gives the same encodings; bad merges refused", () => {
  const { tokenizer } = BpeTokenizer.train(CORPUS, 350);
  const loaded = BpeTokenizer.fromJSON(JSON.parse(JSON.stringify(tokenizer.toJSON())));
  for (const t of [...CORPUS, "unseen words: zygote 😀"]) assert.deepEqual(loaded.encode(t), tokenizer.encode(t));
  assert.throws(() => BpeTokenizer.fromJSON({ kind: "bpe", merges: [[4, 300]] }), /merge 0 = \[4, 300\]/);
  assert.throws(() => BpeTokenizer.fromJSON({ kind: "bpe", merges: [[2, 4]] }), /non-special/);
  assert.throws(
    () =>
      BpeTokenizer.fromJSON({
        kind: "bpe",
        merges: [
          [4, 5],
          [4, 5],
        ],
      }),
    /merge 1 = \[4, 5\] repeats merge 0/,
  );
  assert.throws(() => BpeTokenizer.fromJSON({ kind: "word" } as never), /expected \{kind: 'bpe'/);
  assert.throws(() => tokenizer.decode([tokenizer.size]), /outside/);
});

test("bpe: saved with the checkpoint: loadCheckpoint(file, 'bpe') gives the same tokenizer and weights; kinds not mixed", async () => {
  const fs = await import("fs");
  const os = await import("os");
  const path = await import("path");
  const { initBackend } = await import("../src/backend");
  const { Transformer } = await import("../src/lm/transformer");
  const { saveCheckpoint, loadCheckpoint } = await import("../src/lm/checkpoint");
  await initBackend();
  const { tokenizer } = BpeTokenizer.train(CORPUS, 300);
  const model = new Transformer({ vocabSize: tokenizer.size, contextLength: 16, dModel: 8, nHeads: 2, nLayers: 1 }, 1);
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "bpe-ckpt-")), "m.json");
  try {
    saveCheckpoint(file, model, tokenizer);
    const back = loadCheckpoint(file, "bpe");
    assert.deepEqual(back.tokenizer.merges, tokenizer.merges);
    assert.deepEqual(back.tokenizer.encode(CORPUS[0]), tokenizer.encode(CORPUS[0]));
    for (const [name, v] of model.params)
      assert.deepEqual(Array.from(back.model.params.get(name)!.dataSync()), Array.from(v.dataSync()), name);
    back.model.dispose();
    assert.throws(
      () => loadCheckpoint(file),
      /field "tokenizer.kind" is "bpe", expected "word" \(load it with loadCheckpoint\(file, "bpe"\)\)/,
    );
  } finally {
    model.dispose();
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }
});
