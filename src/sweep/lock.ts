// An exclusive lock on an output file (a sweep's results file), held as `<file>.lock`.
//
// Taking it: the owner record (pid, host, time, a random token) is written in full to a private temporary
// file and then hard-linked to the lock's name. link(2) fails with EEXIST when the name exists, so exactly
// one of any number of concurrent takers wins, and the lock file is never seen empty or half written
// (on a file system without hard links it is an exclusive create followed by the write; an empty or
// unreadable lock file is therefore treated as being written, never as stale).
//
// An existing lock is refused when its owner is alive: another process on this host whose pid exists,
// this very process (a second runSweep on the same folder in one process), or any process on another host
// (its liveness cannot be checked; the message says which file to delete). It is stale only when its pid
// on this host is gone, or it names this pid but predates this process (a reused pid). Breaking a stale
// lock is itself done under `<file>.lock.break`, taken the same way, and the lock is re-read under it, so
// two takers that both saw the same stale lock cannot both remove it and then each take a fresh one.
// A break file is held for microseconds, so one older than a couple of seconds was left behind (its
// owner died, or its pid now names another process) and is removed.
import * as fs from "fs";
import * as os from "os";
import { randomBytes } from "crypto";
import { threadId } from "worker_threads";
import { pidAlive, writeFully } from "../fsAtomic";

export interface LockOwner {
  pid: number;
  host: string;
  /** When the lock was taken (ISO time). */
  since: string;
  /** Unique per lock taken. */
  token: string;
}

const PROCESS_STARTED = Date.now() - process.uptime() * 1000;
/** How long an empty or unreadable lock file is waited for before giving up. */
const PARTIAL_WAIT_MS = 2000;

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function readOwner(lockFile: string): LockOwner | "missing" | "unreadable" {
  let text: string;
  try {
    text = fs.readFileSync(lockFile, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return "missing";
    throw e;
  }
  try {
    const o = JSON.parse(text) as Partial<LockOwner>;
    if (
      typeof o.pid === "number" &&
      typeof o.host === "string" &&
      typeof o.since === "string" &&
      typeof o.token === "string"
    )
      return o as LockOwner;
  } catch {
    // not (yet) a whole record
  }
  // The format before this one: "pid host".
  const m = /^(\d+) (\S+)$/.exec(text.trim());
  if (m) return { pid: Number(m[1]), host: m[2], since: new Date(0).toISOString(), token: `legacy:${text.trim()}` };
  return "unreadable";
}

/**
 * Create `name` holding `content`, atomically and only if it does not exist; false if it exists. Any other
 * failure (a full disk, no permission) is an error naming `name`, and leaves no temporary behind.
 */
function createExclusive(name: string, content: string): boolean {
  const tmp = `${name}.new-${process.pid}-${threadId}-${randomBytes(4).toString("hex")}`;
  try {
    const fd = fs.openSync(tmp, "wx");
    try {
      writeFully(fd, Buffer.from(content, "utf8"), tmp);
    } finally {
      fs.closeSync(fd);
    }
    try {
      fs.linkSync(tmp, name);
      return true;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === "EEXIST") return false;
      // A file system without hard links: an exclusive create, then the content. Another taker may see it
      // empty for a moment; that is why an unreadable lock is waited for and never taken as stale.
      if (code === "EPERM" || code === "ENOTSUP" || code === "EOPNOTSUPP" || code === "ENOSYS" || code === "EXDEV")
        return createExclusiveNoLink(name, content);
      throw e;
    }
  } catch (e) {
    throw new Error(`could not create the lock file ${name}: ${(e as Error).message}`);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

function createExclusiveNoLink(name: string, content: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(name, "wx");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "EEXIST") return false;
    throw e;
  }
  try {
    writeFully(fd, Buffer.from(content, "utf8"), name);
    fs.fsyncSync(fd);
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(name, { force: true }); // ours, half written: never leave a lock nobody holds
    throw e;
  }
  fs.closeSync(fd);
  return true;
}

