// Loaders and exporters under hostile input (issue 15): nothing read is changed or dropped without an
// issue naming file and line (invalid UTF-8, duplicate JSON keys, duplicate CSV headers, content after a
// JSON array, truncated gzip), chat messages keep every field, JSON records cannot reach
// Object.prototype, export never leaves a partial file, and readLines is linear in the line length.
import { describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "child_process";
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as zlib from "zlib";
import { writeJsonl } from "../src/data/export";
import { loadDelimited, loadLabelledLines, loadPreferences, preferenceColumns } from "../src/data/loaders";
import { readLines, splitJsonArray } from "../src/data/read";
import type { PreferenceRecord } from "../src/data/types";

const tmp = (name: string): string => fs.mkdtempSync(path.join(os.tmpdir(), `prefopt-drel-${name}-`));
const put = (dir: string, name: string, data: string | Buffer): string => {
  const f = path.join(dir, name);
  fs.writeFileSync(f, data);
  return f;
};
const pairLine = (i: number) => JSON.stringify({ prompt: `p${i}`, chosen: `good ${i}`, rejected: `bad ${i}` });

describe("JSON arrays", () => {
  test("content after the closing ] is reported (strict throws with file:line; collect keeps the elements and reports it)", async () => {
    const dir = tmp("trailing");
    const f = put(dir, "a.json", `[${pairLine(1)},\n${pairLine(2)}]\n[${pairLine(3)}]\n`);
    await assert.rejects(loadPreferences(f), /a\.json:3: trailing-content: content after the closing "\]"/);
    const r = await loadPreferences(f, { mode: "collect" });
    assert.equal(r.records.length, 2);
    assert.deepEqual(
      r.report.issues.map((i) => [i.line, i.reason]),
      [[3, "trailing-content"]],
    );
    assert.throws(() => splitJsonArray("[1, 2] garbage"), /line 1: content after the closing/);
  });

  test("a backslash-newline inside a string does not shift later line numbers", () => {
    const els = splitJsonArray('[\n"a\\\nb",\n3\n]');
    assert.deepEqual(
      els.map((e) => e.line),
      [2, 4],
    );
  });
});

describe("loaders that used to change data silently", () => {
  test("invalid UTF-8 is an invalid-encoding issue at its line, not U+FFFD in the data", async () => {
    const dir = tmp("utf8");
    const bad = Buffer.concat([
      Buffer.from(pairLine(1) + "\n"),
      Buffer.from('{"prompt": "p", "chosen": "caf'),
      Buffer.from([0xe9]),
      Buffer.from('", "rejected": "x"}\n'),
      Buffer.from(pairLine(3) + "\n"),
    ]);
    const f = put(dir, "bad.jsonl", bad);
    await assert.rejects(loadPreferences(f), /bad\.jsonl:2: invalid-encoding: not valid UTF-8/);
    const r = await loadPreferences(f, { mode: "collect" });
    assert.deepEqual(
      r.records.map((p) => p.prompt),
      ["p1", "p3"],
    );
    assert.deepEqual(
      r.report.issues.map((i) => [i.line, i.reason]),
      [[2, "invalid-encoding"]],
    );
    // A real U+FFFD in valid UTF-8 is data, not an error.
    const ok = put(dir, "ok.jsonl", JSON.stringify({ prompt: "p", chosen: "a\ufffd", rejected: "b" }) + "\n");
    assert.equal((await loadPreferences(ok)).records[0].chosen, "a\ufffd");
    // The same in a JSON array and a labelled-lines file.
    const arr = put(
      dir,
      "bad.json",
      Buffer.concat([
        Buffer.from(`[${pairLine(1)},\n{"prompt": "p", "chosen": "caf`),
        Buffer.from([0xe9]),
        Buffer.from('", "rejected": "x"}]\n'),
      ]),
    );
    const ra = await loadPreferences(arr, { mode: "collect" });
    assert.deepEqual(
      ra.report.issues.map((i) => [i.line, i.reason]),
      [[2, "invalid-encoding"]],
    );
    const lines = put(dir, "x.pos", Buffer.concat([Buffer.from("fine\ncaf"), Buffer.from([0xe9]), Buffer.from("\n")]));
    await assert.rejects(loadLabelledLines(lines, 1), /x\.pos:2: invalid-encoding/);
    assert.equal((await loadLabelledLines(lines, 1, { encoding: "latin1" })).records[1].text, "café");
  });

  test("duplicate JSON keys are a duplicate-key issue naming the key", async () => {
    const dir = tmp("dupkey");
    const f = put(
      dir,
      "d.jsonl",
      `${pairLine(1)}\n{"prompt": "p", "chosen": "a", "chosen": "b", "rejected": "c"}\n{"prompt": "p", "chosen": [{"role": "user", "content": "x", "content": "y"}], "rejected": [{"role": "user", "content": "z"}]}\n{"prompt": "p", "chosen": "a", "rejected": "b", "meta": {"k": 1}, "k": 2}\n{"prompt": "q", "chosen": "\\u0061", "c\\u0068osen": "b", "rejected": "c"}\n`,
    );
    await assert.rejects(
      loadPreferences(f),
      /d\.jsonl:2: field "chosen" duplicate-key: an object names the key "chosen" twice/,
    );
    const r = await loadPreferences(f, { mode: "collect" });
    assert.deepEqual(
      r.report.issues.map((i) => [i.line, i.reason, i.field]),
      [
        [2, "duplicate-key", "chosen"],
        [3, "duplicate-key", "content"],
        [5, "duplicate-key", "chosen"],
      ],
    );
    assert.equal(r.records.length, 2, "the same key in two different objects is fine");
  });

  test("a CSV header naming a column twice is an error with file:line; a __proto__ column is data", async () => {
    const dir = tmp("csv");
    const f = put(dir, "d.csv", "prompt,chosen,rejected,chosen\np,a,b,c\n");
    await assert.rejects(
      loadDelimited(f, { toRecord: preferenceColumns({ prompt: "prompt", chosen: "chosen", rejected: "rejected" }) }),
      /d\.csv:1: the header names column "chosen" twice \(columns 2 and 4\)/,
    );
    const g = put(dir, "e.csv", "prompt,__proto__,rejected\np,a,b\n");
    const r = await loadDelimited(g, {
      toRecord: preferenceColumns({ prompt: "prompt", chosen: "__proto__", rejected: "rejected" }),
    });
    assert.equal(r.records[0].chosen, "a");
  });

  test("chat messages keep name, tool_calls and any other field: load → export → load is the identity", async () => {
    const dir = tmp("chat");
    const rec = {
      prompt: [
        { role: "system", content: "be brief", name: "sys" },
        { role: "user", content: "weather?" },
      ],
      chosen: [
        {
          role: "assistant",
          content: "calling the weather tool",
          tool_calls: [{ id: "c1", type: "function", function: { name: "w", arguments: "{}" } }],
        },
      ],
      rejected: [{ role: "assistant", content: "no idea", name: "bot" }],
      source: "x",
    };
    const f = put(dir, "c.jsonl", JSON.stringify(rec) + "\n");
    const first = await loadPreferences(f);
    assert.deepEqual(first.records[0].chosen, rec.chosen);
    const out = path.join(dir, "out.jsonl");
    await writeJsonl(out, first.records);
    assert.deepEqual(JSON.parse(fs.readFileSync(out, "utf8")), rec);
    const second = await loadPreferences(out);
    assert.deepEqual(second.records, first.records);
    // Leading messages that differ only in a field other than role/content are not a shared prompt.
    const impl = put(
      dir,
      "i.jsonl",
      JSON.stringify({
        chosen: [
          { role: "user", content: "q", name: "a" },
          { role: "assistant", content: "x" },
        ],
        rejected: [
          { role: "user", content: "q", name: "b" },
          { role: "assistant", content: "y" },
        ],
      }) + "\n",
    );
    await assert.rejects(loadPreferences(impl, { prompt: "implicit" }), /prompt-not-prefix/);
  });

  test("explicit prompts: a string chosen with a message-list rejected is rejected, as in implicit mode", async () => {
    const dir = tmp("mixed");
    const f = put(
      dir,
      "m.jsonl",
      JSON.stringify({ prompt: "p", chosen: "a", rejected: [{ role: "assistant", content: "b" }] }) + "\n",
    );
    await assert.rejects(
      loadPreferences(f),
      /m\.jsonl:1: field "rejected" wrong-type: prompt, chosen and rejected must all be strings or all be message lists/,
    );
  });

  test("a string prompt beside whole conversations (Hugging Face UltraFeedback layout) is lifted, not rejected", async () => {
    const dir = tmp("hfchat");
    const user = { role: "user", content: "how to cook t-bone?" };
    const rows = [
      {
        prompt: "how to cook t-bone?",
        chosen: [user, { role: "assistant", content: "oven" }],
        rejected: [user, { role: "assistant", content: "raw" }],
      },
      { prompt: "q2", chosen: [{ role: "assistant", content: "a" }], rejected: [{ role: "assistant", content: "b" }] },
    ];
    const f = put(dir, "hf.jsonl", rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
    const r = await loadPreferences(f);
    assert.deepEqual(r.records[0], {
      prompt: [user],
      chosen: [{ role: "assistant", content: "oven" }],
      rejected: [{ role: "assistant", content: "raw" }],
    });
    assert.deepEqual(r.records[1].prompt, [{ role: "user", content: "q2" }]);
    // A prompt the conversations contradict is still an error, naming the line.
    const bad = put(
      dir,
      "bad.jsonl",
      JSON.stringify({
        prompt: "other",
        chosen: [user, { role: "assistant", content: "x" }],
        rejected: [user, { role: "assistant", content: "y" }],
      }) + "\n",
    );
    await assert.rejects(loadPreferences(bad), /bad\.jsonl:1: field "chosen" wrong-type/);
  });

  test("a __proto__ field of a record stays a field (kept and exported), and Object.prototype is untouched", async () => {
    const dir = tmp("proto");
    const line = '{"prompt": "p", "chosen": "a", "rejected": "b", "__proto__": {"polluted": 1}}';
    const f = put(dir, "p.jsonl", line + "\n");
    const r = await loadPreferences(f);
    assert.deepEqual(Object.keys(r.records[0].extra ?? {}), ["__proto__"]);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal((r.records[0].extra as Record<string, unknown>).polluted, undefined, "not inherited");
    const out = path.join(dir, "o.jsonl");
    await writeJsonl(out, r.records);
    assert.deepEqual(JSON.parse(fs.readFileSync(out, "utf8").trim()), JSON.parse(line));
  });
});

describe("truncated gzip", () => {
  test("names the file; collect mode keeps every record before the cut and reports it", async () => {
    const dir = tmp("gz");
    const whole = zlib.gzipSync(Array.from({ length: 3000 }, (_, i) => pairLine(i) + "\n").join(""));
    const f = put(dir, "cut.jsonl.gz", whole.subarray(0, Math.floor(whole.length * 0.6)));
    await assert.rejects(
      loadPreferences(f),
      (e: Error) => e.message.includes("cut.jsonl.gz") && /truncated|unexpected end/.test(e.message),
    );
    const r = await loadPreferences(f, { mode: "collect" });
    assert.ok(r.records.length > 1000, `kept ${r.records.length}`);
    assert.equal(r.report.issues.length, 1);
    assert.equal(r.report.issues[0].reason, "truncated-file");
    assert.equal(r.report.issues[0].line, r.records.length + 1);
    assert.deepEqual(
      r.records.map((p) => p.prompt),
      Array.from({ length: r.records.length }, (_, i) => `p${i}`),
    );
  });
});

describe("writeJsonl", () => {
  const records: PreferenceRecord[] = Array.from({ length: 50 }, (_, i) => ({
    prompt: `p${i}`,
    chosen: "a".repeat(200),
    rejected: "b",
  }));

  test("into a directory: the promise rejects naming the file (no crash, nothing half-written)", async () => {
    const dir = tmp("wdir");
    const target = path.join(dir, "out.jsonl");
    fs.mkdirSync(target);
    const many = Array.from({ length: 5000 }, (_, i) => ({ ...records[0], prompt: `p${i}` })); // more than a stream buffers
    await assert.rejects(writeJsonl(target, many), (e: Error) => e.message.includes(target));
    assert.deepEqual(fs.readdirSync(dir), ["out.jsonl"]);
  });

  test(
    "on a full disk (a 64 KiB tmpfs): rejects, leaves the old file whole and no partial file",
    { skip: !canMount() && "mount -t tmpfs is not available here" },
    async () => {
      const mnt = tmp("wfull");
      assert.equal(spawnSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", mnt]).status, 0);
      try {
        const target = path.join(mnt, "out.jsonl");
        await writeJsonl(target, records.slice(0, 10));
        const old = fs.readFileSync(target);
        const many: PreferenceRecord[] = Array.from({ length: 2000 }, (_, i) => ({
          prompt: `p${i}`,
          chosen: "a".repeat(200),
          rejected: "b",
        }));
        await assert.rejects(
          writeJsonl(target, many),
          (e: Error) => e.message.includes(target) && /ENOSPC|no space/i.test(e.message),
        );
        assert.deepEqual(fs.readFileSync(target), old);
        assert.deepEqual(fs.readdirSync(mnt), ["out.jsonl"]);
        await assert.rejects(
          writeJsonl(
            path.join(mnt, "new.jsonl.gz"),
            many.map((r) => ({ ...r, chosen: randomBytes(150).toString("hex") })),
          ),
          /ENOSPC|no space/i,
        );
        assert.deepEqual(fs.readdirSync(mnt), ["out.jsonl"]);
      } finally {
        spawnSync("umount", [mnt]);
      }
    },
  );
});

function canMount(): boolean {
  if (process.platform !== "linux" || process.getuid?.() !== 0) return false;
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "prefopt-mnt-probe-"));
  const ok = spawnSync("mount", ["-t", "tmpfs", "-o", "size=16k", "tmpfs", d]).status === 0;
  if (ok) spawnSync("umount", [d]);
  return ok;
}

describe("readLines", () => {
  test("time is linear in the length of a line (16 MB vs 4 MB, measured side by side)", async () => {
    const dir = tmp("long");
    const time = async (mb: number): Promise<number> => {
      const f = put(dir, `l${mb}.txt`, "x".repeat(mb * 1e6) + "\nshort\n");
      const t0 = performance.now();
      let n = 0;
      for await (const l of readLines(f)) n += l.text.length;
      assert.equal(n, mb * 1e6 + 5);
      return performance.now() - t0;
    };
    await time(1); // warm-up
    const small = Math.min(await time(4), await time(4));
    const big = Math.min(await time(16), await time(16));
    assert.ok(
      big / small < 8,
      `16 MB took ${big.toFixed(0)} ms, 4 MB ${small.toFixed(0)} ms: ratio ${(big / small).toFixed(1)} (linear ≈ 4, quadratic ≈ 16)`,
    );
  });

  test("CRLF, a BOM and a last line without newline are handled as before", async () => {
    const dir = tmp("crlf");
    const f = put(dir, "c.txt", Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from("a\r\nb\n\nc")]));
    const got: string[] = [];
    for await (const l of readLines(f)) got.push(`${l.line}:${l.text}`);
    assert.deepEqual(got, ["1:a", "2:b", "3:", "4:c"]);
  });
});
