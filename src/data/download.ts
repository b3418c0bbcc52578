// Checksum-verified downloads into the git-ignored cache. Each file is streamed to a temporary that only
// this download names ("<dest>.tmp-<pid>-<thread>-<random>", so two fetches of one file never share one)
// while its SHA-256 is computed; the temporary is hashed again from disk and renamed into place only if
// that digest matches; a file already in the cache with the right digest is not downloaded again. Mirrors
// are tried in order. A cache directory that cannot be made (a file in the way, a read-only filesystem)
// is a DownloadError saying so.
//
// What is checked before a file is accepted:
//   - pinned files (registry sha256): the digest, nothing else needed;
//   - every file: its size is the registry's where known, and the body is as long as the server's
//     content-length;
//   - unpinned files: their content looks like what their name says (src/data/contentCheck.ts: no HTML
//     page, a .gz gunzips to the end, a .jsonl is JSON Lines and not a JSON error body);
//   - unpinned files are trusted on first use only after those checks: the digest is then recorded in
//     "<dest>.sha256" and later downloads must match it (the error names that file; --force re-records).
// Transport: https → http redirects are refused; a connect timeout (default 5 s), then a response
// timeout (a server that accepts the connection but never answers is reported as such), an idle timeout
// between bytes, an overall deadline (default 30 min) and a size cap (the known size, else 4 GiB) bound
// every download, so a server trickling bytes cannot hold it forever.
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as path from "path";
import { threadId } from "worker_threads";
import { ensureDir, fsyncPath, removeStaleTemporaries, writeFileAtomic } from "../fsAtomic";
import { contentProblem } from "./contentCheck";
import { readTar, type TarEntry } from "./tar";
import { cacheDir, findDataset, type DatasetEntry, type RemoteArchive, type RemoteFile } from "./registry";

export interface DownloadOptions {
  /** Cache root (default: data/cache in the project, or $PREFOPT_DATA_CACHE). */
  cacheDir?: string;
  /** Give up on a host that does not accept the connection within this time (default 5000 ms). */
  connectTimeoutMs?: number;
  /** Give up on a host that accepted the connection but sends no response within this time (default 30000 ms). */
  responseTimeoutMs?: number;
  /** Give up when no bytes arrive for this long once the response started (default 30000 ms). */
  idleTimeoutMs?: number;
  /** Give up on one download (all redirects included) after this long (default 30 min). */
  deadlineMs?: number;
  /** Refuse a body larger than this many bytes (default: the file's known size, else 4 GiB). */
  maxBytes?: number;
  /** Progress and status lines (default: stderr). */
  log?: (line: string) => void;
  /** Download again even when a verified copy is cached; for unpinned files, also re-record the digest. */
  force?: boolean;
}

export class DownloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DownloadError";
  }
}

