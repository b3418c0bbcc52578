// Formats, validation (strict and collect), conversions, splits, exporters (round trips) and the tar reader.
import { after, before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as zlib from "zlib";
import {
  loadDelimited,
  loadHhRlhf,
  loadLabelledLines,
  loadPreferences,
  loadRankings,
  loadTabLabelled,
  loadUnpaired,
  judgementColumns,
  preferenceColumns,
  streamPreferences,
} from "../src/data/loaders";
import { Collector, DataValidationError } from "../src/data/validation";
import { splitImplicitPrompt } from "../src/data/records";
import { dedupePairs, pairRecordsToUnpaired, rankingRecordsToPairs, splitByPrompt } from "../src/data/convert";
import { toImplicitPrompt, toJsonl, writeDelimited, writeJson, writeJsonl } from "../src/data/export";
import { readDelimited } from "../src/data/delimited";
import { readLines, splitJsonArray } from "../src/data/read";
import { readTar, writeTar } from "../src/data/tar";
import type { PreferenceRecord, RankingRecord } from "../src/data/types";

let dir: string;
const file = (name: string, content: string | Buffer) => {
  const p = path.join(dir, name);
  fs.writeFileSync(p, content);
  return p;
};
const jsonl = (rows: unknown[]) => rows.map((r) => (typeof r === "string" ? r : JSON.stringify(r))).join("\n") + "\n";

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "prefopt-data-"));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("reading", () => {
  test("gzip is detected by content, lines split on \\n only, CRLF trimmed", async () => {
    const text = "a\u0085b\r\nc\u2028d\nlast";
    const p = file("x.bin", zlib.gzipSync(Buffer.from(text, "utf8")));
    const lines = [];
    for await (const l of readLines(p)) lines.push(l);
    assert.deepEqual(lines, [
      { text: "a\u0085b", line: 1, cr: true }, // cr: the line ended in CRLF (readDelimited keeps it in quoted fields)
      { text: "c\u2028d", line: 2 },
      { text: "last", line: 3 },
    ]);
  });

  test("a UTF-8 byte-order mark before line 1 is dropped (JSONL, gzipped JSONL, TSV); latin1 keeps its bytes", async () => {
    const rec = { prompt: "p", chosen: "a", rejected: "b" };
    const bom = Buffer.from([0xef, 0xbb, 0xbf]);
    const body = Buffer.from(jsonl([rec, rec]), "utf8");
    for (const [name, bytes] of [
      ["bom.jsonl", Buffer.concat([bom, body])],
      ["bom.jsonl.gz", zlib.gzipSync(Buffer.concat([bom, body]))],
    ] as const) {
      const loaded = await loadPreferences(file(name, bytes)); // strict: line 1 must parse
      assert.deepEqual(
        loaded.records.map((r) => r.chosen),
        ["a", "a"],
        name,
      );
    }
    const lines: string[] = [];
    for await (const l of readLines(file("bom.tsv", Buffer.concat([bom, Buffer.from("#id\tlabel\nx\ty\n")]))))
      lines.push(l.text);
    assert.deepEqual(lines, ["#id\tlabel", "x\ty"]);
    const latin: string[] = [];
    for await (const l of readLines(file("bom.latin1", Buffer.concat([bom, Buffer.from("x\n")])), "latin1"))
      latin.push(l.text);
    assert.deepEqual(latin, ["\u00ef\u00bb\u00bfx"], "a BOM is a UTF-8 notion; latin1 decodes the bytes as they are");
    // Only a LEADING mark is dropped: U+FEFF inside a later line is content.
    const inner: string[] = [];
    for await (const l of readLines(file("inner.txt", "a\n\ufeffb\n"))) inner.push(l.text);
    assert.deepEqual(inner, ["a", "\ufeffb"]);
  });

  test("utf8 split across chunk boundaries decodes intact (streaming)", async () => {
    const big = "é".repeat(70000) + "\n€\n"; // 2-byte chars cross the 64 KiB chunk edge
    const p = file("big.txt", big);
    const lines = [];
    for await (const l of readLines(p)) lines.push(l.text);
    assert.equal(lines[0], "é".repeat(70000));
    assert.equal(lines[1], "€");
  });

  test("latin1 vs windows-1252 decoding of byte 0x85", async () => {
    const p = file("l1.txt", Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x85, 0x0a]));
    const l1 = [];
    for await (const l of readLines(p, "latin1")) l1.push(l.text);
    assert.equal(l1[0], "café\u0085");
    const w = [];
    for await (const l of readLines(p, "windows-1252")) w.push(l.text);
    assert.equal(w[0], "café\u2026");
    const u = [];
    for await (const l of readLines(p, "utf8")) u.push(l.text);
    assert.equal(
      u[0],
      "caf\ufffd",
      "invalid UTF-8 becomes a replacement character, which is why encodings are explicit",
    );
  });

  test("splitJsonArray locates elements by line", () => {
    const els = splitJsonArray('[\n {"a": "x,]"},\n\n {"b": [1, 2]}\n]');
    assert.deepEqual(els, [
      { text: '{"a": "x,]"}', line: 2 },
      { text: '{"b": [1, 2]}', line: 4 },
    ]);
    assert.deepEqual(splitJsonArray("[]"), []);
    assert.throws(() => splitJsonArray('{"a":1}'), /expected a JSON array/);
  });

  test("delimited rows: quotes, embedded delimiter and newline, doubled quotes", async () => {
    const p = file("q.csv", 'a,b\n"x, y","he said ""hi""\nbye"\n\nplain,2\n');
    const rows = [];
    for await (const r of readDelimited(p, { delimiter: "," })) rows.push(r);
    assert.deepEqual(rows, [
      { fields: ["a", "b"], line: 1 },
      { fields: ["x, y", 'he said "hi"\nbye'], line: 2 },
      { fields: [], line: 4 },
      { fields: ["plain", "2"], line: 5 },
    ]);
  });
});

