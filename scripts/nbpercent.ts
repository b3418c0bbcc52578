// Converts between .ipynb notebooks and a plain-text "percent" format (as jupytext uses), which is easier
// to write and review in a text editor:
//
//   // %% [markdown]
//   // # A heading
//   // Some prose with $\LaTeX$.
//   // %%
//   const x = 1 + 1;
//
// The .ipynb in notebooks/ is the source of truth and is committed without outputs.
//
//   node --import tsx scripts/nbpercent.ts to-ipynb notebooks/01-x.nb.ts notebooks/01-x.ipynb
//   node --import tsx scripts/nbpercent.ts to-percent notebooks/01-x.ipynb /tmp/01-x.nb.ts
//   node --import tsx scripts/nbpercent.ts strip notebooks/*.ipynb   (remove outputs in place)
//   node --import tsx scripts/nbpercent.ts format notebooks/*.ipynb  (prettier on code cells, width 100)
//
// `format` keeps code cells within the notebook style test/notebook-style.test.ts enforces (lines ≤ 100
// characters); a cell prettier cannot parse is left as it was and named, and the file is rewritten
// atomically (complete, or the old file intact).
import * as fs from "fs";
import { writeFileAtomic } from "../src/fsAtomic";

interface Cell {
  cell_type: "markdown" | "code";
  metadata: Record<string, unknown>;
  source: string[];
  outputs?: unknown[];
  execution_count?: number | null;
}

const KERNELSPEC = { name: "prefopt", display_name: "TypeScript (prefopt)", language: "typescript" };

function splitLines(text: string): string[] {
  const lines = text.split("\n");
  return lines
    .map((l, i) => (i < lines.length - 1 ? l + "\n" : l))
    .filter((l, i, a) => !(i === a.length - 1 && l === ""));
}

export function percentToNotebook(text: string): object {
  const cells: Cell[] = [];
  let current: { type: "markdown" | "code"; lines: string[] } | null = null;
  const flush = () => {
    if (!current) return;
    const lines = [...current.lines];
    while (lines.length && lines[lines.length - 1].trim() === "") lines.pop();
    while (lines.length && lines[0].trim() === "") lines.shift();
    if (lines.length) {
      const src = splitLines(lines.join("\n"));
      cells.push(
        current.type === "markdown"
          ? { cell_type: "markdown", metadata: {}, source: src }
          : { cell_type: "code", metadata: {}, source: src, outputs: [], execution_count: null },
      );
    }
  };
  for (const line of text.split("\n")) {
    const marker = /^\/\/ %%(.*)$/.exec(line);
    if (marker) {
      flush();
      current = { type: marker[1].includes("[markdown]") ? "markdown" : "code", lines: [] };
      continue;
    }
    if (!current) current = { type: "code", lines: [] };
    current.lines.push(current.type === "markdown" ? line.replace(/^\/\/ ?/, "") : line);
  }
  flush();
  return {
    cells,
    metadata: {
      kernelspec: KERNELSPEC,
      language_info: {
        name: "typescript",
        file_extension: ".ts",
        mimetype: "text/typescript",
        codemirror_mode: { mode: "typescript", name: "javascript", typescript: true },
      },
    },
    nbformat: 4,
    nbformat_minor: 5,
  };
}

export function notebookToPercent(nb: { cells: Cell[] }): string {
  return (
    nb.cells
      .map((c) => {
        const src = (Array.isArray(c.source) ? c.source.join("") : String(c.source)).replace(/\n$/, "");
        return c.cell_type === "markdown"
          ? "// %% [markdown]\n" +
              src
                .split("\n")
                .map((l) => (l ? `// ${l}` : "//"))
                .join("\n")
          : "// %%\n" + src;
      })
      .join("\n\n") + "\n"
  );
}

export function stripOutputs(nb: { cells: Cell[]; metadata: Record<string, unknown> }): object {
  for (const [i, c] of nb.cells.entries()) {
    if (c.cell_type === "code") {
      c.outputs = [];
      c.execution_count = null;
    }
    c.metadata = {};
    (c as unknown as Record<string, unknown>).id = `cell-${i}`;
  }
  nb.metadata = {
    kernelspec: KERNELSPEC,
    language_info: (nb.metadata.language_info as object) ?? { name: "typescript" },
  };
  return nb;
}

/** The notebook with every code cell run through prettier (TypeScript, printWidth 100), and the cells it could not parse. */
export async function formatNotebookCells(
  nb: { cells: Cell[] },
  name = "notebook",
): Promise<{ notebook: { cells: Cell[] }; problems: string[] }> {
  const prettier = await import("prettier");
  const problems: string[] = [];
  for (const [i, c] of nb.cells.entries()) {
    if (c.cell_type !== "code") continue;
    const src = Array.isArray(c.source) ? c.source.join("") : String(c.source);
    try {
      const out = await prettier.format(src, { parser: "typescript", printWidth: 100 });
      c.source = splitLines(out.replace(/\n+$/, ""));
    } catch (e) {
      problems.push(`${name} [cell ${i}]: not formatted: ${(e as Error).message.split("\n")[0]}`);
    }
  }
  return { notebook: nb, problems };
}

function withIds(nb: { cells: Cell[] }): object {
  nb.cells.forEach((c, i) => ((c as unknown as Record<string, unknown>).id = `cell-${i}`));
  return nb;
}

async function main(argv: string[]): Promise<void> {
  const [cmd, ...files] = argv;
  if (cmd === "format" && files.length > 0) {
    let failed = false;
    for (const f of files) {
      const { notebook, problems } = await formatNotebookCells(JSON.parse(fs.readFileSync(f, "utf8")), f);
      writeFileAtomic(f, JSON.stringify(notebook, null, 1) + "\n");
      for (const p of problems) console.error(p);
      failed ||= problems.length > 0;
    }
    if (failed) process.exit(1);
  } else if (cmd === "to-ipynb" && files.length === 2) {
    const nb = withIds(percentToNotebook(fs.readFileSync(files[0], "utf8")) as { cells: Cell[] });
    fs.writeFileSync(files[1], JSON.stringify(nb, null, 1) + "\n");
  } else if (cmd === "to-percent" && files.length === 2) {
    fs.writeFileSync(files[1], notebookToPercent(JSON.parse(fs.readFileSync(files[0], "utf8"))));
  } else if (cmd === "strip" && files.length > 0) {
    for (const f of files)
      fs.writeFileSync(f, JSON.stringify(stripOutputs(JSON.parse(fs.readFileSync(f, "utf8"))), null, 1) + "\n");
  } else {
    console.error(
      "usage: nbpercent.ts to-ipynb IN.nb.ts OUT.ipynb | to-percent IN.ipynb OUT.nb.ts | strip NB.ipynb..." +
        " | format NB.ipynb...",
    );
    process.exit(2);
  }
}

if (require.main === module)
  main(process.argv.slice(2)).catch((e) => {
    console.error((e as Error).message);
    process.exit(1);
  });
