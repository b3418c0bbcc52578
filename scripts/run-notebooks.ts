// Executes notebooks headlessly through real Jupyter (nbclient under Debian's /usr/bin/python3) with the
// project's tslab kernel, writes each executed notebook and a self-contained HTML export to the output
// folder, and prints one summary line per notebook.
//
//   npm run notebooks                      every notebooks/*.ipynb
//   npm run notebooks -- 00 03             the notebooks whose names start with 00 or 03
//   npm run notebooks -- path/to/x.ipynb   a notebook file anywhere
//   npm run notebooks -- --out DIR         output folder (default: output/notebooks, git-ignored)
//
// Exits 1 if any notebook failed; the failing cell's source and error text are printed.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";

const root = path.resolve(__dirname, "..");

export function jupyterEnv(): NodeJS.ProcessEnv {
  return {
    ...process.env,
    JUPYTER_PATH: path.join(root, "jupyter"), // absolute: the committed kernelspec, no `tslab install`
    PATH: `${path.join(root, "node_modules", ".bin")}:${process.env.PATH ?? ""}`,
  };
}

function parseArgs(argv: string[]): { out: string; filters: string[] } {
  let out = path.join(root, "output", "notebooks");
  const filters: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--out") out = path.resolve(argv[++i] ?? "");
    else if (argv[i] === "--help" || argv[i] === "-h") {
      console.log("usage: run-notebooks.ts [--out DIR] [NAME-PREFIX ...]");
      process.exit(0);
    } else filters.push(argv[i]);
  }
  return { out, filters };
}

// The kernel type-checks cells against cached declarations of src/ (jupyter/kernels/prefopt/
// library-declarations.js); build them once here rather than inside the first kernel's start-up.
function prebuildKernelDeclarations(): void {
  const tslabDir = path.join(root, "node_modules", "tslab");
  const ts = require(require.resolve("@tslab/typescript-for-tslab", { paths: [tslabDir] }));
  const { ensureLibraryDeclarations } = require(
    path.join(root, "jupyter", "kernels", "prefopt", "library-declarations.js"),
  );
  const t0 = Date.now();
  try {
    if (ensureLibraryDeclarations({ root, ts }).built)
      console.log(`kernel declarations of src/ built in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  } catch (e) {
    console.log(`kernel declarations of src/ not built; kernels will type-check src/ itself: ${(e as Error).message}`);
  }
}

function main(): void {
  const { out, filters } = parseArgs(process.argv.slice(2));
  const dir = path.join(root, "notebooks");
  const files = filters.filter((f) => f.endsWith(".ipynb")).map((f) => path.resolve(f));
  const prefixes = filters.filter((f) => !f.endsWith(".ipynb"));
  const notebooks = [
    ...fs
      .readdirSync(dir)
      .filter((f) => f.endsWith(".ipynb"))
      .filter((f) => (files.length === 0 && prefixes.length === 0) || prefixes.some((p) => f.startsWith(p)))
      .sort()
      .map((f) => path.join(dir, f)),
    ...files,
  ];
  if (notebooks.length === 0) {
    console.error(`no notebooks match ${filters.join(" ")} (looked in ${dir})`);
    process.exit(1);
  }
  fs.mkdirSync(out, { recursive: true });
  prebuildKernelDeclarations();
  const results: Array<{ name: string; seconds: number; ok: boolean }> = [];
  for (const file of notebooks) {
    const nb = path.basename(file);
    console.log(`▶ ${nb} …`);
    const t0 = Date.now();
    const r = spawnSync("/usr/bin/python3", [path.join(root, "scripts", "execute_notebook.py"), file, out], {
      env: jupyterEnv(),
      stdio: ["ignore", "inherit", "inherit"],
      cwd: root,
    });
    const seconds = (Date.now() - t0) / 1000;
    const ok = r.status === 0;
    results.push({ name: nb, seconds, ok });
    console.log(`${ok ? "✓" : "✗"} ${nb}  ${seconds.toFixed(1)} s  ${ok ? "ok" : "FAILED"}`);
  }
  console.log("\nnotebook                                   seconds  status");
  for (const r of results)
    console.log(`${r.name.padEnd(42)} ${r.seconds.toFixed(1).padStart(7)}  ${r.ok ? "ok" : "FAILED"}`);
  const total = results.reduce((s, r) => s + r.seconds, 0);
  console.log(`${"total".padEnd(42)} ${total.toFixed(1).padStart(7)}`);
  console.log(`\nexecuted notebooks and HTML exports: ${path.relative(process.cwd(), out) || "."}/`);
  if (results.some((r) => !r.ok)) process.exit(1);
}

if (require.main === module) main();
