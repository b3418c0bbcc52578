// The checksum-verified downloader against a local HTTP server on 127.0.0.1 only: good file, corrupted
// file, mirror fallback, redirects, a closed port, a server that never answers, tar.gz extraction.
import { after, before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import * as zlib from "zlib";
import { DownloadError, fetchDataset } from "../src/data/download";
import { DATASETS, HH_COMMIT, type DatasetEntry } from "../src/data/registry";
import { writeTar } from "../src/data/tar";

const sha = (b: Buffer) => crypto.createHash("sha256").update(b).digest("hex");
const GOOD = Buffer.from('{"prompt": "p", "chosen": "a", "rejected": "b"}\n'.repeat(2000));
const CORRUPT = Buffer.from(GOOD.toString().replace("chosen", "chosex"));
const MEMBER_POS = Buffer.from("a fine film .\n");
const MEMBER_NEG = Buffer.from("a dull film .\n");
const TARBALL = zlib.gzipSync(
  writeTar([
    { name: "pkg/readme.txt", data: Buffer.from("readme") },
    { name: "pkg/pos.txt", data: MEMBER_POS },
    { name: "pkg/neg.txt", data: MEMBER_NEG },
  ]),
);

let server: http.Server;
let hang: net.Server;
let base: string;
let hangPort: number;
let closedPort: number;
let cache: string;
const hits: string[] = [];
const quiet = { log: () => {} };

function listen(s: net.Server): Promise<number> {
  return new Promise((resolve) => s.listen(0, "127.0.0.1", () => resolve((s.address() as net.AddressInfo).port)));
}

before(async () => {
  server = http.createServer((req, res) => {
    hits.push(req.url ?? "");
    const send = (b: Buffer) => {
      res.writeHead(200, { "content-length": b.length });
      res.end(b);
    };
    if (req.url === "/good.jsonl") return send(GOOD);
    if (req.url === "/corrupt.jsonl") return send(CORRUPT);
    if (req.url === "/moved") {
      res.writeHead(302, { location: "/good.jsonl" });
      return res.end();
    }
    if (req.url === "/data.tar.gz") return send(TARBALL);
    res.writeHead(404);
    res.end("not found");
  });
  base = `http://127.0.0.1:${await listen(server)}`;
  hang = net.createServer(() => {}); // accepts connections, never answers
  hangPort = await listen(hang);
  const probe = net.createServer();
  closedPort = await listen(probe);
  await new Promise((r) => probe.close(r)); // nothing listens there any more
  cache = fs.mkdtempSync(path.join(os.tmpdir(), "prefopt-cache-"));
});

after(async () => {
  await new Promise((r) => server.close(r));
  await new Promise((r) => hang.close(r));
  fs.rmSync(cache, { recursive: true, force: true });
});

function entry(name: string, urls: string[], sha256?: string): DatasetEntry {
  return {
    name,
    title: name,
    license: "test",
    folder: name,
    files: [{ path: `${name}/file.jsonl`, urls, sha256 }],
    archives: [],
    homepage: "https://example.invalid/home",
  };
}

describe("downloader (local server only)", () => {
  test("good file: downloaded, verified, then served from the cache without a request", async () => {
    const e = entry("good", [`${base}/good.jsonl`], sha(GOOD));
    const [f] = await fetchDataset(e, { cacheDir: cache, ...quiet });
    assert.equal(f.status, "downloaded");
    assert.equal(f.sha256, sha(GOOD));
    assert.deepEqual(fs.readFileSync(path.join(cache, "good/file.jsonl")), GOOD);
    const before = hits.length;
    const [again] = await fetchDataset(e, { cacheDir: cache, ...quiet });
    assert.equal(again.status, "cached");
    assert.equal(hits.length, before);
  });

  test("corrupted file: SHA-256 mismatch error names the file, URL and both digests; nothing left in the cache", async () => {
    const e = entry("bad", [`${base}/corrupt.jsonl`], sha(GOOD));
    await assert.rejects(fetchDataset(e, { cacheDir: cache, ...quiet }), (err: unknown) => {
      assert.ok(err instanceof DownloadError);
      assert.match(err.message, /could not fetch bad\/file\.jsonl/);
      assert.match(
        err.message,
        new RegExp(
          `SHA-256 mismatch \\(expected ${sha(GOOD)}, pinned in src/data/registry\\.ts; got ${sha(CORRUPT)}\\)`,
        ),
      );
      assert.match(err.message, /corrupt\.jsonl/);
      return true;
    });
    assert.deepEqual(fs.existsSync(path.join(cache, "bad")) ? fs.readdirSync(path.join(cache, "bad")) : [], []);
  });

  test("a corrupted cached copy is replaced; mirrors are tried in order; redirects are followed", async () => {
    const e = entry("mirror", [`${base}/missing`, `${base}/corrupt.jsonl`, `${base}/moved`], sha(GOOD));
    fs.mkdirSync(path.join(cache, "mirror"), { recursive: true });
    fs.writeFileSync(path.join(cache, "mirror/file.jsonl"), CORRUPT);
    const start = hits.length;
    const [f] = await fetchDataset(e, { cacheDir: cache, ...quiet });
    assert.equal(f.status, "downloaded");
    assert.deepEqual(hits.slice(start), ["/missing", "/corrupt.jsonl", "/moved", "/good.jsonl"]);
    assert.deepEqual(fs.readFileSync(f.path), GOOD);
  });

  test("unreachable host (closed local port) fails fast and says where to put the file by hand", async () => {
    const e = entry("offline", [`http://127.0.0.1:${closedPort}/file.jsonl`], sha(GOOD));
    const t0 = Date.now();
    await assert.rejects(fetchDataset(e, { cacheDir: cache, ...quiet }), (err: unknown) => {
      assert.ok(err instanceof DownloadError);
      assert.match(err.message, /ECONNREFUSED/);
      assert.ok(err.message.includes(`save it as ${path.join(cache, "offline/file.jsonl")}`), err.message);
      assert.ok(err.message.includes("https://example.invalid/home"));
      return true;
    });
    assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
  });

  test("a host that accepts but never answers hits the response timeout (not reported as a connect failure)", async () => {
    const e = entry("hang", [`http://127.0.0.1:${hangPort}/file.jsonl`], sha(GOOD));
    const t0 = Date.now();
    await assert.rejects(
      fetchDataset(e, { cacheDir: cache, connectTimeoutMs: 300, responseTimeoutMs: 300, ...quiet }),
      /but it sent no response within 300 ms/,
    );
    const ms = Date.now() - t0;
    assert.ok(ms >= 250 && ms < 3000, `took ${ms} ms`);
  });

  test("unpinned file: digest recorded on first download and enforced afterwards", async () => {
    const e = entry("tofu", [`${base}/good.jsonl`]);
    const [f] = await fetchDataset(e, { cacheDir: cache, ...quiet });
    assert.equal(f.pinned, false);
    assert.equal(fs.readFileSync(path.join(cache, "tofu/file.jsonl.sha256"), "utf8").trim(), sha(GOOD));
    const swapped = entry("tofu", [`${base}/corrupt.jsonl`]);
    fs.rmSync(path.join(cache, "tofu/file.jsonl"));
    await assert.rejects(
      fetchDataset(swapped, { cacheDir: cache, ...quiet }),
      /SHA-256 mismatch \(expected .*recorded in .*tofu\/file\.jsonl\.sha256/,
    );
  });

  test("tar.gz archive: members extracted and verified; a wrong member checksum is an error", async () => {
    const e: DatasetEntry = {
      name: "tgz",
      title: "tgz",
      license: "test",
      folder: "tgz",
      files: [],
      homepage: "https://example.invalid/home",
      archives: [
        {
          path: "_downloads/data.tar.gz",
          urls: [`${base}/data.tar.gz`],
          members: [
            { member: "pkg/pos.txt", path: "tgz/x.pos", sha256: sha(MEMBER_POS) },
            { member: "pkg/neg.txt", path: "tgz/x.neg", sha256: sha(MEMBER_NEG) },
          ],
        },
      ],
    };
    const files = await fetchDataset(e, { cacheDir: cache, ...quiet });
    assert.deepEqual(
      files.map((f) => [path.relative(cache, f.path), f.status]),
      [
        ["tgz/x.pos", "downloaded"],
        ["tgz/x.neg", "downloaded"],
      ],
    );
    assert.deepEqual(fs.readFileSync(path.join(cache, "tgz/x.neg")), MEMBER_NEG);
    const again = await fetchDataset(e, { cacheDir: cache, ...quiet });
    assert.ok(again.every((f) => f.status === "cached"));
    const wrong = {
      ...e,
      archives: [
        { ...e.archives[0], members: [{ member: "pkg/pos.txt", path: "tgz2/x.pos", sha256: sha(MEMBER_NEG) }] },
      ],
    };
    await assert.rejects(
      fetchDataset(wrong, { cacheDir: cache, ...quiet }),
      /pkg\/pos\.txt in _downloads\/data\.tar\.gz: SHA-256 mismatch/,
    );
  });
});

describe("registry", () => {
  test("canonical sources: HH-RLHF (GitHub at the pinned commit first, the Hub's unpinned main second), rt-polarity tarball (Cornell), UKPConvArg1 (UKPLab), all https", () => {
    const all = DATASETS.flatMap((d) => [...d.files.flatMap((f) => f.urls), ...d.archives.flatMap((a) => a.urls)]);
    assert.ok(all.every((u) => u.startsWith("https://")));
    const hh = DATASETS.find((d) => d.name === "hh-rlhf-harmless-base") as DatasetEntry;
    assert.deepEqual(
      hh.files.map((f) => f.path),
      ["hh-rlhf/harmless-base/train.jsonl.gz", "hh-rlhf/harmless-base/test.jsonl.gz"],
    );
    for (const f of DATASETS.filter((d) => d.name.startsWith("hh-rlhf-")).flatMap((d) => d.files)) {
      const rel = f.path.replace(/^hh-rlhf\//, "");
      assert.deepEqual(
        f.urls,
        [
          `https://media.githubusercontent.com/media/anthropics/hh-rlhf/${HH_COMMIT}/${rel}`,
          `https://huggingface.co/datasets/Anthropic/hh-rlhf/resolve/main/${rel}`,
        ],
        "the pinned commit is tried first; the Hub copy (branch main) is only a fallback",
      );
    }
    assert.match(HH_COMMIT, /^[0-9a-f]{40}$/);
    assert.match(hh.files[1].sha256 ?? "", /^[0-9a-f]{64}$/, "the harmless test split is pinned by content too");
    assert.equal(hh.files[0].sha256, undefined, "the others: digest recorded on first download");
    assert.ok(DATASETS.some((d) => d.name === "hh-rlhf-helpful-base"));
    const rt = DATASETS.find((d) => d.name === "rt-polarity") as DatasetEntry;
    assert.match(rt.archives[0].urls[0], /cornell\.edu\/.*rt-polaritydata\.tar\.gz$/);
    const ukp = DATASETS.find((d) => d.name === "ukpconvarg1") as DatasetEntry;
    assert.equal(ukp.files.length, 64);
    assert.ok(
      ukp.files.every(
        (f) => f.urls[0].includes("UKPLab/acl2016-convincing-arguments") && /^[0-9a-f]{64}$/.test(f.sha256 ?? ""),
      ),
    );
  });
});

describe("npm run data (no network needed)", () => {
  const { spawnSync } = require("child_process") as typeof import("child_process");
  const cli = (...args: string[]) =>
    spawnSync(process.execPath, ["--import", "tsx", "scripts/data.ts", ...args], {
      cwd: path.join(__dirname, ".."),
      encoding: "utf8",
    });

  test("list names every dataset, its source and where the cache lives", () => {
    const r = cli("list");
    assert.equal(r.status, 0, r.stderr);
    for (const d of DATASETS) assert.ok(r.stdout.includes(d.name), d.name);
    assert.match(r.stdout, /cache: +.*data[/\\]cache/);
    assert.match(r.stdout, /rt-polaritydata\.tar\.gz/);
  });

  test("fetch of an unknown dataset fails with the list of known ones; no command prints usage", () => {
    const r = cli("fetch", "no-such-set");
    assert.equal(r.status, 1);
    assert.match(r.stderr, /unknown dataset "no-such-set"; known: hh-rlhf-harmless-base/);
    const u = cli();
    assert.equal(u.status, 2);
    assert.match(u.stderr, /usage: npm run data -- list \| fetch <name>/);
  });
});
