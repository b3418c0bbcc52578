// Parquet (Hugging Face's format) through the same loaders, validation and reports as JSON Lines; field
// mapping (like `rename_column`) for JSONL, JSON and Parquet; a Parquet file given as JSON Lines says so.
// The Parquet files are written here with hyparquet-writer, a maintained writer independent of the reader.
import { describe, test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { loadPreferences, loadRankings, loadUnpaired, streamPreferences } from "../src/data/loaders";
import { isParquetFile, plainValue } from "../src/data/parquet";
import { renameFields } from "../src/data/fieldMap";
import { Collector, DataValidationError, RecordError } from "../src/data/validation";
import type { PreferenceRecord } from "../src/data/types";

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "prefopt-parquet-"));

type Column = { name: string; data: unknown[]; type?: string };
async function writeParquet(name: string, columnData: Column[], rowGroupSize?: number): Promise<string> {
  const { parquetWriteBuffer } = await import("hyparquet-writer");
  const file = path.join(dir, name);
  fs.writeFileSync(
    file,
    Buffer.from(parquetWriteBuffer({ columnData, rowGroupSize } as Parameters<typeof parquetWriteBuffer>[0])),
  );
  return file;
}

const chat = (role: string, content: string) => ({ role, content });

describe("Parquet", () => {
  test("round trip: pairs with chat-message lists and INT64 scores, several row groups, row numbers in reports", async () => {
    const n = 7;
    // TRL's conversational format: prompt, chosen and rejected all message lists.
    const prompt = Array.from({ length: n }, (_, i) => [chat("user", `prompt ${i}`)]);
    const chosen = prompt.map((_, i) => [chat("assistant", `good ${i}`)]);
    const rejected = prompt.map((_, i) => [chat("assistant", i === 4 ? `good ${i}` : `bad ${i}`)]); // row 5: identical
    const score = prompt.map((_, i) => BigInt(10 * i));
    const file = await writeParquet(
      "pairs.parquet",
      [
        { name: "prompt", data: prompt },
        { name: "chosen", data: chosen },
        { name: "rejected", data: rejected },
        { name: "score_chosen", data: score, type: "INT64" },
      ],
      3,
    );
    assert.ok(isParquetFile(file));
    const { records, report } = await loadPreferences(file, { mode: "collect" });
    assert.equal(report.records, n);
    assert.equal(records.length, n - 1);
    assert.deepEqual(report.counts, { identical: 1 });
    assert.equal(report.issues[0].line, 5, "the 1-based row number where JSONL has a line");
    assert.deepEqual(records[0], {
      prompt: prompt[0],
      chosen: chosen[0],
      rejected: rejected[0],
      extra: { score_chosen: 0 },
    });
    assert.equal(records[5].extra?.score_chosen, 60, "INT64 becomes a number");
    await assert.rejects(
      loadPreferences(file),
      (e: unknown) =>
        e instanceof DataValidationError && /pairs\.parquet:5: field "rejected" identical/.test(e.message),
    );
    // Streaming goes through the same path.
    const collector = new Collector<PreferenceRecord>("collect");
    let streamed = 0;
    for await (const _ of streamPreferences(file, {}, collector)) streamed++;
    assert.equal(streamed, n - 1);
  });

  test("unpaired and ranking records, and a missing column reported per row", async () => {
    const unpaired = await writeParquet("kto.parquet", [
      { name: "prompt", data: ["a", "b"], type: "STRING" },
      { name: "completion", data: ["x", "y"], type: "STRING" },
      { name: "label", data: [true, false], type: "BOOLEAN" },
    ]);
    assert.deepEqual(
      (await loadUnpaired(unpaired)).records.map((r) => r.label),
      [true, false],
    );
    const ranks = await writeParquet("rank.parquet", [
      { name: "prompt", data: ["a"], type: "STRING" },
      { name: "responses", data: [["best", "mid", "worst"]] },
    ]);
    assert.deepEqual((await loadRankings(ranks)).records[0].responses, ["best", "mid", "worst"]);
    const noRejected = await writeParquet("half.parquet", [
      { name: "prompt", data: ["a"], type: "STRING" },
      { name: "chosen", data: ["x"], type: "STRING" },
    ]);
    await assert.rejects(loadPreferences(noRejected), /half\.parquet:1: field "rejected" missing-field/);
  });

  test("a Parquet file given as JSON Lines says it is Parquet; auto-detection reads it whatever its name", async () => {
    const file = await writeParquet("mislabelled.jsonl", [
      { name: "prompt", data: ["p"], type: "STRING" },
      { name: "chosen", data: ["c"], type: "STRING" },
      { name: "rejected", data: ["r"], type: "STRING" },
    ]);
    await assert.rejects(
      loadPreferences(file, { format: "jsonl" }),
      /mislabelled\.jsonl: this is a Parquet file \(it starts with "PAR1"\), not JSON Lines/,
    );
    assert.equal((await loadPreferences(file)).records.length, 1);
    const broken = path.join(dir, "broken.parquet");
    fs.writeFileSync(broken, "PAR1 not really");
    await assert.rejects(loadPreferences(broken), /broken\.parquet: not a readable Parquet file/);
  });

  test("plainValue: exact integers become numbers, larger ones strings, dates ISO strings", () => {
    assert.deepEqual(plainValue({ a: [1n, 2n ** 60n], d: new Date(0) }), {
      a: [1, "1152921504606846976"],
      d: "1970-01-01T00:00:00.000Z",
    });
  });
});

