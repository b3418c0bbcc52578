// The data layer and file writes under hostile input, round 2 (issue 22): concurrent downloads of one
// file, CR-only and CRLF-in-quotes CSV, spreadsheet formula injection on export, corrupt Parquet pages,
// over-long lines, writes under a regular file or on a read-only filesystem, gzip with trailing bytes or
// cut short in CSV/TSV, unpinned .jsonl bodies that are not the file, and the memory of the gzip check.
// Every server is on 127.0.0.1; every test is bounded in time.
import { after, before, test } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import * as zlib from "zlib";
import { DownloadError, fetchDataset, fetchFile } from "../src/data/download";
import type { DatasetEntry } from "../src/data/registry";
import { writeDelimited, writeJsonl } from "../src/data/export";
import { loadDelimited, loadLabelledLines, loadPreferences, preferenceColumns } from "../src/data/loaders";
import * as read from "../src/data/read";
import { WriteFailedError, writeFileAtomic } from "../src/fsAtomic";

const sha = (b: Buffer) => crypto.createHash("sha256").update(b).digest("hex");
const tmp = (name: string): string => fs.mkdtempSync(path.join(os.tmpdir(), `prefopt-drel2-${name}-`));
const put = (dir: string, name: string, data: string | Buffer): string => {
  const f = path.join(dir, name);
  fs.writeFileSync(f, data);
  return f;
};
const pairLine = (i: number) => JSON.stringify({ prompt: `p${i}`, chosen: `good ${i}`, rejected: `bad ${i}` });
const columns = preferenceColumns({ prompt: "prompt", chosen: "chosen", rejected: "rejected" });
const quiet = { log: () => {} };

const GZ = zlib.gzipSync(Buffer.from(Array.from({ length: 3000 }, (_, i) => pairLine(i) + "\n").join("")));
const PAIRS_JSONL = Buffer.from(pairLine(1) + "\n" + pairLine(2) + "\n");

let server: http.Server;
let base: string;
let cache: string;
const sockets = new Set<net.Socket>();
let raceFirst: http.ServerResponse | undefined;

before(async () => {
  server = http.createServer((req, res) => {
    const u = req.url ?? "";
    if (u === "/race.jsonl.gz") {
      // The first request gets half the body and waits; the second gets its headers, then the first
      // request finishes, and only then does the second get its body.
      res.writeHead(200, { "content-length": GZ.length });
      if (!raceFirst) {
        raceFirst = res;
        res.write(GZ.subarray(0, GZ.length >> 1));
        return;
      }
      res.flushHeaders();
      const first = raceFirst;
      setTimeout(() => first.end(GZ.subarray(GZ.length >> 1)), 300);
      setTimeout(() => res.end(GZ), 900);
      return;
    }
    const bodies: Record<string, string | Buffer> = {
      "/bom-html.jsonl": "\ufeff<!DOCTYPE html>\n<html><body>Sign in</body></html>\n",
      "/comment-html.jsonl": "<!-- served by a proxy -->\n<html><body>Error 503</body></html>\n",
      "/json-error.jsonl": '{"error":"Repository not found"}\n',
      "/json-pretty-error.jsonl": '{\n  "message": "Not Found",\n  "documentation_url": "https://x"\n}\n',
      "/cut.jsonl": Buffer.concat([PAIRS_JSONL, Buffer.from('{"prompt": "p3", "cho')]),
      "/good.jsonl": PAIRS_JSONL,
      "/error-field.jsonl": '{"prompt": "p", "chosen": "a", "rejected": "b", "error": "none"}\n',
    };
    const body = bodies[u];
    if (body !== undefined) {
      res.writeHead(200); // chunked, no content-length
      return res.end(body);
    }
    res.writeHead(404);
    res.end("not found");
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  cache = tmp("cache");
});

after(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => server.close(r));
  fs.rmSync(cache, { recursive: true, force: true });
});

function entry(name: string, url: string, file = "file.jsonl.gz"): DatasetEntry {
  return {
    name,
    title: name,
    license: "test",
    folder: name,
    files: [{ path: `${name}/${file}`, urls: [url] }],
    archives: [],
    homepage: "https://example.invalid/home",
  };
}

function canMount(): boolean {
  if (process.platform !== "linux" || process.getuid?.() !== 0) return false;
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "prefopt-mnt-probe-"));
  const ok = spawnSync("mount", ["-t", "tmpfs", "-o", "size=16k", "tmpfs", d]).status === 0;
  if (ok) spawnSync("umount", [d]);
  return ok;
}

