// Checksum-verified downloads into the git-ignored cache. Each file is streamed to "<dest>.part" while its
// SHA-256 is computed, then renamed into place only if the digest matches; a file already in the cache
// with the right digest is not downloaded again. Mirrors are tried in order. With no network the connect
// timeout (default 5 s) fails fast, and the error names the file and where to put it by hand.
import * as crypto from "crypto";
import * as fs from "fs";
import * as http from "http";
import * as https from "https";
import * as path from "path";
import { readTar } from "./tar";
import { cacheDir, findDataset, type DatasetEntry, type RemoteArchive, type RemoteFile } from "./registry";

export interface DownloadOptions {
  /** Cache root (default: data/cache in the project, or $PREFOPT_DATA_CACHE). */
  cacheDir?: string;
  /** Give up on a host that does not accept the connection within this time (default 5000 ms). */
  connectTimeoutMs?: number;
  /** Give up when no bytes arrive for this long once connected (default 30000 ms). */
  idleTimeoutMs?: number;
  /** Progress and status lines (default: stderr). */
  log?: (line: string) => void;
  /** Download again even when a verified copy is cached. */
  force?: boolean;
}

export class DownloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DownloadError";
  }
}

export function sha256OfFile(file: string): string {
  return crypto.createHash("sha256").update(fs.readFileSync(file)).digest("hex");
}

export function sha256OfBytes(bytes: Buffer): string {
  return crypto.createHash("sha256").update(bytes).digest("hex");
}

const defaultLog = (line: string) => process.stderr.write(line + "\n");

/** GET `url` (following up to 5 redirects) into `dest`, returning the SHA-256 of the bytes written. */
export function httpDownload(url: string, dest: string, opts: DownloadOptions = {}, redirects = 0): Promise<string> {
  const connectMs = opts.connectTimeoutMs ?? 5000;
  const idleMs = opts.idleTimeoutMs ?? 30000;
  const log = opts.log ?? defaultLog;
  return new Promise<string>((resolve, reject) => {
    let settled = false;
    const fail = (err: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(connectTimer);
      req.destroy();
      reject(err);
    };
    const client = url.startsWith("https:") ? https : url.startsWith("http:") ? http : null;
    if (!client) return reject(new Error(`unsupported URL scheme: ${url}`));
    const req = client.get(url, { headers: { "user-agent": "prefopt-data/0.1" } }, (res) => {
      clearTimeout(connectTimer);
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        if (redirects >= 5) return fail(new Error(`too many redirects from ${url}`));
        settled = true;
        const next = new URL(res.headers.location, url).toString();
        httpDownload(next, dest, opts, redirects + 1).then(resolve, reject);
        return;
      }
      if (status !== 200) {
        res.resume();
        return fail(new Error(`HTTP ${status} from ${url}`));
      }
      const total = Number(res.headers["content-length"] ?? 0);
      const hash = crypto.createHash("sha256");
      const out = fs.createWriteStream(dest);
      let received = 0;
      let lastReport = Date.now();
      res.setTimeout(idleMs, () => fail(new Error(`no data from ${url} for ${idleMs} ms`)));
      res.on("data", (chunk: Buffer) => {
        hash.update(chunk);
        received += chunk.length;
        if (Date.now() - lastReport > 1000) {
          lastReport = Date.now();
          log(`  ${path.basename(dest, ".part")}: ${(received / 1e6).toFixed(1)} MB${total ? ` of ${(total / 1e6).toFixed(1)} MB` : ""}`);
        }
      });
      res.on("error", fail);
      out.on("error", fail);
      res.pipe(out);
      out.on("finish", () => {
        if (settled) return;
        if (total && received !== total) return fail(new Error(`truncated download from ${url}: ${received} of ${total} bytes`));
        settled = true;
        resolve(hash.digest("hex"));
      });
    });
    const connectTimer = setTimeout(() => fail(new Error(`could not connect to ${new URL(url).host} within ${connectMs} ms (no network?)`)), connectMs);
    req.on("error", fail);
  });
}