/** Why `owner` still holds the lock, or undefined when the lock is stale. */
function liveReason(owner: LockOwner): string | undefined {
  if (owner.host !== os.hostname())
    return `a process on host ${owner.host} (pid ${owner.pid}, since ${owner.since}), whose liveness cannot be checked from here`;
  if (owner.pid === process.pid) {
    // Our own pid: held by this process unless it was written before this process started (pid reuse).
    return Date.parse(owner.since) >= PROCESS_STARTED - 1000
      ? `this same process (pid ${owner.pid}, since ${owner.since}): another sweep in this process is writing it`
      : undefined;
  }
  return pidAlive(owner.pid) ? `another process (pid ${owner.pid}, since ${owner.since})` : undefined;
}

export class FileLock {
  private released = false;

  private constructor(
    readonly lockFile: string,
    readonly owner: LockOwner,
  ) {}

  /**
   * Take the lock on `target` (the file `<target>.lock`) or throw an error naming the lock file and its
   * holder. `what` describes the target in messages. `giveUpMs` bounds how long a lock that keeps changing
   * hands (stale locks that cannot be broken because a live breaker keeps re-taking the break file) is
   * retried before the error names both files (20 s; tests pass less).
   */
  static acquire(target: string, what = target, giveUpMs = 10 * PARTIAL_WAIT_MS): FileLock {
    const lockFile = `${target}.lock`;
    const owner: LockOwner = {
      pid: process.pid,
      host: os.hostname(),
      since: new Date().toISOString(),
      token: randomBytes(8).toString("hex"),
    };
    const content = JSON.stringify(owner) + "\n";
    const deadline = Date.now() + PARTIAL_WAIT_MS;
    const giveUp = Date.now() + giveUpMs;
    for (;;) {
      if (Date.now() > giveUp)
        throw new Error(
          `${what}: could not take the lock file ${lockFile} (it kept changing hands for ${giveUpMs / 1000} s)` +
            (fs.existsSync(`${lockFile}.break`)
              ? `; its break file ${lockFile}.break is still there: if no sweep is writing ${what}, delete both`
              : ""),
        );
      if (createExclusive(lockFile, content)) return new FileLock(lockFile, owner);
      const held = readOwner(lockFile);
      if (held === "missing") continue; // released meanwhile: try again
      if (held === "unreadable") {
        // Being written by a taker that does not write atomically, or damaged: never stale by itself.
        if (Date.now() < deadline) {
          sleepMs(50);
          continue;
        }
        throw new Error(
          `${what} is locked: the lock file ${lockFile} exists but holds no readable owner (checked for ${PARTIAL_WAIT_MS} ms). If no sweep is writing ${what}, delete ${lockFile}.`,
        );
      }
      const live = liveReason(held);
      if (live)
        throw new Error(
          `${what} is being written by ${live}; its lock file is ${lockFile}. Wait for it, or use another output folder; if that sweep is gone, delete ${lockFile}.`,
        );
      breakStaleLock(lockFile, held);
    }
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    const held = readOwner(this.lockFile);
    if (typeof held === "object" && held.token === this.owner.token) fs.rmSync(this.lockFile, { force: true });
  }
}

/** How long ago `file` was last written, by this host's clock (0 when it is gone). */
function ageMs(file: string): number {
  try {
    return Date.now() - fs.statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

/** Remove `lockFile` if it still holds `stale`, under the break lock (see the top of the file). */
function breakStaleLock(lockFile: string, stale: LockOwner): void {
  const breakFile = `${lockFile}.break`;
  const me: LockOwner = {
    pid: process.pid,
    host: os.hostname(),
    since: new Date().toISOString(),
    token: randomBytes(8).toString("hex"),
  };
  if (!createExclusive(breakFile, JSON.stringify(me) + "\n")) {
    const breaker = readOwner(breakFile);
    // A breaker that died between taking and releasing the break lock left it behind. A live breaker
    // holds it only while it re-reads and removes one file, so one older than PARTIAL_WAIT_MS is left
    // behind too, whatever its pid says (pids are reused; a host's clock may differ, hence the file's age).
    const dead =
      typeof breaker === "object" &&
      breaker.host === os.hostname() &&
      breaker.pid !== process.pid &&
      !pidAlive(breaker.pid);
    if (dead || ageMs(breakFile) > PARTIAL_WAIT_MS) fs.rmSync(breakFile, { force: true });
    else sleepMs(10);
    return; // the caller re-reads the lock
  }
  try {
    const now = readOwner(lockFile);
    if (typeof now === "object" && now.token === stale.token) fs.rmSync(lockFile, { force: true });
  } finally {
    fs.rmSync(breakFile, { force: true });
  }
}
