// The LM sweep kind's artefact cache: the method-independent stages of a run (the SFT reference model and
// the RLAIF preference data) depend only on the preset's settings and the data seed, so they are built
// once and kept in memory per worker (a small LRU) and on disk under checkpoints/lm-sweep-cache/
// (PREFOPT_LM_CACHE=<dir> moves it, PREFOPT_LM_CACHE=off turns the disk part off). Every entry is keyed by
// the sha256 of its inputs (including the kind's version) and verified on load: a reference by its
// weights' checksum and tokenizer, the data by the checksum of its body; a damaged entry is reported and
// rebuilt. Entries are written atomically (src/fsAtomic.ts). Cached or not, a run gets the same numbers.
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { writeAtomically, writeFileAtomic } from "../fsAtomic";
import { DEFAULT_CHECKPOINT_DIR, loadCheckpoint, saveCheckpoint } from "../lm/checkpoint";
import { generateReviewCorpus } from "../lm/corpus";
import { defaultConstitution } from "../lm/judges";
import { makeRlaifData, setupCorpus, trainReference, type LmPreset, type LmSetup } from "../lm/pipeline";
import type { RlaifData } from "../lm/rlaif";
import type { Transformer } from "../lm/transformer";
import { canonicalJson } from "../sweep/config";

export interface Reference {
  setup: LmSetup;
  model: Transformer;
  sftPerplexity: number;
}

/** How the artefacts were obtained so far in this thread (tests use it to see that a cache was hit). */
export const lmCacheStats = {
  referenceBuilt: 0,
  referenceFromDisk: 0,
  referenceFromMemory: 0,
  dataBuilt: 0,
  dataFromDisk: 0,
  dataFromMemory: 0,
  damaged: 0,
};

const references = new Map<string, Reference>(); // least recently used first
const datasets = new Map<string, RlaifData>();
const KEEP_REFERENCES = 2; // a grid that alternates between two data settings does not thrash
const KEEP_DATASETS = 4;

/** Where the disk cache lives (PREFOPT_LM_CACHE), or undefined when it is turned off. */
export function lmCacheDir(): string | undefined {
  const env = process.env.PREFOPT_LM_CACHE;
  if (env === "off" || env === "0") return undefined;
  return env || path.join(DEFAULT_CHECKPOINT_DIR, "lm-sweep-cache");
}

/** Forget (and dispose) everything this thread keeps in memory; the disk cache stays. */
export function clearLmMemory(): void {
  for (const ref of references.values()) ref.model.dispose();
  references.clear();
  datasets.clear();
}

function remember<V>(map: Map<string, V>, key: string, value: V, keep: number, drop?: (v: V) => void): V {
  map.delete(key);
  map.set(key, value);
  for (const [k, v] of map) {
    if (map.size <= keep) break;
    map.delete(k);
    drop?.(v);
  }
  return value;
}

const sha256 = (text: string | Buffer): string => createHash("sha256").update(text).digest("hex");