/** SHA-256 of a file, read 1 MiB at a time (a 4 GiB download is never held in memory). */
export function sha256OfFile(file: string): string {
  const hash = crypto.createHash("sha256");
  const fd = fs.openSync(file, "r");
  try {
    const buf = Buffer.alloc(1 << 20);
    let n: number;
    while ((n = fs.readSync(fd, buf, 0, buf.length, null)) > 0) hash.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest("hex");
}

export function sha256OfBytes(bytes: Buffer): string {
  return crypto.createHash("sha256").update(bytes).digest("hex");
}

const defaultLog = (line: string) => process.stderr.write(line + "\n");

export const DEFAULT_MAX_BYTES = 4 * 2 ** 30;
/** An archive may unpack to at most this much (a small gzip of zeros must not fill memory). */
export const DEFAULT_MAX_UNPACKED = 1 * 2 ** 30;

/** The absolute target of a redirect from `from`; throws on a downgrade from https to http. */
export function redirectTarget(from: string, location: string): string {
  const next = new URL(location, from);
  if (new URL(from).protocol === "https:" && next.protocol !== "https:") {
    throw new Error(`refused a redirect from ${from} to ${next.toString()}: it leaves https`);
  }
  return next.toString();
}

export interface HttpDownloadResult {
  sha256: string;
  bytes: number;
  /** The response's content-type header, if any. */
  contentType?: string;
}

/** GET `url` (following up to 5 redirects) into `dest`, returning the SHA-256 of the bytes written. */
export async function httpDownload(url: string, dest: string, opts: DownloadOptions = {}): Promise<string> {
  return (await httpDownloadDetailed(url, dest, opts)).sha256;
}

/** httpDownload with the size and content type, under one overall deadline for all redirects. */
export function httpDownloadDetailed(
  url: string,
  dest: string,
  opts: DownloadOptions = {},
  redirects = 0,
  deadlineAt?: number,
): Promise<HttpDownloadResult> {
  const connectMs = opts.connectTimeoutMs ?? 5000;
  const responseMs = opts.responseTimeoutMs ?? 30000;
  const idleMs = opts.idleTimeoutMs ?? 30000;
  const deadline = deadlineAt ?? Date.now() + (opts.deadlineMs ?? 30 * 60 * 1000);
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const log = opts.log ?? defaultLog;
  return new Promise<HttpDownloadResult>((resolve, reject) => {
    let settled = false;
    let stageTimer: NodeJS.Timeout | undefined; // connect, then response: one stage at a time
    let overall: NodeJS.Timeout | undefined;
    const stage = (ms: number, error: () => Error) => {
      clearTimeout(stageTimer);
      stageTimer = ms >= 0 ? setTimeout(() => fail(error()), ms) : undefined;
    };
    const done = () => {
      settled = true;
      clearTimeout(stageTimer);
      clearTimeout(overall);
    };
    let out: fs.WriteStream | undefined;
    const fail = (err: Error) => {
      if (settled) return;
      done();
      req.destroy();
      out?.destroy();
      reject(err);
    };
    const client = url.startsWith("https:") ? https : url.startsWith("http:") ? http : null;
    if (!client) return reject(new Error(`unsupported URL scheme: ${url}`));
    const host = new URL(url).host;
    const req = client.get(url, { headers: { "user-agent": "prefopt-data/0.1" } }, (res) => {
      stage(-1, () => new Error(""));
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        if (redirects >= 5) return fail(new Error(`too many redirects from ${url}`));
        let next: string;
        try {
          next = redirectTarget(url, res.headers.location);
        } catch (e) {
          return fail(e as Error);
        }
        done();
        req.destroy();
        httpDownloadDetailed(next, dest, opts, redirects + 1, deadline).then(resolve, reject);
        return;
      }
      if (status !== 200) {
        res.resume();
        return fail(new Error(`HTTP ${status} from ${url}`));
      }
      const total = Number(res.headers["content-length"] ?? 0);
      if (total > maxBytes) {
        res.resume();
        return fail(new Error(`${url} announces ${total} bytes, more than the ${maxBytes} allowed for this file`));
      }
      const hash = crypto.createHash("sha256");
      out = fs.createWriteStream(dest);
      let received = 0;
      let lastReport = Date.now();
      const cut = () =>
        new Error(`${url}: the connection closed after ${received} bytes${total ? ` of ${total}` : ""}`);
      res.setTimeout(idleMs, () => fail(new Error(`no data from ${url} for ${idleMs} ms`)));
      res.on("data", (chunk: Buffer) => {
        hash.update(chunk);
        received += chunk.length;
        if (received > maxBytes)
          return fail(new Error(`${url} sent more than the ${maxBytes} bytes allowed for this file`));
        if (Date.now() - lastReport > 1000) {
          lastReport = Date.now();
          log(
            `  ${path.basename(dest).replace(/\.tmp-\d+-\d+-[0-9a-f]+$/, "")}: ${(received / 1e6).toFixed(1)} MB${total ? ` of ${(total / 1e6).toFixed(1)} MB` : ""}`,
          );
        }
      });
      res.on("error", fail);
      res.on("aborted", () => fail(cut()));
      out.on("error", fail);
      res.pipe(out);
      out.on("finish", () => {
        if (settled) return;
        if (!res.complete) return fail(cut());
        if (total && received !== total)
          return fail(new Error(`truncated download from ${url}: ${received} of ${total} bytes`));
        done();
        resolve({ sha256: hash.digest("hex"), bytes: received, contentType: res.headers["content-type"] });
      });
    });
    // Connect timeout until the TCP (and TLS) connection is up; then a response timeout, so a server that
    // accepts connections but never answers is told apart from one that cannot be reached.
    stage(connectMs, () => new Error(`could not connect to ${host} within ${connectMs} ms (no network?)`));
    req.on("socket", (socket) => {
      const onConnect = () =>
        stage(
          responseMs,
          () =>
            new Error(
              `connected to ${host}, but it sent no response within ${responseMs} ms (it accepts connections but does not answer)`,
            ),
        );
      if (!socket.connecting) onConnect();
      else socket.once(url.startsWith("https:") ? "secureConnect" : "connect", onConnect);
    });
    overall = setTimeout(
      () =>
        fail(
          new Error(
            `${url}: not finished within the ${Math.round((opts.deadlineMs ?? 30 * 60 * 1000) / 1000)} s deadline (a server sending this slowly is not waited for)`,
          ),
        ),
      Math.max(0, deadline - Date.now()),
    );
    req.on("error", fail);
  });
}

