// The claims of issue 28's papers that the Figure-2 setup can test, graded from the checkpoint rows by
// src/fig2/summary.ts (added to the verdict table only when the results hold one of those methods, so the
// DPO-paper tables are unchanged). Each can come out "no":
//
//   OAIF (Guo et al. 2024)          online DPO (classifier as the AI judge) dominates offline DPO (same labels)
//   iterative DPO                   at least as good as offline DPO
//   RLOO (Ahmadian et al. 2024)     at least as good as PPO (both on the classifier), for fewer samples
//   Dr. GRPO (Liu et al. 2025)      at least GRPO's reward, with shorter completions (paired over knob and seed)
//   TR-DPO (Gorbatovski et al.)     soft and hard updates each dominate DPO
//   DPOP (Pal et al. 2024)          the chosen completions' log-ratio does not fall (DPO's does, on pairs this close)
import { seedStats } from "../stats";
import type { CheckpointRow } from "./run";
import type { VerdictRow } from "./verdictRow";

export interface StudyClaim {
  key: string;
  a: string;
  b: string;
  mode: "dominates" | "atLeast";
  text: string;
}

export const ONLINE_CLAIMS: readonly StudyClaim[] = [
  {
    key: "online-dpo-gt>dpo",
    a: "online-dpo-gt",
    b: "dpo",
    mode: "dominates",
    text: "OAIF (Guo et al. 2024): online DPO, the classifier judging the policy's own samples, dominates offline DPO on the classifier's labels",
  },
  {
    key: "iterative-dpo-gt>=dpo",
    a: "iterative-dpo-gt",
    b: "dpo",
    mode: "atLeast",
    text: "Iterative DPO (rounds of sample → label → DPO) is at least as good as offline DPO",
  },
  {
    key: "rloo-gt>=ppo-gt",
    a: "rloo-gt",
    b: "ppo-gt",
    mode: "atLeast",
    text: "RLOO (Ahmadian et al. 2024) is at least as good as PPO, both on the ground-truth reward",
  },
  {
    key: "dr-grpo-gt>=grpo-gt",
    a: "dr-grpo-gt",
    b: "grpo-gt",
    mode: "atLeast",
    text: "Dr. GRPO (Liu et al. 2025) reaches GRPO's reward at each KL (ground-truth reward)",
  },
  {
    key: "grpo-gt>=ppo-gt",
    a: "grpo-gt",
    b: "ppo-gt",
    mode: "atLeast",
    text: "Where GRPO sits: at least as good as PPO on the ground-truth reward? (no claim at this scale in the paper)",
  },
  {
    key: "tr-dpo>dpo",
    a: "tr-dpo",
    b: "dpo",
    mode: "dominates",
    text: "TR-DPO (Gorbatovski et al. 2024), soft reference updates: its frontier dominates DPO's",
  },
  {
    key: "tr-dpo-hard>dpo",
    a: "tr-dpo-hard",
    b: "dpo",
    mode: "dominates",
    text: "TR-DPO, hard reference updates: its frontier dominates DPO's",
  },
  {
    key: "dpop>=dpo",
    a: "dpop",
    b: "dpo",
    mode: "atLeast",
    text: "DPOP (Pal et al. 2024) is at least as good as DPO on the reward–KL frontier",
  },
];

/** The last checkpoint of each (knob, seed) run of `method`, keyed "knob|seed". */
function lastRows(rows: readonly CheckpointRow[], method: string): Map<string, CheckpointRow> {
  const out = new Map<string, CheckpointRow>();
  for (const r of rows) {
    if (r.method !== method) continue;
    const k = `${r.knob}|${r.seed}`;
    const have = out.get(k);
    if (!have || r.step > have.step) out.set(k, r);
  }
  return out;
}

const f = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : String(x));

/**
 * Dr. GRPO's length claim: its completions (the evaluation's mean length at each run's last checkpoint) are
 * shorter than GRPO's, paired by (knob, seed); yes when the 95% t interval of the paired difference lies
 * below 0, partly when the mean is below 0 without that, no otherwise.
 */
export function lengthVerdict(rows: readonly CheckpointRow[], a = "dr-grpo-gt", b = "grpo-gt"): VerdictRow {
  const claim = `Dr. GRPO's completions are shorter than GRPO's at the end of training (paired by β and seed; ${a} vs ${b})`;
  const ra = lastRows(rows, a);
  const rb = lastRows(rows, b);
  const keys = [...ra.keys()].filter((k) => rb.has(k));
  if (keys.length === 0)
    return { claim, measured: `not run: no (β, seed) with both ${a} and ${b}`, reproduced: "n/a", why: "missing runs" };
  const d = seedStats(
    keys.map((k) => (ra.get(k) as CheckpointRow).meanLength - (rb.get(k) as CheckpointRow).meanLength),
  );
  const dr = seedStats(keys.map((k) => (ra.get(k) as CheckpointRow).reward - (rb.get(k) as CheckpointRow).reward));
  const reproduced = d.ciHigh < 0 ? "yes" : d.mean < 0 ? "partly" : "no";
  return {
    claim,
    measured: `mean length difference ${f(d.mean)} tokens [${f(d.ciLow)}, ${f(d.ciHigh)}] over ${d.n} pairs; reward difference ${f(dr.mean, 3)} [${f(dr.ciLow, 3)}, ${f(dr.ciHigh, 3)}]`,
    reproduced,
    why:
      reproduced === "yes"
        ? "the whole 95% interval of the paired length difference is below 0"
        : reproduced === "partly"
          ? "shorter on average, but the interval includes 0"
          : "not shorter on average",
  };
}

/**
 * DPOP's claim: the chosen completions' log-ratio log π(y_w) − log π_ref(y_w) (the training log's
 * rewards/chosen ÷ β at each run's last checkpoint) does not fall: yes when its mean is ≥ 0, no when its 95%
 * interval lies below 0, partly otherwise (below 0 on average; one run gives no interval). DPO's for contrast.
 */
export function dpopVerdict(rows: readonly CheckpointRow[]): VerdictRow {
  const claim = "DPOP: the chosen completions' log-probability does not fall below the reference's (DPO's does)";
  const ratios = (m: string) =>
    [...lastRows(rows, m).values()].map((r) => (r.log?.["rewards/chosen"] ?? NaN) / r.knob).filter(Number.isFinite);
  const p = seedStats(ratios("dpop"));
  if (p.n === 0)
    return { claim, measured: "not run: no dpop run with a training log", reproduced: "n/a", why: "missing runs" };
  const d = seedStats(ratios("dpo"));
  const reproduced = p.mean >= 0 ? "yes" : p.ciHigh < 0 ? "no" : "partly";
  return {
    claim,
    measured: `chosen log-ratio at the last checkpoint: DPOP ${f(p.mean)} [${f(p.ciLow)}, ${f(p.ciHigh)}] (${p.n} runs), DPO ${d.n ? `${f(d.mean)} [${f(d.ciLow)}, ${f(d.ciHigh)}] (${d.n} runs)` : "not run"}`,
    reproduced,
    why:
      reproduced === "yes"
        ? "DPOP's mean chosen log-ratio is ≥ 0"
        : reproduced === "partly"
          ? "below 0 on average, but the interval includes 0 (or one run: no interval)"
          : "the whole interval is below 0: the chosen log-probability fell",
  };
}
