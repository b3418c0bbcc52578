// Delimited (CSV/TSV) rows with RFC 4180 quoting, read line by line through readLines (so gzip, encodings,
// over-long lines and damaged files behave as for JSON Lines). Line ends may be LF, CRLF or CR alone; a
// quoted field keeps the line breaks inside it as they are.
import { readLines, type Line } from "./read";
import type { TextEncoding } from "./types";

export interface DelimitedRow {
  fields: string[];
  /** 1-based line where the row starts (a quoted field may span lines). */
  line: number;
  /** Set when a line of the row is not valid UTF-8 (see readLines). */
  invalidUtf8?: true;
}

/**
 * The lines of a delimited file with the line end that followed each ("\n", "\r\n", or "\r"). A file whose
 * first line holds a carriage return (CR) has classic Mac line ends: there every CR ends a line (and counts
 * as one for line numbers). Elsewhere a lone CR is data, as it always was.
 */
async function* delimitedLines(file: string, encoding: TextEncoding): AsyncGenerator<Line & { end: string }> {
  let crOnly: boolean | undefined;
  let extra = 0; // lines ended by a lone CR so far
  for await (const l of readLines(file, encoding)) {
    const end = l.cr ? "\r\n" : "\n";
    crOnly ??= l.text.includes("\r");
    if (!crOnly) {
      yield { ...l, end };
      continue;
    }
    const segments = l.text.split("\r");
    for (let i = 0; i < segments.length; i++) {
      const last = i === segments.length - 1;
      const seg: Line & { end: string } = { text: segments[i], line: l.line + extra + i, end: last ? end : "\r" };
      if (l.invalidUtf8) seg.invalidUtf8 = true;
      yield seg;
    }
    extra += segments.length - 1;
  }
}

/**
 * Rows of a delimited file. With `quote` set, fields may be quoted (RFC 4180: "" is an escaped quote, and
 * a quoted field may contain the delimiter and line breaks, kept as they are: CRLF stays CRLF); with
 * `quote: null` (TSV as UKPConvArg1 writes it) every character is literal. Line ends may be LF, CRLF or,
 * throughout the file, CR alone (see delimitedLines). A damaged gzip file throws as readLines does,
 * after the rows before the damage.
 */
export async function* readDelimited(
  file: string,
  opts: { delimiter: string; quote?: string | null; encoding?: TextEncoding },
): AsyncGenerator<DelimitedRow> {
  const q = opts.quote === undefined ? '"' : opts.quote;
  let fields: string[] = [];
  let field = "";
  let inQuotes = false;
  let startLine = 0;
  let invalid = false;
  let lineEnd = "\n"; // the end of the previous line: part of a quoted field that spans it
  const row = (): DelimitedRow =>
    invalid ? { fields, line: startLine, invalidUtf8: true } : { fields, line: startLine };
  for await (const { text, line, invalidUtf8, end } of delimitedLines(file, opts.encoding ?? "utf8")) {
    if (!inQuotes) {
      if (text === "") {
        yield { fields: [], line }; // a blank line: the caller counts it
        continue;
      }
      fields = [];
      field = "";
      startLine = line;
      invalid = false;
    } else {
      field += lineEnd;
    }
    lineEnd = end;
    if (invalidUtf8) invalid = true;
    if (q === null) {
      fields = text.split(opts.delimiter);
      yield row();
      continue;
    }
    let i = 0;
    while (i < text.length) {
      const c = text[i];
      if (inQuotes) {
        if (c === q && text[i + 1] === q) {
          field += q;
          i += 2;
        } else if (c === q) {
          inQuotes = false;
          i++;
        } else {
          field += c;
          i++;
        }
      } else if (c === q && field === "") {
        inQuotes = true;
        i++;
      } else if (text.startsWith(opts.delimiter, i)) {
        fields.push(field);
        field = "";
        i += opts.delimiter.length;
      } else {
        field += c;
        i++;
      }
    }
    if (!inQuotes) {
      fields.push(field);
      yield row();
    }
  }
  if (inQuotes) throw new Error(`${file}:${startLine}: quoted field never closed`);
}
