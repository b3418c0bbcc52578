// src/smallMultiples.ts: the grid of panels the notebooks use when a figure would hold more than 8
// traces. Checked on the plotly spec it returns: axes and legends per panel, panel domains inside the
// figure and apart, titles in the right places, errors naming the panel that breaks the rule.
import { describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { smallMultiples, MAX_TRACES_PER_PANEL } from "../src/smallMultiples";

const line = (name: string) => ({ type: "scatter", mode: "lines", name, x: [0, 1], y: [1, 2] });
const opts = { title: "demo", xTitle: "margin h (nats)", yTitle: "weight" };

describe("smallMultiples", () => {
  test("each panel's traces get that panel's axes and legend; the inputs are left alone", () => {
    const panels = [
      { title: "A", traces: [line("a1"), line("a2")] },
      { title: "B", traces: [line("b1")] },
      { title: "C", traces: [line("c1"), line("c2"), line("c3")] },
    ];
    const fig = smallMultiples(panels, opts);
    assert.deepEqual(
      fig.data.map((t) => [t.name, t.xaxis, t.yaxis, t.legend]),
      [
        ["a1", "x", "y", "legend"],
        ["a2", "x", "y", "legend"],
        ["b1", "x2", "y2", "legend2"],
        ["c1", "x3", "y3", "legend3"],
        ["c2", "x3", "y3", "legend3"],
        ["c3", "x3", "y3", "legend3"],
      ],
    );
    assert.equal(panels[0].traces[0].hasOwnProperty("xaxis"), false);
    for (const s of ["", "2", "3"]) {
      assert.equal((fig.layout[`xaxis${s}`] as { anchor: string }).anchor, `y${s}`);
      assert.equal((fig.layout[`yaxis${s}`] as { anchor: string }).anchor, `x${s}`);
      assert.ok(fig.layout[`legend${s}`], `legend${s}`);
    }
    const notes = fig.layout.annotations as Array<{ text: string; xref: string }>;
    assert.deepEqual(
      notes.map((a) => [a.text, a.xref]),
      [
        ["<b>A</b>", "x domain"],
        ["<b>B</b>", "x2 domain"],
        ["<b>C</b>", "x3 domain"],
      ],
    );
  });

  test("panels lie inside the figure without overlapping; axis titles on the bottom row and first column", () => {
    const panels = Array.from({ length: 5 }, (_, i) => ({ title: `P${i}`, traces: [line(`t${i}`)] }));
    const fig = smallMultiples(panels, { ...opts, columns: 2, yaxis: { type: "log" } });
    const dom = panels.map((_, k) => {
      const s = k === 0 ? "" : String(k + 1);
      const xa = fig.layout[`xaxis${s}`] as { domain: number[]; title?: { text: string } };
      const ya = fig.layout[`yaxis${s}`] as { domain: number[]; title?: { text: string }; type: string };
      assert.equal(ya.type, "log");
      return { x: xa.domain, y: ya.domain, xTitle: xa.title?.text, yTitle: ya.title?.text };
    });
    for (const d of dom) {
      assert.ok(d.x[0] >= 0 && d.x[1] <= 1 && d.x[0] < d.x[1], `x domain ${d.x}`);
      assert.ok(d.y[0] >= -1e-12 && d.y[1] <= 1 + 1e-12 && d.y[0] < d.y[1], `y domain ${d.y}`);
    }
    for (let a = 0; a < dom.length; a++)
      for (let b = a + 1; b < dom.length; b++) {
        const apartX = dom[a].x[1] <= dom[b].x[0] || dom[b].x[1] <= dom[a].x[0];
        const apartY = dom[a].y[1] <= dom[b].y[0] || dom[b].y[1] <= dom[a].y[0];
        assert.ok(apartX || apartY, `panels ${a} and ${b} overlap`);
      }
    // 5 panels in 2 columns: rows [0 1] [2 3] [4]; the lowest of each column are 3 and 4.
    assert.deepEqual(
      dom.map((d) => d.xTitle),
      [undefined, undefined, undefined, opts.xTitle, opts.xTitle],
    );
    assert.deepEqual(
      dom.map((d) => d.yTitle),
      [opts.yTitle, undefined, opts.yTitle, undefined, opts.yTitle],
    );
  });

  test("a panel over the trace limit, an empty panel, no panels or a bad column count is an error naming it", () => {
    const many = Array.from({ length: MAX_TRACES_PER_PANEL + 1 }, (_, i) => line(`t${i}`));
    assert.equal(MAX_TRACES_PER_PANEL, 8);
    assert.throws(
      () =>
        smallMultiples(
          [
            { title: "ok", traces: [line("a")] },
            { title: "crowded", traces: many },
          ],
          opts,
        ),
      /panel "crowded" has 9 traces \(at most 8/,
    );
    assert.doesNotThrow(() => smallMultiples([{ title: "full", traces: many.slice(0, 8) }], opts));
    assert.throws(() => smallMultiples([{ title: "empty", traces: [] }], opts), /panel "empty" has no traces/);
    assert.throws(() => smallMultiples([], opts), /no panels/);
    assert.throws(() => smallMultiples([{ title: "p", traces: [line("a")] }], { ...opts, columns: 0 }), /columns/);
  });
});
