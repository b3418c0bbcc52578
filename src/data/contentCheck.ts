// Does a downloaded file look like what its name says? Used before the digest of an unpinned download
// is trusted (src/data/download.ts). Checks:
//   - nothing but .html may be an HTML page (after a byte-order mark or whitespace; "<!--" counts), or be
//     served as text/html;
//   - a .gz starts with the gzip magic bytes and gunzips to the end (streamed: memory stays flat however
//     much it unpacks; at most MAX_CHECKED_UNPACKED bytes are inflated), with nothing after its data; a
//     .tar.gz holds a tar header;
//   - a .jsonl (or the unpacked head of a .jsonl.gz) starts with a line of JSON and is not a JSON error
//     body such as {"error": "..."}; a plain .jsonl also ends with a whole line of JSON (a body cut short
//     without content-length ends inside a line; one cut exactly at a line end cannot be told apart).
import * as fs from "fs";
import { gunzipFile } from "./gunzip";

/** The gzip check inflates at most this much (beyond it, the loaders still report damage with file and line). */
export const MAX_CHECKED_UNPACKED = 1 * 2 ** 30;
/** Compressed files larger than this are not inflated by the check at all. */
const MAX_CHECKED_GZ = 256 * 2 ** 20;
/** How much of the start (and, for a plain .jsonl, the end) is read to find the first and last line. */
const EDGE_BYTES = 1 << 20;

function readRange(file: string, start: number, length: number): Buffer {
  const fd = fs.openSync(file, "r");
  try {
    const b = Buffer.alloc(length);
    const n = fs.readSync(fd, b, 0, length, start);
    return b.subarray(0, n);
  } finally {
    fs.closeSync(fd);
  }
}

function isHtml(head: Buffer): boolean {
  let text = head.subarray(0, 512).toString("utf8");
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const start = text.trimStart().slice(0, 100).toLowerCase();
  return ["<!doctype html", "<html", "<head", "<body", "<!--"].some((p) => start.startsWith(p));
}

function parses(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** Keys an HTTP API error body is made of (Hugging Face, GitHub, Google and the like). */
const ERROR_KEYS = new Set([
  "error",
  "errors",
  "error_description",
  "error_code",
  "message",
  "documentation_url",
  "status",
  "statusCode",
  "code",
  "detail",
  "title",
  "type",
  "url",
]);

/**
 * Is `value` an HTTP API error body rather than data: an object of error keys only, among them error,
 * errors, message or detail ({"error": "Repository not found"}, {"message": "Not Found", …})?
 */
function isErrorBody(value: unknown): boolean {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.some((k) => ["error", "errors", "message", "detail"].includes(k)) && keys.every((k) => ERROR_KEYS.has(k));
}

/**
 * Problems of JSON Lines content: `head` is its first bytes (`whole` when that is all of it), `tail` its
 * last bytes when known. Returns the problem, or undefined.
 */
function jsonlProblem(head: Buffer, whole: boolean, tail?: Buffer): string | undefined {
  let text = head.toString("utf8");
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  // The whole body is one JSON value (on one line or pretty-printed) that is an API error.
  if (whole && text.trim() !== "" && parses(text) && isErrorBody(JSON.parse(text)))
    return `the server sent a JSON error body (${text.trim().slice(0, 120)}), not the file`;
  const nl = text.indexOf("\n");
  if (nl >= 0 || whole) {
    const first = (nl >= 0 ? text.slice(0, nl) : text).trim();
    if (first !== "" && !parses(first))
      return `its first line is not JSON, so it is not JSON Lines (${JSON.stringify(first.slice(0, 80))})`;
  }
  if (tail) {
    const end = tail.toString("utf8").trimEnd();
    const lastNl = end.lastIndexOf("\n");
    if (lastNl >= 0 || whole) {
      const last = end.slice(lastNl + 1).trim();
      if (last !== "" && !parses(last))
        return `its last line is not complete JSON (${JSON.stringify(last.slice(-80))}): a body cut short?`;
    }
  }
  return undefined;
}

/** Gunzip `file` to the end or to MAX_CHECKED_UNPACKED bytes, keeping only its first EDGE_BYTES. */
async function gunzipHead(file: string): Promise<{ head: Buffer; whole: boolean }> {
  const parts: Buffer[] = [];
  let kept = 0;
  let total = 0;
  for await (const chunk of gunzipFile(file)) {
    if (kept < EDGE_BYTES) {
      parts.push(chunk.subarray(0, EDGE_BYTES - kept));
      kept += Math.min(chunk.length, EDGE_BYTES - kept);
    }
    total += chunk.length;
    if (total > MAX_CHECKED_UNPACKED) return { head: Buffer.concat(parts), whole: false };
  }
  return { head: Buffer.concat(parts), whole: total === kept };
}

/** Does `file` look like what its name says? Returns the problem, or undefined. */
export async function contentProblem(file: string, name: string, contentType?: string): Promise<string | undefined> {
  const size = fs.statSync(file).size;
  const head = readRange(file, 0, Math.min(size, EDGE_BYTES));
  const isHtmlName = /\.html?$/i.test(name);
  if (!isHtmlName && isHtml(head))
    return "the server sent an HTML page, not the file (an error or login page served with HTTP 200?)";
  if (!isHtmlName && contentType && /^text\/html\b/i.test(contentType))
    return `the server sent content-type ${contentType}, not the file`;
  if (/\.(gz|tgz)$/i.test(name)) {
    if (!(head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b))
      return "it does not start with the gzip magic bytes 1f 8b";
    if (size > MAX_CHECKED_GZ) return undefined; // the loaders report damage with file and line
    let unpacked: { head: Buffer; whole: boolean };
    try {
      unpacked = await gunzipHead(file);
    } catch (e) {
      return `its gzip data is truncated or corrupt (${(e as Error).message})`;
    }
    if (/\.(tar\.gz|tgz)$/i.test(name)) {
      const h = unpacked.head;
      if (!(h.length >= 512 && h.subarray(257, 262).toString("latin1") === "ustar"))
        return "it gunzips, but not to a tar archive";
    }
    if (/\.jsonl\.gz$/i.test(name)) return jsonlProblem(unpacked.head, unpacked.whole);
    return undefined;
  }
  if (/\.jsonl$/i.test(name)) {
    const whole = size <= EDGE_BYTES;
    return jsonlProblem(head, whole, whole ? head : readRange(file, size - EDGE_BYTES, EDGE_BYTES));
  }
  return undefined;
}
