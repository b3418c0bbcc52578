// File loaders for every supported format. Each returns the accepted records and a ValidationReport;
// in strict mode the first bad record throws instead. JSONL and delimited files stream line by line.
import * as fs from "fs";
import * as path from "path";
import { duplicateJsonKey } from "./jsonKeys";
import {
  invalidUtf8Lines,
  readAllBytes,
  decodeBytes,
  readLimits,
  readLines,
  splitJsonArray,
  TrailingBytesError,
  TruncatedInputError,
} from "./read";
import { readDelimited, type DelimitedRow } from "./delimited";
import { parsePreference, parseRanking, parseUnpaired, type PreferenceParseOptions } from "./records";
import { Collector, RecordError, type ValidationMode, type ValidationReport } from "./validation";
import type { LabelledText, PreferenceRecord, RankingRecord, TextEncoding, UnpairedRecord } from "./types";
import { describeBadRowGroup, isParquetFile, readParquetRows, type BadRowGroup } from "./parquet";
import { checkFieldMap, renameFields, type FieldMap } from "./fieldMap";

export interface LoadOptions {
  /** strict (default): throw at the first bad record; collect: keep good ones and report the rest. */
  mode?: ValidationMode;
  encoding?: TextEncoding;
  /**
   * "auto" (default): a file starting with Parquet's magic "PAR1" is Parquet (rows → records, the row
   * number in place of a line number), .json / .json.gz is one JSON array, anything else JSON Lines.
   */
  format?: "auto" | "jsonl" | "json" | "parquet";
  /** Rename fields before parsing, like `rename_column`: `{prompt: "question", chosen: "answer_good", rejected: "answer_bad"}`. */
  fields?: FieldMap;
}

/** Fields a mapping may target: those of preference pairs, unpaired examples and rankings. */
const MAPPABLE_FIELDS = ["prompt", "chosen", "rejected", "completion", "label", "responses", "scores"] as const;

function dataFormat(file: string, format: LoadOptions["format"]): "json" | "jsonl" | "parquet" {
  const parquet = format !== "parquet" && fs.existsSync(file) && isParquetFile(file);
  if (parquet && (format === "json" || format === "jsonl")) {
    throw new Error(
      `${file}: this is a Parquet file (it starts with "PAR1"), not ${format === "json" ? "JSON" : "JSON Lines"}; load it with format "parquet" or "auto"`,
    );
  }
  if (format === "parquet" || parquet) return "parquet";
  return jsonFormat(file, format);
}

export interface LoadResult<T> {
  records: T[];
  report: ValidationReport;
}

function jsonFormat(file: string, format: LoadOptions["format"]): "json" | "jsonl" {
  if (format === "json" || format === "jsonl") return format;
  return /\.json(\.gz)?$/i.test(file) ? "json" : "jsonl";
}

/**
 * A file that ends early or has bytes after its gzip data: a file-level issue at the line after the last
 * one read (strict mode throws it; collect mode keeps every record before it). Other errors are rethrown.
 */
function inputProblem(err: unknown, file: string, collector: Collector<unknown>): void {
  if (err instanceof TruncatedInputError)
    return collector.reject({ file, line: err.linesRead + 1, reason: "truncated-file", message: err.message });
  if (err instanceof TrailingBytesError)
    return collector.reject({ file, line: err.linesRead + 1, reason: "trailing-content", message: err.message });
  throw err;
}

