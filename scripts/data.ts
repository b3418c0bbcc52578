// Real datasets: list what is known and where it lives, fetch into the git-ignored cache, verify checksums.
//
//   npm run data -- list
//   npm run data -- fetch <name> [--force] [--connect-timeout <ms>]
//     --force re-downloads, and for a file without a pinned checksum records the new download's digest
//   npm run data -- verify [<name>]
import * as fs from "fs";
import * as path from "path";
import {
  DATASETS,
  cacheDir,
  findDataset,
  locateDataFile,
  sharedDataDir,
  type DatasetEntry,
} from "../src/data/registry";
import { DownloadError, fetchDataset, sha256OfBytes } from "../src/data/download";
import { readBytes } from "../src/data/read";

class UsageError extends Error {}

function dataPaths(entry: DatasetEntry): Array<{ path: string; sha256?: string }> {
  return [...entry.files, ...entry.archives.flatMap((a) => a.members)];
}

/** Verified / present / missing counts for a dataset's files (gzipped shared copies are checked gunzipped). */
function localStatus(entry: DatasetEntry): {
  verified: number;
  unpinned: number;
  bad: string[];
  missing: string[];
  where: Set<string>;
} {
  const out = { verified: 0, unpinned: 0, bad: [] as string[], missing: [] as string[], where: new Set<string>() };
  for (const f of dataPaths(entry)) {
    const found = locateDataFile(f.path);
    if (!found) {
      out.missing.push(f.path);
      continue;
    }
    out.where.add(found.startsWith(sharedDataDir()) ? "shared" : "cache");
    if (f.sha256 === undefined) {
      out.unpinned++;
      continue;
    }
    // A ".gz" found for a path that is not itself .gz is our gzipped copy: compare the original bytes.
    const bytes = found.endsWith(".gz") && !f.path.endsWith(".gz") ? readBytes(found) : fs.readFileSync(found);
    if (sha256OfBytes(bytes) === f.sha256) out.verified++;
    else out.bad.push(found);
  }
  return out;
}

function list(): void {
  console.log(`shared data: ${sharedDataDir()}${fs.existsSync(sharedDataDir()) ? "" : " (absent)"}`);
  console.log(`cache:       ${cacheDir()}\n`);
  for (const d of DATASETS) {
    const files = dataPaths(d);
    const pinned = files.filter((f) => f.sha256 !== undefined).length;
    const s = localStatus(d);
    const local =
      s.missing.length === 0
        ? `present (${[...s.where].join(" + ")})`
        : s.missing.length === files.length
          ? "not downloaded"
          : `${files.length - s.missing.length}/${files.length} files present`;
    console.log(
      `${d.name}\n  ${d.title}\n  licence ${d.license}; ${files.length} files, ${pinned} with pinned SHA-256; ${local}\n  source: ${d.homepage}`,
    );
  }
}

async function fetch(name: string, args: string[]): Promise<void> {
  const entry = findDataset(name);
  const force = args.includes("--force");
  const known = ["--force", "--connect-timeout"];
  for (let k = 0; k < args.length; k++) {
    if (args[k] === "--connect-timeout") k++;
    else if (!known.includes(args[k]))
      throw new UsageError(
        `unknown argument ${JSON.stringify(args[k])} to fetch (expected --force, --connect-timeout <ms>)`,
      );
  }
  const i = args.indexOf("--connect-timeout");
  let connectTimeoutMs: number | undefined;
  if (i >= 0) {
    const text = args[i + 1];
    connectTimeoutMs = Number(text);
    if (text === undefined || text.startsWith("--") || !/^\d+(\.\d+)?$/.test(text.trim()) || !(connectTimeoutMs > 0)) {
      throw new UsageError(
        `--connect-timeout needs a positive number of milliseconds, got ${text === undefined ? "nothing" : JSON.stringify(text)}`,
      );
    }
  }
  const status = localStatus(entry);
  if (!force && status.missing.length === 0 && status.bad.length === 0) {
    console.log(
      `${name}: all ${dataPaths(entry).length} files already present (${[...status.where].join(" + ")}); nothing to download (use --force to re-download into ${cacheDir()})`,
    );
    return;
  }
  const t0 = Date.now();
  const files = await fetchDataset(entry, { force, connectTimeoutMs });
  for (const f of files)
    console.log(
      `${f.status.padEnd(10)} ${f.pinned ? "verified " : "unpinned "} ${f.sha256}  ${path.relative(process.cwd(), f.path)}`,
    );
  console.log(`${name}: ${files.length} files in ${((Date.now() - t0) / 1000).toFixed(1)} s, cache ${cacheDir()}`);
}

function verify(names: string[]): boolean {
  let ok = true;
  for (const d of names.length ? names.map((n) => findDataset(n)) : DATASETS) {
    const s = localStatus(d);
    console.log(
      `${d.name}: ${s.verified} verified, ${s.unpinned} present without pinned checksum, ${s.missing.length} missing, ${s.bad.length} with WRONG checksum`,
    );
    for (const b of s.bad) console.log(`  checksum mismatch: ${b}`);
    if (s.bad.length) ok = false;
  }
  return ok;
}

async function main(): Promise<void> {
  const [cmd, ...rest] = process.argv.slice(2);
  if (cmd === "list") return list();
  if (cmd === "fetch" && rest[0]) return fetch(rest[0], rest.slice(1));
  if (cmd === "verify") {
    if (!verify(rest)) process.exitCode = 1;
    return;
  }
  console.error(
    `usage: npm run data -- list | fetch <name> [--force] [--connect-timeout ms] | verify [name]\ndatasets: ${DATASETS.map((d) => d.name).join(", ")}`,
  );
  process.exitCode = 2;
}

main().catch((err) => {
  console.error(err instanceof DownloadError || err instanceof UsageError ? `error: ${err.message}` : err);
  process.exitCode = err instanceof UsageError ? 2 : 1;
});