describe("preference records", () => {
  test("explicit JSONL, strings and chat messages, extra fields kept", async () => {
    const p = file(
      "p.jsonl",
      jsonl([
        { prompt: "Q?", chosen: "good", rejected: "bad", score: 3 },
        {
          prompt: [{ role: "user", content: "Hi" }],
          chosen: [{ role: "assistant", content: "Hello!" }],
          rejected: [{ role: "assistant", content: "Go away." }],
        },
      ]),
    );
    const { records, report } = await loadPreferences(p);
    assert.equal(report.accepted, 2);
    assert.deepEqual(records[0], { prompt: "Q?", chosen: "good", rejected: "bad", extra: { score: 3 } });
    assert.deepEqual(records[1].chosen, [{ role: "assistant", content: "Hello!" }]);
  });

  test("JSON array file gives the same records, with per-element line numbers in issues", async () => {
    const p = file(
      "p.json",
      '[\n{"prompt": "Q", "chosen": "a", "rejected": "b"},\n{"prompt": "Q", "chosen": "a", "rejected": "a"}\n]',
    );
    const { records, report } = await loadPreferences(p, { mode: "collect" });
    assert.equal(records.length, 1);
    assert.equal(report.issues[0].line, 3);
    assert.equal(report.issues[0].reason, "identical");
  });

  test("HH-style implicit prompt: shared prefix up to and including the last \\n\\nAssistant:", () => {
    const c = "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: joke?\n\nAssistant: Why did the chicken…";
    const r = "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: joke?\n\nAssistant: No.";
    const pair = splitImplicitPrompt(c, r);
    assert.equal(pair.prompt, "\n\nHuman: hi\n\nAssistant: hello\n\nHuman: joke?\n\nAssistant:");
    assert.equal(pair.chosen, " Why did the chicken…");
    assert.equal(pair.rejected, " No.");
    // when an earlier turn differs, the prompt stops at the last marker inside the shared part
    const p2 = splitImplicitPrompt(
      "\n\nHuman: a\n\nAssistant: X\n\nHuman: b\n\nAssistant: c",
      "\n\nHuman: a\n\nAssistant: Y",
    );
    assert.equal(p2.prompt, "\n\nHuman: a\n\nAssistant:");
    assert.equal(p2.rejected, " Y");
  });

  test("implicit prompt for chat-message lists = common leading messages", () => {
    const u = { role: "user", content: "2+2?" };
    const pair = splitImplicitPrompt(
      [u, { role: "assistant", content: "4" }],
      [u, { role: "assistant", content: "5" }],
    );
    assert.deepEqual(pair.prompt, [u]);
    assert.deepEqual(pair.rejected, [{ role: "assistant", content: "5" }]);
  });

  test("every kind of bad record is reported with file, line, field and reason (collect mode)", async () => {
    const lines = [
      { prompt: "P", chosen: "ok", rejected: "fine" }, // 1 good
      "{not json", // 2
      { prompt: "P", rejected: "x" }, // 3 missing chosen
      { prompt: "P", chosen: 5, rejected: "x" }, // 4 wrong type
      { prompt: "P", chosen: "   ", rejected: "x" }, // 5 empty
      { prompt: "P", chosen: "same", rejected: "same" }, // 6 identical
      "", // 7 blank line
      { prompt: "P", chosen: [{ role: "assistant" }], rejected: "x" }, // 8 message without content
      "[1, 2]", // 9 not an object
      { prompt: "P", chosen: "yes", rejected: "no" }, // 10 good
    ];
    const p = file("bad.jsonl", jsonl(lines));
    const { records, report } = await loadPreferences(p, { mode: "collect" });
    assert.equal(records.length, 2);
    assert.equal(report.records, 9);
    assert.equal(report.accepted, 2);
    assert.equal(report.rejected, 7);
    assert.equal(report.blankLines, 1);
    assert.deepEqual(
      report.issues.map((i) => [i.line, i.reason, i.field]),
      [
        [2, "invalid-json", undefined],
        [3, "missing-field", "chosen"],
        [4, "wrong-type", "chosen"],
        [5, "empty-text", "chosen"],
        [6, "identical", "rejected"],
        [8, "missing-field", "chosen[0].content"],
        [9, "wrong-type", undefined],
      ],
    );
    assert.deepEqual(report.counts, {
      "invalid-json": 1,
      "missing-field": 2,
      "wrong-type": 2,
      "empty-text": 1,
      identical: 1,
    });
    assert.ok(report.issues.every((i) => i.file === p));
  });

  test("strict mode throws at the first bad record with file, line, field and reason", async () => {
    const p = file(
      "strict.jsonl",
      jsonl([
        { prompt: "P", chosen: "a", rejected: "b" },
        { prompt: "P", chosen: "a" },
      ]),
    );
    await assert.rejects(loadPreferences(p), (err: unknown) => {
      assert.ok(err instanceof DataValidationError);
      assert.equal(err.issue.line, 2);
      assert.equal(err.issue.field, "rejected");
      assert.match(err.message, new RegExp(`strict\\.jsonl:2: field "rejected" missing-field`));
      return true;
    });
  });

  test("prompt-not-prefix: implicit pairs without a shared assistant turn, and explicit prompts repeated in completions", async () => {
    const p = file(
      "np.jsonl",
      jsonl([
        { chosen: "\n\nHuman: a\n\nAssistant: x", rejected: "\n\nHuman: b\n\nAssistant: y" },
        { prompt: "Q:", chosen: "Q: yes", rejected: "Q: no" },
        { prompt: "Q:", chosen: "Q: yes", rejected: "R: no" },
      ]),
    );
    const implicit = await loadHhRlhf(p, { mode: "collect" });
    assert.equal(implicit.report.counts["prompt-not-prefix"], 1);
    assert.equal(implicit.report.counts["wrong-type"], 2, "implicit mode refuses records that have a prompt field");
    const explicit = await loadPreferences(p, { mode: "collect", prompt: "explicit", completionsIncludePrompt: true });
    assert.deepEqual(
      explicit.records.map((r) => [r.prompt, r.chosen, r.rejected]),
      [["Q:", " yes", " no"]],
    );
    assert.deepEqual(
      explicit.report.issues.map((i) => [i.line, i.reason, i.field]),
      [
        [1, "missing-field", "prompt"],
        [3, "prompt-not-prefix", "rejected"],
      ],
    );
  });

  test("streaming iteration yields records one at a time and fills the caller's report", async () => {
    const rows = Array.from({ length: 50 }, (_, i) => ({
      prompt: `p${i}`,
      chosen: "a",
      rejected: i === 7 ? "a" : "b",
    }));
    const p = file("stream.jsonl.gz", zlib.gzipSync(jsonl(rows)));
    const collector = new Collector<PreferenceRecord>("collect");
    let n = 0;
    for await (const r of streamPreferences(p, {}, collector)) {
      assert.equal(typeof r.prompt, "string");
      n++;
    }
    assert.equal(n, 49);
    assert.equal(collector.records.length, 0, "the stream does not accumulate records");
    assert.equal(collector.report.rejected, 1);
    assert.equal(collector.report.issues[0].line, 8);
  });
});