test("item 3: two fetches of one file at once: each reports the digest of the file on disk when it returns", async () => {
  const file = { path: "race/file.jsonl.gz", urls: [`${base}/race.jsonl.gz`], sha256: sha(GZ), size: GZ.length };
  const first = fetchFile(file, "https://example.invalid/home", { cacheDir: cache, ...quiet });
  while (!raceFirst) await new Promise((r) => setTimeout(r, 10));
  await new Promise((r) => setTimeout(r, 50)); // the first download has written half the file
  const second = fetchFile(file, "https://example.invalid/home", { cacheDir: cache, ...quiet });
  const a = await first;
  assert.equal(a.status, "downloaded");
  assert.equal(sha(fs.readFileSync(a.path)), a.sha256, "the first fetch returned: the file on disk has its digest");
  const b = await second;
  assert.equal(b.status, "downloaded");
  assert.equal(sha(fs.readFileSync(b.path)), sha(GZ));
  assert.deepEqual(fs.readdirSync(path.join(cache, "race")), ["file.jsonl.gz"], "no temporary is left behind");
});

test("item 8: a CSV (or TSV) with CR-only line ends loads every record, with line numbers", async () => {
  const dir = tmp("cr");
  const csv = put(dir, "mac.csv", "prompt,chosen,rejected\rp1,a1,b1\rp2,a2,b2\rp3,same,same\r");
  await assert.rejects(loadDelimited(csv, { toRecord: columns }), /mac\.csv:4: field "rejected" identical/);
  const r = await loadDelimited(csv, { toRecord: columns, mode: "collect" });
  assert.deepEqual(
    r.records.map((p) => p.prompt),
    ["p1", "p2"],
  );
  assert.deepEqual(
    r.report.issues.map((i) => [i.line, i.reason]),
    [[4, "identical"]],
  );
  const tsv = put(dir, "mac.tsv", "prompt\tchosen\trejected\rp1\ta1\tb1\rp2\ta2\tb2");
  const t = await loadDelimited(tsv, { toRecord: columns, quote: null });
  assert.deepEqual(
    t.records.map((p) => p.chosen),
    ["a1", "a2"],
  );
});

test("item 11: a CRLF inside a quoted CSV field stays CRLF (and a LF stays LF)", async () => {
  const dir = tmp("crlf");
  const f = put(dir, "w.csv", 'prompt,chosen,rejected\r\np,"one\r\ntwo","three\nfour"\r\nq,x,y\r\n');
  const r = await loadDelimited(f, { toRecord: columns });
  assert.deepEqual(r.records, [
    { prompt: "p", chosen: "one\r\ntwo", rejected: "three\nfour" },
    { prompt: "q", chosen: "x", rejected: "y" },
  ]);
});

test("item 16: writeDelimited neutralises spreadsheet formulas in string cells; numbers stay numbers", async () => {
  const dir = tmp("formula");
  const f = path.join(dir, "out.csv");
  const rows = [
    { prompt: '=HYPERLINK("http://evil.example","click")', chosen: "+1+cmd|' /C calc'!A0", rejected: "@SUM(A1)" },
    { prompt: "-2+3", chosen: "\tx", rejected: "plain" },
    { prompt: "-1.5", chosen: -1.5, rejected: "+7" },
  ];
  writeDelimited(f, rows, ["prompt", "chosen", "rejected"]);
  const lines = fs.readFileSync(f, "utf8").split("\n");
  assert.deepEqual(lines, [
    "prompt,chosen,rejected",
    `"'=HYPERLINK(""http://evil.example"",""click"")",'+1+cmd|' /C calc'!A0,'@SUM(A1)`,
    "'-2+3,'\tx,plain",
    "-1.5,-1.5,+7",
    "",
  ]);
  // Off on request: the text is written as it is.
  writeDelimited(f, [{ a: "=1+1" }], ["a"], ",", { neutraliseFormulas: false });
  assert.equal(fs.readFileSync(f, "utf8"), "a\n=1+1\n");
});

