// Field mapping for JSON, JSONL and Parquet records, like Hugging Face's `rename_column`: a dataset that
// names its fields `question`, `answer_good`, `answer_bad` loads with
//   { fields: { prompt: "question", chosen: "answer_good", rejected: "answer_bad" } }.
// (CSV/TSV have their own column mappings: preferenceColumns, judgementColumns.)
import { RecordError } from "./validation";

/** Target field (what the parser expects: prompt, chosen, rejected, completion, label, responses, scores) → source field. */
export type FieldMap = Readonly<Record<string, string>>;

/**
 * Rename the mapped source fields of one record to their targets; other fields pass through (they end
 * up in `extra`). A missing source field, or a target the record already has under its own name (the
 * rename would hide it), is a RecordError naming both.
 */
export function renameFields(value: unknown, map: FieldMap): unknown {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return value; // the parser reports it
  const obj = value as Record<string, unknown>;
  const sources = new Set(Object.values(map));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) if (!sources.has(k)) out[k] = v;
  for (const [target, source] of Object.entries(map)) {
    if (!(source in obj)) {
      throw new RecordError(
        "missing-field",
        `no field "${source}" (mapped to "${target}"); the record has ${Object.keys(obj)
          .map((k) => `"${k}"`)
          .join(", ")}`,
        source,
      );
    }
    if (target in out) {
      throw new RecordError(
        "bad-row",
        `the record already has a "${target}" field, so mapping "${source}" onto it would hide it; map "${target}" to another name too`,
        target,
      );
    }
    out[target] = obj[source];
  }
  return out;
}

/** Check a mapping once, before reading (a typo in the options is not a per-record problem). */
export function checkFieldMap(map: FieldMap, allowedTargets: readonly string[], where: string): void {
  const seen = new Map<string, string>();
  for (const [target, source] of Object.entries(map)) {
    if (!allowedTargets.includes(target))
      throw new Error(
        `${where}: fields maps onto "${target}", which is not a field of this format (${allowedTargets.join(", ")})`,
      );
    if (typeof source !== "string" || source === "")
      throw new Error(`${where}: fields.${target} must name a source field, got ${JSON.stringify(source)}`);
    if (seen.has(source))
      throw new Error(`${where}: fields maps "${source}" onto both "${seen.get(source)}" and "${target}"`);
    seen.set(source, target);
  }
}
