// Every dataset in ../shared/data (or $PREFOPT_SHARED_DATA) loads, with its documented counts and
// invariants, and every pinned checksum in the downloader's registry matches the shared copies.
// Skipped, with a message, where the shared folder is absent (a user's clone without the data).
import { describe, test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as path from "path";
import {
  loadHhRlhfSplit,
  loadRtPolarityData,
  loadUciSentences,
  loadUkpConvArg1,
  loadUkpRanking,
  loadUltraFeedbackSample,
  ultraFeedbackScores,
} from "../src/data/datasets";
import { DATASETS, sharedDataDir } from "../src/data/registry";
import { readBytes, readLines } from "../src/data/read";
import { sha256OfBytes } from "../src/data/download";
import { splitByPrompt } from "../src/data/convert";
import { HH_ASSISTANT_MARKER } from "../src/data/records";
import { DataValidationError } from "../src/data/validation";

const shared = sharedDataDir();
const skip = fs.existsSync(shared)
  ? false
  : `shared data folder ${shared} is absent (set PREFOPT_SHARED_DATA to a copy, or run \`npm run data -- fetch <name>\`)`;
if (skip) console.log(`SKIPPING real-data tests: ${skip}`);

describe("real datasets in ../shared/data", { skip }, () => {
  test("HH-RLHF harmless-base test: 2,312 pairs; 4 with an empty chosen reply are reported, the rest split into prompt + replies", async () => {
    const t0 = performance.now();
    const { records, report } = await loadHhRlhfSplit("harmless-base", "test", { mode: "collect" });
    const ms = performance.now() - t0;
    assert.equal(report.records, 2312);
    assert.equal(records.length + report.rejected, 2312, "nothing dropped silently");
    assert.deepEqual(report.counts, { "empty-text": 4 });
    assert.deepEqual(
      report.issues.map((i) => [i.line, i.field]),
      [
        [87, "chosen"],
        [517, "chosen"],
        [926, "chosen"],
        [1104, "chosen"],
      ],
    );
    for (const p of records) {
      assert.ok(
        typeof p.prompt === "string" && p.prompt.startsWith("\n\nHuman:") && p.prompt.endsWith(HH_ASSISTANT_MARKER),
      );
      assert.ok(typeof p.chosen === "string" && typeof p.rejected === "string" && p.chosen !== p.rejected);
    }
    // In all but 5 pairs only the last Assistant turn differs, so the replies hold no further turn.
    const multiTurn = records.filter(
      (p) => (p.chosen as string).includes("\n\nHuman:") || (p.rejected as string).includes("\n\nHuman:"),
    );
    assert.ok(multiTurn.length <= 5, `${multiTurn.length} pairs differ before the last turn`);
    console.log(
      `HH-RLHF harmless-base test: ${records.length} pairs + ${report.rejected} reported in ${ms.toFixed(0)} ms`,
    );
    await assert.rejects(
      loadHhRlhfSplit("harmless-base", "test", { mode: "strict" }),
      (err: unknown) =>
        err instanceof DataValidationError && /test\.jsonl\.gz:87: field "chosen" empty-text/.test(err.message),
    );
  });

  test("UKPConvArg1Strict: 11,650 judgements over 32 topics (16 debates), labels a1/a2, ids consistent", async () => {
    const { records, report } = await loadUkpConvArg1();
    assert.equal(records.length, 11650);
    assert.equal(report.rejected, 0);
    assert.equal(report.files.length, 32);
    const topics = new Set(records.map((r) => r.extra?.topic));
    const debates = new Set(records.map((r) => r.extra?.debate));
    assert.equal(topics.size, 32);
    assert.equal(debates.size, 16);
    const ranking = await loadUkpRanking();
    assert.equal(ranking.records.length, 1052);
    // argument ids are unique across the corpus (the file names differ in one upstream typo, "commond-good")
    const textById = new Map(ranking.records.map((a) => [a.id, a.text]));
    assert.equal(textById.size, 1052);
    let matched = 0;
    for (const r of records) {
      const e = r.extra as Record<string, string>;
      assert.ok(e.label === "a1" || e.label === "a2");
      if (textById.get(e.winnerId) === r.chosen && textById.get(e.loserId) === r.rejected) matched++;
    }
    // every judged argument is in the ranking file with the same text
    assert.equal(matched, 11650);
    // the rank score runs the "wrong" way: lower = more convincing. Arguments below their topic's median
    // score win far more often than those above it.
    const games = new Map<string, [number, number]>();
    for (const r of records) {
      const e = r.extra as Record<string, string>;
      for (const [id, won] of [
        [e.winnerId, 1],
        [e.loserId, 0],
      ] as const) {
        const g = games.get(id) ?? [0, 0];
        games.set(id, [g[0] + won, g[1] + 1]);
      }
    }
    const rate = (side: "low" | "high") => {
      let w = 0,
        n = 0;
      for (const t of new Set(ranking.records.map((a) => a.topic))) {
        const inTopic = ranking.records.filter((a) => a.topic === t);
        const median = [...inTopic.map((a) => a.rank)].sort((a, b) => a - b)[Math.floor(inTopic.length / 2)];
        for (const a of inTopic)
          if ((side === "low") === a.rank < median) {
            const g = games.get(a.id) ?? [0, 0];
            w += g[0];
            n += g[1];
          }
      }
      return w / n;
    };
    assert.ok(rate("low") > 0.6 && rate("high") < 0.4, `win rate low-score ${rate("low")}, high-score ${rate("high")}`);
  });

  test("UltraFeedback sample: 1,000 + 200 lines, 111 / 25 tied scores; records with identical or empty replies reported", async () => {
    for (const [split, lines, ties] of [
      ["train", 1000, 111],
      ["eval", 200, 25],
    ] as const) {
      const { records, report } = await loadUltraFeedbackSample(split, { mode: "collect" });
      assert.equal(report.records, lines);
      assert.equal(records.length + report.rejected, lines);
      let rawTies = 0;
      for await (const { text } of readLines(
        path.join(shared, `ultrafeedback-binarized-subset/${split}_clean.jsonl`),
      )) {
        const m = JSON.parse(text).metadata;
        if (m.score_chosen === m.score_rejected) rawTies++;
      }
      assert.equal(rawTies, ties);
      for (const p of records) assert.ok(ultraFeedbackScores(p).chosen >= ultraFeedbackScores(p).rejected);
      const keptTies = records.filter((p) => ultraFeedbackScores(p).chosen === ultraFeedbackScores(p).rejected).length;
      console.log(
        `UltraFeedback ${split}: ${records.length} accepted, rejected ${JSON.stringify(report.counts)}, ties ${rawTies} (${keptTies} among accepted)`,
      );
      const { train, test: held } = splitByPrompt(records, { testFraction: 0.2 });
      const trainPrompts = new Set(train.map((r) => r.prompt));
      assert.ok(held.every((r) => !trainPrompts.has(r.prompt)));
    }
  });

  test("rt-polarity: 5,331 + 5,331 Latin-1 lines, 0x85 decoded as U+0085 inside a line", async () => {
    const { records, report } = await loadRtPolarityData();
    assert.equal(report.rejected, 0);
    assert.equal(records.filter((r) => r.label === 1).length, 5331);
    assert.equal(records.filter((r) => r.label === 0).length, 5331);
    assert.ok(records.some((r) => r.text.includes("\u0085")));
    assert.ok(!records.some((r) => r.text.includes("\ufffd")), "no replacement characters: the encoding was right");
  });

  test("UCI sentences: 3 × 1,000, labels 0/1 balanced 500/500 per source", async () => {
    const { records, report } = await loadUciSentences();
    assert.equal(records.length, 3000);
    assert.equal(report.rejected, 0);
    for (const src of ["amazon_cells_labelled.txt", "imdb_labelled.txt", "yelp_labelled.txt"]) {
      const rs = records.filter((r) => r.source === src);
      assert.equal(rs.length, 1000);
      assert.equal(rs.filter((r) => r.label === 1).length, 500);
    }
  });

  test("every pinned SHA-256 in the registry matches the shared copy (gunzipped where we stored it gzipped)", () => {
    let checked = 0;
    for (const d of DATASETS) {
      for (const f of [...d.files, ...d.archives.flatMap((a) => a.members)]) {
        if (!f.sha256) continue;
        const plain = path.join(shared, f.path);
        const file = fs.existsSync(plain) ? plain : `${plain}.gz`;
        if (!fs.existsSync(file)) continue;
        const bytes = file === plain ? fs.readFileSync(file) : readBytes(file);
        assert.equal(sha256OfBytes(bytes), f.sha256, f.path);
        checked++;
      }
    }
    assert.equal(checked, 1 + 64 + 2);
  });
});
