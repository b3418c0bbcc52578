// The threaded wasm build in Node (src/backend.ts): it starts with PREFOPT_THREADS=2 and leaves nothing
// behind. Each case runs in a child process, since a process starts its backend once.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const root = path.resolve(__dirname, "..");

test("threaded wasm starts with 2 threads, computes, and removes its worker scripts at exit", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "prefopt-threads-"));
  try {
    const script = `
      const tf = require("@tensorflow/tfjs");
      require("./src/backend").initBackend().then((b) => {
        const wasm = require("@tensorflow/tfjs-backend-wasm");
        const x = tf.matMul(tf.ones([64, 64]), tf.ones([64, 64])).dataSync()[0];
        console.log(JSON.stringify({ name: b.name, threads: wasm.getThreadsCount(), x,
          scripts: require("fs").readdirSync(${JSON.stringify(tmp)}).filter((f) => f.startsWith("prefopt-wasm-")).length }));
      });`;
    const r = spawnSync(process.execPath, ["--import", "tsx", "-e", script], {
      cwd: root,
      env: { ...process.env, TMPDIR: tmp, PREFOPT_THREADS: "2", PREFOPT_BACKEND: "wasm" },
      encoding: "utf8",
      timeout: 120_000,
    });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim().split("\n").pop()!);
    assert.equal(out.name, "wasm");
    assert.equal(out.threads, 2, "the threaded build started");
    assert.equal(out.x, 64);
    assert.equal(out.scripts, 1, "while running, the worker scripts' folder exists");
    assert.deepEqual(
      fs.readdirSync(tmp).filter((f) => f.startsWith("prefopt-wasm-")),
      [],
      "after exit, no prefopt-wasm-* folder is left in TMPDIR",
    );
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
