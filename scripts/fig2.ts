// Re-create the committed Figure-2 results (DPO paper, Fig. 2 left, on rt-polarity):
//   npm run fig2 -- full [--workers N] [--out DIR]     the full reproduction → data/fig2/dpo-fig2.json
//   npm run fig2 -- ci                                 the CI preset → data/fig2/dpo-fig2-ci.json
//   npm run fig2 -- online | online-ci                 issue 28's online and group methods → data/fig2/fig2-online(-ci).json
//   npm run fig2 -- full --summarise-only              re-summarise what is stored (no new runs)
//   … --markdown                                       also print the verdict table as Markdown (the README's)
//   npm run fig2 -- verify [full|ci|online-ci] [--tolerance X] re-run a stated subset (src/experiments/fig2-verify.ts)
//                                                      and check it against the committed rows; exit 1 on a diff
// Resumable: re-running the same command skips finished runs. For shards use the sweep CLI
// (npm run sweep -- scripts/sweeps/dpo-fig2.yaml --shard i/n), merge, then --summarise-only.
import { initBackend } from "../src/backend";
import "../src/experiments";
import { reproduceFig2, type Fig2Results } from "../src/experiments/fig2-reproduce";
import { verifyFig2, formatVerifyReport } from "../src/experiments/fig2-verify";
import { bestMarkdown, summariseFig2, type VerdictRow } from "../src/fig2/summary";
import { describeControllers } from "../src/fig2/controllers";

/** The README's paragraph on the committed run, from the results themselves (no number typed by hand). */
function factsMarkdown(r: Fig2Results): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const { classifier: c, sft, pairStats: ps, rewardModel: rm } = r.shared;
  const timings = r.shared.timings as { total?: number };
  return (
    `**The committed ${r.preset} run** (\`data/fig2/${r.sweep.name}.json\`, ${r.completedRuns}/${r.sweep.plannedRuns} runs, ` +
    `seeds [${r.sweep.seeds.join(", ")}], summarised at code ${r.code.commit.slice(0, 7)}${r.code.dirty ? " with uncommitted changes" : ""}): ` +
    `classifier held-out accuracy ${pct(c.accuracy)} [${pct(c.ci95[0])}, ${pct(c.ci95[1])}], ECE ${c.ece.toFixed(3)}; ` +
    `SFT held-out perplexity ${sft.finalHeldOutPerplexity.toFixed(1)}; ${ps.pairs} pairs from ${ps.prompts} prefixes ` +
    `(${ps.tiedPairs} ties left out); reward model held-out pair accuracy ${pct(rm.heldOut.accuracy)} ` +
    `[${pct(rm.heldOut.ci95[0])}, ${pct(rm.heldOut.ci95[1])}] (measured on the held-out pairs that also chose the kept checkpoint, so optimistic). Shared stages built in ${((timings.total ?? NaN) / 60).toFixed(1)} min; ` +
    `runs from first start to last finish ${(r.seconds.runsSpan / 60).toFixed(1)} min (sum of run times ${(r.seconds.runsTotal / 60).toFixed(1)} min).`
  );
}

/** The controller table as Markdown: run | final batch KL | ratio | within ±25% | from step. */
function controllersMarkdown(table: ReturnType<typeof summariseFig2>["controllers"]): string {
  return [
    "| method | target KL | seed | final batch KL | ratio to target | within ±25%? | stays within from step |",
    "|---|---|---|---|---|---|---|",
    ...table.map(
      (c) =>
        `| ${c.method} | ${c.target} | ${c.seed} | ${c.finalKl.toFixed(2)} | ${c.ratio.toFixed(2)} | ${c.within === null ? "not logged" : c.within ? "yes" : "no"} | ${c.withinFrom ?? "-"} |`,
    ),
  ].join("\n");
}

/** The verdict table as the README shows it: claim | measured | reproduced. */
function verdictMarkdown(verdicts: readonly VerdictRow[]): string {
  const cell = (s: string) => s.replace(/\|/g, "\\|");
  return [
    "| claim | measured | reproduced |",
    "|---|---|---|",
    ...verdicts.map((v) => `| ${cell(v.claim)} | ${cell(v.measured)} | **${v.reproduced}** |`),
  ].join("\n");
}

/** `verify [full|ci] [--tolerance X]`: exit 0 when the re-run subset matches the committed rows, 1 otherwise. */
async function verify(argv: string[]): Promise<number> {
  const sweep = argv.find((a, i) => !a.startsWith("--") && argv[i - 1] !== "--tolerance") ?? "full";
  const i = argv.indexOf("--tolerance");
  const tolerance = i >= 0 ? Number(argv[i + 1]) : undefined;
  await initBackend();
  const report = await verifyFig2({ sweep, tolerance });
  console.log(formatVerifyReport(report));
  return report.differences.length ? 1 : 0;
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === "verify") return verify(argv.slice(1));
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    if (i < 0) return undefined;
    const v = argv[i + 1];
    // "--out --markdown" must not create a folder named --markdown.
    if (v === undefined || v.startsWith("--") || v.trim() === "")
      throw new Error(
        `--${name} needs a value${v === undefined ? "" : v.startsWith("--") ? `, got the option ${v}` : ", got an empty one"}`,
      );
    return v;
  };
  const valueOf = new Set(["out", "workers"].map((n) => argv.indexOf(`--${n}`) + 1).filter((i) => i > 0));
  const sweep = argv.find((a, i) => !a.startsWith("--") && !valueOf.has(i)) ?? "full";
  // Checked before the shared stages are built (they take minutes).
  const workersText = value("workers");
  const workers = workersText === undefined ? undefined : Number(workersText);
  if (workers !== undefined && (!Number.isInteger(workers) || workers < 0))
    throw new Error(`--workers must be a non-negative integer, got ${workersText}`);
  const out = value("out");
  let stop = false;
  process.on("SIGINT", () => {
    if (stop) process.exit(130);
    stop = true;
    process.stderr.write("\nSIGINT: finishing the runs in flight, then summarising (again to quit at once)\n");
  });
  await initBackend();
  const r = await reproduceFig2({
    sweep,
    workers,
    out,
    summariseOnly: argv.includes("--summarise-only"),
    shouldStop: () => stop,
  });
  console.log(
    `runs: ${r.completedRuns}/${r.sweep.plannedRuns}; wall ${r.seconds.wall.toFixed(0)} s (shared ${r.seconds.shared === null ? "unknown" : r.seconds.shared.toFixed(0) + " s"}, sweep ${r.seconds.sweep.toFixed(0)} s; ${r.seconds.source ?? "run"})`,
  );
  for (const v of r.verdicts) console.log(`${v.reproduced.padEnd(6)} ${v.claim}\n       ${v.measured}`);
  const summary = summariseFig2(r.rows);
  console.log(describeControllers(summary.controllers).join("\n"));
  if (argv.includes("--markdown"))
    console.log(
      "\n" +
        factsMarkdown(r) +
        "\n\n" +
        verdictMarkdown(r.verdicts) +
        "\n\nEach method's best reward (pooled over seeds) and the KL where it is reached:\n\n" +
        bestMarkdown(summary.best) +
        "\n\nWhether the KL controllers held their targets (batch KL at the last checkpoint):\n\n" +
        controllersMarkdown(summary.controllers),
    );
  return r.missingRuns.length ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : err);
    process.exit(2);
  },
);
