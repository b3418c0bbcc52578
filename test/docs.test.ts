// The documentation holds: the loss table in docs/losses.md is what `npm run docs:losses` generates from the
// registry, README.md stays a short start (≤ 250 lines), every relative link in README.md and docs/*.md
// reaches a file, and the recipes' code works: "your own preference data" (trainOnTrlFile with field
// mapping, already-loaded records, held-out evaluation) and "add a loss" (the docs' example entry, verbatim).
import { before, test } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend";
import { getLoss, hasLoss, listLossTypes, preferenceLoss, registerLoss } from "../src/losses/index";
import type { PairLossEntry } from "../src/losses/index";
import { marginEntry } from "../src/losses/pairCommon";
import { LOSSES_DOC, lossTable, withLossTable } from "../scripts/loss-table";
import { loadPreferences } from "../src/data/loaders";
import { splitByPrompt } from "../src/data/convert";
import type { PreferenceRecord } from "../src/data/types";
import { readTrlFiles } from "../src/lm/trlFiles";
import { trainOnTrlFile } from "../src/lm/trainOnTrlFile";
import { writeJsonl } from "../src/data/export";
import { sequenceLogps } from "../src/lm/preferenceTrainer";
import { Transformer } from "../src/lm/transformer";
import { WordTokenizer } from "../src/lm/tokenizer";
import { near } from "./fixtures";

before(async () => {
  await initBackend();
});

const ROOT = path.join(__dirname, "..");
const read = (rel: string): string => fs.readFileSync(path.join(ROOT, rel), "utf8");
const docFiles = (): string[] => [
  "README.md",
  "CHANGELOG.md",
  ...fs
    .readdirSync(path.join(ROOT, "docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`),
];

/** The fenced code block of `lang` that follows `heading` in `markdown` (its text, without the fences). */
function codeBlockAfter(markdown: string, heading: string, lang: string): string {
  const at = markdown.indexOf(heading);
  assert.ok(at >= 0, `no heading ${JSON.stringify(heading)}`);
  const open = markdown.indexOf("```" + lang + "\n", at);
  assert.ok(open >= 0, `no \`\`\`${lang} block after ${JSON.stringify(heading)}`);
  const start = open + lang.length + 4;
  return markdown.slice(start, markdown.indexOf("```", start));
}

// ---- The documentation's own checks ---------------------------------------------------------------------
// (The loss-table test must run before the "add a loss" test below registers its example loss.)

test("docs/losses.md: the loss table is what npm run docs:losses generates from listLossTypes()", async () => {
  const doc = fs.readFileSync(LOSSES_DOC, "utf8");
  const fresh = await withLossTable(doc, lossTable());
  assert.ok(
    fresh === doc,
    `docs/losses.md's loss table is out of date with the registry (${listLossTypes().length} losses): run npm run docs:losses`,
  );
});

test("README.md stays a short start: at most 250 lines, the two commands first", () => {
  const readme = read("README.md");
  const lines = readme.split("\n").length - (readme.endsWith("\n") ? 1 : 0);
  assert.ok(lines <= 250, `README.md has ${lines} lines; move detail into docs/ (at most 250)`);
  const firstBlock = codeBlockAfter(readme, "# prefopt", "bash");
  assert.match(firstBlock, /^npm start\b/m);
  assert.match(firstBlock, /^npm test\b/m);
  assert.match(read(".ci/run"), /^npm test$/m, "CI runs the README's test command");
});

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
const slug = (heading: string): string =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, "")
    .replace(/ /g, "-");

test("every relative link in README.md, CHANGELOG.md and docs/*.md reaches a file (and a heading, when it names one)", () => {
  const broken: string[] = [];
  let checked = 0;
  for (const file of docFiles()) {
    const text = read(file)
      .replace(/```[\s\S]*?```/g, "")
      .replace(/`[^`\n]*`/g, "");
    for (const m of text.matchAll(/\[[^\]]*\]\(([^)\s]+)\)/g)) {
      const target = m[1];
      if (/^[a-z]+:/i.test(target)) continue; // http:, https:, mailto:
      checked++;
      const [rel, anchor] = target.split("#");
      const resolved = rel === "" ? path.join(ROOT, file) : path.join(ROOT, path.dirname(file), rel);
      if (!fs.existsSync(resolved)) {
        broken.push(`${file}: ${target} (no ${path.relative(ROOT, resolved)})`);
        continue;
      }
      if (anchor && resolved.endsWith(".md")) {
        const headings = fs
          .readFileSync(resolved, "utf8")
          .replace(/```[\s\S]*?```/g, "")
          .split("\n")
          .filter((l) => /^#{1,6} /.test(l))
          .map((l) => slug(l.replace(/^#+ /, "")));
        if (!headings.includes(anchor)) broken.push(`${file}: ${target} (no heading #${anchor})`);
      }
    }
  }
  assert.ok(checked > 20, `only ${checked} relative links found`);
  assert.deepEqual(broken, [], `broken links:\n${broken.join("\n")}`);
});

