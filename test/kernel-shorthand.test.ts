// The kernel's fix for tslab's shorthand properties (jupyter/kernels/prefopt/shorthand.js): a later cell's
// `{ beta }` must reach the earlier cell's `beta` (tslab alone leaves it unresolved: ReferenceError).
import { describe, test } from "node:test";
import * as assert from "node:assert/strict";
import * as path from "path";

const tslabDir = path.dirname(require.resolve("tslab/package.json"));
const ts = require(require.resolve("@tslab/typescript-for-tslab", { paths: [tslabDir] }));
const { createConverter } = require("tslab/dist/converter") as {
  createConverter: (o: object) => {
    convert: (prev: string, src: string) => { output?: string; declOutput?: string; diagnostics: unknown[] };
    close: () => void;
  };
};
const { expandShorthandProperties } = require("../jupyter/kernels/prefopt/shorthand") as {
  expandShorthandProperties: (t: unknown, src: string) => string;
};

describe("kernel: shorthand properties", () => {
  test("spelled out everywhere they occur, and nothing else changes", () => {
    assert.equal(expandShorthandProperties(ts, "f({ beta })"), "f({ beta: beta })");
    assert.equal(expandShorthandProperties(ts, "({ a, b: 2, c } = o);"), "({ a: a, b: 2, c: c } = o);");
    assert.equal(expandShorthandProperties(ts, "({ a = 1 } = o);"), "({ a: a = 1 } = o);");
    assert.equal(expandShorthandProperties(ts, "const { a } = o; g(`{ x }`)"), "const { a } = o; g(`{ x }`)");
    assert.equal(
      expandShorthandProperties(ts, "tf.tidy(() => f(x, { beta, tau }))"),
      "tf.tidy(() => f(x, { beta: beta, tau: tau }))",
    );
  });

  test("a later cell's { beta } reads the earlier cell's beta (tslab alone leaves it unresolved)", () => {
    const conv = createConverter({});
    try {
      const first = conv.convert("", "const beta = 2;");
      const cell = "const o = (() => ({ beta }))();";
      const bare = conv.convert(first.declOutput ?? "", cell);
      assert.match(bare.output ?? "", /\(\{ beta \}\)/, "tslab 1.0.22 leaves the shorthand as it is");
      const fixed = conv.convert(first.declOutput ?? "", expandShorthandProperties(ts, cell));
      assert.deepEqual(fixed.diagnostics, []);
      assert.match(fixed.output ?? "", /beta: exports\.beta/);
      const exportsObj: Record<string, unknown> = { beta: 2 };
      new Function("exports", fixed.output ?? "")(exportsObj);
      assert.deepEqual(exportsObj.o, { beta: 2 });
    } finally {
      conv.close();
    }
  });
});