describe("unpaired, rankings, delimited, labelled lines", () => {
  test("unpaired KTO records: label must be boolean", async () => {
    const p = file(
      "u.jsonl",
      jsonl([
        { prompt: "P", completion: "c", label: true },
        { prompt: "P", completion: "c", label: "true" },
        { prompt: "P", completion: "c", label: 1 },
        { prompt: "P", completion: "c" },
      ]),
    );
    const { records, report } = await loadUnpaired(p, { mode: "collect" });
    assert.deepEqual(records, [{ prompt: "P", completion: "c", label: true }]);
    assert.deepEqual(
      report.issues.map((i) => [i.line, i.reason]),
      [
        [2, "label-not-boolean"],
        [3, "label-not-boolean"],
        [4, "missing-field"],
      ],
    );
  });

  test("rankings: at least two responses; scores aligned and non-increasing", async () => {
    const p = file(
      "r.jsonl",
      jsonl([
        { prompt: "P", responses: ["a", "b", "c"], scores: [3, 2, 2] },
        { prompt: "P", responses: ["a"] },
        { prompt: "P", responses: ["a", "b"], scores: [1, 2] },
        { prompt: "P", responses: ["a", "b"], scores: [1] },
      ]),
    );
    const { records, report } = await loadRankings(p, { mode: "collect" });
    assert.equal(records.length, 1);
    assert.deepEqual(
      report.issues.map((i) => [i.line, i.reason, i.field]),
      [
        [2, "bad-row", "responses"],
        [3, "bad-row", "scores"],
        [4, "wrong-type", "scores"],
      ],
    );
  });

  test("TSV judgements with a column mapping (UKPConvArg1 layout), gzipped", async () => {
    const tsv = "#id\tlabel\ta1\ta2\nx_y\ta2\tfirst text\tsecond text\nu_v\ta1\tA\tB\nbad\ta3\tA\tB\nshort\ta1\n";
    const p = file("ukp.csv.gz", zlib.gzipSync(tsv));
    const { records, report } = await loadDelimited(p, {
      delimiter: "\t",
      quote: null,
      mode: "collect",
      toRecord: judgementColumns({
        prompt: { fixed: "topic" },
        first: "a1",
        second: "a2",
        label: "label",
        firstWins: "a1",
        secondWins: "a2",
        id: "#id",
      }),
    });
    assert.deepEqual(records[0], {
      prompt: "topic",
      chosen: "second text",
      rejected: "first text",
      extra: { id: "x_y", label: "a2" },
    });
    assert.equal(records[1].chosen, "A");
    assert.deepEqual(
      report.issues.map((i) => [i.line, i.reason]),
      [
        [4, "bad-row"],
        [5, "bad-row"],
      ],
    );
  });

  test("CSV with prompt/chosen/rejected columns", async () => {
    const p = file("pcr.csv", 'question,good,bad\n"Q, with comma",yes,no\n');
    const { records } = await loadDelimited(p, {
      toRecord: preferenceColumns({ prompt: "question", chosen: "good", rejected: "bad" }),
    });
    assert.deepEqual(records, [{ prompt: "Q, with comma", chosen: "yes", rejected: "no" }]);
  });

  test("labelled lines and sentence<TAB>label files", async () => {
    const p = file("pos.txt", Buffer.from("great movie\x85\n\nbad\n", "latin1"));
    const lab = await loadLabelledLines(p, 1, { encoding: "latin1", mode: "collect" });
    assert.deepEqual(
      lab.records.map((r) => r.text),
      ["great movie\u0085", "bad"],
    );
    assert.equal(lab.report.counts["empty-text"], 1);
    const t = file("uci.txt", "Loved it.\t1\nhas\ttab inside\t0\nNope\t2\n");
    const uci = await loadTabLabelled(t, { mode: "collect" });
    assert.deepEqual(
      uci.records.map((r) => [r.text, r.label]),
      [
        ["Loved it.", 1],
        ["has\ttab inside", 0],
      ],
    );
    assert.deepEqual(
      uci.report.issues.map((i) => [i.line, i.reason]),
      [[3, "bad-row"]],
    );
  });
});