describe("field mapping (like rename_column)", () => {
  const rows = [
    { question: "q1", answer_good: "g1", answer_bad: "b1", id: 1 },
    { question: "q2", answer_good: "g2", answer_bad: "b2", id: 2 },
  ];
  const fields = { prompt: "question", chosen: "answer_good", rejected: "answer_bad" };
  const expected = [
    { prompt: "q1", chosen: "g1", rejected: "b1", extra: { id: 1 } },
    { prompt: "q2", chosen: "g2", rejected: "b2", extra: { id: 2 } },
  ];

  test("the same mapping loads JSONL, JSON and Parquet alike", async () => {
    const jsonl = path.join(dir, "mapped.jsonl");
    fs.writeFileSync(jsonl, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
    const json = path.join(dir, "mapped.json");
    fs.writeFileSync(json, JSON.stringify(rows, null, 1));
    const parquet = await writeParquet("mapped.parquet", [
      { name: "question", data: rows.map((r) => r.question), type: "STRING" },
      { name: "answer_good", data: rows.map((r) => r.answer_good), type: "STRING" },
      { name: "answer_bad", data: rows.map((r) => r.answer_bad), type: "STRING" },
      { name: "id", data: rows.map((r) => r.id), type: "INT32" },
    ]);
    for (const file of [jsonl, json, parquet])
      assert.deepEqual((await loadPreferences(file, { fields })).records, expected, file);
    await assert.rejects(
      loadPreferences(jsonl),
      /mapped\.jsonl:1: field "chosen" missing-field/,
      "without the mapping the file does not load",
    );
  });

  test("a missing source field or a hidden target is reported with file and line; a bad mapping fails at once", async () => {
    const file = path.join(dir, "partly.jsonl");
    fs.writeFileSync(
      file,
      [
        JSON.stringify(rows[0]),
        JSON.stringify({ question: "q", answer_good: "g" }),
        JSON.stringify({ ...rows[1], prompt: "already" }),
      ].join("\n") + "\n",
    );
    const { records, report } = await loadPreferences(file, { fields, mode: "collect" });
    assert.equal(records.length, 1);
    assert.deepEqual(
      report.issues.map((i) => [i.line, i.field, i.reason]),
      [
        [2, "answer_bad", "missing-field"],
        [3, "prompt", "bad-row"],
      ],
    );
    assert.match(report.issues[0].message, /no field "answer_bad" \(mapped to "rejected"\)/);
    await assert.rejects(
      loadPreferences(file, { fields: { promt: "question" } }),
      /fields maps onto "promt", which is not a field/,
    );
    await assert.rejects(
      loadPreferences(file, { fields: { prompt: "question", chosen: "question" } }),
      /maps "question" onto both "prompt" and "chosen"/,
    );
  });

  test("renameFields swaps fields and leaves non-objects to the parser", () => {
    assert.deepEqual(renameFields({ chosen: "b", rejected: "a" }, { chosen: "rejected", rejected: "chosen" }), {
      chosen: "a",
      rejected: "b",
    });
    assert.equal(renameFields("text", fields), "text");
    assert.throws(() => renameFields({}, fields), RecordError);
  });
});
