// Whole-file writes that are all-or-nothing, used by every writer in prefopt (sweep results and reports,
// data exports, downloads, the LM artefact cache). The new content goes to a temporary file next to the
// target whose name only this call uses (`<file>.tmp-<pid>-<thread>-<random>`), is written completely
// (a short write is retried, a write that makes no progress is an error), fsync'ed, and only then renamed
// over the target; the directory is fsync'ed after the rename. On any failure the temporary is removed,
// the old file is left as it was, and the error names the file and the reason (e.g. ENOSPC). Temporaries
// left by a process that was killed mid-write (its pid is gone) are removed by the next write of the same
// file. Missing directories are created (ensureDir) with the real cause on failure: a parent that is a
// regular file, or a read-only filesystem (EROFS), which a recursive mkdir reports as ENOENT.
import * as fs from "fs";
import * as path from "path";
import { randomBytes } from "crypto";
import { threadId } from "worker_threads";

/** The write primitive, replaceable in tests to simulate a full disk (short writes, ENOSPC). */
export const fsSeams: { writeSync: (fd: number, buffer: Uint8Array, offset: number, length: number) => number } = {
  writeSync: (fd, buffer, offset, length) => fs.writeSync(fd, buffer, offset, length),
};

/** An error from a write that did not complete; the message names the file and the cause. */
export class WriteFailedError extends Error {
  readonly reason: unknown;
  constructor(
    readonly file: string,
    reason: unknown,
  ) {
    super(
      `could not write ${file}: ${reason instanceof Error ? reason.message : String(reason)}; the previous content of ${file} (if any) is unchanged`,
    );
    this.name = "WriteFailedError";
    this.reason = reason;
  }
}

/**
 * Write all of `bytes` to `fd`: write(2) may write less than asked (a full disk often does this once
 * before failing with ENOSPC), so loop, and treat a write of 0 bytes as a full disk.
 */
export function writeFully(fd: number, bytes: Uint8Array, what = "file"): void {
  let off = 0;
  while (off < bytes.length) {
    const n = fsSeams.writeSync(fd, bytes, off, bytes.length - off);
    if (!(n > 0))
      throw Object.assign(
        new Error(`ENOSPC: no space left on device, wrote ${off} of ${bytes.length} bytes of ${what}`),
        { code: "ENOSPC" },
      );
    off += n;
  }
}

export function fsyncPath(file: string): void {
  const fd = fs.openSync(file, "r");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/** fsync a directory so a rename or create in it survives a crash (a no-op where directories cannot be opened). */
export function fsyncDir(dir: string): void {
  try {
    fsyncPath(dir);
  } catch {
    // Some platforms cannot open directories; the file's own fsync still holds its data.
  }
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

const TMP_PATTERN = /\.tmp-(\d+)-\d+-[0-9a-f]+$/;

/** Remove `<file>.tmp-<pid>-…` temporaries whose writer process no longer exists (a killed write). */
export function removeStaleTemporaries(file: string): string[] {
  const dir = path.dirname(path.resolve(file));
  const base = path.basename(file);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!name.startsWith(`${base}.tmp-`)) continue;
    const m = TMP_PATTERN.exec(name.slice(base.length));
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || pidAlive(pid)) continue;
    fs.rmSync(path.join(dir, name), { force: true });
    removed.push(path.join(dir, name));
  }
  return removed;
}

/** An error whose message is `message` and whose code is `code` (as Node's fs errors have). */
function fsError(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

/**
 * `mkdir -p dir`, failing with the real cause: "<p> is a file, not a directory" when an ancestor is a
 * regular file, and the errno of the first directory that cannot be made (EROFS on a read-only
 * filesystem, EACCES), where a recursive mkdir reports only ENOENT for the deepest one.
 */
export function ensureDir(dir: string): void {
  try {
    fs.mkdirSync(dir, { recursive: true });
    return;
  } catch (err) {
    const missing: string[] = [];
    for (let p = path.resolve(dir); ; p = path.dirname(p)) {
      let isDir: boolean;
      try {
        isDir = fs.statSync(p).isDirectory();
      } catch {
        missing.push(p);
        if (path.dirname(p) === p) throw err;
        continue;
      }
      if (!isDir) throw fsError(`${p} is a file, not a directory (ENOTDIR)`, "ENOTDIR");
      break;
    }
    for (const m of missing.reverse()) {
      try {
        fs.mkdirSync(m);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      }
    }
    throw err;
  }
}

/** Remove a temporary after a failure; a failure here must not hide the error that caused it. */
function removeQuietly(tmp: string): void {
  try {
    fs.rmSync(tmp, { force: true });
  } catch {
    // e.g. ENOTDIR when the parent is a file: the temporary was never created.
  }
}

/**
 * Let `write` create a temporary file that only this call names, make sure it is on disk (fsync), then
 * rename it over `file`: readers see the old file or the whole new one, never a part. `write` must write
 * the whole content or throw. The temporary is removed on failure and the error names `file`.
 */
export function writeAtomically(file: string, write: (tmp: string) => void): void {
  const dir = path.dirname(path.resolve(file));
  const tmp = `${file}.tmp-${process.pid}-${threadId}-${randomBytes(4).toString("hex")}`;
  try {
    ensureDir(dir);
    removeStaleTemporaries(file);
    write(tmp);
    fsyncPath(tmp);
    fs.renameSync(tmp, file);
  } catch (e) {
    removeQuietly(tmp);
    if (e instanceof WriteFailedError) throw e;
    throw new WriteFailedError(file, e);
  }
  fsyncDir(dir);
}

/** Write a whole file atomically (temporary file, complete write, fsync, rename). */
export function writeFileAtomic(file: string, content: string | Uint8Array): void {
  const bytes = typeof content === "string" ? Buffer.from(content, "utf8") : content;
  writeAtomically(file, (tmp) => {
    const fd = fs.openSync(tmp, "w");
    try {
      writeFully(fd, bytes, file);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  });
}

/**
 * The async form for streamed output: `write(tmp)` resolves once the temporary is complete (it must
 * reject on any stream error); then fsync and rename as writeAtomically does.
 */
export async function writeAtomicallyAsync(file: string, write: (tmp: string) => Promise<void>): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  const tmp = `${file}.tmp-${process.pid}-${threadId}-${randomBytes(4).toString("hex")}`;
  try {
    ensureDir(dir);
    removeStaleTemporaries(file);
    await write(tmp);
    fsyncPath(tmp);
    fs.renameSync(tmp, file);
  } catch (e) {
    removeQuietly(tmp);
    if (e instanceof WriteFailedError) throw e;
    throw new WriteFailedError(file, e);
  }
  fsyncDir(dir);
}
