// Low-level readers: byte streams with transparent gzip, explicit text encodings, line-by-line async
// iteration (large files are never read whole) and JSON arrays split into located elements. Delimited
// (CSV/TSV) rows are read on top of these in delimited.ts.
import * as fs from "fs";
import * as zlib from "zlib";
import { isUtf8 } from "buffer";
import { Readable } from "stream";
import { StringDecoder } from "string_decoder";
import { gunzipFile, GzipTrailingBytesError } from "./gunzip";
import type { TextEncoding } from "./types";

const GZIP_MAGIC = [0x1f, 0x8b];

/** True when the file starts with the gzip magic bytes (the extension is not trusted). */
export function isGzipFile(file: string): boolean {
  const fd = fs.openSync(file, "r");
  try {
    const head = Buffer.alloc(2);
    const n = fs.readSync(fd, head, 0, 2, 0);
    return n === 2 && head[0] === GZIP_MAGIC[0] && head[1] === GZIP_MAGIC[1];
  } finally {
    fs.closeSync(fd);
  }
}

/** A readable byte stream of the file's (decompressed: src/data/gunzip.ts) content. */
export function openBytes(file: string): NodeJS.ReadableStream {
  if (!fs.existsSync(file)) throw new Error(`${file}: no such file`);
  return isGzipFile(file)
    ? Readable.from(gunzipFile(file), { objectMode: false })
    : fs.createReadStream(file, { highWaterMark: 1 << 16 });
}

/**
 * Limits of the line reader. maxLineBytes: a longer line is refused with its file and line (V8 cannot
 * build a string longer than 0x1fffffe8 UTF-16 units, and a line never decodes to more units than bytes);
 * tests lower it to check the refusal without allocating 512 MB.
 */
export const readLimits = { maxLineBytes: 0x1fffffe8 };

/** A file whose bytes end early or are damaged (truncated gzip, say); `linesRead` whole lines came before. */
export class TruncatedInputError extends Error {
  constructor(
    readonly file: string,
    readonly linesRead: number,
    reason: string,
  ) {
    super(`${file}: ${reason}${linesRead > 0 ? ` (after line ${linesRead})` : ""}`);
    this.name = "TruncatedInputError";
  }
}

/**
 * A gzip file with bytes after its last member that are not gzip data; every line before them was read
 * (`linesRead` of them).
 */
export class TrailingBytesError extends Error {
  constructor(
    readonly file: string,
    readonly linesRead: number,
    reason: string,
  ) {
    super(`${file}: ${reason}; the ${linesRead} lines before them are read`);
    this.name = "TrailingBytesError";
  }
}

function gzipProblem(e: unknown): string {
  return `gzip data is truncated or corrupt (${(e as Error).message}); re-download or re-copy the file`;
}

/** Whole (decompressed) content as bytes; for small files only. */
export function readBytes(file: string): Buffer {
  const raw = fs.readFileSync(file);
  if (!(raw.length >= 2 && raw[0] === GZIP_MAGIC[0] && raw[1] === GZIP_MAGIC[1])) return raw;
  try {
    return zlib.gunzipSync(raw);
  } catch (e) {
    throw new TruncatedInputError(file, 0, gzipProblem(e));
  }
}

/**
 * Whole (decompressed) content as bytes, read through gunzipFile: bytes after the gzip data do not lose
 * the content before them but come back as `trailing` (what is wrong with them); damaged or cut-short
 * gzip data throws a TruncatedInputError. For files read whole anyway (JSON arrays).
 */
export async function readAllBytes(file: string): Promise<{ bytes: Buffer; trailing?: string }> {
  if (!isGzipFile(file)) return { bytes: fs.readFileSync(file) };
  const parts: Buffer[] = [];
  try {
    for await (const chunk of gunzipFile(file)) parts.push(chunk);
  } catch (e) {
    if (e instanceof GzipTrailingBytesError) return { bytes: Buffer.concat(parts), trailing: e.message };
    throw new TruncatedInputError(file, 0, gzipProblem(e));
  }
  return { bytes: Buffer.concat(parts) };
}

/** 1-based numbers of the lines of `bytes` (split at "\n") that are not valid UTF-8; empty when all are. */
export function invalidUtf8Lines(bytes: Buffer): Set<number> {
  const bad = new Set<number>();
  if (isUtf8(bytes)) return bad;
  let start = 0;
  for (let line = 1; start <= bytes.length; line++) {
    let nl = bytes.indexOf(0x0a, start);
    if (nl === -1) nl = bytes.length;
    if (!isUtf8(bytes.subarray(start, nl))) bad.add(line);
    start = nl + 1;
  }
  return bad;
}

