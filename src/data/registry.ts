// Where real datasets come from and where they live locally. A dataset is found, in order, in
//   1. the shared data folder: $PREFOPT_SHARED_DATA, else ../shared/data next to the project root
//      (byte-for-byte upstream copies; the UKPConvArg1Strict CSVs there are gzipped), then
//   2. the download cache data/cache/ (git-ignored), laid out the same way, filled by `npm run data -- fetch`.
import * as fs from "fs";
import * as path from "path";
import {
  HH_HARMLESS_TEST_SHA256,
  RT_POLARITY_ARCHIVE_SHA256,
  RT_POLARITY_NEG_SHA256,
  RT_POLARITY_POS_SHA256,
  UKP_RANKING_SHA256,
  UKP_STRICT_SHA256,
} from "./checksums";

/** The project root (the folder holding package.json), from this file's location. */
export const PROJECT_ROOT = path.resolve(__dirname, "..", "..");

/** Shared read-only copies of the datasets: $PREFOPT_SHARED_DATA or <project>/../shared/data. */
export function sharedDataDir(): string {
  const env = process.env.PREFOPT_SHARED_DATA;
  return env && env.trim() !== "" ? path.resolve(env) : path.resolve(PROJECT_ROOT, "..", "shared", "data");
}

/** The git-ignored download cache: $PREFOPT_DATA_CACHE or <project>/data/cache. */
export function cacheDir(): string {
  const env = process.env.PREFOPT_DATA_CACHE;
  return env && env.trim() !== "" ? path.resolve(env) : path.join(PROJECT_ROOT, "data", "cache");
}

export interface RemoteFile {
  /** Path relative to the data root, the same in ../shared/data and in the cache. */
  path: string;
  /** Mirrors, tried in order. */
  urls: string[];
  /** SHA-256 of the file as saved. Absent = not pinned: the first download's digest is recorded and later ones must match it. */
  sha256?: string;
  /** Size in bytes, where known: a download of another size is refused (and the size caps the download). */
  size?: number;
}

export interface RemoteArchive {
  /** Cache path for the archive itself. */
  path: string;
  urls: string[];
  sha256?: string;
  size?: number;
  /** Cap on the unpacked size (default 1 GiB): a small gzip of zeros must not fill memory. */
  maxUnpackedBytes?: number;
  /** Files to extract: archive member → data path, each verified. */
  members: Array<{ member: string; path: string; sha256?: string }>;
}

export interface DatasetEntry {
  name: string;
  title: string;
  license: string;
  /** Folder under the data root. */
  folder: string;
  files: RemoteFile[];
  archives: RemoteArchive[];
  /** Where a user without this tool can get the files by hand. */
  homepage: string;
}

/** The anthropics/hh-rlhf GitHub commit the files are fetched at (the one ../shared/data was copied from). */
export const HH_COMMIT = "354e5c3cb8960630860dd5774a6ac2a58313bf4d";
// The primary source is GitHub at that pinned commit (hh-rlhf stores its data with Git LFS, so GitHub
// serves the bytes from media.githubusercontent.com). The Hugging Face copy is only a fallback and is NOT
// pinned: it is fetched from the dataset's `main` branch (no Hub revision is recorded here). Either way
// the bytes are checked: against the pinned SHA-256 where there is one (harmless-base test), otherwise
// against the digest recorded on the file's first download.
function hhFile(subset: string, split: "train" | "test", sha256?: string): RemoteFile {
  const rel = `${subset}/${split}.jsonl.gz`;
  return {
    path: `hh-rlhf/${rel}`,
    urls: [
      `https://media.githubusercontent.com/media/anthropics/hh-rlhf/${HH_COMMIT}/${rel}`,
      `https://huggingface.co/datasets/Anthropic/hh-rlhf/resolve/main/${rel}`,
    ],
    sha256,
  };
}

function hhEntry(subset: string, testSha?: string): DatasetEntry {
  return {
    name: `hh-rlhf-${subset}`,
    title: `Anthropic HH-RLHF, ${subset} (train + test), whole dialogues {chosen, rejected}`,
    license: "MIT",
    folder: "hh-rlhf",
    files: [hhFile(subset, "train"), hhFile(subset, "test", testSha)],
    archives: [],
    homepage: `https://github.com/anthropics/hh-rlhf (commit ${HH_COMMIT}; also https://huggingface.co/datasets/Anthropic/hh-rlhf, branch main)`,
  };
}

// UKPConvArg1 is pinned by content (SHA-256), so the branch head is fine as long as the files are unchanged.
const UKP_RAW = "https://raw.githubusercontent.com/UKPLab/acl2016-convincing-arguments/master/data";