/** Weights, shapes and names, in name order: detects a checkpoint damaged in a way JSON parsing misses. */
function weightsHash(model: Transformer): string {
  const h = createHash("sha256");
  for (const name of [...model.params.keys()].sort()) {
    const v = model.params.get(name)!;
    const data = v.dataSync() as Float32Array;
    h.update(`${name}:${v.shape.join("x")};`).update(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  }
  return h.digest("hex");
}

function warnDamaged(file: string, why: string): void {
  lmCacheStats.damaged++;
  process.stderr.write(`lm cache: ${file} is unusable (${why}); rebuilding it\n`);
}

/** The SFT reference for `preset` (memory, then disk, then trained and stored). */
export function referenceFor(preset: LmPreset, kindVersion: number): { key: string; ref: Reference } {
  const inputs = {
    what: "lm-sft-reference",
    kindVersion,
    corpus: "generated-reviews",
    corpusSize: preset.corpusSize,
    heldOutFraction: preset.heldOutFraction,
    maxVocab: preset.maxVocab,
    model: preset.model,
    sft: preset.sft,
    seed: preset.seed,
  };
  const key = sha256(canonicalJson(inputs)).slice(0, 24);
  const kept = references.get(key);
  if (kept) {
    lmCacheStats.referenceFromMemory++;
    return { key, ref: remember(references, key, kept, KEEP_REFERENCES) };
  }
  // The corpus split and tokenizer are cheap and deterministic: recompute them rather than store them.
  const setup = setupCorpus(generateReviewCorpus(preset.corpusSize, preset.seed), preset);
  const dir = lmCacheDir();
  const file = dir && path.join(dir, `reference-${key}.json`);
  let ref: Reference | undefined;
  if (file && fs.existsSync(file)) {
    let model: Transformer | undefined;
    try {
      const loaded = loadCheckpoint(file);
      model = loaded.model;
      const meta = loaded.meta ?? {};
      if (meta.key !== key) throw new Error("its key does not match its file name");
      if (canonicalJson(loaded.tokenizer.toJSON()) !== canonicalJson(setup.tokenizer.toJSON()))
        throw new Error("its tokenizer differs from the corpus's");
      if (weightsHash(model) !== meta.weightsSha256) throw new Error("its weights fail their checksum");
      if (typeof meta.sftPerplexity !== "number") throw new Error("meta.sftPerplexity is missing");
      ref = { setup, model, sftPerplexity: meta.sftPerplexity };
      lmCacheStats.referenceFromDisk++;
    } catch (e) {
      model?.dispose();
      warnDamaged(file, (e as Error).message);
    }
  }
  if (!ref) {
    const { model, sft } = trainReference(setup, preset, false);
    ref = { setup, model, sftPerplexity: sft.finalHeldOutPerplexity };
    lmCacheStats.referenceBuilt++;
    const meta = { key, inputs, weightsSha256: weightsHash(model), sftPerplexity: ref.sftPerplexity };
    if (file) writeAtomically(file, (tmp) => saveCheckpoint(tmp, model, setup.tokenizer, meta));
  }
  return { key, ref: remember(references, key, ref, KEEP_REFERENCES, (r) => r.model.dispose()) };
}

/** The RLAIF preference data built with `ref` for `preset` (memory, then disk, then built and stored). */
export function rlaifDataFor(preset: LmPreset, referenceKey: string, ref: Reference, kindVersion: number): RlaifData {
  const inputs = {
    what: "lm-rlaif-data",
    kindVersion,
    reference: referenceKey,
    rlaif: preset.rlaif,
    constitution: "default",
    seed: preset.seed,
  };
  const key = sha256(canonicalJson(inputs)).slice(0, 24);
  const kept = datasets.get(key);
  if (kept) {
    lmCacheStats.dataFromMemory++;
    return remember(datasets, key, kept, KEEP_DATASETS);
  }
  const dir = lmCacheDir();
  const file = dir && path.join(dir, `rlaif-${key}.json`);
  if (file && fs.existsSync(file)) {
    try {
      const wrapper = JSON.parse(fs.readFileSync(file, "utf8")) as { key?: string; sha256?: string; body?: string };
      if (wrapper.key !== key || typeof wrapper.body !== "string")
        throw new Error("not an RLAIF cache entry for this key");
      if (sha256(wrapper.body) !== wrapper.sha256) throw new Error("its body fails its checksum");
      lmCacheStats.dataFromDisk++;
      return remember(datasets, key, JSON.parse(wrapper.body) as RlaifData, KEEP_DATASETS);
    } catch (e) {
      warnDamaged(file, (e as Error).message);
    }
  }
  const full = makeRlaifData(ref.model, ref.setup, defaultConstitution(), preset);
  // Keep exactly what the cache file holds, so a fresh build and a cache hit hand the trainers the same data.
  const data: RlaifData = JSON.parse(
    JSON.stringify({
      pairs: full.pairs,
      rankings: full.rankings,
      unpaired: full.unpaired,
      tiedPrompts: full.tiedPrompts,
      tiedLists: full.tiedLists,
      flippedFraction: full.flippedFraction,
    }),
  );
  lmCacheStats.dataBuilt++;
  if (file) {
    const body = JSON.stringify(data);
    writeFileAtomic(
      file,
      JSON.stringify({ format: "prefopt-lm-rlaif-cache-v1", key, inputs, sha256: sha256(body), body }),
    );
  }
  return remember(datasets, key, data, KEEP_DATASETS);
}
