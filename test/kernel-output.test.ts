// What the kernel sends for a cell's value (src/richOutput.ts) and how figures reach a page
// (src/display.ts: plotly.js loaded once per page session, and on demand where window.Plotly is missing).
import { describe, test } from "node:test";
import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { elidedIndices, isPlotlyFigure, richBundle, tensorHtml } from "../src/richOutput";
import { figureHtml, showFigure } from "../src/display";

type Sent = { msg: { data: Record<string, unknown>; transient: { display_id?: string } }; update: boolean };

/** Runs fn with tslab's display hook captured; returns what was sent. */
function captureDisplays(fn: () => void): Sent[] {
  const jupyter = require("tslab/dist/jupyter") as {
    lastWriteDisplayData: ((d: object, update: boolean) => void) | null;
  };
  const sent: Sent[] = [];
  const saved = jupyter.lastWriteDisplayData;
  jupyter.lastWriteDisplayData = (msg, update) => sent.push({ msg: msg as Sent["msg"], update });
  try {
    fn();
  } finally {
    jupyter.lastWriteDisplayData = saved;
  }
  return sent;
}

function setClientSession(session: string | undefined): void {
  (globalThis as unknown as Record<symbol, unknown>)[Symbol.for("prefopt.kernel")] = { clientSession: session };
}

describe("figures in a page", () => {
  test("each new page (client session) gets plotly.js with its first figure; a page that has it gets none", () => {
    const isLoader = (s: Sent) => !s.update && String(s.msg.data["text/html"] ?? "").length > 1e6;
    try {
      setClientSession("page-A");
      const a1 = captureDisplays(() => showFigure({ data: [{ type: "scatter", x: [1], y: [2] }] }));
      const a2 = captureDisplays(() => showFigure({ data: [{ type: "scatter", x: [1], y: [2] }] }));
      setClientSession("page-B"); // the same notebook after a browser reload
      const b1 = captureDisplays(() => showFigure({ data: [{ type: "scatter", x: [1], y: [2] }] }));
      assert.equal(a1.filter(isLoader).length, 1, "first figure of page A loads the library");
      assert.equal(a2.filter(isLoader).length, 0, "second figure of page A does not");
      assert.equal(b1.filter(isLoader).length, 1, "the reloaded page gets the library again");
    } finally {
      setClientSession(undefined);
    }
  });
  test("a figure's HTML draws at once when window.Plotly exists, else asks the kernel over the prefopt.plotly comm", () => {
    const html = figureHtml({ data: [{ type: "bar", x: [1], y: [1] }] }, "f1", false);
    assert.match(html, /if\(window\.Plotly\)\{draw\(\);return;\}/);
    assert.match(html, /new_comm\("prefopt\.plotly"/);
    assert.ok(html.length < 4000, `no library inside (${html.length} chars)`);
  });
});

describe("execute_result data (richBundle)", () => {
  test("plain values: text/plain only, as Node's REPL prints them", () => {
    assert.deepEqual(richBundle(42), { "text/plain": "42" });
    assert.deepEqual(richBundle("a"), { "text/plain": "'a'" });
    assert.deepEqual(richBundle([1, { b: 2 }]), { "text/plain": "[ 1, { b: 2 } ]" });
  });
  test("a DataFrame and a Series are HTML tables (escaped) with their size in the caption", () => {
    const dfd = require("danfojs-node") as typeof import("danfojs-node");
    const df = new dfd.DataFrame(
      [
        [1, "<b>"],
        [2, "y"],
      ],
      { columns: ["n", "s"] },
    );
    const b = richBundle(df);
    assert.match(String(b["text/html"]), /<table[\s\S]*2 rows × 2 columns[\s\S]*&lt;b&gt;/);
    assert.match(String(b["text/plain"]), /DataFrame: 2 rows × 2 columns\n\s+n\s+s/);
    const series = richBundle(df["n"]);
    assert.match(String(series["text/html"]), /Series: 2 values/);
  });
  test("a long DataFrame is elided to the first 10 and last 5 rows", () => {
    const dfd = require("danfojs-node") as typeof import("danfojs-node");
    const df = new dfd.DataFrame(
      Array.from({ length: 100 }, (_, i) => [i]),
      { columns: ["i"] },
    );
    const html = String(richBundle(df)["text/html"]);
    assert.equal((html.match(/<tr>/g) ?? []).length, 1 + 10 + 1 + 5, "header, head, ellipsis, tail");
    assert.match(html, />99</);
    assert.ok(!html.includes(">50<"));
  });
  test("elidedIndices keeps everything up to head + tail + 1 and elides the middle beyond", () => {
    assert.deepEqual(elidedIndices(4, 2, 1), [0, 1, 2, 3]);
    assert.deepEqual(elidedIndices(5, 2, 1), [0, 1, null, 4]);
  });
  test("a tensor: shape, dtype and values, elided when large; a disposed one says so", () => {
    const t = tf.tensor2d([
      [1, 2.5],
      [3, 4],
    ]);
    const html = tensorHtml(t);
    assert.match(html, /shape \[2, 2\] · dtype float32 · 4 values/);
    assert.match(html, /<td>2\.5<\/td>/);
    const big = tf.zeros([1000, 1000]);
    const bigHtml = String(richBundle(big)["text/html"]);
    assert.equal((bigHtml.match(/<tr>/g) ?? []).length, 16);
    assert.ok(bigHtml.length < 4000, `${bigHtml.length} chars for 10^6 values`);
    big.dispose();
    t.dispose();
    assert.match(tensorHtml(t), /disposed/);
    assert.match(String(richBundle(t)["text/plain"]), /disposed/);
    const cube = tf.ones([2, 2, 2]);
    assert.match(tensorHtml(cube), /<pre>Tensor/);
    cube.dispose();
  });
  test("a plotly figure gets the plotly mime type, HTML and a text summary; look-alikes do not", () => {
    const fig = { data: [{ type: "scatter", x: [1], y: [2] }], layout: { title: "t" } };
    const b = captureDisplays(() => undefined) && richBundle(fig);
    assert.deepEqual(Object.keys(b).sort(), ["application/vnd.plotly.v1+json", "text/html", "text/plain"]);
    assert.ok(isPlotlyFigure({ data: [] }));
    assert.ok(!isPlotlyFigure({ data: [1] }), "traces must be objects");
    assert.ok(!isPlotlyFigure({ data: [{}], other: 1 }), "no foreign keys");
    assert.ok(
      !isPlotlyFigure(
        new (class X {
          data = [{}];
        })(),
      ),
      "class instances are not figures",
    );
  });
});
