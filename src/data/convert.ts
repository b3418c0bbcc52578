// Conversions between preference formats, and a deterministic prompt-keyed train/test split.
// Duplicate and tie handling is explicit and counted in each conversion's report:
//   pairRecordsToUnpaired   each pair gives (prompt, chosen, true) and (prompt, rejected, false); exact duplicate
//                     examples are kept once; a (prompt, completion) seen with both labels is a conflict,
//                     kept by default (it is genuine disagreement) or dropped with `conflicts: "drop"`.
//   rankingRecordsToPairs   "all": every i < j gives (r_i ≻ r_j), n(n−1)/2 pairs; "adjacent": each response
//                     with every response of the next strictly lower score group (n−1 pairs without ties).
//                     Tied scores give no pair; identical response texts give no pair. Both are counted.
//   dedupePairs       identical (prompt, chosen, rejected) kept once; contradicting pairs (A ≻ B and
//                     B ≻ A) counted and kept unless `contradictions: "drop"`.
// `conflicts` counts RECORDS involved in a conflict, not conflicts: one A ≻ B / B ≻ A contradiction is 2
// (both pairs), and one completion seen as desirable and undesirable is 2 (both examples).
import { hashString } from "../random";
import type { PreferenceRecord, RankingRecord, Text, UnpairedRecord } from "./types";
import { textKey, textsEqual } from "./types";

export interface ConversionReport {
  input: number;
  output: number;
  duplicatesRemoved: number;
  /** Records (after de-duplication) on either side of a conflict: one A ≻ B / B ≻ A contradiction counts 2. */
  conflicts: number;
  /** Records dropped because of a conflict (with the "drop" option; equals `conflicts` then). */
  conflictsDropped: number;
  tiesSkipped: number;
  identicalSkipped: number;
}

function emptyConversion(input: number): ConversionReport {
  return {
    input,
    output: 0,
    duplicatesRemoved: 0,
    conflicts: 0,
    conflictsDropped: 0,
    tiesSkipped: 0,
    identicalSkipped: 0,
  };
}

export function pairRecordsToUnpaired(
  pairs: PreferenceRecord[],
  opts: { conflicts?: "keep" | "drop" } = {},
): { examples: UnpairedRecord[]; report: ConversionReport } {
  const report = emptyConversion(pairs.length);
  const seen = new Set<string>();
  const labelsOf = new Map<string, Set<boolean>>();
  const candidates: Array<{ key: string; ex: UnpairedRecord }> = [];
  for (const p of pairs) {
    for (const [completion, label] of [
      [p.chosen, true],
      [p.rejected, false],
    ] as Array<[Text, boolean]>) {
      const key = textKey(p.prompt) + "\u0000" + textKey(completion);
      const full = key + "\u0000" + label;
      if (seen.has(full)) {
        report.duplicatesRemoved++;
        continue;
      }
      seen.add(full);
      const labels = labelsOf.get(key) ?? new Set<boolean>();
      labels.add(label);
      labelsOf.set(key, labels);
      candidates.push({ key, ex: { prompt: p.prompt, completion, label } });
    }
  }
  const examples: UnpairedRecord[] = [];
  for (const { key, ex } of candidates) {
    const conflicted = (labelsOf.get(key) as Set<boolean>).size > 1;
    if (conflicted) report.conflicts++;
    if (conflicted && opts.conflicts === "drop") {
      report.conflictsDropped++;
      continue;
    }
    examples.push(ex);
  }
  report.output = examples.length;
  return { examples, report };
}

