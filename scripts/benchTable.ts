// The engine benchmark's results (scripts/bench-lm.ts) as the Markdown table of docs/lm-engine.md.
//
//   npm run bench -- --markdown                            prints the table after the run
//   node --import tsx scripts/benchTable.ts bench.txt      the table from a saved `npm run bench` output
//     (the lines starting with {"size": …}, one per size; the rest of the output is ignored)
import * as fs from "fs";

/** What the table reads of one size's result line (bench-lm.ts prints more). */
export interface SizeResult {
  size: string;
  peer?: string;
  config: { vocabSize: number; dModel: number; nHeads: number; nLayers: number; contextLength: number };
  pairsPerStep?: number;
  achievedGflops?: number;
  matmulGflops512?: number;
  dpo?: Array<{ round: number; threads: number; oursMs: number; peerMs: number | null }>;
  bestVsBest?: {
    ours: { threads: number; ms: number };
    peer: { threads: number; ms: number } | null;
    ratio: number | null;
  };
  sampling?: Array<{ shape: string; cachedTokensPerSecond: number; plainTokensPerSecond: number; speedup: number }>;
  rloo?: { samplingMs: number; scoringMs: number; updateMs: number };
  ppo?: {
    samples: number;
    maxNewTokens: number;
    epochs: number;
    miniBatchSize: number;
    samplingMs: number;
    scoringMs: number;
    updateMs: number;
  };
}

const ms = (x: number) => Math.round(x).toLocaleString("en-US");

/** The rounds' values at one thread count, "a / b ms" (rounds in order), or "–" where there are none. */
function rounds(r: SizeResult, threads: number, pick: (row: NonNullable<SizeResult["dpo"]>[number]) => number | null) {
  const xs = (r.dpo ?? []).filter((row) => row.threads === threads).map(pick);
  if (xs.length === 0 || xs.some((x) => x === null)) return "–";
  return `${(xs as number[]).map(ms).join(" / ")} ms`;
}

/**
 * One row per size: DPO step per thread count (each round), the peer's, our fastest against the peer's
 * fastest (medians over rounds), and GFLOP/s achieved against the backend's 512³ matmul rate. Then the
 * sampling rates and the RLOO and PPO iteration splits where they were measured.
 */
export function markdownTable(results: SizeResult[]): string {
  const lines = [
    "| size | ours, 1 thread | ours, 2 threads | PyTorch, 1 thread | PyTorch, 2 threads | best vs best | GFLOP/s (matmul 512³) |",
    "| --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const r of results) {
    if (!r.dpo) continue;
    const c = r.config;
    const name = `${r.size} (V${c.vocabSize}, d${c.dModel}, ${c.nHeads}h, ${c.nLayers}L, ctx ${c.contextLength}, ${r.pairsPerStep} pairs)`;
    const b = r.bestVsBest;
    const best =
      b && b.peer && b.ratio !== null
        ? `**${b.ratio.toFixed(2)}×** (${ms(b.ours.ms)} ms at ${b.ours.threads}t vs ${ms(b.peer.ms)} ms at ${b.peer.threads}t)`
        : "–";
    const flops = r.achievedGflops ? `${r.achievedGflops} (${r.matmulGflops512})` : "–";
    lines.push(
      `| ${name} | ${rounds(r, 1, (x) => x.oursMs)} | ${rounds(r, 2, (x) => x.oursMs)} | ${rounds(r, 1, (x) => x.peerMs)} | ${rounds(r, 2, (x) => x.peerMs)} | ${best} | ${flops} |`,
    );
  }
  const extra: string[] = [];
  for (const r of results) {
    for (const s of r.sampling ?? [])
      extra.push(
        `- sampling, ${s.shape}: ${s.cachedTokensPerSecond.toLocaleString("en-US")} tokens/s with the key/value cache, ${s.plainTokensPerSecond.toLocaleString("en-US")} without (${s.speedup}×)`,
      );
    if (r.rloo)
      extra.push(
        `- RLOO iteration at the ${r.size} size (32 samples of 12 tokens, 2 epochs): sampling ${r.rloo.samplingMs} ms, scoring ${r.rloo.scoringMs} ms, update ${r.rloo.updateMs} ms`,
      );
    if (r.ppo)
      extra.push(
        `- PPO iteration at the ${r.size} size (src/lm/ppo.ts; ${r.ppo.samples} rollouts of ${r.ppo.maxNewTokens} tokens, ${r.ppo.epochs} epochs x ${r.ppo.samples / r.ppo.miniBatchSize} minibatches of ${r.ppo.miniBatchSize}): sampling ${r.ppo.samplingMs} ms, scoring ${r.ppo.scoringMs} ms (reward, policy/value/reference log-probs, GAE), update ${r.ppo.updateMs} ms`,
      );
  }
  return [...lines, ...(extra.length ? ["", ...extra] : [])].join("\n");
}

/** The size results in a saved bench output: every line that is a JSON object with a `size` field. */
export function resultsFromOutput(text: string): SizeResult[] {
  return text
    .split("\n")
    .filter((l) => l.startsWith('{"size"'))
    .map((l, i) => {
      try {
        return JSON.parse(l) as SizeResult;
      } catch (err) {
        throw new Error(`benchTable: result line ${i + 1} is not JSON: ${err instanceof Error ? err.message : err}`);
      }
    });
}

if (require.main === module) {
  const file = process.argv[2];
  if (!file) throw new Error("usage: node --import tsx scripts/benchTable.ts <saved npm run bench output>");
  const results = resultsFromOutput(fs.readFileSync(file, "utf8"));
  if (results.length === 0) throw new Error(`benchTable: no {"size": …} result lines in ${file}`);
  console.log(markdownTable(results));
}
