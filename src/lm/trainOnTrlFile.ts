// trainOnTrlFile: train the LM track on your own preference data (a TRL JSON/JSONL/Parquet file or records
// already loaded). Each record is checked strictly first (file or "records", line, field; a missing field
// lists the record's own fields), then the records take the TRL round trip of trlFiles.ts (written as TRL
// JSONL, read back by readTrlFiles) so they are tokenised exactly as the Figure 2 data are, and
// trainPreference trains the policy.
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { toJsonObject, writeJsonl } from "../data/export";
import { checkFieldMap, renameFields, type FieldMap } from "../data/fieldMap";
import { parsePreference, parseRanking, parseUnpaired } from "../data/records";
import { getLoss } from "../losses/registry";
import type { PreferenceRecord, RankingRecord, Text, UnpairedRecord } from "../data/types";
import { Collector, RecordError, type ValidationReport } from "../data/validation";
import { trainPreference, type PreferenceTrainOptions, type PreferenceTrainResult } from "./preferenceTrainer";
import type { WordTokenizer } from "./tokenizer";
import type { Transformer } from "./transformer";
import { loadWithLines, readTrlFiles, type TrlFiles, type TrlReadResult } from "./trlFiles";

/** What trainOnTrlFile trains from: a file's path, or records already loaded (the data layer's loaders, your code). */
export type TrlSource = string | readonly PreferenceRecord[] | readonly UnpairedRecord[] | readonly RankingRecord[];

export interface TrlTrainOptions extends PreferenceTrainOptions {
  /**
   * The file's own field names, as the loaders take them (like `rename_column`):
   * `{prompt: "question", chosen: "answer_good", rejected: "answer_bad"}`. Files only: records are already mapped.
   */
  fields?: FieldMap;
}

/**
 * Train the LM track on a user's own preference data: DPO/IPO/… on {prompt, chosen, rejected}, KTO on
 * {prompt, completion, label}, listwise DPO on {prompt, responses} (which one follows the loss's data kind,
 * so aliases such as "listwise-dpo" read rankings too). `source` is a JSON/JSONL/Parquet file (its fields
 * renamed by `opts.fields`) or records already loaded. Every record is checked first, strictly, naming the
 * file (or "records") and line: a missing field lists the record's own fields, and a chat-message list is
 * refused (the LM track reads plain text). The records then take the TRL round trip (written as TRL JSONL to
 * a temporary folder, read back by readTrlFiles), so they are tokenised exactly as the Figure 2 data are.
 * `policy` is trained in place from the frozen `reference`; texts are tokenised with `tokenizer` (the one
 * the models were trained with; words outside its vocabulary become <unk>). `read.reports` is the check's
 * report on the source.
 */
export async function trainOnTrlFile(
  source: TrlSource,
  policy: Transformer,
  reference: Transformer,
  tokenizer: WordTokenizer,
  opts: TrlTrainOptions,
): Promise<PreferenceTrainResult & { read: TrlReadResult }> {
  const { fields, ...trainOptions } = opts;
  const data = getLoss(trainOptions.method).data;
  const kind: keyof TrlFiles = data === "unpaired" ? "unpaired" : data === "rankings" ? "rankings" : "preferences";
  const { records, lines, report } = await checkTrlRecords(source, kind, fields);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "prefopt-trl-"));
  try {
    const file = path.join(dir, `${kind}.jsonl`);
    await writeJsonl(file, records); // one record a line: line k is records[k − 1], from the source's lines[k − 1]
    const origin = { name: typeof source === "string" ? source : "records", lines };
    const read = await readTrlFiles({ [kind]: file }, tokenizer, policy.config.contextLength, { [kind]: origin });
    read.reports = { [kind]: report };
    return { ...trainPreference(policy, reference, read.data, trainOptions), read };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

type TrlRecord = PreferenceRecord | UnpairedRecord | RankingRecord;

/** Per TRL file kind: its fields (what `fields` may map onto), its parser, and its texts (which must be plain). */
const TRL_KINDS: Record<
  keyof TrlFiles,
  { fields: string[]; parse: (value: unknown) => TrlRecord; texts: (r: TrlRecord) => Array<[string, Text]> }
> = {
  preferences: {
    fields: ["prompt", "chosen", "rejected"],
    parse: (v) => parsePreference(v, { prompt: "explicit" }),
    texts: (r) => {
      const p = r as PreferenceRecord;
      return [
        ["prompt", p.prompt],
        ["chosen", p.chosen],
        ["rejected", p.rejected],
      ];
    },
  },
  unpaired: {
    fields: ["prompt", "completion", "label"],
    parse: parseUnpaired,
    texts: (r) => [
      ["prompt", (r as UnpairedRecord).prompt],
      ["completion", (r as UnpairedRecord).completion],
    ],
  },
  rankings: {
    fields: ["prompt", "responses", "scores"],
    parse: parseRanking,
    texts: (r) => [
      ["prompt", (r as RankingRecord).prompt],
      ...(r as RankingRecord).responses.map((t, i): [string, Text] => [`responses[${i}]`, t]),
    ],
  },
};

/** trainOnTrlFile's check of its source (strict: the first bad record throws, naming file or "records" and line). */
async function checkTrlRecords(
  source: TrlSource,
  kind: keyof TrlFiles,
  fields: FieldMap | undefined,
): Promise<{ records: TrlRecord[]; lines: number[]; report: ValidationReport }> {
  const spec = TRL_KINDS[kind];
  const where = typeof source === "string" ? source : "records";
  if (fields && typeof source !== "string")
    throw new Error(`trainOnTrlFile: fields renames a file's fields; records are already in the loaders' form`);
  if (fields) checkFieldMap(fields, spec.fields, where);
  const parse = (value: unknown): TrlRecord => {
    const renamed = fields ? renameFields(value, fields) : value; // its own errors list the record's fields
    let record: TrlRecord;
    try {
      record = spec.parse(renamed);
    } catch (err) {
      if (!(err instanceof RecordError && err.reason === "missing-field")) throw err;
      const own = value !== null && typeof value === "object" ? Object.keys(value).map((k) => `"${k}"`) : [];
      throw new RecordError(
        "missing-field",
        `${err.message}; the record's fields are ${own.join(", ") || "none"}: name yours with fields: {${err.field}: "<field>"}` +
          ` (a ${kind} file has ${spec.fields.join(", ")})`,
        err.field,
      );
    }
    for (const [field, text] of spec.texts(record))
      if (typeof text !== "string")
        throw new RecordError(
          "wrong-type",
          `is a chat-message list; the LM track reads plain-text prompts and completions`,
          field,
        );
    return record;
  };
  if (typeof source === "string") {
    const { records, report } = await loadWithLines(source, parse);
    return { records: records.map((r) => r.record), lines: records.map((r) => r.line), report };
  }
  const collector = new Collector<TrlRecord>("strict");
  collector.addFile(where);
  source.forEach((r, i) => collector.attempt(where, i + 1, () => parse(toJsonObject(r))));
  return { records: collector.records, lines: source.map((_, i) => i + 1), report: collector.report };
}
