// One row of a Figure-2 verdict table (the DPO paper's claims in summary.ts, issue 28's in onlineSummary.ts):
// its own module so both summaries can build rows without importing each other.
import type { Verdict } from "./envelope";

export interface VerdictRow {
  claim: string;
  measured: string;
  /** Dominance rows can also be "not covered" (dominance untested beyond the dominating method's KL range). */
  reproduced: Verdict | "not covered";
  why: string;
}