/** The loaders' line reader: an over-long line is a line-too-long issue (strict mode throws it). */
function linesOf(file: string, encoding: TextEncoding, collector: Collector<unknown>) {
  return readLines(file, encoding, {
    onTooLong: (line, bytes) =>
      collector.reject({
        file,
        line,
        reason: "line-too-long",
        message: `the line is longer than ${readLimits.maxLineBytes} bytes (${bytes}); it is not read`,
      }),
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new RecordError("invalid-json", (err as Error).message);
  }
}

/**
 * Stream the records of a JSONL file (or the elements of a JSON array file), parsing each with `parse`.
 * Accepted records are yielded; rejected ones go to `collector` (which throws in strict mode).
 * JSON arrays are read whole (a JSON array cannot be split without reading it); JSONL never is.
 */
export async function* iterateJsonRecords<T>(
  file: string,
  parse: (value: unknown) => T,
  collector: Collector<T>,
  opts: LoadOptions = {},
): AsyncGenerator<T> {
  collector.addFile(file);
  const encoding = opts.encoding ?? "utf8";
  const fields = opts.fields;
  if (fields) checkFieldMap(fields, MAPPABLE_FIELDS, file);
  const parseValue = (value: unknown): T => parse(fields ? renameFields(value, fields) : value);
  const handle = function* (text: string, line: number, invalidUtf8?: boolean): Generator<T> {
    const before = collector.records.length;
    collector.attempt(file, line, () => {
      if (invalidUtf8)
        throw new RecordError(
          "invalid-encoding",
          `not valid UTF-8 (the bytes would be read as U+FFFD); if the file is Latin-1 or Windows-1252, pass encoding: "latin1" or "windows-1252"`,
        );
      const value = parseJson(text);
      const dup = duplicateJsonKey(text);
      if (dup !== undefined)
        throw new RecordError(
          "duplicate-key",
          `an object names the key ${JSON.stringify(dup)} twice; JSON.parse would keep only the last value`,
          dup,
        );
      return parseValue(value);
    });
    if (collector.records.length > before) yield collector.records.pop() as T;
  };
  const format = dataFormat(file, opts.format);
  if (format === "parquet") {
    const onBadRowGroup = (bad: BadRowGroup) =>
      collector.reject({
        file,
        line: bad.firstRow,
        reason: "truncated-file",
        message: `${describeBadRowGroup(bad)}; the ${bad.rows} rows of this row group are not read`,
      });
    for await (const { value, row } of readParquetRows(file, { onBadRowGroup })) {
      const before = collector.records.length;
      collector.attempt(file, row, () => parseValue(value));
      if (collector.records.length > before) yield collector.records.pop() as T;
    }
    return;
  }
  if (format === "json") {
    let elements;
    let trailing: { line: number; text: string } | undefined;
    let badLines = new Set<number>();
    let gzipTrailing: { line: number; message: string } | undefined;
    try {
      const { bytes, trailing: afterGzip } = await readAllBytes(file);
      if (encoding === "utf8") badLines = invalidUtf8Lines(bytes);
      const text = decodeBytes(bytes, encoding);
      if (afterGzip) gzipTrailing = { line: (text.match(/\n/g)?.length ?? 0) + 1, message: afterGzip };
      elements = splitJsonArray(text, (line, text) => (trailing = { line, text }));
    } catch (err) {
      if (err instanceof TruncatedInputError) throw err;
      throw new Error(`${file}: ${(err as Error).message}`);
    }
    for (const el of elements) {
      let invalid = false;
      const lastLine = el.line + (el.text.match(/\n/g)?.length ?? 0);
      for (const l of badLines) if (l >= el.line && l <= lastLine) invalid = true;
      yield* handle(el.text, el.line, invalid);
    }
    const t = trailing as { line: number; text: string } | undefined;
    if (t)
      collector.reject({
        file,
        line: t.line,
        reason: "trailing-content",
        message: `content after the closing "]" of the JSON array (${JSON.stringify(t.text)}…) is not read`,
      });
    if (gzipTrailing)
      collector.reject({
        file,
        line: gzipTrailing.line,
        reason: "trailing-content",
        message: `${gzipTrailing.message}; the JSON array before them is read`,
      });
    return;
  }
  try {
    for await (const { text, line, invalidUtf8 } of linesOf(file, encoding, collector)) {
      if (text.trim() === "") {
        collector.blank();
        continue;
      }
      yield* handle(text, line, invalidUtf8);
    }
  } catch (err) {
    inputProblem(err, file, collector);
  }
}

async function loadJson<T>(file: string, parse: (value: unknown) => T, opts: LoadOptions): Promise<LoadResult<T>> {
  const collector = new Collector<T>(opts.mode ?? "strict");
  const records: T[] = [];
  for await (const r of iterateJsonRecords(file, parse, collector, opts)) records.push(r);
  return { records, report: collector.report };
}

/** Preference pairs from JSONL/JSON: explicit `{prompt, chosen, rejected}` or implicit whole dialogues. */
export function loadPreferences(
  file: string,
  opts: LoadOptions & PreferenceParseOptions = {},
): Promise<LoadResult<PreferenceRecord>> {
  return loadJson(file, (v) => parsePreference(v, opts), opts);
}

/** Streaming variant: `for await (const pair of streamPreferences(file, {}, collector))`. */
export function streamPreferences(
  file: string,
  opts: LoadOptions & PreferenceParseOptions,
  collector: Collector<PreferenceRecord>,
): AsyncGenerator<PreferenceRecord> {
  return iterateJsonRecords(file, (v) => parsePreference(v, opts), collector, opts);
}

/** HH-RLHF files: gzip JSONL of `{chosen, rejected}` whole dialogues; prompt = shared prefix to the last "\n\nAssistant:". */
export function loadHhRlhf(file: string, opts: LoadOptions = {}): Promise<LoadResult<PreferenceRecord>> {
  return loadPreferences(file, { ...opts, prompt: "implicit" });
}

/** KTO-style unpaired examples `{prompt, completion, label: boolean}`. */
export function loadUnpaired(file: string, opts: LoadOptions = {}): Promise<LoadResult<UnpairedRecord>> {
  return loadJson(file, parseUnpaired, opts);
}

/** Rankings `{prompt, responses[], scores?}`, responses best first. */
export function loadRankings(file: string, opts: LoadOptions = {}): Promise<LoadResult<RankingRecord>> {
  return loadJson(file, parseRanking, opts);
}

export interface DelimitedOptions<T> extends Omit<LoadOptions, "format"> {
  /** Default: tab for .tsv/.txt, comma otherwise. */
  delimiter?: string;
  /** Quote character (default '"'); null = no quoting (every character literal). */
  quote?: string | null;
  /** true (default): the first row names the columns; or give the names for a file without a header. */
  header?: true | string[];
  /** Build a record from a row keyed by column name; throw RecordError for a bad row. */
  toRecord: (row: Record<string, string>, where: { file: string; line: number }) => T;
}

/** CSV/TSV with a column mapping (see `preferenceColumns`, `judgementColumns`). */
export async function loadDelimited<T>(file: string, opts: DelimitedOptions<T>): Promise<LoadResult<T>> {
  const collector = new Collector<T>(opts.mode ?? "strict");
  collector.addFile(file);
  const delimiter = opts.delimiter ?? (/\.(tsv|txt)(\.gz)?$/i.test(file) ? "\t" : ",");
  let columns: string[] | undefined = Array.isArray(opts.header) ? opts.header : undefined;
  const rows = readDelimited(file, { delimiter, quote: opts.quote, encoding: opts.encoding });
  try {
    for await (const row of rows) addRow(row);
  } catch (err) {
    inputProblem(err, file, collector);
  }
  return { records: collector.records, report: collector.report };

  function addRow({ fields, line, invalidUtf8 }: DelimitedRow): void {
    if (fields.length === 0) {
      collector.blank();
      return;
    }
    if (!columns) {
      if (invalidUtf8)
        throw new Error(
          `${file}:${line}: the header is not valid UTF-8; pass encoding: "latin1" or "windows-1252" if the file is not UTF-8`,
        );
      columns = fields.map((f) => f.trim());
      // Two columns of one name: a row keyed by name would keep only the last (silently dropping data).
      columns.forEach((c, i) => {
        const first = columns!.indexOf(c);
        if (first !== i)
          throw new Error(
            `${file}:${line}: the header names column ${JSON.stringify(c)} twice (columns ${first + 1} and ${i + 1}); rename one, or pass header: [names]`,
          );
      });
      return;
    }
    const cols = columns;
    collector.attempt(file, line, () => {
      if (invalidUtf8)
        throw new RecordError(
          "invalid-encoding",
          `not valid UTF-8 (the bytes would be read as U+FFFD); pass encoding: "latin1" or "windows-1252" if the file is not UTF-8`,
        );
      if (fields.length !== cols.length) {
        throw new RecordError("bad-row", `expected ${cols.length} fields (${cols.join(", ")}), got ${fields.length}`);
      }
      // fromEntries defines own properties, so a column named __proto__ is data, not a prototype.
      const row = Object.fromEntries(cols.map((c, i) => [c, fields[i]])) as Record<string, string>;
      return opts.toRecord(row, { file, line });
    });
  }
}

function column(row: Record<string, string>, name: string): string {
  const v = row[name];
  if (v === undefined)
    throw new RecordError("missing-field", `no column "${name}" (columns: ${Object.keys(row).join(", ")})`, name);
  if (v.trim() === "") throw new RecordError("empty-text", `column "${name}" is empty`, name);
  return v;
}

/** Mapping for rows that hold prompt/chosen/rejected columns; `prompt` may instead be a fixed string. */
export function preferenceColumns(map: { prompt: string | { fixed: string }; chosen: string; rejected: string }) {
  return (row: Record<string, string>): PreferenceRecord => {
    const prompt = typeof map.prompt === "string" ? column(row, map.prompt) : map.prompt.fixed;
    const chosen = column(row, map.chosen);
    const rejected = column(row, map.rejected);
    if (chosen === rejected) throw new RecordError("identical", "chosen is identical to rejected", map.rejected);
    return { prompt, chosen, rejected };
  };
}

/**
 * Mapping for pairwise judgements "which of a/b is better" (UKPConvArg1: `#id label a1 a2`, label a1|a2).
 * The `id` column, when given, is kept in `extra.id`.
 */
export function judgementColumns(map: {
  prompt: string | { fixed: string };
  first: string;
  second: string;
  label: string;
  firstWins: string;
  secondWins: string;
  id?: string;
}) {
  return (row: Record<string, string>): PreferenceRecord => {
    const prompt = typeof map.prompt === "string" ? column(row, map.prompt) : map.prompt.fixed;
    const a = column(row, map.first);
    const b = column(row, map.second);
    const label = column(row, map.label).trim();
    if (label !== map.firstWins && label !== map.secondWins) {
      throw new RecordError(
        "bad-row",
        `"${map.label}" must be ${map.firstWins} or ${map.secondWins}, got ${JSON.stringify(label)}`,
        map.label,
      );
    }
    if (a === b) throw new RecordError("identical", "the two texts are identical", map.second);
    const firstWins = label === map.firstWins;
    const pair: PreferenceRecord = { prompt, chosen: firstWins ? a : b, rejected: firstWins ? b : a };
    if (map.id !== undefined) pair.extra = { id: column(row, map.id), label };
    return pair;
  };
}

/** One labelled text per line (rt-polarity.{pos,neg}: label given for the whole file). */
export async function loadLabelledLines(
  file: string,
  label: number,
  opts: Omit<LoadOptions, "format"> = {},
): Promise<LoadResult<LabelledText>> {
  const collector = new Collector<LabelledText>(opts.mode ?? "strict");
  collector.addFile(file);
  const source = path.basename(file);
  try {
    for await (const { text, line, invalidUtf8 } of linesOf(file, opts.encoding ?? "utf8", collector)) {
      collector.attempt(file, line, () => {
        if (invalidUtf8)
          throw new RecordError(
            "invalid-encoding",
            `not valid UTF-8 (the bytes would be read as U+FFFD); pass encoding: "latin1" if the file is Latin-1`,
          );
        if (text.trim() === "") throw new RecordError("empty-text", "empty line");
        return { text: text.trim(), label, source };
      });
    }
  } catch (err) {
    inputProblem(err, file, collector);
  }
  return { records: collector.records, report: collector.report };
}

/** `sentence<TAB>label` lines with label 0 or 1 (UCI sentiment labelled sentences). Splits at the last tab. */
export async function loadTabLabelled(
  file: string,
  opts: Omit<LoadOptions, "format"> = {},
): Promise<LoadResult<LabelledText>> {
  const collector = new Collector<LabelledText>(opts.mode ?? "strict");
  collector.addFile(file);
  const source = path.basename(file);
  try {
    for await (const { text, line, invalidUtf8 } of linesOf(file, opts.encoding ?? "utf8", collector)) {
      if (text.trim() === "") {
        collector.blank();
        continue;
      }
      collector.attempt(file, line, () => {
        if (invalidUtf8)
          throw new RecordError(
            "invalid-encoding",
            `not valid UTF-8 (the bytes would be read as U+FFFD); pass encoding: "latin1" if the file is Latin-1`,
          );
        const tab = text.lastIndexOf("\t");
        if (tab < 0) throw new RecordError("bad-row", "no tab between sentence and label");
        const sentence = text.slice(0, tab).trim();
        const raw = text.slice(tab + 1).trim();
        if (raw !== "0" && raw !== "1")
          throw new RecordError("bad-row", `label must be 0 or 1, got ${JSON.stringify(raw)}`, "label");
        if (sentence === "") throw new RecordError("empty-text", "empty sentence", "sentence");
        return { text: sentence, label: Number(raw), source };
      });
    }
  } catch (err) {
    inputProblem(err, file, collector);
  }
  return { records: collector.records, report: collector.report };
}

/** Files in `dir` whose names match `pattern`, sorted (deterministic order). */
export function listFiles(dir: string, pattern: RegExp): string[] {
  if (!fs.existsSync(dir)) throw new Error(`${dir}: no such directory`);
  return fs
    .readdirSync(dir)
    .filter((f) => pattern.test(f))
    .sort()
    .map((f) => path.join(dir, f));
}
