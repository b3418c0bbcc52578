// One command re-creates the committed real-human-preference results of notebook 11:
//   npm run hh                      → scripts/sweeps/hh.json and scripts/sweeps/hh-overopt.json, writing
//                                     data/hh/hh.json and data/hh/hh-overopt.json (the config's name)
//   npm run hh -- <config.json> [out.json]
// A config with an "overopt" section runs the gold-reward over-optimisation study (hh-overopt.ts) on its
// datasets and seeds; one without runs the method comparison (hh-study.ts).
// The results carry the config file's sha256 and the code commit; the file is replaced only by a complete
// run (written atomically at the end), so an interrupted run leaves the committed results intact.
import { execFileSync } from "child_process";
import { createHash } from "crypto";
import * as fs from "fs";
import { initBackend } from "../src/backend";
import { writeFileAtomic } from "../src/fsAtomic";
import { loadRealPairs } from "../src/experiments/hh-data";
import { runSeed, type HhStudyConfig, type SeedResult } from "../src/experiments/hh-study";
import { runOveropt, type OveroptConfig, type OveroptResult } from "../src/experiments/hh-overopt";
import type { HhResults as StoredHhResults } from "../src/experiments/hh-results";

export const HH_CONFIGS = ["scripts/sweeps/hh.json", "scripts/sweeps/hh-overopt.json"];

/** What this script writes: the results file of src/experiments/hh-results.ts, format v2. */
export type HhResults = StoredHhResults & { format: "prefopt-hh-results-v2" };

function gitVersion(): { commit: string; dirty: boolean } {
  try {
    const git = (args: string[]) =>
      execFileSync("git", args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    return { commit: git(["rev-parse", "HEAD"]), dirty: git(["status", "--porcelain", "--", "src", "scripts"]) !== "" };
  } catch {
    return { commit: "unknown", dirty: true };
  }
}

async function main(): Promise<void> {
  await initBackend();
  if (process.argv[2] === undefined) for (const f of HH_CONFIGS) await runConfig(f);
  else await runConfig(process.argv[2], process.argv[3]);
}

async function runConfig(file: string, outArg?: string): Promise<void> {
  const bytes = fs.readFileSync(file);
  const cfg = JSON.parse(bytes.toString("utf8")) as HhStudyConfig & { overopt?: OveroptConfig };
  const out = outArg ?? `data/hh/${cfg.name}.json`;
  const t0 = performance.now();
  const loaded = [];
  for (const d of cfg.datasets) {
    const { pairs, skipped } = await loadRealPairs(d.dataset);
    console.log(`${d.dataset}: ${pairs.length} pairs (${skipped} rejected by the loader)`);
    loaded.push(pairs);
  }
  const code = gitVersion();
  const runs: SeedResult[] = [];
  const overopt: OveroptResult[] = [];
  const results = (): HhResults => ({
    format: "prefopt-hh-results-v2",
    config: { file, sha256: createHash("sha256").update(bytes).digest("hex"), body: cfg },
    code,
    seconds: (performance.now() - t0) / 1000,
    createdAt: new Date().toISOString(),
    runs,
    overopt,
  });
  // Seeds outer, datasets inner: an interrupted run has every dataset at the first seeds. After each seed
  // the runs so far go to <out>.partial.json (never to <out>: only a complete run replaces it).
  const partial = out.replace(/\.json$/, "") + ".partial.json";
  for (const seed of cfg.seeds)
    for (const [i, d] of cfg.datasets.entries()) {
      if (cfg.overopt) overopt.push(await runOveropt(cfg, cfg.overopt, d, seed, loaded[i], (m) => console.log(m)));
      else runs.push(await runSeed(cfg, d, seed, loaded[i], (m) => console.log(m)));
      writeFileAtomic(partial, JSON.stringify(results(), null, 1) + "\n");
    }
  const r = results();
  writeFileAtomic(out, JSON.stringify(r, null, 1) + "\n");
  fs.rmSync(partial, { force: true });
  console.log(`wrote ${out} (${r.seconds.toFixed(0)} s)`);
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
