// Bandit datasets on disk: JSON Lines, one header line {"kind", "nPrompts", "nResponses", "description"}
// followed by one example per line, so a bad example is reported with its file, line and field.
// The ground truth (reward table and reference policy) is one JSON file.
import * as fs from "fs";
import { validateDataset, type BanditDataset } from "./datasets";
import type { PolicyTable } from "./tabular";

/** The known truth the shared datasets were sampled from. */
export interface BanditGroundTruth {
  description: string;
  nPrompts: number;
  nResponses: number;
  /** r[x][y]. */
  rewards: number[][];
  /** π_ref[x][y] (uniform in the shared data). */
  refPolicy: PolicyTable;
  /** Labelling temperature of the samplers. */
  temperature: number;
  /** The β the notebooks use for π* = π_ref exp(r/β)/Z. */
  beta: number;
  seed: number;
}

/** A dataset as JSON Lines text (header line, then one example per line). */
export function datasetToJsonl(d: BanditDataset): string {
  const header = { kind: d.kind, nPrompts: d.nPrompts, nResponses: d.nResponses, description: d.description ?? "" };
  const items: unknown[] = d.kind === "pairs" ? d.pairs : d.kind === "rankings" ? d.rankings : d.examples;
  return [header, ...items].map((o) => JSON.stringify(o)).join("\n") + "\n";
}

/** Parses datasetToJsonl's format; errors name `file`, the line number and the field. */
export function datasetFromJsonl(text: string, file = "<text>"): BanditDataset {
  const lines = text.split("\n");
  const parsed: Array<{ line: number; value: Record<string, unknown> }> = [];
  lines.forEach((raw, i) => {
    if (raw.trim() === "") return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (err) {
      throw new Error(`${file}:${i + 1}: not valid JSON (${(err as Error).message})`);
    }
    if (typeof value !== "object" || value === null || Array.isArray(value))
      throw new Error(`${file}:${i + 1}: expected a JSON object`);
    parsed.push({ line: i + 1, value: value as Record<string, unknown> });
  });
  if (parsed.length === 0) throw new Error(`${file}: empty file (expected a header line)`);
  const h = parsed[0].value;
  const kinds = ["pairs", "rankings", "unpaired"];
  if (!kinds.includes(h.kind as string))
    throw new Error(
      `${file}:${parsed[0].line}: field "kind" must be one of ${kinds.join(", ")}, got ${JSON.stringify(h.kind)}`,
    );
  for (const f of ["nPrompts", "nResponses"]) {
    if (!(Number.isInteger(h[f]) && (h[f] as number) > 0))
      throw new Error(
        `${file}:${parsed[0].line}: field "${f}" must be a positive integer, got ${JSON.stringify(h[f])}`,
      );
  }
  const items = parsed.slice(1);
  const base = {
    nPrompts: h.nPrompts as number,
    nResponses: h.nResponses as number,
    description: String(h.description ?? ""),
  };
  const values = items.map((it) => it.value);
  const d: BanditDataset =
    h.kind === "pairs"
      ? { kind: "pairs", ...base, pairs: values as never }
      : h.kind === "rankings"
        ? { kind: "rankings", ...base, rankings: values as never }
        : { kind: "unpaired", ...base, examples: values as never };
  // Validate example by example so the message can carry the line number.
  items.forEach((it, i) => {
    const one: BanditDataset =
      d.kind === "pairs"
        ? { ...d, pairs: [d.pairs[i]] }
        : d.kind === "rankings"
          ? { ...d, rankings: [d.rankings[i]] }
          : { ...d, examples: [d.examples[i]] };
    try {
      validateDataset(one, `${file}:${it.line}`);
    } catch (err) {
      throw new Error((err as Error).message.replace(": example 0:", ":"));
    }
  });
  return d;
}

/** Reads a .jsonl dataset file. */
export function loadBanditDataset(file: string): BanditDataset {
  return datasetFromJsonl(fs.readFileSync(file, "utf8"), file);
}

/** Reads and checks the ground-truth JSON file. */
export function loadGroundTruth(file: string): BanditGroundTruth {
  const g = JSON.parse(fs.readFileSync(file, "utf8")) as BanditGroundTruth;
  const K = g.nPrompts;
  const M = g.nResponses;
  const table = (name: "rewards" | "refPolicy") => {
    const t = g[name];
    if (
      !Array.isArray(t) ||
      t.length !== K ||
      t.some((r) => !Array.isArray(r) || r.length !== M || r.some((v) => !Number.isFinite(v)))
    ) {
      throw new Error(`${file}: field "${name}" must be a ${K}×${M} table of finite numbers`);
    }
  };
  table("rewards");
  table("refPolicy");
  for (const f of ["temperature", "beta"] as const)
    if (!(g[f] > 0)) throw new Error(`${file}: field "${f}" must be > 0`);
  return g;
}