export { contentProblem };

/**
 * Make `dir` (inside the cache `root`), or fail with a DownloadError that says why: the cache root is a
 * file (naming PREFOPT_DATA_CACHE when that is where it came from), or the errno of the directory that
 * could not be made (EROFS, EACCES).
 */
function makeCacheDir(root: string, dir: string, fromEnv: boolean): void {
  const label = fromEnv ? `PREFOPT_DATA_CACHE=${root}` : `the data cache ${root}`;
  if (fs.existsSync(root) && !fs.statSync(root).isDirectory())
    throw new DownloadError(`${label}: it is a file, not a directory; point it at a directory`);
  try {
    ensureDir(dir);
  } catch (e) {
    throw new DownloadError(`${label}: could not create ${dir}: ${(e as Error).message}`);
  }
}

function manualHint(rel: string, urls: string[], root: string, homepage: string): string {
  return `download it by hand from ${urls[0]} (see ${homepage}) and save it as ${path.join(root, rel)}`;
}

/** Where the digest of an unpinned file is recorded on its first download (trust on first use). */
export function digestFile(root: string, rel: string): string {
  return path.join(root, `${rel}.sha256`);
}

function recordedDigest(root: string, rel: string): string | undefined {
  const f = digestFile(root, rel);
  return fs.existsSync(f) ? fs.readFileSync(f, "utf8").trim() : undefined;
}

export type FileStatus = "cached" | "downloaded";

export interface FetchedFile {
  path: string;
  status: FileStatus;
  sha256: string;
  /** false when the file has no pinned checksum (its digest was recorded on first download instead). */
  pinned: boolean;
}

/**
 * Make sure `file` is in the cache with the right digest, downloading it from its mirrors if needed.
 * With `force`, an unpinned file's recorded digest is replaced by the new download's (after the content
 * checks at the top of this file).
 */
export async function fetchFile(file: RemoteFile, homepage: string, opts: DownloadOptions = {}): Promise<FetchedFile> {
  const root = opts.cacheDir ?? cacheDir();
  const log = opts.log ?? defaultLog;
  const dest = path.join(root, file.path);
  makeCacheDir(root, path.dirname(dest), opts.cacheDir === undefined && !!process.env.PREFOPT_DATA_CACHE?.trim());
  const pinned = file.sha256 !== undefined;
  const recordFile = digestFile(root, file.path);
  const expected = file.sha256 ?? (opts.force ? undefined : recordedDigest(root, file.path));
  const expectation = pinned
    ? `expected ${expected}, pinned in src/data/registry.ts`
    : `expected ${expected}, recorded in ${recordFile} on the first download; if the file really changed upstream, run again with --force (or delete ${recordFile}) to record the new digest`;
  if (!opts.force && fs.existsSync(dest)) {
    const have = sha256OfFile(dest);
    if (expected === undefined || have === expected) return { path: dest, status: "cached", sha256: have, pinned };
    log(`  ${file.path}: cached copy has SHA-256 ${have} (${expectation}); downloading again`);
  }
  removeStaleTemporaries(dest); // left by a download that was killed
  const failures: string[] = [];
  for (const url of file.urls) {
    log(`  ${file.path} ← ${url}`);
    const part = `${dest}.tmp-${process.pid}-${threadId}-${crypto.randomBytes(4).toString("hex")}`;
    try {
      const got = await httpDownloadDetailed(url, part, {
        ...opts,
        maxBytes: opts.maxBytes ?? file.size ?? DEFAULT_MAX_BYTES,
      });
      if (file.size !== undefined && got.bytes !== file.size)
        throw new Error(`got ${got.bytes} bytes, but the file has ${file.size}`);
      if (expected !== undefined && got.sha256 !== expected)
        throw new Error(`SHA-256 mismatch (${expectation}; got ${got.sha256})`);
      if (!pinned) {
        // Nothing pins these bytes: check that they are the file at all before trusting them.
        const problem = await contentProblem(part, file.path, got.contentType);
        if (problem) throw new Error(`not accepted: ${problem}`);
      }
      fsyncPath(part);
      // What is renamed is what was verified: the bytes on disk, hashed again.
      const onDisk = sha256OfFile(part);
      if (onDisk !== got.sha256)
        throw new Error(`the file written has SHA-256 ${onDisk}, not the ${got.sha256} received; not accepted`);
      fs.renameSync(part, dest);
      if (!pinned && got.sha256 !== recordedDigest(root, file.path)) {
        writeFileAtomic(recordFile, got.sha256 + "\n");
        log(`  ${file.path}: no pinned checksum; recorded SHA-256 ${got.sha256} in ${recordFile} for later downloads`);
      }
      return { path: dest, status: "downloaded", sha256: got.sha256, pinned };
    } catch (err) {
      fs.rmSync(part, { force: true });
      failures.push(`${url}: ${(err as Error).message}`);
    }
  }
  throw new DownloadError(
    `could not fetch ${file.path}:\n  ${failures.join("\n  ")}\nTo continue without network, ${manualHint(file.path, file.urls, root, homepage)}.`,
  );
}

