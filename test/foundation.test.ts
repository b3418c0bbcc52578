// The foundation: seeded randomness, backend selection, display helpers and the notebook runner.
import { before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend";
import { Rng, hashString } from "../src/random";
import {
  escapeHtml,
  figureHtml,
  normaliseFigure,
  plotlyBundle,
  scriptSafeJson,
  showFigure,
  tableHtml,
  tableText,
} from "../src/display";
import { percentToNotebook, notebookToPercent } from "../scripts/nbpercent";
import { meanCi95 } from "../src/bandit/tabular";
import { seedStats } from "../src/stats";

describe("confidence intervals: one Student-t definition", () => {
  test("meanCi95 is t_{0.975,n−1}·s/√n, by hand at n = 5 (t = 2.776445), and equals the sweep summary's", () => {
    const values = [1, 2, 3, 4, 5]; // mean 3, s = √2.5
    const { mean, half } = meanCi95(values);
    assert.equal(mean, 3);
    assert.ok(Math.abs(half - (2.7764451051977987 * Math.sqrt(2.5)) / Math.sqrt(5)) < 1e-9, `half ${half}`);
    assert.ok(half > ((1.96 * Math.sqrt(2.5)) / Math.sqrt(5)) * 1.4, "wider than the normal 1.96 interval at 5 seeds");
    const s = seedStats(values);
    assert.equal(half, s.ciHalf);
  });
  test("no interval from one value, and none when a run diverged", () => {
    assert.ok(Number.isNaN(meanCi95([2]).half));
    assert.equal(meanCi95([2]).mean, 2);
    const d = meanCi95([1, NaN, 3]);
    assert.ok(Number.isNaN(d.mean) && Number.isNaN(d.half));
  });
});

describe("Rng", () => {
  test("same seed gives the same stream; different seeds differ", () => {
    const a = new Rng(7);
    const b = new Rng(7);
    const c = new Rng(8);
    const sa = Array.from({ length: 100 }, () => a.nextUint32());
    const sb = Array.from({ length: 100 }, () => b.nextUint32());
    const sc = Array.from({ length: 100 }, () => c.nextUint32());
    assert.deepEqual(sa, sb);
    assert.notDeepEqual(sa, sc);
  });

  test("known first outputs pin the algorithm (a change of generator must be deliberate)", () => {
    const r = new Rng(42);
    const first = [r.uniform(), r.uniform(), r.uniform()].map((v) => v.toFixed(6));
    assert.deepEqual(first, ["0.660616", "0.111702", "0.079106"]);
  });

  test("uniform, normal and gumbel have the right moments (n = 200k, 5-sigma bounds)", () => {
    const r = new Rng(1);
    const n = 200_000;
    let su = 0,
      sn = 0,
      sn2 = 0,
      sg = 0;
    for (let i = 0; i < n; i++) {
      const u = r.uniform();
      assert.ok(u >= 0 && u < 1);
      su += u;
      const z = r.normal();
      sn += z;
      sn2 += z * z;
      sg += r.gumbel();
    }
    assert.ok(Math.abs(su / n - 0.5) < 5 * Math.sqrt(1 / 12 / n));
    assert.ok(Math.abs(sn / n) < 5 / Math.sqrt(n));
    assert.ok(Math.abs(sn2 / n - 1) < 5 * Math.sqrt(2 / n));
    const eulerGamma = 0.5772156649;
    assert.ok(Math.abs(sg / n - eulerGamma) < 5 * Math.sqrt(Math.PI ** 2 / 6 / n));
  });

  test("categorical and categoricalLogits match their probabilities (chi-square, 3 dof)", () => {
    const r = new Rng(3);
    const w = [1, 2, 3, 4];
    const counts = [0, 0, 0, 0];
    const countsL = [0, 0, 0, 0];
    const n = 40_000;
    for (let i = 0; i < n; i++) {
      counts[r.categorical(w)]++;
      countsL[r.categoricalLogits(w.map(Math.log))]++;
    }
    for (const c of [counts, countsL]) {
      const chi2 = c.reduce((s, k, i) => s + (k - (n * w[i]) / 10) ** 2 / ((n * w[i]) / 10), 0);
      assert.ok(chi2 < 16.27, `chi2 = ${chi2} (p < 0.001 at 3 dof)`);
    }
    assert.throws(() => r.categorical([0, 0]), /sum to zero/);
    assert.throws(() => r.categorical([1, -1]), /must be >= 0/);
  });

  test("shuffle is a permutation; int stays in range; fork is deterministic and independent", () => {
    const r = new Rng(5);
    const xs = Array.from({ length: 50 }, (_, i) => i);
    const s = r.shuffle(xs.slice());
    assert.deepEqual(
      s.slice().sort((a, b) => a - b),
      xs,
    );
    assert.notDeepEqual(s, xs);
    for (let i = 0; i < 1000; i++) {
      const k = r.int(7);
      assert.ok(Number.isInteger(k) && k >= 0 && k < 7);
    }
    assert.throws(() => r.int(0));
    const f1 = new Rng(9).fork("data");
    const f2 = new Rng(9).fork("data");
    const f3 = new Rng(9).fork("init");
    assert.equal(f1.uniform(), f2.uniform());
    assert.notEqual(new Rng(9).fork("data").uniform(), f3.uniform());
    assert.equal(hashString("abc"), hashString("abc"));
    assert.notEqual(hashString("abc"), hashString("abd"));
  });
});

describe("backend", () => {
  before(async () => {
    await initBackend();
  });
  test("initBackend reports the backend tfjs is actually using", async () => {
    const info = await initBackend();
    assert.equal(info.name, tf.getBackend());
    assert.equal(info.tfjsVersion, tf.version.tfjs);
  });
  test("an unknown forced backend is a clear error (a rejected promise)", async () => {
    await assert.rejects(() => initBackend("gpu" as never), /must be one of tensorflow, wasm, cpu/);
  });
  test("exactly one @tensorflow/tfjs-core is installed, and danfojs computes on the project's engine", async () => {
    // Every package directory npm may have nested a copy in: node_modules/<pkg>, node_modules/@scope/<pkg>,
    // and recursively their own node_modules.
    const copies: string[] = [];
    const dirs = (d: string) =>
      fs.existsSync(d)
        ? fs
            .readdirSync(d, { withFileTypes: true })
            .filter((e) => e.isDirectory())
            .map((e) => e.name)
        : [];
    const walkModules = (nm: string): void => {
      for (const name of dirs(nm)) {
        const packages = name.startsWith("@") ? dirs(path.join(nm, name)).map((n) => path.join(name, n)) : [name];
        for (const pkg of packages) {
          if (pkg === path.join("@tensorflow", "tfjs-core")) copies.push(path.join(nm, pkg));
          walkModules(path.join(nm, pkg, "node_modules"));
        }
      }
    };
    walkModules(path.resolve("node_modules"));
    assert.deepEqual(
      copies.map((c) => path.relative(process.cwd(), c)),
      [path.join("node_modules", "@tensorflow", "tfjs-core")],
    );
    // danfojs-node's tfjs (through the shim) must be this very engine: its tensors count in tf.memory().
    const dfd = await import("danfojs-node");
    const before = tf.memory().numTensors;
    const s = new dfd.Series([1, 2, 3]);
    const t = s.tensor as tf.Tensor;
    assert.ok(tf.memory().numTensors > before, "a danfojs tensor must be registered in the project's engine");
    assert.deepEqual(Array.from(t.dataSync()), [1, 2, 3]);
    t.dispose();
  });
});

describe("display helpers", () => {
  test("escapeHtml neutralises markup", () => {
    assert.equal(
      escapeHtml(`<script>alert("x")</script>&'`),
      "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;",
    );
  });
  test("scriptSafeJson cannot close its <script> and round-trips", () => {
    const value = { s: "</script><script>alert(1)</script><!--", n: 1.5 };
    const json = scriptSafeJson(value);
    assert.ok(!json.includes("</script"));
    assert.ok(!json.includes("<!--"));
    assert.deepEqual(JSON.parse(json), value);
  });
  test("figureHtml embeds the figure in a .prefopt-plot container, library only when asked", () => {
    const fig = { data: [{ type: "bar", x: ["<b>"], y: [1] }], layout: { title: { text: "t" } } };
    const html = figureHtml(fig, "fig-1", false);
    assert.match(html, /class="prefopt-plot"/);
    assert.ok(!html.includes("<b>"), "strings inside the figure JSON are escaped");
    assert.ok(html.length < 2000, "no plotly.js unless includeLibrary");
  });
  test("in a kernel, plotly.js is loaded into the page once and then emptied, so saved notebooks stay small", () => {
    const jupyter = require("tslab/dist/jupyter") as {
      lastWriteDisplayData: ((d: object, update: boolean) => void) | null;
    };
    const sent: Array<{ msg: { data: Record<string, unknown>; transient: { display_id?: string } }; update: boolean }> =
      [];
    const saved = jupyter.lastWriteDisplayData;
    jupyter.lastWriteDisplayData = (msg, update) => sent.push({ msg: msg as (typeof sent)[number]["msg"], update });
    try {
      showFigure({ data: [{ type: "scatter", x: [1], y: [2] }] });
      showFigure({ data: [{ type: "scatter", x: [3], y: [4] }] });
    } finally {
      jupyter.lastWriteDisplayData = saved;
    }
    const [load, empty, first, second] = sent;
    assert.equal(sent.length, 4, "loader, its update, two figures");
    assert.ok(String(load.msg.data["text/html"]).length > 1e6 && !load.update, "the loader carries plotly.js");
    assert.ok(
      empty.update && empty.msg.transient.display_id === load.msg.transient.display_id,
      "and is updated in place",
    );
    assert.deepEqual(Object.keys(empty.msg.data), ["text/plain"]);
    for (const fig of [first, second])
      assert.ok(
        String(fig.msg.data["text/html"]).length < 2000 && "application/vnd.plotly.v1+json" in fig.msg.data,
        "figures carry no library",
      );
  });
  test("normaliseFigure turns string titles into {text} everywhere and leaves the rest alone", () => {
    const fig = {
      data: [{ type: "heatmap", z: [[1]], colorbar: { title: "c" }, name: "title" }],
      layout: {
        title: "t",
        xaxis: { title: "x" },
        yaxis2: { title: { text: "y2" } },
        legend: { title: "l" },
        height: 300,
      },
    };
    const n = normaliseFigure(fig);
    assert.deepEqual(n.layout, {
      title: { text: "t" },
      xaxis: { title: { text: "x" } },
      yaxis2: { title: { text: "y2" } },
      legend: { title: { text: "l" } },
      height: 300,
    });
    assert.deepEqual(n.data[0], { type: "heatmap", z: [[1]], colorbar: { title: { text: "c" } }, name: "title" });
    assert.equal(fig.layout.title, "t", "the input is not mutated");
  });
  test("tableHtml escapes every cell and header", () => {
    const html = tableHtml(["<a>"], [["<img src=x onerror=alert(1)>"], [0.123456789]]);
    assert.ok(!html.includes("<img"));
    assert.ok(!html.includes("<a>"));
    assert.match(html, /0\.1235/);
  });
  test("tables right-align number columns and left-align text columns, in HTML and in text", () => {
    const columns = ["method", "reward"];
    const rows = [
      ["dpo", 1.5],
      ["listwise", -0.25],
    ];
    const html = tableHtml(columns, rows);
    assert.match(html, /<th style="text-align:left">method<\/th><th style="text-align:right">reward<\/th>/);
    assert.match(html, /<td style="text-align:left">listwise<\/td><td style="text-align:right">-0\.2500<\/td>/);
    assert.equal(tableText(columns, rows), ["method     reward", "dpo        1.5000", "listwise  -0.2500"].join("\n"));
  });
});

describe("notebook tooling", () => {
  test("percent format round-trips through .ipynb", () => {
    const text = "// %% [markdown]\n// # Title\n// $x^2$\n\n// %%\nconst x = 1;\nconsole.log(x);\n";
    const nb = percentToNotebook(text) as { cells: Array<{ cell_type: string; source: string[] }> };
    assert.deepEqual(
      nb.cells.map((c) => c.cell_type),
      ["markdown", "code"],
    );
    assert.equal(nb.cells[0].source.join(""), "# Title\n$x^2$");
    assert.equal(
      notebookToPercent(nb as never),
      "// %% [markdown]\n// # Title\n// $x^2$\n\n// %%\nconst x = 1;\nconsole.log(x);\n",
    );
  });

  test("stored stream output is what a terminal shows: \\r rewrites collapse, consecutive streams merge", () => {
    const code = `
import json, sys, nbformat
sys.path.insert(0, "scripts")
from execute_notebook import tidy_streams
nb = nbformat.v4.new_notebook()
cell = nbformat.v4.new_code_cell("x")
s = lambda name, text: nbformat.v4.new_output("stream", name=name, text=text)
cell.outputs = [s("stderr", "\\rSFT 20/400 loss 2.5   "), s("stderr", "\\rSFT 400/400 loss 1.2   \\n"),
  s("stdout", "a\\r\\nb\\n"), nbformat.v4.new_output("display_data", data={"text/plain": "fig"}), s("stdout", "after\\n")]
nb.cells = [cell]
tidy_streams(nb)
print(json.dumps([[o.output_type, o.get("name"), o.get("text")] for o in nb.cells[0].outputs]))
`;
    const r = spawnSync("/usr/bin/python3", ["-c", code], { encoding: "utf8" });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), [
      ["stream", "stderr", "SFT 400/400 loss 1.2   \n"],
      ["stream", "stdout", "a\nb\n"],
      ["display_data", null, null],
      ["stream", "stdout", "after\n"],
    ]);
  });

  test(
    "the runner executes through Jupyter, and a failing cell exits 1 with its source and real error text",
    { timeout: 120_000 },
    () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "prefopt-nb-"));
      const nbFile = path.join(dir, "failing.ipynb");
      const text = [
        "// %%",
        'import * as pf from "./src/index";',
        'console.log("library loaded", typeof pf.Rng);',
        "// %%",
        "const marker = 41 + 1;",
        'if (marker === 42) throw new Error("deliberate failure " + marker);',
        "// %%",
        'console.log("never reached");',
      ].join("\n");
      fs.writeFileSync(nbFile, JSON.stringify(percentToNotebook(text)));
      const r = spawnSync(
        process.execPath,
        ["--import", "tsx", "scripts/run-notebooks.ts", "--out", path.join(dir, "out"), nbFile],
        {
          cwd: path.resolve(__dirname, ".."),
          encoding: "utf8",
        },
      );
      const all = r.stdout + r.stderr;
      assert.equal(r.status, 1, all);
      assert.match(all, /failing\.ipynb/);
      assert.match(all, /const marker = 41 \+ 1;/, "prints the failing cell's source");
      assert.match(all, /deliberate failure 42/, "prints tslab's real error text");
      assert.match(all, /FAILED/);
      const executed = JSON.parse(fs.readFileSync(path.join(dir, "out", "failing.ipynb"), "utf8")) as {
        cells: Array<{ outputs?: Array<{ text?: string | string[] }> }>;
      };
      const firstOut = executed.cells[0].outputs?.map((o) => [o.text ?? ""].flat().join("")).join("") ?? "";
      assert.match(firstOut, /library loaded function/, "earlier cells ran and their outputs were stored");
      assert.ok(fs.existsSync(path.join(dir, "out", "failing.html")));
    },
  );
});