// Windows-1252 differs from ISO-8859-1 only in 0x80–0x9F (printable characters instead of C1 controls).
const CP1252_HIGH =
  "\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f" +
  "\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178";

/** Decode bytes in the given encoding; utf8 decoding keeps state across chunk boundaries. */
export function makeDecoder(encoding: TextEncoding): { write(b: Buffer): string; end(): string } {
  if (encoding === "utf8") {
    const d = new StringDecoder("utf8");
    return { write: (b) => d.write(b), end: () => d.end() };
  }
  if (encoding === "latin1") return { write: (b) => b.toString("latin1"), end: () => "" };
  if (encoding === "windows-1252") {
    const convert = (b: Buffer) => {
      let s = "";
      for (const byte of b) s += byte >= 0x80 && byte <= 0x9f ? CP1252_HIGH[byte - 0x80] : String.fromCharCode(byte);
      return s;
    };
    return { write: convert, end: () => "" };
  }
  throw new Error(`unknown text encoding "${encoding as string}" (use utf8, latin1 or windows-1252)`);
}

export function decodeBytes(bytes: Buffer, encoding: TextEncoding): string {
  const d = makeDecoder(encoding);
  return d.write(bytes) + d.end();
}

export interface Line {
  text: string;
  /** 1-based line number. */
  line: number;
  /** Set when the line's bytes are not valid UTF-8 (utf8 only): `text` then holds U+FFFD replacements. */
  invalidUtf8?: true;
  /** Set when the line ended in "\r\n" (or "\r" at the end of the file): the "\r" was removed from `text`. */
  cr?: true;
}

export interface ReadLinesOptions {
  /**
   * Called for a line longer than readLimits.maxLineBytes (its bytes are skipped, never held whole); the
   * line is then not yielded and reading goes on. Without it, such a line throws an error naming file:line.
   */
  onTooLong?: (line: number, bytes: number) => void;
}

function lineDecoder(encoding: TextEncoding): (bytes: Buffer) => string {
  if (encoding === "utf8") return (b) => b.toString("utf8");
  if (encoding === "latin1") return (b) => b.toString("latin1");
  return (b) => decodeBytes(b, encoding);
}

/**
 * Async iteration over the lines of a (possibly gzipped) text file, one chunk in memory at a time.
 * Lines split on "\n" only (a trailing "\r" is removed): some corpora contain U+0085 / U+2028 inside a
 * line, which other splitters treat as line breaks. A final empty line after the last "\n" is not yielded.
 * A leading UTF-8 byte-order mark is removed (utf8 only), as the JSON-array reader does.
 *
 * Lines are split as bytes (every supported encoding is ASCII-compatible) and each is decoded once, so a
 * line of any length costs time linear in its length. A utf8 line that is not valid UTF-8 is yielded
 * with `invalidUtf8` set, for the caller to report. A file whose gzip stream is cut short or damaged
 * throws a TruncatedInputError naming the file, after yielding every whole line before the damage; bytes
 * after the last gzip member throw a TrailingBytesError after every line of the gzip data. A line longer
 * than readLimits.maxLineBytes is never held whole: it goes to `opts.onTooLong`, or throws naming file:line.
 */
