// Let tslab type-check notebook cells against declarations of src/ instead of its .ts sources.
//
// Why: a cell that imports ./src/index makes tslab's program include all of src/ (~140 files). tslab
// then runs the full semantic check over every one of them and emits each with declarations, on every
// kernel start: ~13 s of a ~15 s first cell here, paid by every notebook. The library itself runs from
// the .ts files through tsx (kernel-patches.js), so tslab only needs its types. Declarations give it the
// same exported types and doc comments without checking any function body.
//
// How: the .d.ts files for all of src/ are emitted once with tslab's own TypeScript and cached under
// node_modules/.cache/prefopt-kernel/, keyed by a hash of every src/ file and the compiler version, so an
// edit under src/ makes the next kernel start rebuild them (~10 s). tslab resolves modules through
// ts.sys; there src/**/*.ts are hidden and the cached src/**/*.d.ts served in their place. `tsc --noEmit`
// (npm test) still checks the sources themselves. PREFOPT_KERNEL_DECLARATIONS=0 turns this off.
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");

function listSources(dir) {
  const out = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listSources(full));
    else if (/\.ts$/.test(entry.name) && !/\.d\.ts$/.test(entry.name)) out.push(full);
  }
  return out.sort();
}

function sourcesHash(ts, root, files) {
  const hash = crypto.createHash("sha256");
  hash.update(`typescript ${ts.version}\0declarations v1\0`);
  for (const file of files) {
    hash.update(path.relative(root, file) + "\0");
    hash.update(fs.readFileSync(file));
    hash.update("\0");
  }
  return hash.digest("hex").slice(0, 16);
}

// Emits the declarations into a fresh folder and renames it into place, so a kernel never reads a
// half-written cache (two kernels starting at once both build; the second rename loses harmlessly).
function buildDeclarations(ts, root, files, cacheDir) {
  const tmp = `${cacheDir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  const options = {
    declaration: true,
    emitDeclarationOnly: true,
    strict: true,
    esModuleInterop: true,
    skipLibCheck: true,
    resolveJsonModule: true,
    target: ts.ScriptTarget.ES2020,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    types: ["node"],
    rootDir: path.join(root, "src"),
    outDir: tmp,
  };
  const program = ts.createProgram(files, options);
  const result = program.emit();
  const problems = result.diagnostics.filter((d) => d.category === ts.DiagnosticCategory.Error);
  if (result.emitSkipped || problems.length > 0) {
    fs.rmSync(tmp, { recursive: true, force: true });
    const first = problems[0] ? ts.flattenDiagnosticMessageText(problems[0].messageText, "\n") : "emit skipped";
    throw new Error(`declarations of src/ could not be emitted (${problems.length} errors; first: ${first})`);
  }
  try {
    fs.renameSync(tmp, cacheDir);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    if (!fs.existsSync(cacheDir)) throw e;
  }
}

function readDeclarations(dir, srcDir, map = new Map()) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) readDeclarations(full, path.join(srcDir, entry.name), map);
    else if (entry.name.endsWith(".d.ts")) map.set(path.join(srcDir, entry.name), fs.readFileSync(full, "utf8"));
  }
  return map;
}

// Builds the cached declarations of src/ if they are missing or stale; returns their folder.
// scripts/run-notebooks.ts calls this before starting kernels, so no kernel start waits on a build.
function ensureLibraryDeclarations({ root, ts }) {
  const srcDir = path.join(root, "src");
  const files = listSources(srcDir);
  const cacheRoot = path.join(root, "node_modules", ".cache", "prefopt-kernel");
  const cacheDir = path.join(cacheRoot, `declarations-${sourcesHash(ts, root, files)}`);
  if (fs.existsSync(cacheDir)) return { cacheDir, built: false };
  fs.mkdirSync(cacheRoot, { recursive: true });
  for (const old of fs.readdirSync(cacheRoot)) {
    if (old.startsWith("declarations-")) fs.rmSync(path.join(cacheRoot, old), { recursive: true, force: true });
  }
  buildDeclarations(ts, root, files, cacheDir);
  return { cacheDir, built: true };
}

// Points tslab's module resolution at the declarations; throws if they cannot be built (the caller
// then leaves tslab on the sources). Returns `refresh()`, which rebuilds them after an edit under src/
// (autoreload.js) and returns the .d.ts paths whose text changed, appeared or disappeared.
function useLibraryDeclarations({ root, ts }) {
  const srcDir = path.join(root, "src");
  const { cacheDir } = ensureLibraryDeclarations({ root, ts });
  let declarations = readDeclarations(cacheDir, srcDir);
  const prefix = srcDir + path.sep;
  const refresh = () => {
    const next = readDeclarations(ensureLibraryDeclarations({ root, ts }).cacheDir, srcDir);
    const changed = [...new Set([...declarations.keys(), ...next.keys()])].filter((f) => declarations.get(f) !== next.get(f));
    declarations = next;
    return changed;
  };
  const fileExists = ts.sys.fileExists;
  const readFile = ts.sys.readFile;
  ts.sys.fileExists = function (file) {
    if (file.startsWith(prefix)) {
      if (file.endsWith(".d.ts")) return declarations.has(file);
      if (/\.(ts|tsx|mts|cts)$/.test(file)) return false;
    }
    return fileExists.apply(this, arguments);
  };
  ts.sys.readFile = function (file) {
    const text = declarations.get(file);
    return text !== undefined ? text : readFile.apply(this, arguments);
  };
  return { refresh, has: (file) => declarations.has(file) };
}

module.exports = { ensureLibraryDeclarations, useLibraryDeclarations };