export const DATASETS: DatasetEntry[] = [
  hhEntry("harmless-base", HH_HARMLESS_TEST_SHA256),
  hhEntry("helpful-base"),
  hhEntry("helpful-online"),
  hhEntry("helpful-rejection-sampled"),
  {
    name: "ukpconvarg1",
    title:
      "UKPConvArg1 (Habernal & Gurevych, ACL 2016): 11,650 pairwise convincingness judgements + 1,052 ranked arguments",
    license: "CC BY 4.0",
    folder: "ukpconvarg1",
    files: [
      ...UKP_STRICT_SHA256.map(([name, sha256]) => ({
        path: `ukpconvarg1/UKPConvArg1Strict-CSV/${name}`,
        urls: [`${UKP_RAW}/UKPConvArg1Strict-CSV/${name}`],
        sha256,
      })),
      ...UKP_RANKING_SHA256.map(([name, sha256]) => ({
        path: `ukpconvarg1/UKPConvArg1-Ranking-CSV/${name}`,
        urls: [`${UKP_RAW}/UKPConvArg1-Ranking-CSV/${name}`],
        sha256,
      })),
    ],
    archives: [],
    homepage: "https://github.com/UKPLab/acl2016-convincing-arguments (folder data/)",
  },
  {
    name: "rt-polarity",
    title: "Sentence polarity v1.0 (Pang & Lee, 2005): 5,331 positive + 5,331 negative snippets, Latin-1",
    license: "see the Cornell movie-review-data page",
    folder: "rt-polarity",
    files: [],
    archives: [
      {
        path: "_downloads/rt-polaritydata.tar.gz",
        // The Google Cloud copy is the one Hugging Face's rotten_tomatoes loader downloads.
        urls: [
          "https://www.cs.cornell.edu/people/pabo/movie-review-data/rt-polaritydata.tar.gz",
          "https://storage.googleapis.com/seldon-datasets/sentence_polarity_v1/rt-polaritydata.tar.gz",
        ],
        // Pinned from Hugging Face datasets' rotten_tomatoes/dataset_infos.json (download_checksums of the
        // copy above: 487,770 bytes). No copy of the archive is in ../shared/data to re-derive it from;
        // the two members are pinned independently (from ../shared/data/SHA256SUMS).
        sha256: RT_POLARITY_ARCHIVE_SHA256,
        size: 487770,
        maxUnpackedBytes: 16 * 2 ** 20,
        members: [
          {
            member: "rt-polaritydata/rt-polarity.pos",
            path: "rt-polarity/rt-polarity.pos",
            sha256: RT_POLARITY_POS_SHA256,
          },
          {
            member: "rt-polaritydata/rt-polarity.neg",
            path: "rt-polarity/rt-polarity.neg",
            sha256: RT_POLARITY_NEG_SHA256,
          },
        ],
      },
    ],
    homepage: "https://www.cs.cornell.edu/people/pabo/movie-review-data/ (rt-polaritydata.tar.gz)",
  },
];

export function findDataset(name: string, registry: DatasetEntry[] = DATASETS): DatasetEntry {
  const entry = registry.find((d) => d.name === name);
  if (!entry) throw new Error(`unknown dataset "${name}"; known: ${registry.map((d) => d.name).join(", ")}`);
  return entry;
}

/**
 * Absolute path of a data file (e.g. "hh-rlhf/harmless-base/test.jsonl.gz"): the shared copy if present
 * (also accepting a gzipped copy "<path>.gz"), else the cache copy; null when neither exists.
 */
export function locateDataFile(relPath: string, roots: string[] = [sharedDataDir(), cacheDir()]): string | null {
  for (const root of roots) {
    for (const candidate of [relPath, `${relPath}.gz`]) {
      const p = path.join(root, candidate);
      if (fs.existsSync(p)) return p;
    }
  }
  return null;
}

/** Like locateDataFile, but a missing file is an error that says how to get it. */
export function requireDataFile(relPath: string, datasetName?: string): string {
  const found = locateDataFile(relPath);
  if (found) return found;
  const fetchHint = datasetName ? `run \`npm run data -- fetch ${datasetName}\`` : "download it";
  throw new Error(
    `data file ${relPath} not found in ${sharedDataDir()} (set PREFOPT_SHARED_DATA to override) nor in the cache ${cacheDir()}: ${fetchHint}, or place it by hand at ${path.join(cacheDir(), relPath)}`,
  );
}

/** Folder holding a dataset's directory `relDir` (shared copy first, then cache); null if neither. */
export function locateDataDir(relDir: string, roots: string[] = [sharedDataDir(), cacheDir()]): string | null {
  for (const root of roots) {
    const p = path.join(root, relDir);
    if (fs.existsSync(p) && fs.statSync(p).isDirectory()) return p;
  }
  return null;
}
