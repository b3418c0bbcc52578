// Reload src/ without restarting the kernel: before each cell, the kernel compares the size and mtime of
// every src/**/*.ts file with what it saw last. After an edit it
//   1. drops from Node's module cache the changed files and every src/ module that (transitively) imports
//      them, so the next require loads the new code (modules that do not depend on the edit, such as the
//      wasm kernel registrations, stay loaded once);
//   2. rebuilds the declarations tslab type-checks cells against (library-declarations.js) and tells its
//      checker which files changed, so the cell is checked against the new types;
//   3. prints one line naming the changed files in the cell's output.
// A cell's `import * as pf from "./src/index"` binds a live view of the module (a Proxy that reads the
// current exports on every access), so the next cell's `pf.someFunction` is the new code with no re-import.
// Named imports (`import { f } from ...`) are copied when their cell runs: run that cell again.
// Objects created before the edit (class instances, closures) keep their old code, as in IPython's autoreload.
// PREFOPT_AUTORELOAD=0 turns the check off.
const fs = require("fs");
const path = require("path");
const Module = require("module");

function snapshot(dir, out = new Map()) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) snapshot(full, out);
    else if (/\.tsx?$/.test(entry.name) && !entry.name.endsWith(".d.ts")) {
      const st = fs.statSync(full);
      out.set(full, `${st.size}:${st.mtimeMs}`);
    }
  }
  return out;
}

/** A Proxy over the module `filename` that always reads its current exports (loading it again if dropped). */
function liveModule(filename, loadReal) {
  const current = () => (require.cache[filename] ? require.cache[filename].exports : loadReal(filename));
  return new Proxy(
    {},
    {
      get: (_t, prop) => Reflect.get(current(), prop),
      has: (_t, prop) => Reflect.has(current(), prop),
      ownKeys: () => Reflect.ownKeys(current()),
      getOwnPropertyDescriptor: (_t, prop) => {
        const d = Reflect.getOwnPropertyDescriptor(current(), prop);
        return d && { ...d, configurable: true };
      },
      set: () => false,
      defineProperty: () => false,
      deleteProperty: () => false,
    },
  );
}

function installAutoreload({ root, ts, useDeclarations }) {
  const srcDir = path.join(root, "src");
  const prefix = srcDir + path.sep;
  const enabled = process.env.PREFOPT_AUTORELOAD !== "0";

  // tslab's checker asks to watch files; record the callbacks (no real watching: see kernel-patches.js).
  const fileWatchers = new Map();
  const record = (map) => (p, cb) => {
    if (!map.has(p)) map.set(p, new Set());
    map.get(p).add(cb);
    return { close: () => map.get(p) && map.get(p).delete(cb) };
  };
  ts.sys.watchFile = record(fileWatchers);
  ts.sys.watchDirectory = () => ({ close() {} });

  let declarations = null;
  if (useDeclarations) {
    try {
      declarations = require("./library-declarations").useLibraryDeclarations({ root, ts });
    } catch (e) {
      console.error(`kernel: type-checking cells against src/ itself (${e.message})`);
    }
  }

  // Cells' requires of src/ modules get live views; src/ modules requiring each other get the real exports.
  const live = new Map();
  const load = Module._load;
  Module._load = function (request, parent, isMain) {
    const exports = load.apply(this, arguments);
    if (!enabled || !parent || !/^[./]/.test(request) || (parent.filename && parent.filename.startsWith(prefix)))
      return exports;
    let filename;
    try {
      filename = Module._resolveFilename(request, parent, isMain);
    } catch {
      return exports;
    }
    if (!filename.startsWith(prefix) || !/\.tsx?$/.test(filename)) return exports;
    if (!live.has(filename)) live.set(filename, liveModule(filename, (f) => load.call(Module, f, module, false)));
    return live.get(filename);
  };

  let seen = enabled ? snapshot(srcDir) : new Map();

  function dropFromCache(changed) {
    const importers = new Map();
    for (const [file, mod] of Object.entries(require.cache)) {
      if (!file.startsWith(prefix)) continue;
      for (const child of mod.children || []) {
        if (!importers.has(child.filename)) importers.set(child.filename, new Set());
        importers.get(child.filename).add(file);
      }
    }
    const drop = new Set();
    const visit = (file) => {
      if (drop.has(file)) return;
      drop.add(file);
      for (const p of importers.get(file) || []) visit(p);
    };
    changed.forEach(visit);
    for (const file of drop) {
      const mod = require.cache[file];
      delete require.cache[file];
      // Forget it as a child too, so a later reload does not walk stale modules.
      for (const m of Object.values(require.cache)) if (m && m.children) m.children = m.children.filter((c) => c !== mod);
    }
    return drop.size;
  }

  // Only files the checker already watches (it read them): a new file is found when a cell first imports it.
  // Directory watchers are not called: tslab's converter allows one pending timer, and they start a second.
  function notifyChecker(files, exists) {
    for (const file of files) {
      const kind = exists(file) ? ts.FileWatcherEventKind.Changed : ts.FileWatcherEventKind.Deleted;
      for (const cb of fileWatchers.get(file) || []) cb(file, kind);
    }
  }

  return {
    /** Called before every cell: reloads what changed under src/ since the last cell. */
    beforeCell() {
      if (!enabled) return;
      const now = snapshot(srcDir);
      const changed = [...new Set([...seen.keys(), ...now.keys()])].filter((f) => seen.get(f) !== now.get(f));
      if (changed.length === 0) return;
      seen = now;
      const dropped = dropFromCache(changed);
      const t0 = Date.now();
      const decls = declarations ? declarations.refresh() : [];
      if (declarations) notifyChecker(decls, (f) => declarations.has(f));
      else notifyChecker(changed, (f) => fs.existsSync(f));
      const names = changed.map((f) => path.relative(root, f));
      process.stderr.write(
        `↻ src/ changed (${names.slice(0, 5).join(", ")}${names.length > 5 ? ", …" : ""}): ` +
          `${dropped} module(s) reloaded, declarations rebuilt in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`,
      );
    },
  };
}

module.exports = { installAutoreload, liveModule };
