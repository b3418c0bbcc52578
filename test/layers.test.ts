// The layout as a checked fact: the import graph of src/ has no file cycle, no two top-level folders
// (or top-level files) import each other directly or through others, the sweep engine imports no
// experiment kind, and src/experiments/index.ts lists every kind module in the folder under the name it
// registers.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { BUILTIN_KINDS } from "../src/experiments/index";
import { getExperimentKind, listExperimentKinds } from "../src/sweep/kinds";

const SRC = path.join(__dirname, "..", "src");

/** Every relative import/export/require of every .ts file under src/, resolved to a file. */
function importGraph(): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".ts")) graph.set(p, new Set());
    }
  };
  walk(SRC);
  const spec = /(?:import|export)[^;]*?from\s+"(\.[^"]+)"|import\s+"(\.[^"]+)"|require\("(\.[^"]+)"\)/g;
  for (const [file, out] of graph) {
    for (const m of fs.readFileSync(file, "utf8").matchAll(spec)) {
      const target = path.resolve(path.dirname(file), m[1] ?? m[2] ?? m[3]);
      const hit = [`${target}.ts`, path.join(target, "index.ts"), target].find((c) => graph.has(c));
      assert.ok(hit, `${path.relative(SRC, file)} imports ${m[0]}, which resolves to no file under src/`);
      out.add(hit);
    }
  }
  return graph;
}

/** The top-level unit a file belongs to: its folder under src/, or the file itself at the top. */
const unitOf = (file: string): string => path.relative(SRC, file).split(path.sep)[0];

/** A cycle through `start` in `edges`, as a list of nodes, or undefined. */
function cycleThrough<T>(edges: Map<T, Set<T>>, start: T): T[] | undefined {
  const stack: Array<{ node: T; trail: T[] }> = [{ node: start, trail: [start] }];
  const seen = new Set<T>();
  while (stack.length > 0) {
    const { node, trail } = stack.pop()!;
    for (const next of edges.get(node) ?? []) {
      if (next === start) return [...trail, start];
      if (!seen.has(next)) {
        seen.add(next);
        stack.push({ node: next, trail: [...trail, next] });
      }
    }
  }
  return undefined;
}

const graph = importGraph();

test("no file under src/ imports itself through others", () => {
  for (const file of graph.keys()) {
    const cycle = cycleThrough(graph, file);
    assert.equal(cycle, undefined, `file cycle: ${cycle?.map((f) => path.relative(SRC, f)).join(" → ")}`);
  }
});

test("top-level folders form layers: none imports one that imports it back", () => {
  const units = new Map<string, Set<string>>();
  for (const [file, targets] of graph) {
    const from = unitOf(file);
    if (from === "index.ts") continue; // the package entry re-exports everything: the top by definition
    for (const t of targets) {
      const to = unitOf(t);
      if (to !== from) (units.get(from) ?? units.set(from, new Set()).get(from)!).add(to);
    }
  }
  for (const unit of units.keys()) {
    const cycle = cycleThrough(units, unit);
    assert.equal(cycle, undefined, `folder cycle: ${cycle?.join(" → ")}`);
  }
  // The engine is generic: it knows experiments only through declared module paths.
  for (const [file, targets] of graph)
    if (unitOf(file) === "sweep")
      for (const t of targets)
        assert.notEqual(unitOf(t), "experiments", `${path.relative(SRC, file)} imports ${path.relative(SRC, t)}`);
});

test("the constructed cycle check can fail", () => {
  const edges = new Map([
    ["a", new Set(["b"])],
    ["b", new Set(["c"])],
    ["c", new Set(["a"])],
  ]);
  assert.deepEqual(cycleThrough(edges, "a"), ["a", "b", "c", "a"]);
  edges.get("c")!.delete("a");
  assert.equal(cycleThrough(edges, "a"), undefined);
});

test("src/experiments/index.ts lists every kind module, and each registers the name it is listed under", () => {
  const files = fs.readdirSync(path.join(SRC, "experiments")).filter((f) => f.endsWith("-kind.ts"));
  assert.deepEqual(Object.values(BUILTIN_KINDS).sort(), files.sort(), "BUILTIN_KINDS and the *-kind.ts files differ");
  for (const name of Object.keys(BUILTIN_KINDS)) {
    assert.ok(listExperimentKinds().includes(name));
    assert.equal(getExperimentKind(name).name, name);
  }
});

test("the TRL file I/O and trainOnTrlFile are the LM track's (src/lm/), and pf.fig2 re-exports the same functions", async () => {
  const lm = await import("../src/lm/index");
  const fig2 = await import("../src/fig2/index");
  for (const name of [
    "toTrlRecords",
    "writeTrlFiles",
    "readTrlFiles",
    "textToSequence",
    "encodeDecoded",
    "trainOnTrlFile",
  ])
    assert.equal(
      (fig2 as Record<string, unknown>)[name],
      (lm as Record<string, unknown>)[name],
      `pf.fig2.${name} is pf.lm.${name}`,
    );
  const trl = [path.join(SRC, "lm", "trlFiles.ts"), path.join(SRC, "lm", "trainOnTrlFile.ts")];
  for (const f of trl)
    for (const t of graph.get(f)!) assert.notEqual(unitOf(t), "fig2", `${path.relative(SRC, f)} imports ${t}`);
});
