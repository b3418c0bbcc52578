// The downloader against misbehaving servers (issue 15), all on 127.0.0.1 and bounded in time: an HTML
// error page served with 200, a body cut short without content-length, a wrong size, a changed upstream
// file (the error names the .sha256 file; --force re-records), a server trickling bytes (overall
// deadline), an endless body (size cap), a server that accepts but never answers, an https → http
// redirect, and a gzip bomb inside an archive.
import { after, before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import * as zlib from "zlib";
import { DownloadError, fetchDataset, redirectTarget } from "../src/data/download";
import { DATASETS, type DatasetEntry } from "../src/data/registry";
import { readTar, writeTar } from "../src/data/tar";

const sha = (b: Buffer) => crypto.createHash("sha256").update(b).digest("hex");
const GZ = zlib.gzipSync(Buffer.from('{"prompt": "p", "chosen": "a", "rejected": "b"}\n'.repeat(3000)));
const GZ2 = zlib.gzipSync(Buffer.from('{"prompt": "q", "chosen": "a", "rejected": "b"}\n'.repeat(3000)));
const HTML = Buffer.from("<!DOCTYPE html>\n<html><body>Rate limit exceeded</body></html>\n");
const BOMB = zlib.gzipSync(Buffer.alloc(64 * 2 ** 20)); // 64 MiB of zeros in ~64 KB

let server: http.Server;
let hang: net.Server;
let base: string;
let hangPort: number;
let cache: string;
let current = GZ;
const sockets = new Set<net.Socket>();
const quiet = { log: () => {} };

function listen(s: net.Server): Promise<number> {
  return new Promise((resolve) => s.listen(0, "127.0.0.1", () => resolve((s.address() as net.AddressInfo).port)));
}

before(async () => {
  server = http.createServer((req, res) => {
    const u = req.url ?? "";
    if (u === "/html.jsonl.gz") {
      res.writeHead(200, { "content-type": "text/html" });
      return res.end(HTML);
    }
    if (u === "/html-typed.jsonl") {
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      return res.end('{"a": 1}\n');
    }
    if (u === "/cut.jsonl.gz") {
      res.writeHead(200); // chunked, no content-length: the end of the response looks normal
      return res.end(GZ.subarray(0, Math.floor(GZ.length / 2)));
    }
    if (u === "/dropped.jsonl.gz") {
      res.writeHead(200);
      res.write(GZ.subarray(0, 100));
      setTimeout(() => res.socket?.destroy(), 50);
      return;
    }
    if (u === "/current.jsonl.gz") {
      res.writeHead(200, { "content-length": current.length });
      return res.end(current);
    }
    if (u === "/trickle.jsonl.gz") {
      res.writeHead(200);
      const t = setInterval(() => res.write(Buffer.from([0x1f])), 100);
      res.on("close", () => clearInterval(t));
      return;
    }
    if (u === "/endless.jsonl.gz") {
      res.writeHead(200);
      const chunk = Buffer.alloc(64 * 1024);
      const pump = () => {
        while (res.write(chunk)) {
          /* keep writing */
        }
      };
      res.on("drain", pump);
      pump();
      res.on("close", () => res.removeAllListeners("drain"));
      return;
    }
    if (u === "/bomb.tar.gz") {
      res.writeHead(200, { "content-length": BOMB.length });
      return res.end(BOMB);
    }
    res.writeHead(404);
    res.end("not found");
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  base = `http://127.0.0.1:${await listen(server)}`;
  hang = net.createServer(() => {});
  hangPort = await listen(hang);
  cache = fs.mkdtempSync(path.join(os.tmpdir(), "prefopt-dlrel-"));
});

after(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((r) => server.close(r));
  await new Promise((r) => hang.close(r));
  fs.rmSync(cache, { recursive: true, force: true });
});

function entry(name: string, url: string, extra: { sha256?: string; size?: number; file?: string } = {}): DatasetEntry {
  return {
    name,
    title: name,
    license: "test",
    folder: name,
    files: [{ path: `${name}/${extra.file ?? "file.jsonl.gz"}`, urls: [url], sha256: extra.sha256, size: extra.size }],
    archives: [],
    homepage: "https://example.invalid/home",
  };
}

function nothingCached(name: string): void {
  const dir = path.join(cache, name);
  assert.deepEqual(
    fs.existsSync(dir) ? fs.readdirSync(dir) : [],
    [],
    `cache/${name} is empty (no file, no recorded digest)`,
  );
}

describe("content is checked before an unpinned digest is recorded", () => {
  test("an HTML page served with 200 is refused and nothing is recorded", async () => {
    await assert.rejects(
      fetchDataset(entry("html", `${base}/html.jsonl.gz`), { cacheDir: cache, ...quiet }),
      /HTML page/,
    );
    nothingCached("html");
    await assert.rejects(
      fetchDataset(entry("typed", `${base}/html-typed.jsonl`, { file: "f.jsonl" }), { cacheDir: cache, ...quiet }),
      /content-type text\/html/,
    );
    nothingCached("typed");
  });

  test("a gzip body cut short without content-length is refused; so is a dropped connection and a wrong size", async () => {
    await assert.rejects(
      fetchDataset(entry("cut", `${base}/cut.jsonl.gz`), { cacheDir: cache, ...quiet }),
      /gzip data is truncated or corrupt/,
    );
    nothingCached("cut");
    await assert.rejects(
      fetchDataset(entry("dropped", `${base}/dropped.jsonl.gz`), { cacheDir: cache, ...quiet }),
      /connection closed after 100 bytes|aborted|socket hang up/,
    );
    nothingCached("dropped");
    await assert.rejects(
      fetchDataset(entry("size", `${base}/current.jsonl.gz`, { size: GZ.length + 1 }), { cacheDir: cache, ...quiet }),
      new RegExp(`got ${GZ.length} bytes, but the file has ${GZ.length + 1}`),
    );
    nothingCached("size");
  });

  test("a changed upstream file: the mismatch names the .sha256 file; --force re-records it", async () => {
    current = GZ;
    const e = entry("tofu", `${base}/current.jsonl.gz`);
    await fetchDataset(e, { cacheDir: cache, ...quiet });
    const record = path.join(cache, "tofu/file.jsonl.gz.sha256");
    assert.equal(fs.readFileSync(record, "utf8").trim(), sha(GZ));
    current = GZ2;
    fs.rmSync(path.join(cache, "tofu/file.jsonl.gz"));
    await assert.rejects(
      fetchDataset(e, { cacheDir: cache, ...quiet }),
      (err: Error) =>
        err instanceof DownloadError && err.message.includes(`recorded in ${record}`) && /--force/.test(err.message),
    );
    const [f] = await fetchDataset(e, { cacheDir: cache, force: true, ...quiet });
    assert.equal(f.sha256, sha(GZ2));
    assert.equal(fs.readFileSync(record, "utf8").trim(), sha(GZ2));
    assert.deepEqual(fs.readFileSync(f.path), GZ2);
  });
});

describe("transport limits", () => {
  test("a server trickling one byte every 100 ms hits the overall deadline", async () => {
    const t0 = Date.now();
    await assert.rejects(
      fetchDataset(entry("trickle", `${base}/trickle.jsonl.gz`), { cacheDir: cache, deadlineMs: 800, ...quiet }),
      /deadline/,
    );
    const ms = Date.now() - t0;
    assert.ok(ms >= 700 && ms < 5000, `took ${ms} ms`);
  });

  test("an endless body hits the size cap", async () => {
    await assert.rejects(
      fetchDataset(entry("endless", `${base}/endless.jsonl.gz`), { cacheDir: cache, maxBytes: 1e6, ...quiet }),
      /more than the 1000000 bytes allowed/,
    );
    nothingCached("endless");
  });

  test("a server that accepts but never answers is reported as such, not as 'could not connect'", async () => {
    const t0 = Date.now();
    await assert.rejects(
      fetchDataset(entry("hang", `http://127.0.0.1:${hangPort}/f`), {
        cacheDir: cache,
        responseTimeoutMs: 300,
        ...quiet,
      }),
      (err: Error) => {
        assert.match(err.message, /connected to 127\.0\.0\.1:\d+, but it sent no response within 300 ms/);
        assert.doesNotMatch(err.message, /no network/);
        return true;
      },
    );
    assert.ok(Date.now() - t0 < 3000);
  });

  test("https → http redirects are refused; http → https and same-scheme ones are followed", () => {
    assert.throws(
      () => redirectTarget("https://example.org/a", "http://example.org/b"),
      /refused a redirect from https:\/\/example\.org\/a to http:\/\/example\.org\/b/,
    );
    assert.equal(redirectTarget("https://example.org/a", "/b"), "https://example.org/b");
    assert.equal(
      redirectTarget("http://example.org/a", "https://mirror.example.org/b"),
      "https://mirror.example.org/b",
    );
  });
});

describe("archives", () => {
  test("a gzip bomb is stopped at the unpacked-size cap, before any member is looked at", async () => {
    assert.throws(() => readTar(BOMB, { maxBytes: 2 ** 20 }), /unpacks to more than 1048576 bytes/);
    const ok = writeTar([{ name: "a.txt", data: Buffer.from("a") }]);
    assert.equal(readTar(zlib.gzipSync(ok), { maxBytes: 2 ** 20 }).length, 1);
    const e: DatasetEntry = {
      name: "bomb",
      title: "bomb",
      license: "test",
      folder: "bomb",
      files: [],
      homepage: "https://example.invalid/home",
      archives: [
        {
          path: "_downloads/bomb.tar.gz",
          urls: [`${base}/bomb.tar.gz`],
          sha256: sha(BOMB),
          maxUnpackedBytes: 2 ** 20,
          members: [{ member: "x", path: "bomb/x" }],
        },
      ],
    };
    await assert.rejects(
      fetchDataset(e, { cacheDir: cache, ...quiet }),
      /bomb\.tar\.gz: tar: the archive unpacks to more than/,
    );
  });

  test("rt-polarity's archive is pinned (digest and size), with a second mirror", () => {
    const rt = DATASETS.find((d) => d.name === "rt-polarity")!;
    assert.match(rt.archives[0].sha256 ?? "", /^[0-9a-f]{64}$/);
    assert.equal(rt.archives[0].size, 487770);
    assert.equal(rt.archives[0].urls.length, 2);
  });
});

describe("npm run data arguments", () => {
  test("--connect-timeout must be a positive number of milliseconds", () => {
    const r = spawnSync(
      process.execPath,
      ["--import", "tsx", "scripts/data.ts", "fetch", "rt-polarity", "--force", "--connect-timeout", "abc"],
      { cwd: path.join(__dirname, ".."), encoding: "utf8", timeout: 60_000 },
    );
    assert.equal(r.status, 2, r.stderr + r.stdout);
    assert.match(r.stderr, /--connect-timeout needs a positive number of milliseconds, got "abc"/);
  });
});
