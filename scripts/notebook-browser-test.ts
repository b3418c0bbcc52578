// The kernel as a reader meets it: Debian's classic Notebook server (6.4) with the project's kernelspec,
// driven by headless Chromium (playwright-core, Debian's /usr/bin/chromium). It
//   1. opens a small notebook (figures shown and returned as a cell's value, a DataFrame value, a live
//      training-curve figure with a progress display) and runs all cells: counts rendered figures and errors;
//   2. saves, reloads the page (same live kernel): the saved figures render again (plotly.js fetched from the
//      kernel over a comm); runs all cells again: every figure renders;
//   3. interrupts a long training cell (trainBandit, which polls the interrupt) and a loop that never polls
//      (the kernel's hard-stop fallback): times each, checks the tensors were freed and the kernel answers;
//   4. saves a screenshot. Prints one line per check; exit 1 if any failed.
//
//   node --import tsx scripts/notebook-browser-test.ts [--out output/browser-test]
//   node --import tsx scripts/notebook-browser-test.ts --notebook notebooks/02-kl-regularised-rl.ipynb
//
// With --notebook it runs that notebook instead (steps 1, 2 and 4: figures and errors before and after a
// reload; its first run's figure count is the one the later counts must match).
//
// The server runs in its own process group (detached), killed as a group at the end; its kernels are shut
// down through the REST API first. Needs Debian's jupyter-notebook (scripts/setup.sh --with-browser).
import { spawn, type ChildProcess } from "child_process";
import * as crypto from "crypto";
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import type { Page } from "playwright-core";
import { launchChromium } from "./browser-check";

const root = path.resolve(__dirname, "..");
const failures: string[] = [];
function check(ok: boolean, what: string, detail = ""): void {
  console.log(`${ok ? "ok  " : "FAIL"}  ${what}${ok || !detail ? "" : `\n      ${detail}`}`);
  if (!ok) failures.push(what);
}

const FIGURES = 3; // per run: one pf.showFigure, one figure as a cell's value, one pf.liveFigure
const CELLS = [
  'import * as tf from "@tensorflow/tfjs";\nimport * as dfd from "danfojs-node";\nimport * as pf from "./src/index";\nawait pf.initBackend();',
  'pf.showFigure({ data: [{ type: "scatter", x: [1, 2, 3], y: [1, 4, 9] }], layout: { title: { text: "shown" } } });',
  '({ data: [{ type: "bar", x: ["a", "b"], y: [2, 3] }], layout: { title: { text: "a cell value" } } })',
  'new dfd.DataFrame({ x: [1, 2], y: ["a", "b"] })',
  'const live = pf.liveFigure({ title: { text: "live curve" } }, { everyMs: 200 });\n' +
    "for (let s = 1; s <= 40; s++) {\n  const t = Date.now();\n  while (Date.now() - t < 50) {}\n" +
    '  live.push("loss", s, 1 / s);\n  pf.reportProgress("training", s, 40, `loss ${(1 / s).toFixed(3)}`);\n}\nlive.done();',
  "6 * 7",
];
const TRAIN_LONG =
  'pf.trainBandit({ method: "dpo", dataset: pf.sampleBanditPairs([[1, 0, -1], [0, 2, 0]], 20, { rng: new pf.Rng(1) }),\n' +
  '  lossOptions: { beta: 0.5 }, steps: 300000, batchSize: 4, learningRate: 0.05, seeds: [0], engine: "tfjs" });';
const NO_CHECKS = "let spins = 0;\nwhile (Date.now() > 0) spins++;";