test("README.md's quick-start cell runs as printed and DPO lands near π*", () => {
  const cell = codeBlockAfter(read("README.md"), "## Quick start", "ts");
  const importLine = 'import * as pf from "./src/index";\n';
  assert.ok(cell.startsWith(importLine), "the cell imports the library as the kernel does");
  // The kernel allows top-level await; a CommonJS script wraps the rest in an async function.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "docs-cell-"));
  const script = path.join(dir, "cell.ts");
  const lib = JSON.stringify(path.join(ROOT, "src", "index"));
  fs.writeFileSync(script, `import * as pf from ${lib};\n(async () => {\n${cell.slice(importLine.length)}})();\n`);
  const r = spawnSync(process.execPath, ["--import", "tsx", script], { cwd: ROOT, encoding: "utf8" });
  assert.equal(r.status, 0, r.stderr);
  const m = r.stdout.match(/600 pairs; mean TV to π\*: π_ref (\d\.\d+) → DPO (\d\.\d+)/);
  assert.ok(m, `the cell printed ${JSON.stringify(r.stdout)}`);
  const [refTv, dpoTv] = [Number(m[1]), Number(m[2])];
  assert.ok(dpoTv < 0.1 && dpoTv < refTv / 4, `TV to π*: π_ref ${refTv}, DPO ${dpoTv}`);
  assert.ok(read("README.md").includes(`π_ref ${m[1]} → DPO ${m[2]}`), "the README quotes what the cell prints");
  assert.match(r.stdout, /<plotly figure: prompt 0: DPO lands on π\*; 3 trace\(s\)/);
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

// ---- Recipe: add a loss (docs/recipes.md) -----------------------------------------------------------------

// The docs' example entry, verbatim (test below: same lines as the docs' code block, imports aside).
// example:start
function registerTheExample(): PairLossEntry {
  /** Squared hinge on DPO's margin: φ(z) = max(0, 1 − z)², z = βh; dφ/dz = −2·max(0, 1 − z). */
  const squaredHingeLoss = registerLoss(
    marginEntry({
      name: "squared_hinge",
      summary: "squared hinge on DPO's margin: max(0, 1 − βh)²",
      citation: "Rosasco et al. 2004, Are Loss Functions All the Same?, the square hinge loss; on DPO's margin h",
      margin: "logratio",
      options: { beta: true, referenceFree: true },
      phi: (z) => tf.square(tf.relu(tf.sub(1, z))),
      phi64: (z) => [Math.max(0, 1 - z) ** 2, -2 * Math.max(0, 1 - z)],
    }),
  );
  return squaredHingeLoss as PairLossEntry;
}
// example:end

test("recipe: the add-a-loss example is the docs' code, registers, and matches hand values and finite differences", () => {
  const lines = (code: string): string[] =>
    code
      .split("\n")
      .map((l) => l.trim().replace(/^export /, ""))
      .filter((l) => l !== "" && !l.startsWith("import "));
  const docs = lines(codeBlockAfter(read("docs/recipes.md"), "## Add a loss", "ts"));
  const own = read("test/docs.test.ts");
  const body = lines(own.slice(own.indexOf("// example:start"), own.indexOf("// example:end"))).slice(2, -2);
  assert.deepEqual(body, docs, "docs/recipes.md's example and the code this test registers differ");

  assert.equal(hasLoss("squared_hinge"), false);
  const entry = registerTheExample();
  assert.equal(getLoss("squared_hinge"), entry);
  const info = listLossTypes().find((l) => l.name === "squared_hinge");
  assert.deepEqual(
    { data: info?.data, needsReference: info?.needsReference, options: Object.keys(info?.options ?? {}) },
    { data: "pairs", needsReference: true, options: ["beta", "referenceFree"] },
  );
  // β = 0.5, h = (πc − πr) − (refc − refr) = −1, 0.5, 3 → z = −0.5, 0.25, 1.5:
  // φ = 2.25, 0.5625, 0; ∂φ/∂πc = β·(−2·max(0, 1 − z)) = −1.5, −0.75, 0, and ∂φ/∂πr the opposite.
  const h = [-1, 0.5, 3];
  const zeros = () => new Float64Array(3);
  const batch = {
    policyChosen: Float64Array.from(h),
    policyRejected: zeros(),
    refChosen: zeros(),
    refRejected: zeros(),
    chosenLengths: Float64Array.from([1, 1, 1]),
    rejectedLengths: Float64Array.from([1, 1, 1]),
  };
  const o = { beta: 0.5, referenceFree: false };
  const twin = entry.twin(batch, o);
  near(twin.losses, [2.25, 0.5625, 0], 1e-12, "twin losses");
  near(twin.dChosen, [-1.5, -0.75, 0], 1e-12, "twin dChosen");
  near(twin.dRejected, [1.5, 0.75, 0], 1e-12, "twin dRejected");
  const eps = 1e-6;
  const fd = h.map((_, i) => {
    const at = (d: number) =>
      entry.twin({ ...batch, policyChosen: batch.policyChosen.map((v, j) => (j === i ? v + d : v)) }, o).losses[i];
    return (at(eps) - at(-eps)) / (2 * eps);
  });
  near(fd, twin.dChosen, 1e-6, "central finite differences of the twin");
  const before = tf.memory().numTensors;
  const losses = tf.tidy(
    () =>
      preferenceLoss(
        "squared_hinge",
        {
          policyChosen: tf.tensor1d(h),
          policyRejected: tf.zeros([3]),
          refChosen: tf.zeros([3]),
          refRejected: tf.zeros([3]),
        },
        { beta: 0.5 },
      ).losses,
  );
  near(losses.dataSync(), [2.25, 0.5625, 0], 1e-6, "tfjs losses through preferenceLoss");
  losses.dispose();
  assert.throws(
    () =>
      tf.tidy(() => {
        preferenceLoss(
          "squared_hinge",
          { policyChosen: tf.zeros([1]), policyRejected: tf.zeros([1]) },
          { labelSmoothing: 0.1 },
        );
      }),
    /option labelSmoothing is not an option of loss "squared_hinge"; it takes beta, referenceFree/,
  );
  assert.equal(tf.memory().numTensors, before, "no tensor leaks");
});
