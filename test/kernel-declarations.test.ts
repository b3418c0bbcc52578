// The kernel type-checks cells against cached declarations of src/ (jupyter/kernels/prefopt/
// library-declarations.js). These tests run it on a throw-away project: the cache is built once, reused
// while src/ is unchanged, rebuilt after an edit (a stale cache would type-check cells against old
// signatures), and tslab's module resolution then sees the .d.ts files and not the sources.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const root = path.resolve(__dirname, "..");
const tslabDir = path.join(root, "node_modules", "tslab");
// eslint-disable-next-line @typescript-eslint/no-var-requires
const ts = require(require.resolve("@tslab/typescript-for-tslab", { paths: [tslabDir] }));
// eslint-disable-next-line @typescript-eslint/no-var-requires
const { ensureLibraryDeclarations, useLibraryDeclarations } = require(
  path.join(root, "jupyter", "kernels", "prefopt", "library-declarations.js"),
);

function tempProject(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "prefopt-decl-"));
  fs.mkdirSync(path.join(dir, "src", "inner"), { recursive: true });
  // @types/node is looked up under the project's node_modules; the cache goes there too.
  fs.mkdirSync(path.join(dir, "node_modules", "@types"), { recursive: true });
  fs.symlinkSync(path.join(root, "node_modules", "@types", "node"), path.join(dir, "node_modules", "@types", "node"));
  fs.writeFileSync(
    path.join(dir, "src", "index.ts"),
    'export * from "./inner/maths";\n/** Doubles a number. */\nexport const double = (x: number) => 2 * x;\n',
  );
  fs.writeFileSync(path.join(dir, "src", "inner", "maths.ts"), "export function half(x: number) { return x / 2; }\n");
  return dir;
}

test("declarations are built once, reused, and rebuilt after an edit under src/", () => {
  const dir = tempProject();
  try {
    const first = ensureLibraryDeclarations({ root: dir, ts });
    assert.equal(first.built, true);
    const index = fs.readFileSync(path.join(first.cacheDir, "index.d.ts"), "utf8");
    assert.match(index, /Doubles a number/, "doc comments survive (the kernel's inspect shows them)");
    assert.match(index, /double: \(x: number\) => number/);
    assert.match(
      fs.readFileSync(path.join(first.cacheDir, "inner", "maths.d.ts"), "utf8"),
      /half\(x: number\): number/,
    );

    const again = ensureLibraryDeclarations({ root: dir, ts });
    assert.deepEqual(again, { cacheDir: first.cacheDir, built: false });

    fs.writeFileSync(
      path.join(dir, "src", "inner", "maths.ts"),
      "export function half(x: number) { return `${x / 2}`; }\n",
    );
    const edited = ensureLibraryDeclarations({ root: dir, ts });
    assert.equal(edited.built, true);
    assert.notEqual(edited.cacheDir, first.cacheDir);
    assert.equal(fs.existsSync(first.cacheDir), false, "the stale cache is removed");
    assert.match(
      fs.readFileSync(path.join(edited.cacheDir, "inner", "maths.d.ts"), "utf8"),
      /half\(x: number\): string/,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("module resolution sees src/**/*.d.ts in place of the sources, and only under src/", () => {
  const dir = tempProject();
  const { fileExists, readFile } = ts.sys;
  try {
    useLibraryDeclarations({ root: dir, ts });
    const src = path.join(dir, "src");
    assert.equal(ts.sys.fileExists(path.join(src, "index.ts")), false);
    assert.equal(ts.sys.fileExists(path.join(src, "index.d.ts")), true);
    assert.equal(ts.sys.fileExists(path.join(src, "inner", "maths.d.ts")), true);
    assert.equal(ts.sys.fileExists(path.join(src, "missing.d.ts")), false);
    assert.match(ts.sys.readFile(path.join(src, "index.d.ts")), /export \* from "\.\/inner\/maths"/);
    assert.equal(ts.sys.fileExists(path.join(root, "test", "kernel-declarations.test.ts")), true);

    // A cell importing ./src/index resolves to the declaration and type-checks against it.
    const resolved = ts.resolveModuleName("./src/index", path.join(dir, "cell.ts"), { moduleResolution: 2 }, ts.sys);
    assert.equal(resolved.resolvedModule?.resolvedFileName, path.join(src, "index.d.ts"));
  } finally {
    ts.sys.fileExists = fileExists;
    ts.sys.readFile = readFile;
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