function notebookJson(): string {
  return JSON.stringify(
    {
      cells: CELLS.map((source) => ({ cell_type: "code", execution_count: null, metadata: {}, outputs: [], source })),
      metadata: {
        kernelspec: { name: "prefopt", display_name: "TypeScript (prefopt)", language: "typescript" },
        language_info: { name: "typescript", file_extension: ".ts" },
      },
      nbformat: 4,
      nbformat_minor: 5,
    },
    null,
    1,
  );
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

interface Server {
  proc: ChildProcess;
  base: string;
  token: string;
  log: () => string;
}

async function startServer(dir: string, scratch: string): Promise<Server> {
  const port = await freePort();
  const token = crypto.randomBytes(16).toString("hex");
  let log = "";
  const proc = spawn(
    "/usr/bin/jupyter-notebook",
    [
      "--no-browser",
      "--ip=127.0.0.1",
      `--port=${port}`,
      `--NotebookApp.token=${token}`,
      `--notebook-dir=${dir}`,
      ...(process.getuid?.() === 0 ? ["--allow-root"] : []), // containers often run as root
    ],
    {
      detached: true, // its own process group: killed as a group at the end
      stdio: ["ignore", "pipe", "pipe"],
      env: {
        ...process.env,
        JUPYTER_PATH: path.join(root, "jupyter"),
        JUPYTER_CONFIG_DIR: path.join(scratch, "config"),
        JUPYTER_RUNTIME_DIR: path.join(scratch, "runtime"),
        JUPYTER_DATA_DIR: path.join(scratch, "data"),
        PREFOPT_KERNEL_HISTORY: path.join(scratch, "history.jsonl"),
      },
    },
  );
  proc.stdout!.on("data", (d) => (log += String(d)));
  proc.stderr!.on("data", (d) => (log += String(d)));
  const base = `http://127.0.0.1:${port}`;
  const t0 = Date.now();
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`jupyter-notebook exited (${proc.exitCode}):\n${log}`);
    try {
      const r = await fetch(`${base}/api/status?token=${token}`);
      if (r.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() - t0 > 60_000) throw new Error(`jupyter-notebook did not answer in 60 s:\n${log}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  return { proc, base, token, log: () => log };
}

async function stopServer(s: Server): Promise<void> {
  try {
    const kernels = (await (await fetch(`${s.base}/api/kernels?token=${s.token}`)).json()) as Array<{ id: string }>;
    for (const k of kernels) await fetch(`${s.base}/api/kernels/${k.id}?token=${s.token}`, { method: "DELETE" });
  } catch {
    // the server is gone already
  }
  const kill = (sig: NodeJS.Signals) => {
    try {
      process.kill(-s.proc.pid!, sig);
    } catch {
      // already exited
    }
  };
  kill("SIGTERM");
  await new Promise((r) => setTimeout(r, 2000));
  kill("SIGKILL");
}

// Browser-side snippets (strings: this file is type-checked without the DOM lib).
const KERNEL_READY =
  "window.Jupyter && Jupyter.notebook && Jupyter.notebook._fully_loaded && Jupyter.notebook.kernel && " +
  "Jupyter.notebook.kernel.is_connected() && Jupyter.notebook.kernel.info_reply && Jupyter.notebook.kernel.info_reply.protocol_version";
const ALL_DONE =
  "Jupyter.notebook.get_cells().every((c) => c.cell_type !== 'code' || c.input_prompt_number !== '*') && " +
  "!document.querySelector('#kernel_indicator_icon.kernel_busy_icon')";
const COUNTS = `(() => {
  const plots = Array.from(document.querySelectorAll(".prefopt-plot"));
  const outputs = Jupyter.notebook.get_cells().flatMap((c) => (c.output_area ? c.output_area.outputs : []));
  return {
    figures: plots.length,
    rendered: plots.filter((d) => d.querySelector("svg.main-svg")).length,
    errors: outputs.filter((o) => o.output_type === "error").map((o) => o.ename + ": " + o.evalue),
    results: outputs.filter((o) => o.output_type === "execute_result").length,
    tables: document.querySelectorAll(".output_html table.dataframe").length,
    progress: Array.from(document.querySelectorAll(".prefopt-progress")).map((d) => d.textContent),
  };
})()`;

interface Counts {
  figures: number;
  rendered: number;
  errors: string[];
  results: number;
  tables: number;
  progress: string[];
}

async function counts(page: Page, expectFigures: number): Promise<Counts> {
  // plotly draws asynchronously (and after fetching the library over a comm on a fresh page).
  await page
    .waitForFunction(`document.querySelectorAll(".prefopt-plot svg.main-svg").length >= ${expectFigures}`, undefined, {
      timeout: 60_000,
    })
    .catch(() => undefined);
  return (await page.evaluate(COUNTS)) as Counts;
}

async function runAll(page: Page): Promise<number> {
  const t0 = Date.now();
  await page.evaluate("Jupyter.notebook.clear_all_output(); Jupyter.notebook.execute_all_cells()");
  await page.waitForFunction(ALL_DONE, undefined, { timeout: 600_000, polling: 200 });
  return (Date.now() - t0) / 1000;
}

/** Runs `code` in a new cell at the bottom, interrupts it after `afterMs`; returns seconds to the reply. */
async function interruptCell(page: Page, code: string, afterMs: number): Promise<{ seconds: number; output: string }> {
  await page.evaluate(
    `(() => { const c = Jupyter.notebook.insert_cell_at_bottom("code"); c.set_text(${JSON.stringify(code)}); c.execute(); window.__cell = c; })()`,
  );
  await new Promise((r) => setTimeout(r, afterMs));
  const t0 = Date.now();
  await page.evaluate("Jupyter.notebook.kernel.interrupt()");
  await page.waitForFunction("typeof window.__cell.input_prompt_number === 'number'", undefined, {
    timeout: 60_000,
    polling: 50,
  });
  const seconds = (Date.now() - t0) / 1000;
  await new Promise((r) => setTimeout(r, 500)); // tslab aborts requests that arrive within 200 ms of an error
  const output = (await page.evaluate(
    "window.__cell.output_area.outputs.map((o) => o.output_type === 'error' ? o.ename + ': ' + o.evalue : (o.text || '')).join('\\n')",
  )) as string;
  return { seconds, output };
}

/** Runs `code` in a new cell at the bottom and returns its execute_result's text/plain (or the error). */
async function valueOf(page: Page, code: string): Promise<string> {
  await page.evaluate(
    `(() => { const c = Jupyter.notebook.insert_cell_at_bottom("code"); c.set_text(${JSON.stringify(code)}); c.execute(); window.__cell = c; })()`,
  );
  await page.waitForFunction("typeof window.__cell.input_prompt_number === 'number'", undefined, { timeout: 60_000 });
  await new Promise((r) => setTimeout(r, 500)); // tslab aborts requests that arrive within 200 ms of an error
  return (await page.evaluate(
    "window.__cell.output_area.outputs.map((o) => o.output_type === 'error' ? o.ename + ': ' + o.evalue : ((o.data || {})['text/plain'] || o.text || '')).join('\\n')",
  )) as string;
}

async function main(): Promise<void> {
  const outArg = process.argv.indexOf("--out");
  const out = path.resolve(outArg > 0 ? process.argv[outArg + 1] : path.join(root, "output", "browser-test"));
  fs.mkdirSync(out, { recursive: true });
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "prefopt-browser-test-"));
  const dir = path.join(scratch, "notebooks");
  fs.mkdirSync(dir);
  // --notebook PATH: a project notebook instead of the built-in one (figure counts only: run, reload, run).
  const nbArg = process.argv.indexOf("--notebook");
  const given = nbArg > 0 ? path.resolve(process.argv[nbArg + 1]) : undefined;
  const name = given ? path.basename(given) : "kernel-test.ipynb";
  fs.writeFileSync(path.join(dir, name), given ? fs.readFileSync(given) : notebookJson());

  const server = await startServer(dir, scratch);
  const browser = await launchChromium();
  const pageErrors: string[] = [];
  try {
    const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    const page = await context.newPage();
    page.on("pageerror", (e) => pageErrors.push(e.message));
    const url = `${server.base}/notebooks/${encodeURIComponent(name)}?token=${server.token}`;

    await page.goto(url, { waitUntil: "load" });
    await page.waitForFunction(KERNEL_READY, undefined, { timeout: 120_000, polling: 250 });
    const info = (await page.evaluate("Jupyter.notebook.kernel.info_reply")) as Record<string, unknown>;
    check(info.status === "ok", `the page's kernel_info_reply has status "${String(info.status)}"`);
    const t1 = await runAll(page);
    const c1 = await counts(page, given ? 1 : FIGURES);
    const want = given ? c1.figures : FIGURES; // a given notebook: as many as its first run made
    check(
      c1.rendered === want && c1.figures === want && want > 0 && c1.errors.length === 0,
      `${name}, first run (${t1.toFixed(1)} s): ${c1.rendered}/${c1.figures} figures rendered (want ${want}), ${c1.errors.length} error output(s)`,
      c1.errors.join("; "),
    );
    if (!given)
      check(
        c1.results >= 3 && c1.tables === 1,
        `execute_results: ${c1.results} (figure, DataFrame, 42), ${c1.tables} DataFrame table`,
      );
    if (!given)
      check(
        c1.progress.some((p) => /training 40\/40 .*done in/.test(p ?? "")),
        "the progress display ends as 'training 40/40 … done in'",
        c1.progress.join(" | "),
      );

    await page.evaluate("Jupyter.notebook.save_notebook()");
    await page.waitForFunction("!Jupyter.notebook.dirty", undefined, { timeout: 30_000 }).catch(() => undefined);
    await page.reload({ waitUntil: "load" });
    await page.waitForFunction(KERNEL_READY, undefined, { timeout: 120_000, polling: 250 });
    const saved = await counts(page, want);
    check(
      saved.rendered === want,
      `after a reload, the saved outputs: ${saved.rendered}/${saved.figures} figures rendered (plotly.js fetched from the kernel)`,
    );
    const t2 = await runAll(page);
    const c2 = await counts(page, want);
    check(
      c2.rendered === want && c2.figures === want && c2.errors.length === 0,
      `after a reload, run again (${t2.toFixed(1)} s, same kernel): ${c2.rendered}/${c2.figures} figures rendered, ${c2.errors.length} error output(s)`,
      c2.errors.join("; "),
    );

    if (!given) await interrupts(page);
    check(pageErrors.length === 0, `no page errors (${pageErrors.length})`, pageErrors.slice(0, 5).join("; "));
    await screenshot(page, path.join(out, given ? name.replace(/\.ipynb$/, ".png") : "notebook.png"));
    await context.close();
  } finally {
    await browser.close();
    await stopServer(server);
    fs.writeFileSync(path.join(out, "notebook-server.log"), server.log());
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  console.log(failures.length ? `${failures.length} browser check(s) failed` : "all browser checks passed");
  if (failures.length) process.exitCode = 1;
}

/** Interrupt a polling trainer and a loop that never polls; the kernel must stay usable. */
async function interrupts(page: Page): Promise<void> {
  const before = await valueOf(page, "const tensorsBefore = tf.memory().numTensors;\ntensorsBefore");
  const a = await interruptCell(page, TRAIN_LONG, 3000);
  check(
    /InterruptedError/.test(a.output) && a.seconds < 2,
    `interrupt trainBandit (tfjs engine, polls each step): stopped in ${a.seconds.toFixed(2)} s with InterruptedError`,
    a.output,
  );
  const leaked = await valueOf(page, "tf.memory().numTensors - tensorsBefore");
  // tf.train.adam keeps one tensor after dispose() (tfjs 4.22; see test/bandit-engines.test.ts).
  check(
    ["0", "1"].includes(leaked.trim()),
    `… tensors left allocated afterwards: ${leaked.trim()} (of ${before.trim()} before)`,
  );
  const b = await interruptCell(page, NO_CHECKS, 2000);
  check(
    /stopped hard/.test(b.output) && b.seconds < 15,
    `interrupt a loop with no interrupt checks: hard-stopped in ${b.seconds.toFixed(2)} s (grace period 5 s)`,
    b.output,
  );
  const v = await valueOf(page, "6 * 7");
  check(v.trim() === "42", `the kernel answers after both interrupts (6 * 7 → ${v.trim()})`);
}

/** A screenshot of the whole notebook (it scrolls inside #site: the viewport is made as tall as it). */
async function screenshot(page: Page, file: string): Promise<void> {
  const height = (await page.evaluate(
    "document.querySelector('#header').offsetHeight + document.querySelector('#notebook').scrollHeight",
  )) as number;
  await page.setViewportSize({ width: 1200, height: Math.min(Math.max(height, 900), 12_000) });
  await page.screenshot({ path: file, fullPage: true });
  console.log(`screenshot: ${path.relative(process.cwd(), file)}`);
}

if (require.main === module)
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
