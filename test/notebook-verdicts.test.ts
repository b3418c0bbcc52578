// The notebooks' verdict tables, checked on their source (they take minutes to run): no verdict typed in
// (`grade(true)`, `grade(false, …)`, `grade(x, true)`, a string literal as `reproduced`), no measured text
// without computed numbers (a plain or template string with no `${…}`), every row states `expected`, and no check that cannot fail (a check on the verdict table's own
// vocabulary). src/notebook.ts's verdictRows checks the same rows again when a notebook runs.
import { describe, test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";

const DIR = path.join(__dirname, "..", "notebooks");
const notebooks = fs
  .readdirSync(DIR)
  .filter((f) => f.endsWith(".ipynb"))
  .sort();

/** Code cells of a notebook as [cell index, source]. */
function codeCells(file: string): Array<[number, string]> {
  const nb = JSON.parse(fs.readFileSync(path.join(DIR, file), "utf8")) as {
    cells: Array<{ cell_type: string; source: string[] | string }>;
  };
  return nb.cells
    .map((c, i): [number, string, string] => [i, c.cell_type, Array.isArray(c.source) ? c.source.join("") : c.source])
    .filter(([, type]) => type === "code")
    .map(([i, , src]) => [i, src]);
}

/** Problems in one cell's verdict rows (an empty list when it has none or they are fine). */
export function verdictProblems(src: string): string[] {
  const problems: string[] = [];
  // A literal first argument, or a literal second one after a (possibly call-containing) first argument.
  if (/\bgrade\(\s*(true|false)\s*[,)]/.test(src) || /\bgrade\((?:[^()]|\([^()]*\))*?,\s*(true|false)\s*\)/.test(src))
    problems.push("grade() with a literal condition (compute it, or use NOT_TESTABLE with a reason)");
  if (/\breproduced:\s*["'`]/.test(src)) problems.push("a reproduced verdict typed in as a string");
  if (/\bmeasured:\s*"[^"]*"\s*,/.test(src) || /\bmeasured:\s*'[^']*'\s*,/.test(src))
    problems.push("a measured text that is a plain string (no computed number)");
  else if ([...src.matchAll(/\bmeasured:\s*`([^`]*)`/g)].some((m) => !m[1].includes("${")))
    problems.push("a measured text that is a plain string (no computed number)");
  const reproduced = (src.match(/\breproduced:/g) ?? []).length;
  const expected = (src.match(/\bexpected:/g) ?? []).length;
  if (reproduced !== expected) problems.push(`${reproduced} verdict rows but ${expected} expected fields`);
  if (/every claim has a computed verdict/.test(src)) problems.push("a check on the verdicts' vocabulary cannot fail");
  return problems;
}

describe("notebook verdict tables can fail", () => {
  test("the source checks catch each defect", () => {
    assert.deepEqual(verdictProblems('reproduced: pf.grade(x < 1),\n expected: "yes",\n measured: `${x}`,'), []);
    assert.match(verdictProblems("reproduced: pf.grade(true),\n expected: 'yes'").join(), /literal condition/);
    assert.match(verdictProblems("reproduced: pf.grade(false, ok),\n expected: 'partly'").join(), /literal/);
    assert.match(verdictProblems('reproduced: "yes",\n expected: "yes"').join(), /typed in as a string/);
    assert.match(verdictProblems('measured: "exact",\n reproduced: g,\n expected: "yes"').join(), /plain string/);
    assert.match(verdictProblems("reproduced: pf.grade(a),\n why: 'w',").join(), /1 verdict rows but 0 expected/);
  });
  test("a literal second argument of grade() and a template measured text without ${…} are caught", () => {
    assert.match(verdictProblems("reproduced: pf.grade(x < 1, true),\n expected: 'yes'").join(), /literal/);
    assert.match(verdictProblems("reproduced: pf.grade(f(a, b), false),\n expected: 'no'").join(), /literal/);
    assert.deepEqual(verdictProblems("reproduced: pf.grade(x < 1, y > 2),\n expected: 'yes'"), []);
    assert.match(verdictProblems("measured: `exact`,\n reproduced: g,\n expected: 'yes'").join(), /plain string/);
    assert.deepEqual(verdictProblems("measured: `d = ${d.toFixed(2)}`,\n reproduced: g,\n expected: 'yes'"), []);
  });
  for (const file of notebooks) {
    test(file, () => {
      const found = codeCells(file).flatMap(([i, src]) => verdictProblems(src).map((p) => `cell ${i}: ${p}`));
      assert.deepEqual(found, []);
    });
  }
});

test("notebook 09 calls the full results current only when made by today's fig2 kind version", () => {
  const cell = codeCells("09-dpo-figure2.ipynb").find(([, src]) => /const fullCurrent\s*=/.test(src));
  assert.ok(cell, "notebook 09 defines fullCurrent");
  const line = cell[1].split("\n").find((l) => /const fullCurrent\s*=/.test(l))!;
  assert.match(line, /FULL\.code\.kindVersion === fig2Kind\.version/);
  assert.match(cell[1], /import \{ fig2Kind \} from "\.\/src\/experiments\/fig2-kind"/);
});
