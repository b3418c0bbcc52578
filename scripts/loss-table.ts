// The loss table of docs/losses.md, generated from the loss registry (listLossTypes() in src/losses):
// `npm run docs:losses` rewrites the lines between the two marker comments and formats the file with
// prettier; test/docs.test.ts regenerates it in memory and fails, naming this command, when the committed
// table is stale. Nothing else in docs/losses.md is touched.
import * as fs from "fs";
import * as path from "path";
import * as prettier from "prettier";
import { listLossTypes, type LossTypeInfo } from "../src/losses/index";
import { writeFileAtomic } from "../src/fsAtomic";

export const LOSSES_DOC = path.join(__dirname, "..", "docs", "losses.md");
export const TABLE_START = "<!-- loss-table: generated from listLossTypes() by `npm run docs:losses`; do not edit -->";
export const TABLE_END = "<!-- /loss-table -->";

/**
 * A table cell: pipes escaped everywhere (so a formula such as π(y_t | y_<t) stays one cell), and outside code
 * spans `_` and `*` too, so that prettier's Markdown parser cannot read λ_D(…) / λ_U as emphasis (it drops
 * the escapes it does not need, and renders the same either way).
 */
const cell = (text: string): string =>
  text
    .split("`")
    .map((part, i) => (i % 2 === 1 ? part : part.replace(/[_*]/g, "\\$&")))
    .join("`")
    .replace(/\|/g, "\\|");

function needs(info: LossTypeInfo): string {
  const parts: string[] = [info.data, info.needsReference ? "reference" : "no reference"];
  if (info.lengths === "required") parts.push("token counts");
  if (info.batchCoupled) parts.push("batch-coupled");
  if (info.stateful) parts.push("stateful");
  return parts.join(", ");
}

function options(info: LossTypeInfo): string {
  const specs = Object.entries(info.options);
  if (specs.length === 0) return "—";
  return specs.map(([name, spec]) => (spec.default === undefined ? name : `${name}=${spec.default}`)).join(", ");
}

/** The Markdown table: one row per registered loss, in registration order (src/losses/all.ts). */
export function lossTable(): string {
  const rows = listLossTypes().map((info) => {
    const name =
      "`" + info.name + "`" + (info.aliases.length ? ` (${info.aliases.map((a) => "`" + a + "`").join(", ")})` : "");
    return `| ${[name, info.summary, needs(info), options(info), info.citation].map(cell).join(" | ")} |`;
  });
  return [
    "| name (aliases) | loss (a, b: log-ratios log π/π_ref of y_w, y_l; h = a − b) | data and needs | options (defaults) | citation |",
    "|---|---|---|---|---|",
    ...rows,
  ].join("\n");
}

/** `doc` with the table between the markers replaced by `table`, formatted as prettier formats the file. */
export async function withLossTable(doc: string, table: string, file = LOSSES_DOC): Promise<string> {
  const start = doc.indexOf(TABLE_START);
  const end = doc.indexOf(TABLE_END);
  if (start < 0 || end < start)
    throw new Error(`${file}: the markers ${TABLE_START} and ${TABLE_END} (in that order) are missing`);
  const next = `${doc.slice(0, start + TABLE_START.length)}\n\n${table}\n\n${doc.slice(end)}`;
  const config = (await prettier.resolveConfig(file)) ?? {};
  return prettier.format(next, { ...config, filepath: file });
}

async function main(): Promise<void> {
  const doc = fs.readFileSync(LOSSES_DOC, "utf8");
  const next = await withLossTable(doc, lossTable());
  if (next === doc) {
    console.log(
      `${path.relative(process.cwd(), LOSSES_DOC)}: the loss table is up to date (${listLossTypes().length} losses)`,
    );
    return;
  }
  writeFileAtomic(LOSSES_DOC, next);
  console.log(`${path.relative(process.cwd(), LOSSES_DOC)}: wrote the loss table (${listLossTypes().length} losses)`);
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
