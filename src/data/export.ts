// Exporters back to the formats the loaders read (and TRL reads: `datasets.load_dataset("json", ...)`
// on a .jsonl file gives the columns prompt/chosen/rejected, prompt/completion/label, ...). `extra`
// fields are written back as top-level fields, so load → export → load is the identity.
//
// For TRL, export the explicit layout {prompt, chosen, rejected}. The implicit layout (whole dialogues,
// `implicitPrompt: true`) matches HH-RLHF's file format and round-trips through this project's loaders,
// but TRL re-derives the prompt of string dialogues itself (trl.data_utils.extract_prompt, used by
// maybe_extract_prompt) as the character-level longest common prefix of chosen and rejected, stepping
// back one character if that prefix ends in a space — not as the prefix up to the last "\n\nAssistant:".
// When both replies begin alike, TRL's prompt swallows the shared start of the reply (on HH-RLHF harmless
// test, 445 of its 2,308 valid pairs get a different prompt, e.g. one ending "…\n\nAssistant: I").
import * as fs from "fs";
import { Readable } from "stream";
import { pipeline } from "stream/promises";
import * as zlib from "zlib";
import { writeAtomicallyAsync, writeFileAtomic } from "../fsAtomic";
import { HH_ASSISTANT_MARKER } from "./records";
import type { Extra, PreferenceRecord, RankingRecord, Text, UnpairedRecord } from "./types";

type Exportable = PreferenceRecord | UnpairedRecord | RankingRecord;

/** The JSON object for one record: the format's fields first, then its extra fields. */
export function toJsonObject(record: Exportable): Record<string, unknown> {
  const { extra, ...fields } = record as Exportable & { extra?: Extra };
  return { ...fields, ...(extra ?? {}) }; // spreading defines own properties: a "__proto__" field stays a field
}

/**
 * Whole dialogues `{chosen, rejected}` (HH-RLHF's file layout): prompt + completion. Reads back through
 * loadHhRlhf / splitImplicitPrompt; TRL splits such strings differently (see the note at the top), so
 * give TRL the explicit layout instead.
 */
export function toImplicitPrompt(pair: PreferenceRecord): Record<string, unknown> {
  if (typeof pair.prompt === "string" && typeof pair.chosen === "string" && typeof pair.rejected === "string") {
    return { chosen: pair.prompt + pair.chosen, rejected: pair.prompt + pair.rejected, ...(pair.extra ?? {}) };
  }
  if (Array.isArray(pair.prompt) && Array.isArray(pair.chosen) && Array.isArray(pair.rejected)) {
    return {
      chosen: [...pair.prompt, ...pair.chosen],
      rejected: [...pair.prompt, ...pair.rejected],
      ...(pair.extra ?? {}),
    };
  }
  throw new Error("toImplicitPrompt: prompt, chosen and rejected must all be strings or all be message lists");
}

/** Format a prompt/response in HH-RLHF's dialogue convention ("\n\nHuman: …\n\nAssistant:", " response"). */
export function hhDialogue(prompt: string, response: string): { prompt: Text; completion: Text } {
  return { prompt: `\n\nHuman: ${prompt}${HH_ASSISTANT_MARKER}`, completion: ` ${response}` };
}

/** JSON Lines text for records (in memory; use writeJsonl for files). */
export function toJsonl(records: Exportable[], opts: Pick<WriteOptions, "implicitPrompt"> = {}): string {
  return records
    .map((r) => JSON.stringify(opts.implicitPrompt ? toImplicitPrompt(r as PreferenceRecord) : toJsonObject(r)) + "\n")
    .join("");
}

export interface WriteOptions {
  /** Gzip the output (default: when the file name ends in .gz). */
  gzip?: boolean;
  /** Write the implicit-prompt layout {chosen, rejected} (pairs only). */
  implicitPrompt?: boolean;
}

/**
 * Write JSON Lines (gzip by extension), streaming record by record; returns the number written. The file
 * appears only when complete (written to a temporary, fsync'ed, renamed: src/fsAtomic.ts); on any error
 * (full disk, a directory in the way, a record that cannot be exported) the promise rejects naming the
 * file, and no partial file is left.
 */
export async function writeJsonl(
  file: string,
  records: Iterable<Exportable>,
  opts: WriteOptions = {},
): Promise<number> {
  const gzip = opts.gzip ?? file.endsWith(".gz");
  let n = 0;
  await writeAtomicallyAsync(file, async (tmp) => {
    const lines = (function* () {
      for (const r of records) {
        const obj = opts.implicitPrompt ? toImplicitPrompt(r as PreferenceRecord) : toJsonObject(r);
        n++;
        yield JSON.stringify(obj) + "\n";
      }
    })();
    const source = Readable.from(lines);
    const out = fs.createWriteStream(tmp, { flags: "wx" });
    // pipeline() rejects on an error in any stage and destroys the others.
    if (gzip) await pipeline(source, zlib.createGzip(), out);
    else await pipeline(source, out);
  });
  return n;
}

/** Write one JSON array (pretty-printed, one record per element). */
export function writeJson(file: string, records: Exportable[], opts: Pick<WriteOptions, "implicitPrompt"> = {}): void {
  const objs = records.map((r) => (opts.implicitPrompt ? toImplicitPrompt(r as PreferenceRecord) : toJsonObject(r)));
  writeFileAtomic(file, JSON.stringify(objs, null, 1) + "\n");
}

function csvField(value: string, delimiter: string): string {
  return /["\n\r]/.test(value) || value.includes(delimiter) ? `"${value.replace(/"/g, '""')}"` : value;
}

/** A number written as text ("-1.5", "+7", "1e-3"): a spreadsheet reads it as a number, not a formula. */
const NUMBER_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/**
 * A string cell that a spreadsheet would run as a formula (it starts with =, +, -, @, a tab or a carriage
 * return: CSV injection, OWASP) gets a single quote in front, as OWASP advises; the quote shows in the
 * spreadsheet and stays in the text when the file is read back. Number-like text ("-1.5") is left as is.
 */
export function neutraliseFormula(value: string): string {
  return /^[=+\-@\t\r]/.test(value) && !NUMBER_TEXT.test(value) ? `'${value}` : value;
}

export interface DelimitedWriteOptions {
  /** Prefix string cells that a spreadsheet would run as formulas with "'" (default true; see neutraliseFormula). */
  neutraliseFormulas?: boolean;
}

/**
 * Write CSV/TSV (RFC 4180 quoting) with the given columns. Cells are strings or finite numbers; string
 * cells that start like a spreadsheet formula are neutralised (neutraliseFormula) unless
 * `neutraliseFormulas: false`; numbers are written as numbers.
 */
export function writeDelimited(
  file: string,
  rows: Array<Record<string, string | number>>,
  columns: string[],
  delimiter = ",",
  opts: DelimitedWriteOptions = {},
): void {
  const guard = opts.neutraliseFormulas ?? true;
  const cell = (value: string) => csvField(guard ? neutraliseFormula(value) : value, delimiter);
  const lines = [columns.map(cell).join(delimiter)];
  rows.forEach((row, i) => {
    const cells = columns.map((c) => {
      const v = row[c];
      if (typeof v === "number") {
        if (!Number.isFinite(v))
          throw new Error(`writeDelimited: row ${i + 1}, column "${c}": ${v} is not a finite number`);
        return String(v);
      }
      if (typeof v !== "string") throw new Error(`writeDelimited: row ${i + 1} has no string or number column "${c}"`);
      return cell(v);
    });
    lines.push(cells.join(delimiter));
  });
  writeFileAtomic(file, lines.join("\n") + "\n");
}
