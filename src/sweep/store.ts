// The results store: one JSON line per finished run, appended by a single writer and fsync'ed before the
// next run is counted as done. A kill can therefore only ever cut the LAST line short; on open, bytes after
// the last newline are treated as a torn write, reported, and truncated away (then fsync'ed) before any
// new line is appended, so the file always reads back as whole records. A bad line anywhere else is not
// a kill's doing, so it is an error naming the file and line, never skipped.
import * as fs from "fs";
import * as path from "path";
import { fsyncDir, writeFully } from "../fsAtomic";
import { FileLock } from "./lock";
import type { JsonObject } from "./config";
import type { Metrics } from "./kinds";
import type { FactorValue } from "./plan";

export interface RunRecord {
  id: string;
  kind: string;
  seed: number;
  /** Index in the full plan when it ran (informative; the id is what identifies a run). */
  index: number;
  config: JsonObject;
  factors: Record<string, FactorValue>;
  metrics: Metrics;
  /** Wall time of the run itself, in milliseconds. */
  ms: number;
  finishedAt: string;
}

export interface ReadResult {
  records: RunRecord[];
  /** Line number (1-based) of each record, parallel to `records`. */
  lines: number[];
  /** Bytes after the last newline: a torn final write (0 if the file ends cleanly). */
  tornBytes: number;
  /** Length in bytes of the whole-line prefix. */
  goodLength: number;
}

function checkRecord(v: unknown, where: string): RunRecord {
  const r = v as Partial<RunRecord> | null;
  if (typeof r !== "object" || r === null || Array.isArray(r))
    throw new Error(`${where}: a result line must be a JSON object`);
  if (typeof r.id !== "string" || r.id === "") throw new Error(`${where}: field id must be a non-empty string`);
  if (typeof r.seed !== "number") throw new Error(`${where}: field seed must be a number`);
  if (typeof r.metrics !== "object" || r.metrics === null) throw new Error(`${where}: field metrics must be an object`);
  if (typeof r.config !== "object" || r.config === null) throw new Error(`${where}: field config must be an object`);
  return r as RunRecord;
}

/** Read a results file (missing file → no records). Throws on a corrupt line that is not the last one. */
export function readResults(file: string): ReadResult {
  if (!fs.existsSync(file)) return { records: [], lines: [], tornBytes: 0, goodLength: 0 };
  const buf = fs.readFileSync(file);
  const goodLength = buf.lastIndexOf(0x0a) + 1;
  const text = buf.subarray(0, goodLength).toString("utf8");
  const records: RunRecord[] = [];
  const lines: number[] = [];
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch (e) {
      throw new Error(
        `${file}:${i + 1}: unreadable result line (${(e as Error).message}); only a torn last line can come from a kill, so this file was edited or damaged`,
      );
    }
    records.push(checkRecord(parsed, `${file}:${i + 1}`));
    lines.push(i + 1);
  });
  return { records, lines, tornBytes: buf.length - goodLength, goodLength };
}

// Whole-file writes live in src/fsAtomic.ts (shared by every writer); re-exported for older imports.
export { writeAtomically, writeFileAtomic } from "../fsAtomic";

/** Appends run records to a JSONL file, one fsync per record; one writer per file (a lock file enforces it). */
export class ResultsStore {
  private fd: number | undefined;
  private readonly ids = new Set<string>();
  readonly existing: RunRecord[];
  /** Torn bytes that were found at the end of the file and removed on open. */
  readonly repairedBytes: number;
  private readonly lock: FileLock;
  /** True when this store took the lock itself (and so releases it on close). */
  private readonly ownsLock: boolean;

  private constructor(
    readonly file: string,
    lock?: FileLock,
  ) {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    this.ownsLock = lock === undefined;
    this.lock = lock ?? ResultsStore.lock(file);
    try {
      const read = readResults(file);
      this.existing = read.records;
      for (const r of read.records) this.ids.add(r.id);
      this.repairedBytes = read.tornBytes;
      const created = !fs.existsSync(file);
      this.fd = fs.openSync(file, "a");
      if (read.tornBytes > 0) {
        fs.ftruncateSync(this.fd, read.goodLength);
        fs.fsyncSync(this.fd);
      }
      if (created) fsyncDir(path.dirname(path.resolve(file)));
    } catch (e) {
      if (this.fd !== undefined) fs.closeSync(this.fd);
      if (this.ownsLock) this.lock.release();
      throw e;
    }
  }

  /** Take the exclusive lock on a results file (`<file>.lock`) without opening it. */
  static lock(file: string): FileLock {
    return FileLock.acquire(file, `results file ${file}`);
  }

  /**
   * Open (creating if needed) a results file, repairing a torn last line. Takes the file's lock unless
   * `lock` (from ResultsStore.lock) is given, in which case the caller keeps it and releases it.
   */
  static open(file: string, lock?: FileLock): ResultsStore {
    return new ResultsStore(file, lock);
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  get size(): number {
    return this.ids.size;
  }

  /** Append one record as one line and fsync it: when this returns, the run survives any kill. */
  append(record: RunRecord): void {
    if (this.fd === undefined) throw new Error(`${this.file}: store is closed`);
    const bytes = Buffer.from(JSON.stringify(record) + "\n", "utf8");
    const before = fs.fstatSync(this.fd).size;
    try {
      writeFully(this.fd, bytes, this.file);
      fs.fsyncSync(this.fd);
    } catch (e) {
      // Leave no partial line behind (a full disk): cut the file back to its last whole record.
      try {
        fs.ftruncateSync(this.fd, before);
      } catch {
        // the torn line is then removed on the next open, as after a kill
      }
      throw new Error(
        `could not append a result to ${this.file}: ${(e as Error).message}; the file still holds every earlier run`,
      );
    }
    this.ids.add(record.id);
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
    if (this.ownsLock) this.lock.release();
  }
}
