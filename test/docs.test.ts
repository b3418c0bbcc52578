// The documentation holds: the loss table in docs/losses.md is what `npm run docs:losses` generates from the
// registry, README.md stays a short start (≤ 250 lines), every relative link in README.md and docs/*.md
// reaches a file, and the recipes' code works: "your own preference data" (trainOnTrlFile with field
// mapping, already-loaded records, held-out evaluation) and "add a loss" (the docs' example entry, verbatim).
import { before, test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend";
import { loadPreferences } from "../src/data/loaders";
import { splitByPrompt } from "../src/data/convert";
import type { PreferenceRecord } from "../src/data/types";
import { readTrlFiles, trainOnTrlFile } from "../src/fig2/pairs";
import { writeJsonl } from "../src/data/export";
import { sequenceLogps } from "../src/lm/preferenceTrainer";
import { Transformer } from "../src/lm/transformer";
import { WordTokenizer } from "../src/lm/tokenizer";

before(async () => {
  await initBackend();
});

// ---- Recipe: your own preference data (docs/recipes.md) -------------------------------------------------

const tinyTokenizer = (): WordTokenizer =>
  WordTokenizer.fit(["the film was great , i loved it .", "the plot is dull and slow .", "what a waste of time !"], 40);

function writeLines(file: string, rows: object[]): string {
  fs.writeFileSync(file, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
  return file;
}

/** A user's file with its own field names: question / good / bad. */
function ownFile(dir: string): string {
  return writeLines(path.join(dir, "mine.jsonl"), [
    { question: "the film", good: " was great, i loved it.", bad: " was dull.", id: 1 },
    { question: "the plot", good: " is great!", bad: " is a waste of time.", id: 2 },
    { question: "what a", good: " film!", bad: " waste of time.", id: 3 },
    { question: "i loved", good: " it.", bad: " the plot? dull.", id: 4 },
  ]);
}

const tinyModels = (tok: WordTokenizer) => {
  const reference = new Transformer({ vocabSize: tok.size, contextLength: 16, dModel: 8, nHeads: 2, nLayers: 1 }, 1);
  return { reference, policy: reference.clone() };
};

const train = { method: "dpo", lossOptions: { beta: 0.1 }, steps: 2, batchSize: 2, verbose: false };

test("trainOnTrlFile: a missing field names the file and line and lists the record's own fields", async () => {
  const tok = tinyTokenizer();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "docs-own-"));
  const file = ownFile(dir);
  const { reference, policy } = tinyModels(tok);
  await assert.rejects(trainOnTrlFile(file, policy, reference, tok, train), (err: Error) => {
    assert.match(
      err.message,
      new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}:1: field "chosen" missing-field`),
    );
    assert.match(err.message, /the record's fields are "question", "good", "bad", "id"/);
    assert.match(err.message, /fields: \{chosen: "<field>"\}/);
    return true;
  });
  // A mapping onto a field the loss's data do not have is refused before reading.
  await assert.rejects(
    trainOnTrlFile(file, policy, reference, tok, { ...train, fields: { completion: "good" } }),
    /fields maps onto "completion", which is not a field of this format \(prompt, chosen, rejected\)/,
  );
  policy.dispose();
  reference.dispose();
});

test("trainOnTrlFile: fields maps a file's own names; already-loaded records train the same way", async () => {
  const tok = tinyTokenizer();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "docs-own-"));
  const file = ownFile(dir);
  const fields = { prompt: "question", chosen: "good", rejected: "bad" };
  const { reference, policy } = tinyModels(tok);
  const before = tf.memory().numTensors;
  const fromFile = await trainOnTrlFile(file, policy, reference, tok, { ...train, fields });
  assert.equal(fromFile.read.data.pairs.length, 4);
  assert.deepEqual(fromFile.read.reports.preferences?.files, [file], "the report names the user's file");
  assert.equal(fromFile.read.data.pairs[0].chosen, "was great, i loved it.");

  // Same data as records (loaded with the same mapping), from a fresh copy of the reference: same losses.
  const { records } = await loadPreferences(file, { fields });
  const again = reference.clone();
  const fromRecords = await trainOnTrlFile(records, again, reference, tok, train);
  assert.deepEqual(
    fromRecords.logs.map((l) => l.loss),
    fromFile.logs.map((l) => l.loss),
  );
  assert.deepEqual(fromRecords.read.reports.preferences?.files, ["records"]);
  again.dispose();
  assert.equal(tf.memory().numTensors, before);

  await assert.rejects(
    trainOnTrlFile(records, policy, reference, tok, { ...train, fields }),
    /fields renames a file's fields; records are already in the loaders' form/,
  );
  const chat: PreferenceRecord[] = [
    {
      prompt: [{ role: "user", content: "the film" }],
      chosen: [{ role: "assistant", content: "great" }],
      rejected: [{ role: "assistant", content: "dull" }],
    },
  ];
  await assert.rejects(
    trainOnTrlFile(chat, policy, reference, tok, train),
    /^DataValidationError: records:1: field "prompt" wrong-type: is a chat-message list/,
  );
  policy.dispose();
  reference.dispose();
});

test("trainOnTrlFile: the data kind follows the loss, so the alias listwise-dpo reads rankings", async () => {
  const tok = tinyTokenizer();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "docs-own-"));
  const file = writeLines(path.join(dir, "rank.jsonl"), [
    { prompt: "the film", responses: [" was great.", " was slow.", " was dull."] },
  ]);
  const { reference, policy } = tinyModels(tok);
  const r = await trainOnTrlFile(file, policy, reference, tok, { ...train, method: "listwise-dpo", batchSize: 1 });
  assert.equal(r.read.data.rankings[0].ranking.length, 3);
  policy.dispose();
  reference.dispose();
});

test("recipe: held-out pairs scored by the implicit reward after training on the rest", async () => {
  const tok = tinyTokenizer();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "docs-own-"));
  const fields = { prompt: "question", chosen: "good", rejected: "bad" };
  const { records } = await loadPreferences(ownFile(dir), { fields });
  const { train: trainSet, test: heldOut } = splitByPrompt(records, { testFraction: 0.5 });
  assert.ok(trainSet.length > 0 && heldOut.length > 0, `split ${trainSet.length} / ${heldOut.length}`);
  const { reference, policy } = tinyModels(tok);
  await trainOnTrlFile(trainSet, policy, reference, tok, { ...train, steps: 3 });
  const heldOutFile = path.join(dir, "held-out.jsonl");
  await writeJsonl(heldOutFile, heldOut);
  const { data } = await readTrlFiles({ preferences: heldOutFile }, tok, policy.config.contextLength);
  const seqs = data.pairs.flatMap((p) => [p.chosenSeq, p.rejectedSeq]);
  const lp = sequenceLogps(policy, seqs);
  const lr = sequenceLogps(reference, seqs);
  const margins = data.pairs.map((_, i) => lp[2 * i] - lr[2 * i] - (lp[2 * i + 1] - lr[2 * i + 1]));
  assert.equal(margins.length, heldOut.length);
  assert.ok(margins.every(Number.isFinite));
  policy.dispose();
  reference.dispose();
});
