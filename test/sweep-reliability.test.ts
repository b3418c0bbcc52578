// The sweep runner under hostile conditions (issue 15): full disks (injected short writes and a real
// 64 KiB tmpfs), concurrent sweeps on one folder (in one process and across processes), `__proto__` in
// dotted keys, seeds that would alias, plans too large to build, leftover temporaries, and the import
// graph (expanding a plan must not load tfjs).
import { after, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { fsSeams, writeFileAtomic } from "../src/fsAtomic";
import "../src/experiments";
import { loadSweepFile, parseSweepSpec, SweepConfigError } from "../src/sweep/config";
import { mergeShards } from "../src/sweep/merge";
import { expandSweep } from "../src/sweep/plan";
import { runSweep } from "../src/sweep/runner";
import { readResults, ResultsStore } from "../src/sweep/store";
import { Rng } from "../src/random";
import { syntheticRecord } from "./fixtures";

const root = path.resolve(__dirname, "..");
const tmp = (name: string): string => fs.mkdtempSync(path.join(os.tmpdir(), `prefopt-rel-${name}-`));
const rec = syntheticRecord;

/** A pid that certainly belongs to no process: a child that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", "0"]);
  return r.pid!;
}

function withWriteSync(impl: typeof fsSeams.writeSync, body: () => void): void {
  const saved = fsSeams.writeSync;
  fsSeams.writeSync = impl;
  try {
    body();
  } finally {
    fsSeams.writeSync = saved;
  }
}

const spec = (extra: Record<string, unknown> = {}) =>
  parseSweepSpec({ name: "rel", kind: "synthetic", seeds: 3, grid: { x: [0, 1] }, ...extra });

describe("atomic writes on a full disk", () => {
  test("a short write followed by ENOSPC fails naming the file; the old file stays whole and no temporary is left", () => {
    const dir = tmp("short");
    const file = path.join(dir, "results.jsonl");
    fs.writeFileSync(file, "old complete content\n");
    let calls = 0;
    withWriteSync(
      (fd, buf, off, len) => {
        calls++;
        if (calls === 1) return fs.writeSync(fd, buf, off, Math.min(len, 10)); // the disk takes 10 bytes…
        return 0; // …then nothing more
      },
      () =>
        assert.throws(
          () => writeFileAtomic(file, "x".repeat(1000)),
          (e: Error) => e.message.includes(file) && /ENOSPC|no space/.test(e.message),
        ),
    );
    assert.equal(fs.readFileSync(file, "utf8"), "old complete content\n");
    assert.deepEqual(fs.readdirSync(dir), ["results.jsonl"]);
  });

  test("a short write that is followed by more progress is completed, not truncated", () => {
    const dir = tmp("short2");
    const file = path.join(dir, "f.txt");
    withWriteSync(
      (fd, buf, off, len) => fs.writeSync(fd, buf, off, Math.min(len, 7)),
      () => writeFileAtomic(file, "0123456789".repeat(50)),
    );
    assert.equal(fs.readFileSync(file, "utf8"), "0123456789".repeat(50));
  });

  test("appending a result on a full disk fails, leaves no partial line, and keeps every earlier run", () => {
    const file = path.join(tmp("append"), "results.jsonl");
    const s = ResultsStore.open(file);
    s.append(rec("a", 1));
    withWriteSync(
      (fd, buf, off, len) => (len > 5 ? fs.writeSync(fd, buf, off, 5) : 0),
      () => assert.throws(() => s.append(rec("b", 2)), /could not append a result to .*results\.jsonl/),
    );
    s.close();
    const read = readResults(file);
    assert.deepEqual(
      read.records.map((r) => r.id),
      ["a"],
    );
    assert.equal(read.tornBytes, 0);
  });

  test(
    "on a real full tmpfs, merge and the report fail instead of replacing good files with truncated ones",
    { skip: !canMountTmpfs() && "mount -t tmpfs is not available here" },
    async () => {
      const mnt = tmp("tmpfs");
      const run = tmp("full-src");
      assert.equal(spawnSync("mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", mnt]).status, 0);
      try {
        const s = parseSweepSpec({
          name: "full",
          kind: "synthetic",
          seeds: 40,
          grid: { x: [0, 1, 2, 3] },
          base: { note: "p".repeat(300) },
        });
        await runSweep({ spec: s, out: run, workers: 0, quiet: true, report: false });
        const out = path.join(mnt, "merged");
        mergeShards({ spec: s, inputs: [run], out, report: false });
        const good = fs.readFileSync(path.join(out, "results.jsonl"));
        assert.equal(readResults(path.join(out, "results.jsonl")).records.length, 160);
        // Fill the disk so that a second copy of results.jsonl cannot fit.
        const filler = path.join(mnt, "filler");
        const free = Number(
          spawnSync("df", ["--output=avail", "-B1", mnt], { encoding: "utf8" }).stdout.trim().split("\n")[1],
        );
        fs.writeFileSync(filler, Buffer.alloc(Math.max(0, free - Math.floor(good.length / 4))));
        assert.throws(
          () => mergeShards({ spec: s, inputs: [run], out, report: false }),
          /could not write .*(results\.jsonl|summary).*(ENOSPC|no space)/s,
        );
        assert.deepEqual(fs.readFileSync(path.join(out, "results.jsonl")), good, "the complete file is still there");
        assert.deepEqual(
          fs.readdirSync(out).filter((f) => f.includes(".tmp-")),
          [],
          "no temporary left",
        );
      } finally {
        spawnSync("umount", [mnt]);
      }
    },
  );

  test("a sweep whose disk fills up mid-way stops with the results file's path; the stored runs are whole and a re-run resumes", async () => {
    const out = tmp("sweep-full");
    const s = parseSweepSpec({ name: "fills", kind: "synthetic", seeds: 5, grid: { x: [0, 1] } });
    let calls = 0;
    const saved = fsSeams.writeSync;
    fsSeams.writeSync = (fd, buf, off, len) => (++calls > 7 ? 0 : fs.writeSync(fd, buf, off, len)); // the lock, plan.json + 5 runs fit
    try {
      await assert.rejects(
        runSweep({ spec: s, out, workers: 0, quiet: true, report: false }),
        (e: Error) => e.message.includes(path.join(out, "results.jsonl")) && /ENOSPC|no space/.test(e.message),
      );
    } finally {
      fsSeams.writeSync = saved;
    }
    const read = readResults(path.join(out, "results.jsonl"));
    assert.equal(read.tornBytes, 0);
    assert.equal(read.records.length, 5);
    assert.ok(!fs.existsSync(path.join(out, "results.jsonl.lock")), "the lock is released");
    const again = await runSweep({ spec: s, out, workers: 0, quiet: true, report: false });
    assert.equal(again.alreadyDone, 5);
    assert.equal(again.ran, 5);
  });

  test("a temporary left by a killed writer (dead pid) is removed by the next write of that file", () => {
    const dir = tmp("stale-tmp");
    const file = path.join(dir, "report.html");
    const stale = `${file}.tmp-${deadPid()}-0-0a1b2c3d`;
    fs.writeFileSync(stale, "half a report");
    writeFileAtomic(file, "<html></html>");
    assert.ok(!fs.existsSync(stale));
    assert.equal(fs.readFileSync(file, "utf8"), "<html></html>");
  });
});

function canMountTmpfs(): boolean {
  if (process.platform !== "linux" || process.getuid?.() !== 0) return false;
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "prefopt-mnt-probe-"));
  const ok = spawnSync("mount", ["-t", "tmpfs", "-o", "size=16k", "tmpfs", d]).status === 0;
  if (ok) spawnSync("umount", [d]);
  return ok;
}

describe("the results lock", () => {
  test("two runSweep calls on one folder in one process: the second is refused naming the lock; every run is stored once", async () => {
    const out = tmp("same-process");
    const s = parseSweepSpec({
      name: "twice",
      kind: "synthetic",
      seeds: 4,
      grid: { x: [0, 1] },
      base: { delayMs: 20 },
    });
    const results = await Promise.allSettled([
      runSweep({ spec: s, out, workers: 0, quiet: true, report: false }),
      runSweep({ spec: s, out, workers: 0, quiet: true, report: false }),
    ]);
    const rejected = results.filter((r) => r.status === "rejected") as PromiseRejectedResult[];
    assert.equal(rejected.length, 1, "exactly one of the two is refused");
    assert.match(String(rejected[0].reason.message), /results\.jsonl\.lock/);
    assert.match(String(rejected[0].reason.message), /this same process/);
    const ids = readResults(path.join(out, "results.jsonl")).records.map((r) => r.id);
    assert.equal(ids.length, 8);
    assert.equal(new Set(ids).size, 8);
    assert.ok(!fs.existsSync(path.join(out, "results.jsonl.lock")));
  });

  test("a lock held by a live process is refused before anything is written, plan.json included", async () => {
    const out = tmp("before-plan");
    const lock = path.join(out, "results.jsonl.lock");
    fs.writeFileSync(
      lock,
      JSON.stringify({ pid: process.ppid, host: os.hostname(), since: new Date().toISOString(), token: "other" }),
    );
    await assert.rejects(
      runSweep({ spec: spec(), out, workers: 0, quiet: true, report: false }),
      (e: Error) => e.message.includes(lock) && /another process \(pid/.test(e.message),
    );
    assert.deepEqual(fs.readdirSync(out), ["results.jsonl.lock"]);
  });

  test("merge takes the output folder's lock too", async () => {
    const src = tmp("merge-src");
    const out = tmp("merge-out");
    const s = spec();
    await runSweep({ spec: s, out: src, workers: 0, quiet: true, report: false });
    const held = ResultsStore.lock(path.join(out, "results.jsonl"));
    try {
      assert.throws(
        () => mergeShards({ spec: s, inputs: [src], out, report: false }),
        (e: Error) => e.message.includes(path.join(out, "results.jsonl.lock")),
      );
      assert.ok(!fs.existsSync(path.join(out, "results.jsonl")));
    } finally {
      held.release();
    }
    assert.equal(mergeShards({ spec: s, inputs: [src], out, report: false }).merged, 6);
  });

  test("an empty (still being written) lock file is not stale: refused after a short wait, naming the lock file", () => {
    const file = path.join(tmp("empty-lock"), "results.jsonl");
    fs.writeFileSync(`${file}.lock`, "");
    const t0 = Date.now();
    assert.throws(
      () => ResultsStore.open(file),
      (e: Error) => e.message.includes(`${file}.lock`) && /no readable owner/.test(e.message),
    );
    assert.ok(Date.now() - t0 >= 1500, "it waited for the writer to finish");
    assert.ok(fs.existsSync(`${file}.lock`), "the lock was not removed");
  });

  test("a lock whose owner is gone is taken over; a stale-lock holder on another host is named with the file to delete", () => {
    const file = path.join(tmp("stale-lock"), "results.jsonl");
    fs.writeFileSync(
      `${file}.lock`,
      JSON.stringify({ pid: deadPid(), host: os.hostname(), since: "2020-01-01T00:00:00.000Z", token: "dead" }),
    );
    const s = ResultsStore.open(file);
    s.append(rec("a", 1));
    s.close();
    fs.writeFileSync(`${file}.lock`, `${deadPid()} ${os.hostname()}`); // the older "pid host" format
    ResultsStore.open(file).close();
    fs.writeFileSync(
      `${file}.lock`,
      JSON.stringify({ pid: 1, host: "elsewhere", since: "2020-01-01T00:00:00.000Z", token: "far" }),
    );
    assert.throws(
      () => ResultsStore.open(file),
      (e: Error) => e.message.includes(`delete ${file}.lock`) && /host elsewhere/.test(e.message),
    );
  });

  test("processes racing for one results file: exactly one gets it, every time", async () => {
    const dir = tmp("race");
    const file = path.join(dir, "results.jsonl");
    const script = path.join(dir, "take.ts");
    fs.writeFileSync(
      script,
      `import { ResultsStore } from ${JSON.stringify(path.join(root, "src/sweep/store"))};
const [file, at] = [process.argv[2], Number(process.argv[3])];
setTimeout(() => {
  while (Date.now() < at) {} // the last few ms spin, so all start together
  if (Date.now() > at + 200) { console.log("LATE"); return; }
  try { const s = ResultsStore.open(file); console.log("GOT"); setTimeout(() => s.close(), at + 3000 - Date.now()); }
  catch (e) { console.log("REFUSED " + (e as Error).message.split("\\n")[0]); }
}, Math.max(0, at - Date.now() - 30));
`,
    );
    let raced = 0;
    for (let round = 0; round < 2; round++) {
      const at = Date.now() + 8000; // every child has started by then (tsx takes a few seconds on a busy machine)
      const outs = await Promise.all(
        [0, 1, 2].map(
          () =>
            new Promise<string>((resolve) => {
              const c = spawn(process.execPath, ["--import", "tsx", script, file, String(at)], { cwd: root });
              let text = "";
              c.stdout.on("data", (d) => (text += d));
              c.stderr.on("data", (d) => (text += d));
              c.on("close", () => resolve(text.trim()));
            }),
        ),
      );
      if (outs.includes("LATE")) continue; // a child started too late to race: this round proves nothing
      raced++;
      assert.equal(outs.filter((o) => o === "GOT").length, 1, `round ${round}: ${outs.join(" | ")}`);
      assert.equal(outs.filter((o) => o.startsWith("REFUSED") && o.includes(".lock")).length, 2, outs.join(" | "));
      assert.ok(!fs.existsSync(`${file}.lock`));
    }
    assert.ok(raced >= 1, "no round had all three processes racing");
  });
});

describe("sweep files that would go wrong silently", () => {
  after(() => {
    delete (Object.prototype as Record<string, unknown>).labelSmoothing;
  });

  test("__proto__, constructor and prototype path segments are rejected with file:line; Object.prototype is untouched", () => {
    const dir = tmp("proto");
    const f = path.join(dir, "p.yaml");
    fs.writeFileSync(f, "name: p\nkind: synthetic\nseeds: 1\ngrid:\n  x: [0]\n  __proto__.labelSmoothing: [0.3]\n");
    assert.throws(
      () => expandSweep(loadSweepFile(f)),
      (e: Error) => e instanceof SweepConfigError && /p\.yaml:6 .*__proto__/.test(e.message),
    );
    assert.equal(({} as Record<string, unknown>).labelSmoothing, undefined);
    for (const key of ["a.constructor.b", "prototype", "lossOptions.__proto__"]) {
      assert.throws(
        () => parseSweepSpec({ name: "p", kind: "synthetic", seeds: 1, grid: { [key]: [1] } }),
        /not allowed/,
        key,
      );
    }
    const viaJson = JSON.parse(
      '{"name":"p","kind":"synthetic","seeds":1,"grid":{"x":[0]},"base":{"__proto__":{"labelSmoothing":0.3}}}',
    );
    assert.throws(() => parseSweepSpec(viaJson), /base\.__proto__|\["__proto__"\].*not allowed/);
    assert.equal(({} as Record<string, unknown>).labelSmoothing, undefined);
  });

  test("seeds of 2^32 or more are rejected (they would alias seeds below 2^32); Rng uses every bit of a seed", () => {
    assert.throws(
      () => parseSweepSpec({ name: "s", kind: "synthetic", seeds: [0, 2 ** 32 + 1], grid: { x: [0] } }),
      /seeds\[1\].*2\^32/,
    );
    assert.throws(
      () => parseSweepSpec({ name: "s", kind: "synthetic", seeds: { start: 2 ** 32 - 1, count: 2 }, grid: { x: [0] } }),
      /2\^32/,
    );
    const first = (seed: number) =>
      Array.from(
        { length: 4 },
        (
          (r) => () =>
            r.nextUint32()
        )(new Rng(seed)),
      );
    assert.notDeepEqual(first(0), first(2 ** 32 + 1));
    assert.notDeepEqual(first(0), first(2 ** 32));
    assert.notDeepEqual(first(1), first(-1));
    // Seeds below 2^32 keep their streams (stored runs and notebooks stay reproducible).
    assert.deepEqual(first(7), [1004282400, 2200021487, 1928073449, 741806228]);
    assert.throws(() => new Rng(1.5), /integer/);
  });

  test("a plan too large to build fails at once with file:line and the count", () => {
    const dir = tmp("huge");
    const f = path.join(dir, "h.yaml");
    const list = `[${Array.from({ length: 100 }, (_, i) => i).join(", ")}]`;
    fs.writeFileSync(
      f,
      `name: h\nkind: synthetic\nseeds: 1\ngrid:\n  x: ${list}\n  slope: ${list}\n  center: ${list}\n  noise: ${list}\n`,
    );
    const t0 = Date.now();
    assert.throws(() => loadSweepFile(f), /h\.yaml:5 grid: .*100,000,000 runs/);
    const g = path.join(dir, "seeds.yaml");
    fs.writeFileSync(g, "name: s\nkind: synthetic\nseeds: 1000000000000\ngrid: {x: [0]}\n");
    assert.throws(() => loadSweepFile(g), /seeds\.yaml:3 seeds: .*1,000,000,000,000/);
    assert.ok(Date.now() - t0 < 2000);
  });

  test("an unknown kind names the file and line", () => {
    const f = path.join(tmp("kind"), "k.yaml");
    fs.writeFileSync(f, "name: k\nkind: nosuchkind\nseeds: 1\ngrid: {x: [0]}\n");
    assert.throws(() => expandSweep(loadSweepFile(f)), /k\.yaml:2 kind: unknown experiment kind "nosuchkind"/);
  });
});

describe("command line", () => {
  test("--out followed by another option is an error, not a folder named --quiet", () => {
    const dir = tmp("cli");
    const f = path.join(dir, "s.yaml");
    fs.writeFileSync(f, "name: s\nkind: synthetic\nseeds: 1\ngrid: {x: [0]}\n");
    const r = spawnSync(
      process.execPath,
      ["--import", "tsx", path.join(root, "scripts/sweep.ts"), f, "--out", "--quiet"],
      { cwd: root, encoding: "utf8", timeout: 120_000 },
    );
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /--out needs a value, got the option --quiet/);
    assert.ok(!fs.existsSync(path.join(root, "--quiet")));
  });
});

describe("import graph", () => {
  test("importing the kinds list and plan.ts (and expanding a synthetic sweep) does not load @tensorflow/tfjs", () => {
    const code = `require(${JSON.stringify(path.join(root, "src/experiments/index.ts"))});
const plan = require(${JSON.stringify(path.join(root, "src/sweep/plan.ts"))});
const { parseSweepSpec } = require(${JSON.stringify(path.join(root, "src/sweep/config.ts"))});
plan.expandSweep(parseSweepSpec({ name: "g", kind: "synthetic", seeds: 2, grid: { x: [0, 1] } }));
const tf = Object.keys(require.cache).filter((k) => k.includes("@tensorflow"));
console.log(JSON.stringify(tf.slice(0, 3)));`;
    const r = spawnSync(process.execPath, ["--import", "tsx", "-e", code], { cwd: root, encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), "[]");
  });
});