function manualHint(rel: string, urls: string[], root: string, homepage: string): string {
  return `download it by hand from ${urls[0]} (see ${homepage}) and save it as ${path.join(root, rel)}`;
}

/** Digest recorded for an unpinned file on its first download (trust on first use). */
function recordedDigest(root: string, rel: string): string | undefined {
  const f = path.join(root, `${rel}.sha256`);
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

/** Make sure `file` is in the cache with the right digest, downloading it from its mirrors if needed. */
export async function fetchFile(file: RemoteFile, homepage: string, opts: DownloadOptions = {}): Promise<FetchedFile> {
  const root = opts.cacheDir ?? cacheDir();
  const log = opts.log ?? defaultLog;
  const dest = path.join(root, file.path);
  const expected = file.sha256 ?? recordedDigest(root, file.path);
  if (!opts.force && fs.existsSync(dest)) {
    const have = sha256OfFile(dest);
    if (expected === undefined || have === expected) return { path: dest, status: "cached", sha256: have, pinned: file.sha256 !== undefined };
    log(`  ${file.path}: cached copy has SHA-256 ${have}, expected ${expected}; downloading again`);
  }
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  const part = `${dest}.part`;
  const failures: string[] = [];
  for (const url of file.urls) {
    log(`  ${file.path} ← ${url}`);
    try {
      const got = await httpDownload(url, part, opts);
      if (expected !== undefined && got !== expected) {
        failures.push(`${url}: SHA-256 mismatch (expected ${expected}, got ${got})`);
        fs.rmSync(part, { force: true });
        continue;
      }
      fs.renameSync(part, dest);
      if (file.sha256 === undefined) {
        fs.writeFileSync(`${dest}.sha256`, got + "\n");
        log(`  ${file.path}: no pinned checksum; recorded SHA-256 ${got} for later downloads`);
      }
      return { path: dest, status: "downloaded", sha256: got, pinned: file.sha256 !== undefined };
    } catch (err) {
      fs.rmSync(part, { force: true });
      failures.push(`${url}: ${(err as Error).message}`);
    }
  }
  throw new DownloadError(`could not fetch ${file.path}:\n  ${failures.join("\n  ")}\nTo continue without network, ${manualHint(file.path, file.urls, root, homepage)}.`);
}

/** Download an archive (if its members are not all cached and verified) and extract the listed members. */
export async function fetchArchive(archive: RemoteArchive, homepage: string, opts: DownloadOptions = {}): Promise<FetchedFile[]> {
  const root = opts.cacheDir ?? cacheDir();
  const members = archive.members.map((m) => ({ ...m, dest: path.join(root, m.path) }));
  const verified = (m: (typeof members)[number]) => fs.existsSync(m.dest) && (m.sha256 === undefined || sha256OfFile(m.dest) === m.sha256);
  if (!opts.force && members.every(verified)) {
    return members.map((m) => ({ path: m.dest, status: "cached" as const, sha256: sha256OfFile(m.dest), pinned: m.sha256 !== undefined }));
  }
  let fetched: FetchedFile;
  try {
    fetched = await fetchFile({ path: archive.path, urls: archive.urls, sha256: archive.sha256 }, homepage, opts);
  } catch (err) {
    const targets = members.map((m) => m.dest).join(", ");
    throw new DownloadError(`${(err as Error).message}\n(or extract ${archive.members.map((m) => m.member).join(", ")} from it to ${targets})`);
  }
  const entries = readTar(fs.readFileSync(fetched.path));
  return members.map((m) => {
    const entry = entries.find((e) => e.name === m.member || e.name === `./${m.member}`);
    if (!entry) throw new DownloadError(`${archive.path} has no member ${m.member} (members: ${entries.map((e) => e.name).join(", ")})`);
    const got = sha256OfBytes(entry.data);
    if (m.sha256 !== undefined && got !== m.sha256) {
      throw new DownloadError(`${m.member} in ${archive.path}: SHA-256 mismatch (expected ${m.sha256}, got ${got}); ${manualHint(m.path, archive.urls, root, homepage)}`);
    }
    fs.mkdirSync(path.dirname(m.dest), { recursive: true });
    fs.writeFileSync(m.dest, entry.data);
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
