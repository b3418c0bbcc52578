// Whether the online methods' KL controllers held their targets (issue 23 item 2: "final KL within ±25% for
// targets 3-20"), read from committed checkpoint rows: for each PPO / PPO-GT / RLOO / RLOO-GT run (method,
// target KL = knob, seed), the training batch KL logged at its last checkpoint (log["objective/kl"], the
// last iteration's mean sequence KL of the policy's own samples, src/fig2/run.ts), its ratio to the target,
// whether |KL / target − 1| ≤ tolerance (0.25), and the first checkpoint from which every later checkpoint's
// batch KL stays within. A fact to report, not a verdict: the paper states no such claim.
import type { CheckpointRow } from "./run";

export const CONTROLLED_METHODS = ["ppo", "ppo-gt", "rloo", "rloo-gt"];

export interface ControllerRow {
  method: string;
  target: number;
  seed: number;
  /** Checkpoints of the run with a logged batch KL. */
  checkpoints: number;
  /** log["objective/kl"] at the last checkpoint (NaN when no checkpoint logged it). */
  finalKl: number;
  ratio: number;
  /** |finalKl / target − 1| ≤ tolerance; null when the batch KL was not logged. */
  within: boolean | null;
  /** The first checkpoint step from which the batch KL stays within the band to the end; null if never. */
  withinFrom: number | null;
}

/** The controller table of the rows' online runs, in method, target, seed order (see the header). */
export function controllerTable(rows: readonly CheckpointRow[], tolerance = 0.25): ControllerRow[] {
  const runs = new Map<string, CheckpointRow[]>();
  for (const r of rows) {
    if (!CONTROLLED_METHODS.includes(r.method)) continue;
    const key = `${r.method}|${r.knob}|${r.seed}`;
    runs.set(key, [...(runs.get(key) ?? []), r]);
  }
  const out = [...runs.values()].map((rs): ControllerRow => {
    const { method, knob: target, seed } = rs[0];
    const logged = rs
      .filter((r) => typeof r.log?.["objective/kl"] === "number")
      .sort((x, y) => x.step - y.step)
      .map((r) => ({ step: r.step, kl: r.log!["objective/kl"] }));
    const inBand = (kl: number) => Math.abs(kl / target - 1) <= tolerance;
    if (!logged.length)
      return { method, target, seed, checkpoints: 0, finalKl: NaN, ratio: NaN, within: null, withinFrom: null };
    const finalKl = logged[logged.length - 1].kl;
    let from: number | null = null;
    for (let i = logged.length - 1; i >= 0 && inBand(logged[i].kl); i--) from = logged[i].step;
    return {
      method,
      target,
      seed,
      checkpoints: logged.length,
      finalKl,
      ratio: finalKl / target,
      within: inBand(finalKl),
      withinFrom: from,
    };
  });
  const order = (m: string) => CONTROLLED_METHODS.indexOf(m);
  return out.sort((x, y) => order(x.method) - order(y.method) || x.target - y.target || x.seed - y.seed);
}

/** "PPO-GT target 3 seed 0: final batch KL 3.41 (1.14 × target), within ±25% from step 40" lines. */
export function describeControllers(table: readonly ControllerRow[], tolerance = 0.25): string[] {
  const pct = Math.round(tolerance * 100);
  const n = table.filter((c) => c.within === true).length;
  return [
    `KL controllers: final batch KL within ±${pct}% of the target in ${n} of ${table.length} online runs`,
    ...table.map(
      (c) =>
        `  ${c.method} target ${c.target} seed ${c.seed}: ` +
        (c.within === null
          ? "no batch KL logged"
          : `final batch KL ${c.finalKl.toFixed(2)} (${c.ratio.toFixed(2)} × target), ${c.within ? `within ±${pct}% from step ${c.withinFrom}` : `outside ±${pct}%`}`),
    ),
  ];
}