test("item 17: a corrupt Parquet page names the file, row group and column; collect keeps the good row groups", async () => {
  const { parquetWriteBuffer } = await import("hyparquet-writer");
  const { parquetMetadata } = await import("hyparquet");
  const n = 9;
  const bytes = Buffer.from(
    parquetWriteBuffer({
      columnData: [
        { name: "prompt", data: Array.from({ length: n }, (_, i) => `p${i}`), type: "STRING" },
        { name: "chosen", data: Array.from({ length: n }, (_, i) => `good ${i}`), type: "STRING" },
        { name: "rejected", data: Array.from({ length: n }, (_, i) => `bad ${i}`), type: "STRING" },
      ],
      rowGroupSize: 3,
    } as Parameters<typeof parquetWriteBuffer>[0]),
  );
  const meta = parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  const chunk = meta.row_groups[1].columns[1].meta_data!;
  const dir = tmp("parquet");
  for (const [name, at] of [
    ["header.parquet", Number(chunk.data_page_offset)], // "thrift unhandled type"
    ["body.parquet", Number(chunk.data_page_offset) + Number(chunk.total_compressed_size) - 8], // bad lengths
  ] as const) {
    const bad = Buffer.from(bytes);
    bad.fill(name === "header.parquet" ? 0xff : 0x05, at, at + 6);
    const f = put(dir, name, bad);
    await assert.rejects(loadPreferences(f), (e: Error) => {
      assert.match(e.message, new RegExp(`${name.replace(".", "\\.")}:4: .*row group 2 of 3 \\(rows 4–6\\)`));
      assert.match(e.message, /column "chosen"/);
      return true;
    });
    const r = await loadPreferences(f, { mode: "collect" });
    assert.deepEqual(
      r.records.map((p) => p.prompt),
      ["p0", "p1", "p2", "p6", "p7", "p8"],
    );
    assert.deepEqual(
      r.report.issues.map((i) => [i.line, i.reason]),
      [[4, "truncated-file"]],
    );
    assert.match(r.report.issues[0].message, /the 3 rows of this row group are not read/);
  }
});

test("item 18: a line longer than the line limit names file and line; collect mode reads on", async () => {
  const dir = tmp("long");
  const f = put(
    dir,
    "big.jsonl",
    [pairLine(1), pairLine(2).replace("good 2", "g".repeat(5000)), pairLine(3)].join("\n"),
  );
  const limits = (read as unknown as { readLimits: { maxLineBytes: number } }).readLimits;
  const saved = limits.maxLineBytes;
  limits.maxLineBytes = 1000;
  try {
    await assert.rejects(loadPreferences(f), /big\.jsonl:2: line-too-long: the line is longer than 1000 bytes/);
    const r = await loadPreferences(f, { mode: "collect" });
    assert.deepEqual(
      r.records.map((p) => p.prompt),
      ["p1", "p3"],
    );
    assert.deepEqual(
      r.report.issues.map((i) => [i.line, i.reason]),
      [[2, "line-too-long"]],
    );
    // The plain line reader says the same.
    await assert.rejects(async () => {
      for await (const _ of read.readLines(f)) void _;
    }, /big\.jsonl:2: the line is longer than 1000 bytes/);
  } finally {
    limits.maxLineBytes = saved;
  }
  assert.equal(saved, 0x1fffffe8, "the default is the longest string V8 can build");
});

test("item 26: a write under a regular file reports that, not the cleanup's ENOTDIR", async () => {
  const dir = tmp("notdir");
  const parent = put(dir, "plain.txt", "x");
  const target = path.join(parent, "out.json");
  const check = (e: unknown) => {
    assert.ok(e instanceof WriteFailedError, `a WriteFailedError, got ${String(e)}`);
    assert.ok(e.message.includes(target), e.message);
    assert.match(e.message, new RegExp(`${parent.replace(/[.]/g, "\\.")} is a file, not a directory`));
    assert.doesNotMatch(e.message, /\.tmp-/);
    return true;
  };
  assert.throws(() => writeFileAtomic(target, "{}"), check);
  await assert.rejects(writeJsonl(target, [{ prompt: "p", chosen: "a", rejected: "b" }]), check);
  assert.equal(fs.readFileSync(parent, "utf8"), "x");
});

test("item 27: PREFOPT_DATA_CACHE pointing at a file is a DownloadError saying so", async () => {
  const dir = tmp("envcache");
  const notDir = put(dir, "cache-file", "x");
  const saved = process.env.PREFOPT_DATA_CACHE;
  process.env.PREFOPT_DATA_CACHE = notDir;
  try {
    await assert.rejects(fetchDataset(entry("envc", `${base}/good.jsonl`, "f.jsonl"), quiet), (e: Error) => {
      assert.ok(e instanceof DownloadError, `a DownloadError, got ${e.name}: ${e.message}`);
      assert.match(
        e.message,
        new RegExp(`PREFOPT_DATA_CACHE=${notDir.replace(/[.]/g, "\\.")}: it is a file, not a directory`),
      );
      return true;
    });
  } finally {
    if (saved === undefined) delete process.env.PREFOPT_DATA_CACHE;
    else process.env.PREFOPT_DATA_CACHE = saved;
  }
});

