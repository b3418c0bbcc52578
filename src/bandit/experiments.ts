// The IPO paper's §5.4 experiment (Azar et al. 2023) as one function: DPO and IPO on the total-order set
// D1 and on the never-wins set, every τ, the paper's optimiser settings, all seeds. Used by notebook 04 (IPO)
// and scripts/bench-ipo.ts.
import { ipoNeverWinsDataset, ipoTotalOrderDataset, type PairDataset } from "./datasets";
import { trainBandit, type TrainBanditResult } from "./trainer";

/** §5.4's setup: 3 actions, softmax(θ), Adam lr 0.01, minibatch 9 with replacement, 18,000 steps, 10 seeds. */
export const IPO_54_SETUP = {
  steps: 18000,
  batchSize: 9,
  learningRate: 0.01,
  seeds: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
  taus: [0.1, 0.25, 0.5, 1, 2],
};

export interface Ipo54Run {
  dataset: "D1" | "never-wins";
  method: "dpo" | "ipo";
  tau: number;
  result: TrainBanditResult;
}

export interface Ipo54Options {
  taus?: number[];
  steps?: number;
  seeds?: number[];
  recordEvery?: number;
  engine?: "js" | "tfjs";
  /** Called after each run (progress reporting). */
  onRun?: (run: Ipo54Run, index: number, total: number) => void;
}

/** Runs every (dataset, method, τ) combination of §5.4; seeds run together inside each call. */
export function runIpo54(opts: Ipo54Options = {}): Ipo54Run[] {
  const taus = opts.taus ?? IPO_54_SETUP.taus;
  const datasets: Array<[Ipo54Run["dataset"], PairDataset]> = [
    ["D1", ipoTotalOrderDataset()],
    ["never-wins", ipoNeverWinsDataset()],
  ];
  const runs: Ipo54Run[] = [];
  const total = datasets.length * 2 * taus.length;
  for (const [name, dataset] of datasets) {
    for (const method of ["dpo", "ipo"] as const) {
      for (const tau of taus) {
        const result = trainBandit({
          method,
          lossOptions: { beta: tau },
          dataset,
          steps: opts.steps ?? IPO_54_SETUP.steps,
          batchSize: IPO_54_SETUP.batchSize,
          learningRate: IPO_54_SETUP.learningRate,
          seeds: opts.seeds ?? IPO_54_SETUP.seeds,
          recordEvery: opts.recordEvery ?? 100,
          engine: opts.engine,
        });
        const run = { dataset: name, method, tau, result };
        runs.push(run);
        opts.onRun?.(run, runs.length, total);
      }
    }
  }
  return runs;
}