describe("browser check", () => {
  test("passes a rendered figure and catches an unrendered one and a page error", { timeout: 120_000 }, async () => {
    const { launchChromium, checkHtmlFile } = await import("../scripts/browser-check");
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "prefopt-html-"));
    const fig = { data: [{ type: "scatter", x: [1, 2], y: [3, 4] }], layout: { title: { text: "ok" } } };
    const good = path.join(dir, "good.html");
    fs.writeFileSync(good, `<!doctype html><html><body>${figureHtml(fig, "f1", true)}</body></html>`);
    const bad = path.join(dir, "bad.html");
    fs.writeFileSync(
      bad,
      `<!doctype html><html><body>${figureHtml(fig, "f2", false)}<script>undefinedFunction()</script></body></html>`,
    );
    const browser = await launchChromium();
    try {
      const g = await checkHtmlFile(browser, good, 20_000);
      assert.deepEqual([g.figures, g.rendered, g.errors.length], [1, 1, 0], JSON.stringify(g));
      // A bare string title is drawn too (plotly ≥ 3 alone would ignore it), and a missing title is caught.
      const stringTitles = path.join(dir, "string-titles.html");
      const titled = {
        data: fig.data,
        layout: { title: "Reward vs KL", xaxis: { title: "KL" }, yaxis: { title: "reward" } },
      };
      fs.writeFileSync(stringTitles, `<!doctype html><html><body>${figureHtml(titled, "f3", true)}</body></html>`);
      const s = await checkHtmlFile(browser, stringTitles, 20_000);
      assert.deepEqual([s.rendered, s.errors], [1, []]);
      const raw = path.join(dir, "raw-string-titles.html");
      fs.writeFileSync(
        raw,
        `<!doctype html><html><body><script>${plotlyBundle()}</script><div id="r" class="prefopt-plot"></div><script>Plotly.newPlot("r", ${JSON.stringify(titled.data)}, ${JSON.stringify(titled.layout)})</script></body></html>`,
      );
      const r = await checkHtmlFile(browser, raw, 20_000);
      assert.equal(r.rendered, 1);
      assert.ok(
        r.errors.some((e) => /title "Reward vs KL" not drawn/.test(e)),
        JSON.stringify(r.errors),
      );
      const b = await checkHtmlFile(browser, bad, 3_000);
      assert.equal(b.figures, 1);
      assert.equal(b.rendered, 0, "no plotly.js → not rendered");
      assert.ok(
        b.errors.some((e) => /undefinedFunction/.test(e)),
        JSON.stringify(b.errors),
      );
    } finally {
      await browser.close();
    }
  });
});