test(
  "item 28: a read-only filesystem is reported as EROFS (not ENOENT from mkdir)",
  { skip: !canMount() && "needs root and mount -t tmpfs (not available here)" },
  async () => {
    const mnt = tmp("rofs");
    assert.equal(spawnSync("mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", mnt]).status, 0);
    try {
      assert.equal(spawnSync("mount", ["-o", "remount,ro", mnt]).status, 0);
      const target = path.join(mnt, "sub", "out.json");
      assert.throws(
        () => writeFileAtomic(target, "{}"),
        (e: Error) => e.message.includes(target) && /EROFS: read-only file system/.test(e.message),
      );
      await assert.rejects(
        fetchDataset(entry("ro", `${base}/good.jsonl`, "f.jsonl"), { cacheDir: path.join(mnt, "cache"), ...quiet }),
        (e: Error) => e instanceof DownloadError && /EROFS: read-only file system/.test(e.message),
      );
    } finally {
      spawnSync("umount", [mnt]);
    }
  },
);

test("item 29: non-gzip bytes after a .jsonl.gz member: the member's records are kept, the bytes reported", async () => {
  const dir = tmp("trail");
  const member = zlib.gzipSync(PAIRS_JSONL);
  const f = put(dir, "t.jsonl.gz", Buffer.concat([member, Buffer.from("not gzip at all\n")]));
  await assert.rejects(
    loadPreferences(f),
    /t\.jsonl\.gz:3: trailing-content: .*t\.jsonl\.gz: 16 bytes after the end of the gzip data .*the 2 lines before them are read/,
  );
  const r = await loadPreferences(f, { mode: "collect" });
  assert.deepEqual(
    r.records.map((p) => p.prompt),
    ["p1", "p2"],
  );
  assert.deepEqual(
    r.report.issues.map((i) => [i.line, i.reason]),
    [[3, "trailing-content"]],
  );
  // The same for a gzipped JSON array (read whole): its elements are kept, the bytes reported.
  const arr = put(
    dir,
    "a.json.gz",
    Buffer.concat([zlib.gzipSync(`[${pairLine(1)},\n${pairLine(2)}]\n`), Buffer.from("junk")]),
  );
  await assert.rejects(
    loadPreferences(arr),
    /a\.json\.gz:3: trailing-content: .*4 bytes after the end of the gzip data/,
  );
  const ra = await loadPreferences(arr, { mode: "collect" });
  assert.equal(ra.records.length, 2);
  assert.deepEqual(
    ra.report.issues.map((i) => [i.line, i.reason]),
    [[3, "trailing-content"]],
  );
  // Zero padding (as tape and some tools write) is not content; two members are one file.
  const padded = put(dir, "pad.jsonl.gz", Buffer.concat([member, Buffer.alloc(100)]));
  assert.equal((await loadPreferences(padded)).records.length, 2);
  const two = put(dir, "two.jsonl.gz", Buffer.concat([member, zlib.gzipSync(pairLine(3) + "\n")]));
  assert.deepEqual(
    (await loadPreferences(two)).records.map((p) => p.prompt),
    ["p1", "p2", "p3"],
  );
  // A large member: every line before the garbage arrives (zlib used to drop its last output block).
  const many = Array.from({ length: 20000 }, (_, i) => pairLine(i) + "\n").join("");
  const g = put(dir, "many.jsonl.gz", Buffer.concat([zlib.gzipSync(many), Buffer.from("garbage")]));
  const rm = await loadPreferences(g, { mode: "collect" });
  assert.equal(rm.records.length, 20000);
});