export function rankingRecordsToPairs(
  rankings: RankingRecord[],
  opts: { mode?: "all" | "adjacent" } = {},
): { pairs: PreferenceRecord[]; report: ConversionReport } {
  const mode = opts.mode ?? "all";
  const report = emptyConversion(rankings.length);
  const pairs: PreferenceRecord[] = [];
  const emit = (r: RankingRecord, i: number, j: number): void => {
    if (textsEqual(r.responses[i], r.responses[j])) {
      report.identicalSkipped++;
      return;
    }
    pairs.push({ prompt: r.prompt, chosen: r.responses[i], rejected: r.responses[j] });
  };
  for (const r of rankings) {
    const n = r.responses.length;
    if (mode === "all") {
      for (let i = 0; i < n; i++) {
        for (let j = i + 1; j < n; j++) {
          if (r.scores && r.scores[i] === r.scores[j]) report.tiesSkipped++;
          else emit(r, i, j);
        }
      }
      continue;
    }
    // "adjacent": consecutive responses with equal scores form a tie group (without scores every response
    // is its own group); each response is paired with every response of the next group, so a tie never
    // hides a comparison: scores [3, 3, 1] give a ≻ c and b ≻ c. Pairs inside a group count as ties.
    const groups: number[][] = [];
    for (let i = 0; i < n; i++) {
      const last = groups[groups.length - 1];
      if (last && r.scores && r.scores[last[0]] === r.scores[i]) last.push(i);
      else groups.push([i]);
    }
    for (let g = 0; g < groups.length; g++) {
      report.tiesSkipped += (groups[g].length * (groups[g].length - 1)) / 2;
      if (g + 1 < groups.length) for (const i of groups[g]) for (const j of groups[g + 1]) emit(r, i, j);
    }
  }
  report.output = pairs.length;
  return { pairs, report };
}

export function dedupePairs(
  pairs: PreferenceRecord[],
  opts: { contradictions?: "keep" | "drop" } = {},
): { pairs: PreferenceRecord[]; report: ConversionReport } {
  const report = emptyConversion(pairs.length);
  const seen = new Set<string>();
  const kept: Array<{ pair: PreferenceRecord; fwd: string; rev: string }> = [];
  for (const p of pairs) {
    const pk = textKey(p.prompt);
    const fwd = [pk, textKey(p.chosen), textKey(p.rejected)].join("\u0000");
    const rev = [pk, textKey(p.rejected), textKey(p.chosen)].join("\u0000");
    if (seen.has(fwd)) {
      report.duplicatesRemoved++;
      continue;
    }
    seen.add(fwd);
    kept.push({ pair: p, fwd, rev });
  }
  const out: PreferenceRecord[] = [];
  for (const { pair, rev } of kept) {
    const contradicted = seen.has(rev);
    if (contradicted) report.conflicts++;
    if (contradicted && opts.contradictions === "drop") {
      report.conflictsDropped++;
      continue;
    }
    out.push(pair);
  }
  report.output = out.length;
  return { pairs: out, report };
}

/**
 * Deterministic split keyed by a hash of the prompt: a record goes to test when
 * fmix32(FNV-1a(salt + prompt)) / 2³² < testFraction. Every record with the same prompt lands on the same side, so
 * no prompt appears in both; the split does not depend on record order or on any random state. `key`
 * overrides what is hashed (e.g. a topic, to keep whole topics together).
 */
/** murmur3's 32-bit finaliser: FNV-1a alone leaves its top bits poorly mixed for keys that differ at the end. */
function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export function splitByPrompt<T extends { prompt: Text }>(
  records: T[],
  opts: { testFraction: number; salt?: string; key?: (r: T) => string },
): { train: T[]; test: T[] } {
  const { testFraction } = opts;
  if (!(testFraction >= 0 && testFraction <= 1)) throw new Error(`testFraction must be in [0, 1], got ${testFraction}`);
  const salt = opts.salt ?? "prefopt-split";
  const keyOf = opts.key ?? ((r: T) => textKey(r.prompt));
  const train: T[] = [];
  const test: T[] = [];
  for (const r of records) {
    const u = fmix32(hashString(salt + "\u0000" + keyOf(r))) / 2 ** 32;
    (u < testFraction ? test : train).push(r);
  }
  return { train, test };
}