describe("conversions", () => {
  const pairs: PreferenceRecord[] = [
    { prompt: "P", chosen: "a", rejected: "b" },
    { prompt: "P", chosen: "a", rejected: "b" }, // exact duplicate
    { prompt: "P", chosen: "b", rejected: "c" }, // b is now desirable too: conflict with pair 1
    { prompt: "P", chosen: "b", rejected: "a" }, // contradicts pair 1
  ];

  test("pairs → unpaired: two examples per pair, duplicates once, conflicts counted", () => {
    const { examples, report } = pairRecordsToUnpaired(pairs);
    // (a,T) (b,F) | dup dup | (b,T) (c,F) | (b,T) dup, (a,F)
    assert.deepEqual(
      examples.map((e) => `${e.completion}${e.label ? "+" : "-"}`),
      ["a+", "b-", "b+", "c-", "a-"],
    );
    assert.equal(report.duplicatesRemoved, 3);
    assert.equal(report.conflicts, 4); // a+, a-, b-, b+
    const dropped = pairRecordsToUnpaired(pairs, { conflicts: "drop" });
    assert.deepEqual(
      dropped.examples.map((e) => `${e.completion}${e.label ? "+" : "-"}`),
      ["c-"],
    );
    assert.equal(dropped.report.conflictsDropped, 4);
  });

  test("dedupePairs removes exact duplicates and counts contradictions (records on either side: one A≻B/B≻A is 2)", () => {
    const { pairs: out, report } = dedupePairs(pairs);
    assert.equal(out.length, 3);
    assert.equal(report.duplicatesRemoved, 1);
    assert.equal(report.conflicts, 2, "one contradiction, a≻b vs b≻a: both records count");
    assert.equal(dedupePairs(pairs, { contradictions: "drop" }).pairs.length, 1);
  });

  test("rankings → pairs: all n(n−1)/2 or adjacent n−1; ties and identical texts give no pair", () => {
    const r: RankingRecord[] = [{ prompt: "P", responses: ["a", "b", "c", "d"] }];
    assert.equal(rankingRecordsToPairs(r).pairs.length, 6);
    assert.deepEqual(
      rankingRecordsToPairs(r, { mode: "adjacent" }).pairs.map((p) => `${p.chosen}>${p.rejected}`),
      ["a>b", "b>c", "c>d"],
    );
    const tied = rankingRecordsToPairs([{ prompt: "P", responses: ["a", "b", "c", "a"], scores: [3, 2, 2, 1] }]);
    assert.deepEqual(
      tied.pairs.map((p) => `${p.chosen}>${p.rejected}`),
      ["a>b", "a>c", "b>a", "c>a"],
    );
    assert.equal(tied.report.tiesSkipped, 1);
    assert.equal(tied.report.identicalSkipped, 1);
  });

  test("adjacent mode across ties: each response meets every response of the next lower score group", () => {
    const adj = (scores: number[], responses = ["a", "b", "c", "d"].slice(0, scores.length)) => {
      const out = rankingRecordsToPairs([{ prompt: "P", responses, scores }], { mode: "adjacent" });
      return {
        pairs: out.pairs.map((p) => `${p.chosen}>${p.rejected}`),
        ties: out.report.tiesSkipped,
        identical: out.report.identicalSkipped,
      };
    };
    assert.deepEqual(adj([3, 3, 1]), { pairs: ["a>c", "b>c"], ties: 1, identical: 0 });
    assert.deepEqual(adj([3, 2, 2, 1]), { pairs: ["a>b", "a>c", "b>d", "c>d"], ties: 1, identical: 0 });
    assert.deepEqual(adj([5, 1, 1]), { pairs: ["a>b", "a>c"], ties: 1, identical: 0 });
    assert.deepEqual(adj([2, 2, 2]), { pairs: [], ties: 3, identical: 0 });
    assert.deepEqual(adj([3, 2, 1]), { pairs: ["a>b", "b>c"], ties: 0, identical: 0 });
    assert.deepEqual(adj([3, 1, 1], ["a", "b", "a"]), { pairs: ["a>b"], ties: 1, identical: 1 });
    // Every adjacent pair is implied by "all": adjacent is a subset that still orders every score level.
    const all = rankingRecordsToPairs([
      { prompt: "P", responses: ["a", "b", "c", "d"], scores: [3, 2, 2, 1] },
    ]).pairs.map((p) => `${p.chosen}>${p.rejected}`);
    for (const p of adj([3, 2, 2, 1]).pairs) assert.ok(all.includes(p), p);
  });

  test("prompt-hash split: deterministic, order-independent, no prompt on both sides, about the asked fraction", () => {
    const recs = Array.from({ length: 4000 }, (_, i) => ({
      prompt: `prompt ${i % 1000}`,
      chosen: "a",
      rejected: `b${i}`,
    }));
    const a = splitByPrompt(recs, { testFraction: 0.2 });
    const b = splitByPrompt([...recs].reverse(), { testFraction: 0.2 });
    const trainPrompts = new Set(a.train.map((r) => r.prompt));
    assert.ok(a.test.every((r) => !trainPrompts.has(r.prompt)));
    assert.deepEqual(new Set(b.test.map((r) => r.rejected)), new Set(a.test.map((r) => r.rejected)));
    const frac = new Set(a.test.map((r) => r.prompt)).size / 1000;
    assert.ok(Math.abs(frac - 0.2) < 0.04, `test fraction of prompts ${frac}`);
    assert.equal(splitByPrompt(recs, { testFraction: 0 }).test.length, 0);
    assert.equal(splitByPrompt(recs, { testFraction: 1 }).train.length, 0);
    const other = splitByPrompt(recs, { testFraction: 0.2, salt: "other" });
    assert.notDeepEqual(new Set(other.test.map((r) => r.prompt)), new Set(a.test.map((r) => r.prompt)));
  });
});

