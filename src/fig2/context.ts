// From the shared stages (buildFig2Shared: classifier, split, SFT, pairs, reward model) to the context one
// run needs. The shared stages are built once per (data preset, data seed) and kept in memory per thread.
//
// Each offline run draws `offline.units` training units of each kind (0: all), so the context hands it a
// seeded random subset of that many pairs / unpaired examples / rankings: the trainer's own shuffle then sees
// the same distribution of minibatches as with the full set, and the reference log-probs it caches up front
// cover only units it will use. (KTO's mismatched partners are drawn by the trainer after its own seeded
// shuffle, as TRL's are.)
import type { Fig2Context } from "./evaluation";
import { runData } from "./run";
import { buildFig2Shared, FIG2_DATA_PRESETS, type Fig2Shared } from "./shared";

const shared = new Map<string, Promise<Fig2Shared>>();

/** The shared stages for (preset, dataSeed), built or loaded from the disk cache once per thread. */
export function sharedFor(preset: string, dataSeed: number, verbose = false): Promise<Fig2Shared> {
  const p = FIG2_DATA_PRESETS[preset];
  if (!p) throw new Error(`fig2: no data preset "${preset}" (have ${Object.keys(FIG2_DATA_PRESETS).join(", ")})`);
  const key = `${preset}|${dataSeed}`;
  let s = shared.get(key);
  if (!s) {
    s = buildFig2Shared(p, dataSeed, { verbose });
    shared.set(key, s);
    s.catch(() => shared.delete(key));
  }
  return s;
}

/** The context of one run from the shared stages. */
export function contextFromShared(s: Fig2Shared, opts: { units: number; seed: number }): Fig2Context {
  return {
    tokenizer: s.tokenizer,
    reference: s.reference,
    trainPrompts: s.split.trainPrompts.map((p) => p.prompt),
    evalPrompts: s.split.evalPrompts.map((p) => p.prompt),
    data: runData(s.data, opts.units, opts.seed),
    groundTruth: (prompts, completions) => s.classifier.reward(prompts, completions),
    learnedReward: (_prompts, _completions, seqs) => s.rewardModel.scoreSequences(seqs),
  };
}

/** The context for one run of the sweep kind. */
export async function fig2ContextFor(
  preset: string,
  dataSeed: number,
  opts: { units: number; seed: number },
): Promise<Fig2Context> {
  return contextFromShared(await sharedFor(preset, dataSeed), opts);
}