test("item 30: a truncated CSV/TSV .gz: strict names the file, collect keeps every row before the cut", async () => {
  const dir = tmp("csvgz");
  for (const [name, sep] of [
    ["cut.csv.gz", ","],
    ["cut.tsv.gz", "\t"],
  ]) {
    const text = ["prompt", "chosen", "rejected"].join(sep) + "\n";
    const body = Array.from({ length: 3000 }, (_, i) => [`p${i}`, `good ${i}`, `bad ${i}`].join(sep) + "\n").join("");
    const whole = zlib.gzipSync(text + body);
    const f = put(dir, name, whole.subarray(0, Math.floor(whole.length * 0.6)));
    await assert.rejects(
      loadDelimited(f, { toRecord: columns }),
      (e: Error) => e.message.includes(name) && /truncated-file: .*gzip data is truncated/.test(e.message),
    );
    const r = await loadDelimited(f, { toRecord: columns, mode: "collect" });
    assert.ok(r.records.length > 1000, `kept ${r.records.length}`);
    assert.deepEqual(
      r.records.map((p) => p.prompt),
      Array.from({ length: r.records.length }, (_, i) => `p${i}`),
    );
    assert.deepEqual(
      r.report.issues.map((i) => [i.line, i.reason]),
      [[r.records.length + 2, "truncated-file"]],
    );
  }
  // One labelled text per line (rt-polarity's layout) likewise.
  const lines = zlib.gzipSync(Array.from({ length: 3000 }, (_, i) => `sentence ${i}\n`).join(""));
  const f = put(dir, "cut.pos.gz", lines.subarray(0, Math.floor(lines.length * 0.6)));
  await assert.rejects(loadLabelledLines(f, 1), /cut\.pos\.gz:\d+: truncated-file/);
  const r = await loadLabelledLines(f, 1, { mode: "collect" });
  assert.ok(r.records.length > 1000, `kept ${r.records.length}`);
  assert.equal(r.report.issues[0].reason, "truncated-file");
});

test("item 31: unpinned .jsonl bodies that are not the file are refused and nothing is recorded", async () => {
  const cases: Array<[string, RegExp]> = [
    ["bom-html", /HTML page/],
    ["comment-html", /HTML page/],
    ["json-error", /a JSON error body/],
    ["json-pretty-error", /not JSON Lines|a JSON error body/],
    ["cut", /its last line is not complete JSON/],
  ];
  for (const [name, why] of cases) {
    await assert.rejects(
      fetchDataset(entry(name, `${base}/${name}.jsonl`, "f.jsonl"), { cacheDir: cache, ...quiet }),
      (e: Error) => e instanceof DownloadError && why.test(e.message),
      name,
    );
    const d = path.join(cache, name);
    assert.deepEqual(fs.existsSync(d) ? fs.readdirSync(d) : [], [], `${name}: nothing cached`);
  }
  const [ok] = await fetchDataset(entry("good", `${base}/good.jsonl`, "f.jsonl"), { cacheDir: cache, ...quiet });
  assert.equal(ok.sha256, sha(PAIRS_JSONL));
  // A record with an "error" field among its data is data, not an error body.
  const [rec] = await fetchDataset(entry("errf", `${base}/error-field.jsonl`, "f.jsonl"), {
    cacheDir: cache,
    ...quiet,
  });
  assert.equal(rec.status, "downloaded");
});

test("item 32: the content check of an unpinned .gz streams: 600 MB of zeros stays under 300 MB of memory", () => {
  const dir = tmp("zeros");
  const f = put(dir, "zeros.jsonl.gz", zlib.gzipSync(Buffer.alloc(600 * 2 ** 20)));
  const script = `
    const { contentProblem } = await import(${JSON.stringify(path.join(__dirname, "..", "src", "data", "download.ts"))});
    const problem = await contentProblem(${JSON.stringify(f)}, "zeros.jsonl.gz");
    console.log(JSON.stringify({ problem: problem ?? null, maxRssMb: process.resourceUsage().maxRSS / 1024 }));`;
  const r = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    encoding: "utf8",
    timeout: 120_000,
  });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim().split("\n").pop() as string) as { problem: string | null; maxRssMb: number };
  assert.ok(out.maxRssMb < 300, `peak RSS ${out.maxRssMb.toFixed(0)} MB`);
  fs.rmSync(dir, { recursive: true, force: true });
});

test(
  "readLines closes the file when its reader stops early (gzip and plain)",
  { skip: !fs.existsSync("/proc/self/fd") && "needs /proc/self/fd" },
  async () => {
    const dir = tmp("close");
    const gz = put(dir, "a.jsonl.gz", zlib.gzipSync("x\n".repeat(100000)));
    const plain = put(dir, "a.jsonl", "x\n".repeat(100000));
    const open = () => fs.readdirSync("/proc/self/fd").length;
    const before = open();
    for (let i = 0; i < 20; i++)
      for (const f of [gz, plain]) for await (const l of read.readLines(f)) if (l.line === 3) break;
    await new Promise((r) => setTimeout(r, 50));
    assert.ok(open() <= before, `${open() - before} more open files`);
  },
);
