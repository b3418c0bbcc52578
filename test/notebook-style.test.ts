// The notebooks' teaching style (issue 29), checked on the committed .ipynb sources: every code cell
// ≤ 40 lines with lines ≤ 100 characters (the HTML export cuts longer ones), every markdown cell ≤ 40
// lines, an opening markdown cell that names what you will learn, what you need, the reading time and
// the run time, and a "Try it" markdown cell followed by a code cell with the knobs.
// Notebooks not yet rewritten are listed by name in NOT_YET_CHECKED with the reason, so the gap is
// visible here and in the test output rather than silent; a notebook in neither list fails the test.
import { describe, test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import { formatNotebookCells } from "../scripts/nbpercent";

const DIR = path.join(__dirname, "..", "notebooks");

export const CHECKED = [
  "00-environment.ipynb",
  "01-plackett-luce.ipynb",
  "02-kl-regularised-rl.ipynb",
  "03-dpo-from-rl.ipynb",
  "04-ipo.ipynb",
  "05-kto.ipynb",
  "06-language-model-rlaif.ipynb",
  "07-ablations.ipynb",
  "08-human-preferences.ipynb",
  "09-dpo-figure2.ipynb",
  "10-loss-zoo.ipynb",
  "11-human-preferences-lm.ipynb",
  "12-online-methods.ipynb",
];

export const NOT_YET_CHECKED: Record<string, string> = {};

export const MAX_CELL_LINES = 40;
export const MAX_LINE_CHARS = 100;

export interface NotebookCell {
  cell_type: string;
  source: string | string[];
}

function cellText(cell: NotebookCell): string {
  return Array.isArray(cell.source) ? cell.source.join("") : cell.source;
}

/** Every way a notebook breaks the style rules, as "name [cell i]: what" lines (empty when it keeps them). */
export function styleProblems(name: string, cells: NotebookCell[]): string[] {
  const problems: string[] = [];
  cells.forEach((cell, i) => {
    const lines = cellText(cell).replace(/\n$/, "").split("\n");
    if (lines.length > MAX_CELL_LINES)
      problems.push(`${name} [cell ${i}]: ${cell.cell_type} cell of ${lines.length} lines (> ${MAX_CELL_LINES})`);
    if (cell.cell_type !== "code") return;
    lines.forEach((line, j) => {
      // Counted in characters as a reader sees them (code points), not UTF-16 units.
      const width = [...line].length;
      if (width > MAX_LINE_CHARS)
        problems.push(`${name} [cell ${i}] line ${j + 1}: ${width} characters (> ${MAX_LINE_CHARS})`);
    });
  });
  const first = cells[0];
  if (!first || first.cell_type !== "markdown") problems.push(`${name}: the first cell is not a markdown cell`);
  else {
    const text = cellText(first);
    const needs: Array<[RegExp, string]> = [
      [/you will learn/i, '"You will learn" (the learning goals)'],
      [/you need/i, '"You need" (prior notebooks, maths)'],
      [/reading time/i, '"Reading time"'],
      [/run time/i, '"Run time"'],
    ];
    for (const [re, what] of needs)
      if (!re.test(text)) problems.push(`${name}: the opening cell does not name ${what}`);
  }
  const tryAt = cells.findIndex((c) => c.cell_type === "markdown" && /^#+\s*Try it\b/im.test(cellText(c)));
  if (tryAt < 0) problems.push(`${name}: no "Try it" markdown cell (a heading "## Try it")`);
  else if (cells[tryAt + 1]?.cell_type !== "code")
    problems.push(`${name}: the "Try it" cell is not followed by a code cell with the knobs`);
  return problems;
}

function readCells(file: string): NotebookCell[] {
  return (JSON.parse(fs.readFileSync(path.join(DIR, file), "utf8")) as { cells: NotebookCell[] }).cells;
}

describe("notebook style (issue 29)", () => {
  test("every notebook is either checked or listed as not yet checked, with its reason", () => {
    const onDisk = fs.readdirSync(DIR).filter((f) => f.endsWith(".ipynb"));
    const unlisted = onDisk.filter((f) => !CHECKED.includes(f) && !(f in NOT_YET_CHECKED));
    assert.deepEqual(unlisted, [], `notebooks in neither list: ${unlisted.join(", ")}`);
    const gone = [...CHECKED, ...Object.keys(NOT_YET_CHECKED)].filter((f) => !onDisk.includes(f));
    assert.deepEqual(gone, [], `listed notebooks that do not exist: ${gone.join(", ")}`);
    for (const [f, why] of Object.entries(NOT_YET_CHECKED)) console.log(`NOT YET CHECKED ${f}: ${why}`);
  });

  for (const file of CHECKED) {
    test(`${file}: short cells and lines, an opening cell with goals, needs and times, a "Try it" cell`, () => {
      const problems = styleProblems(file, readCells(file));
      assert.deepEqual(problems, [], problems.join("\n"));
    });
  }

  test("the checker catches each kind of problem (and passes a notebook that keeps the rules)", () => {
    const md = (s: string): NotebookCell => ({ cell_type: "markdown", source: s });
    const code = (s: string): NotebookCell => ({ cell_type: "code", source: s });
    const opening = md("# T\nYou will learn x. You need y. Reading time 5 min, run time 3 s.");
    const good = [opening, code("const a = 1;"), md("## Try it\nTurn β."), code("const beta = 1;")];
    assert.deepEqual(styleProblems("good", good), []);
    const long = code("x\n".repeat(41));
    assert.match(styleProblems("n", [...good, long]).join(), /code cell of 41 lines/);
    assert.match(styleProblems("n", [...good, md("p\n".repeat(41))]).join(), /markdown cell of 41 lines/);
    assert.match(styleProblems("n", [...good, code("y".repeat(101))]).join(), /101 characters/);
    assert.deepEqual(styleProblems("n", [...good, code("σ".repeat(100))]), []); // code points, not bytes
    assert.match(styleProblems("n", [md("# T"), ...good.slice(1)]).join("\n"), /does not name "You will learn"/);
    assert.match(styleProblems("n", [code("1"), ...good]).join(), /first cell is not a markdown cell/);
    assert.match(styleProblems("n", good.slice(0, 2)).join(), /no "Try it"/);
    assert.match(styleProblems("n", [...good.slice(0, 3), md("x")]).join(), /not followed by a code cell/);
  });
});

describe("nbpercent format (the formatter the style test asks for)", () => {
  test("wraps long code lines to ≤ 100 characters, leaves markdown alone, names a cell it cannot parse", async () => {
    const long = `const total = ${Array.from({ length: 12 }, (_, i) => `value${i}`).join(" + ")}; console.log(total);`;
    assert.ok(long.length > 100);
    const prose = "A markdown line " + "that is long ".repeat(10);
    const nb = {
      cells: [
        { cell_type: "markdown" as const, metadata: {}, source: [prose] },
        { cell_type: "code" as const, metadata: {}, source: [long] },
        { cell_type: "code" as const, metadata: {}, source: ["const = ;"] },
      ],
    };
    const { notebook, problems } = await formatNotebookCells(nb, "demo.ipynb");
    assert.deepEqual(notebook.cells[0].source, [prose]);
    assert.deepEqual(
      styleProblems("demo", notebook.cells).filter((p) => /characters/.test(p)),
      [],
    );
    assert.match(notebook.cells[1].source.join(""), /console\.log\(total\);$/);
    assert.deepEqual(notebook.cells[2].source, ["const = ;"]);
    assert.equal(problems.length, 1);
    assert.match(problems[0], /^demo\.ipynb \[cell 2\]: not formatted/);
  });
});