describe("export round trips (the files TRL reads)", () => {
  const pairs: PreferenceRecord[] = [
    { prompt: "Say hi", chosen: "Hi!", rejected: "No.", extra: { judge_score: [0.9, 0.1] } },
    {
      prompt: [{ role: "user", content: "Q" }],
      chosen: [{ role: "assistant", content: "A" }],
      rejected: [{ role: "assistant", content: "B" }],
    },
  ];

  test("JSONL and gzipped JSONL: load(export(x)) = x, TRL column names", async () => {
    for (const name of ["rt.jsonl", "rt.jsonl.gz"]) {
      const p = path.join(dir, name);
      assert.equal(await writeJsonl(p, pairs), 2);
      assert.equal(name.endsWith(".gz"), fs.readFileSync(p)[0] === 0x1f);
      const { records } = await loadPreferences(p);
      assert.deepEqual(records, pairs);
    }
    const firstLine = JSON.parse(toJsonl(pairs).split("\n")[0]);
    assert.deepEqual(Object.keys(firstLine), ["prompt", "chosen", "rejected", "judge_score"]);
  });

  test("JSON array export round-trips", async () => {
    const p = path.join(dir, "rt.json");
    writeJson(p, pairs);
    assert.deepEqual((await loadPreferences(p)).records, pairs);
  });

  test("implicit-prompt (HH) export round-trips through the implicit loader", async () => {
    const hh: PreferenceRecord[] = [{ prompt: "\n\nHuman: hi\n\nAssistant:", chosen: " Hello.", rejected: " Bye." }];
    const p = path.join(dir, "hh.jsonl.gz");
    await writeJsonl(p, hh, { implicitPrompt: true });
    assert.deepEqual(toImplicitPrompt(hh[0]), {
      chosen: "\n\nHuman: hi\n\nAssistant: Hello.",
      rejected: "\n\nHuman: hi\n\nAssistant: Bye.",
    });
    assert.deepEqual((await loadHhRlhf(p)).records, hh);
  });

  test("for TRL, export explicit pairs: TRL re-derives an implicit prompt as the character-level common prefix", () => {
    // trl.data_utils.extract_prompt, ported: the longest common prefix of chosen and rejected, one
    // character shorter when that prefix ends in a space.
    const trlPrompt = (chosen: string, rejected: string): string => {
      const n = Math.min(chosen.length, rejected.length);
      let idx = 0;
      for (; idx < n; idx++) {
        if (chosen[idx] !== rejected[idx]) {
          if (chosen[idx - 1] === " ") idx -= 1;
          break;
        }
      }
      return chosen.slice(0, idx === n ? n - 1 : idx);
    };
    const differentStart: PreferenceRecord = {
      prompt: "\n\nHuman: hi\n\nAssistant:",
      chosen: " Hello.",
      rejected: " Bye.",
    };
    const sameStart: PreferenceRecord = {
      prompt: "\n\nHuman: hi\n\nAssistant:",
      chosen: " I can help.",
      rejected: " I cannot.",
    };
    const implicit = (p: PreferenceRecord) => toImplicitPrompt(p) as { chosen: string; rejected: string };
    assert.equal(trlPrompt(implicit(differentStart).chosen, implicit(differentStart).rejected), differentStart.prompt);
    const trl = trlPrompt(implicit(sameStart).chosen, implicit(sameStart).rejected);
    assert.equal(trl, "\n\nHuman: hi\n\nAssistant: I can", "TRL's prompt swallows the replies' shared start");
    assert.notEqual(trl, sameStart.prompt);
    assert.deepEqual(
      splitImplicitPrompt(implicit(sameStart).chosen, implicit(sameStart).rejected),
      { prompt: sameStart.prompt, chosen: sameStart.chosen, rejected: sameStart.rejected },
      "this project's loader splits at the last Assistant turn",
    );
    // The explicit layout carries the prompt itself, so there is nothing to re-derive.
    assert.deepEqual(JSON.parse(toJsonl([sameStart])), {
      prompt: sameStart.prompt,
      chosen: sameStart.chosen,
      rejected: sameStart.rejected,
    });
  });

  test("unpaired and ranking exports round-trip", async () => {
    const { examples } = pairRecordsToUnpaired(pairs.slice(0, 1));
    const pu = path.join(dir, "kto.jsonl");
    await writeJsonl(pu, examples);
    assert.deepEqual((await loadUnpaired(pu)).records, examples);
    const ranks: RankingRecord[] = [{ prompt: "P", responses: ["x", "y", "z"], scores: [2, 1, 0] }];
    const pr = path.join(dir, "rank.jsonl");
    await writeJsonl(pr, ranks);
    assert.deepEqual((await loadRankings(pr)).records, ranks);
  });

  test("CSV export round-trips through the column mapping, quoting included", async () => {
    const rows = [{ prompt: 'Q "quoted", and\nmultiline', chosen: "a,b", rejected: "c" }];
    const p = path.join(dir, "out.csv");
    writeDelimited(p, rows, ["prompt", "chosen", "rejected"]);
    const { records } = await loadDelimited(p, {
      toRecord: preferenceColumns({ prompt: "prompt", chosen: "chosen", rejected: "rejected" }),
    });
    assert.deepEqual(records, rows);
  });
});

