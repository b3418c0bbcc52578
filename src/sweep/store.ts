// The results store: one JSON line per finished run, appended by a single writer and fsync'ed before the
// next run is counted as done. A kill can therefore only ever cut the LAST line short; on open, bytes after
// the last newline are treated as a torn write, reported, and truncated away (then fsync'ed) before any
// new line is appended, so the file always reads back as whole records. A bad line anywhere else is not
// a kill's doing, so it is an error naming the file and line, never skipped.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { randomBytes } from "crypto";
import { threadId } from "worker_threads";
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
  if (typeof r !== "object" || r === null || Array.isArray(r)) throw new Error(`${where}: a result line must be a JSON object`);
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
      throw new Error(`${file}:${i + 1}: unreadable result line (${(e as Error).message}); only a torn last line can come from a kill, so this file was edited or damaged`);
    }
    records.push(checkRecord(parsed, `${file}:${i + 1}`));
    lines.push(i + 1);
  });
  return { records, lines, tornBytes: buf.length - goodLength, goodLength };
}

/** Write a whole file atomically (temp file, fsync, rename), so a kill never leaves it half written. */
export function writeFileAtomic(file: string, text: string): void {
  writeAtomically(file, (tmp) => {
    const fd = fs.openSync(tmp, "w");
    try {
      fs.writeSync(fd, text);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  });
}

/**
 * Let `write` create a temporary file that only this call names (pid, thread, random), then rename it over
 * `file`: readers see the old file or the whole new one, never a part. The temporary is removed on failure.
 */
export function writeAtomically(file: string, write: (tmp: string) => void): void {
  const tmp = `${file}.tmp-${process.pid}-${threadId}-${randomBytes(4).toString("hex")}`;
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    write(tmp);
    fs.renameSync(tmp, file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

function fsyncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, "r");
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // Some platforms cannot open directories; the file's own fsync still holds its data.
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Appends run records to a JSONL file, one fsync per record; one writer per file (a lock file enforces it). */
export class ResultsStore {
  private fd: number | undefined;
  private readonly ids = new Set<string>();
  readonly existing: RunRecord[];
  /** Torn bytes that were found at the end of the file and removed on open. */
  readonly repairedBytes: number;
  private readonly lockFile: string;

  private constructor(readonly file: string) {
    fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
    this.lockFile = `${file}.lock`;
    this.takeLock();
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
      this.releaseLock();
      throw e;
    }
  }

  /** Open (creating if needed) a results file, repairing a torn last line. */
  static open(file: string): ResultsStore {
    return new ResultsStore(file);
  }

  private takeLock(): void {
    const me = `${process.pid} ${os.hostname()}`;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        fs.writeFileSync(this.lockFile, me, { flag: "wx" });
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
        const [pidText, host] = fs.readFileSync(this.lockFile, "utf8").split(" ");
        const pid = Number(pidText);
        if (host === os.hostname() && Number.isInteger(pid) && pid !== process.pid && pidAlive(pid)) {
          throw new Error(`${this.file} is being written by another sweep (pid ${pid}); wait for it, or give this one another --out`);
        }
        if (host !== os.hostname() && host !== undefined) {
          throw new Error(`${this.file} is locked by a sweep on host ${host} (pid ${pid}); if that sweep is gone, delete ${this.lockFile}`);
        }
        fs.rmSync(this.lockFile, { force: true }); // left by a killed sweep on this host
      }
    }
    throw new Error(`could not lock ${this.file}`);
  }

  private releaseLock(): void {
    fs.rmSync(this.lockFile, { force: true });
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
    let off = 0;
    while (off < bytes.length) off += fs.writeSync(this.fd, bytes, off, bytes.length - off);
    fs.fsyncSync(this.fd);
    this.ids.add(record.id);
  }

  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
    this.releaseLock();
  }
}