export async function* readLines(
  file: string,
  encoding: TextEncoding = "utf8",
  opts: ReadLinesOptions = {},
): AsyncGenerator<Line> {
  const decode = lineDecoder(encoding);
  const maxBytes = readLimits.maxLineBytes;
  let lineNo = 0;
  let parts: Buffer[] = [];
  let partBytes = 0;
  let skipping = 0; // > 0 while skipping the rest of an over-long line: its length so far
  const makeLine = (bytes: Buffer): Line => {
    lineNo++;
    if (lineNo === 1 && encoding === "utf8" && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf)
      bytes = bytes.subarray(3);
    let cr = false;
    if (bytes.length > 0 && bytes[bytes.length - 1] === 0x0d) {
      bytes = bytes.subarray(0, bytes.length - 1);
      cr = true;
    }
    const text = decode(bytes);
    const line: Line = { text, line: lineNo };
    if (encoding === "utf8" && text.includes("\ufffd") && !isUtf8(bytes)) line.invalidUtf8 = true;
    if (cr) line.cr = true;
    return line;
  };
  const tooLong = (bytes: number): void => {
    lineNo++;
    if (!opts.onTooLong)
      throw new Error(
        `${file}:${lineNo}: the line is longer than ${maxBytes} bytes (${bytes} read so far); the longest line a string can hold`,
      );
    opts.onTooLong(lineNo, bytes);
  };
  const gzip = isGzipFile(file);
  const chunks = (gzip ? gunzipFile(file) : fs.createReadStream(file, { highWaterMark: 1 << 16 }))[
    Symbol.asyncIterator
  ]();
  try {
    for (;;) {
      let next: IteratorResult<unknown>;
      try {
        next = await chunks.next();
      } catch (e) {
        if (e instanceof GzipTrailingBytesError) {
          // The gzip data ended properly: its last line is whole.
          if (skipping === 0 && partBytes > 0) yield makeLine(Buffer.concat(parts));
          else if (skipping > 0) tooLong(skipping);
          throw new TrailingBytesError(file, lineNo, e.message);
        }
        throw new TruncatedInputError(
          file,
          lineNo,
          gzip ? gzipProblem(e) : `could not be read (${(e as Error).message})`,
        );
      }
      if (next.done) break;
      const buf = next.value as Buffer;
      let start = 0;
      let nl: number;
      while ((nl = buf.indexOf(0x0a, start)) !== -1) {
        if (skipping > 0) {
          tooLong(skipping + nl - start);
          skipping = 0;
        } else if (partBytes + nl - start > maxBytes) {
          tooLong(partBytes + nl - start);
          parts = [];
          partBytes = 0;
        } else {
          const piece = buf.subarray(start, nl);
          const bytes = parts.length > 0 ? Buffer.concat([...parts, piece]) : piece;
          parts = [];
          partBytes = 0;
          yield makeLine(bytes);
        }
        start = nl + 1;
      }
      if (start < buf.length) {
        const rest = buf.length - start;
        if (skipping > 0) skipping += rest;
        else if (partBytes + rest > maxBytes) {
          skipping = partBytes + rest; // keep nothing more of this line
          parts = [];
          partBytes = 0;
        } else {
          parts.push(buf.subarray(start));
          partBytes += rest;
        }
      }
    }
    if (skipping > 0) tooLong(skipping);
    else if (partBytes > 0) yield makeLine(Buffer.concat(parts));
  } finally {
    await chunks.return?.(undefined); // a reader that stops early closes the file
  }
}

export interface JsonArrayElement {
  /** Source text of the element. */
  text: string;
  /** 1-based line where the element starts. */
  line: number;
}

/**
 * Split a JSON array's source into its top-level elements with their line numbers, so each element can be
 * parsed (and reported) on its own. Throws with a line number if the text is not an array.
 */
export function splitJsonArray(source: string, onTrailing?: (line: number, text: string) => void): JsonArrayElement[] {
  let i = 0;
  let line = 1;
  const skipWs = () => {
    while (i < source.length && /\s/.test(source[i])) {
      if (source[i] === "\n") line++;
      i++;
    }
  };
  if (source.charCodeAt(0) === 0xfeff) i = 1;
  skipWs();
  if (source[i] !== "[") throw new Error(`line ${line}: expected a JSON array ("[")`);
  i++;
  const out: JsonArrayElement[] = [];
  for (;;) {
    skipWs();
    if (i >= source.length) throw new Error(`line ${line}: unterminated JSON array`);
    if (source[i] === "]" && out.length === 0) break;
    const start = i;
    const startLine = line;
    let depth = 0;
    let inString = false;
    for (; i < source.length; i++) {
      const c = source[i];
      if (c === "\n") line++;
      if (inString) {
        if (c === "\\") {
          i++;
          if (source[i] === "\n") line++; // an (invalid) escaped newline still starts a new line
        } else if (c === '"') inString = false;
        continue;
      }
      if (c === '"') inString = true;
      else if (c === "[" || c === "{") depth++;
      else if (c === "]" || c === "}") {
        if (depth === 0) break;
        depth--;
      } else if (c === "," && depth === 0) break;
    }
    out.push({ text: source.slice(start, i).trim(), line: startLine });
    if (i >= source.length) throw new Error(`line ${line}: unterminated JSON array`);
    if (source[i] === "]") break;
    i++; // the comma
  }
  // Anything but whitespace after the closing "]" (a second array, trailing garbage) is not ignored.
  i++;
  skipWs();
  if (i < source.length) {
    const text = source.slice(i, i + 40);
    if (onTrailing) onTrailing(line, text);
    else throw new Error(`line ${line}: content after the closing "]" of the JSON array: ${JSON.stringify(text)}`);
  }
  return out;
}