describe("tar", () => {
  test("writeTar → gzip → readTar gives the files back; corrupt headers are refused", () => {
    const entries = [
      { name: "dir/a.txt", data: Buffer.from("hello\n") },
      { name: "dir/empty", data: Buffer.alloc(0) },
      { name: "dir/big.bin", data: Buffer.alloc(1500, 7) },
    ];
    const tgz = zlib.gzipSync(writeTar(entries));
    assert.deepEqual(readTar(tgz), entries);
    const broken = writeTar(entries);
    broken[10] ^= 0xff;
    assert.throws(() => readTar(broken), /checksum mismatch/);
    assert.throws(() => readTar(writeTar(entries).subarray(0, 1100)), /truncated/);
    assert.throws(() => readTar(writeTar(entries).subarray(0, 2048 + 100)), /past the end/);
  });
});

describe("text features", () => {
  test("word tokens, document-frequency vocabulary, bag of words", async () => {
    const { wordTokens, buildVocabulary, bagOfWords } = await import("../src/data/textFeatures");
    assert.deepEqual(wordTokens("Don't PANIC!<br/>It's 42 — naïve."), ["don't", "panic", "it's", "42", "naïve"]);
    const vocab = buildVocabulary([["b", "a", "a"], ["a", "c"], ["b", "a"], ["d"]], { minDocs: 2 });
    assert.deepEqual(vocab.words, ["a", "b"]); // a in 3 docs, b in 2; c, d below minDocs
    assert.deepEqual(Array.from(bagOfWords(["b", "b", "z"], vocab)), [0, 1]);
    assert.deepEqual(buildVocabulary([["y"], ["x"]], { minDocs: 1 }).words, ["x", "y"], "ties alphabetical");
  });

  test("surface features: length and AFINN lexicon values", async () => {
    const { surfaceFeatures, SURFACE_FEATURES, standardizer } = await import("../src/data/textFeatures");
    const f = surfaceFeatures("This is good. Not bad!");
    assert.equal(f.length, SURFACE_FEATURES.length);
    assert.equal(f[0], Math.log1p(22));
    assert.equal(f[1], Math.log1p(5));
    assert.equal(f[2], 6, "AFINN: good +3, 'not bad' negated −3 → +3");
    assert.equal(f[8], Math.log1p(1));
    // Counts enter as log(1 + count), and the feature names say so.
    assert.equal(SURFACE_FEATURES[5], "log(1+sentences)");
    assert.equal(f[5], Math.log1p(2));
    assert.deepEqual(
      [0, 1, 5, 8, 9].map((j) => SURFACE_FEATURES[j]),
      ["log(1+chars)", "log(1+words)", "log(1+sentences)", "log(1+exclamations)", "log(1+questions)"],
    );
    const s = standardizer([
      [1, 5],
      [3, 5],
    ]);
    assert.deepEqual(s.apply([2, 5]), [0, 0]);
    assert.deepEqual(s.apply([3, 6]), [1, 1], "a constant column keeps scale 1");
  });
});