/** Download an archive (if its members are not all cached and verified) and extract the listed members. */
export async function fetchArchive(
  archive: RemoteArchive,
  homepage: string,
  opts: DownloadOptions = {},
): Promise<FetchedFile[]> {
  const root = opts.cacheDir ?? cacheDir();
  const members = archive.members.map((m) => ({ ...m, dest: path.join(root, m.path) }));
  const verified = (m: (typeof members)[number]) =>
    fs.existsSync(m.dest) && (m.sha256 === undefined || sha256OfFile(m.dest) === m.sha256);
  if (!opts.force && members.every(verified)) {
    return members.map((m) => ({
      path: m.dest,
      status: "cached" as const,
      sha256: sha256OfFile(m.dest),
      pinned: m.sha256 !== undefined,
    }));
  }
  let fetched: FetchedFile;
  try {
    fetched = await fetchFile(
      { path: archive.path, urls: archive.urls, sha256: archive.sha256, size: archive.size },
      homepage,
      opts,
    );
  } catch (err) {
    const targets = members.map((m) => m.dest).join(", ");
    throw new DownloadError(
      `${(err as Error).message}\n(or extract ${archive.members.map((m) => m.member).join(", ")} from it to ${targets})`,
    );
  }
  let entries: TarEntry[];
  try {
    entries = readTar(fs.readFileSync(fetched.path), { maxBytes: archive.maxUnpackedBytes ?? DEFAULT_MAX_UNPACKED });
  } catch (err) {
    throw new DownloadError(`${fetched.path}: ${(err as Error).message}`);
  }
  return members.map((m) => {
    const entry = entries.find((e) => e.name === m.member || e.name === `./${m.member}`);
    if (!entry)
      throw new DownloadError(
        `${archive.path} has no member ${m.member} (members: ${entries.map((e) => e.name).join(", ")})`,
      );
    const got = sha256OfBytes(entry.data);
    if (m.sha256 !== undefined && got !== m.sha256) {
      throw new DownloadError(
        `${m.member} in ${archive.path}: SHA-256 mismatch (expected ${m.sha256}, got ${got}); ${manualHint(m.path, archive.urls, root, homepage)}`,
      );
    }
    writeFileAtomic(m.dest, entry.data);
    return { path: m.dest, status: "downloaded" as const, sha256: got, pinned: m.sha256 !== undefined };
  });
}

/** Fetch every file of a dataset into the cache. */
export async function fetchDataset(dataset: string | DatasetEntry, opts: DownloadOptions = {}): Promise<FetchedFile[]> {
  const entry = typeof dataset === "string" ? findDataset(dataset) : dataset;
  const out: FetchedFile[] = [];
  for (const f of entry.files) out.push(await fetchFile(f, entry.homepage, opts));
  for (const a of entry.archives) out.push(...(await fetchArchive(a, entry.homepage, opts)));
  return out;
}
