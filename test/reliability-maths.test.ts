// Issue 22's maths and LM-track items, one test each ("item N: ..."): seed aliasing, ragged listwise
// rankings, a bad PREFOPT_THREADS, pairs made identical by truncation, β beyond float32, Plackett–Luce
// probability and NLL edge cases, a prompt too long for the context, and a NaN z0.
import { before, test } from "node:test";
import * as assert from "node:assert/strict";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend";
import { Rng } from "../src/random";
import { plackettLuceProbability } from "../src/notebook";
import { plackettLuceNll } from "../src/losses/listwise";
import { ktoLoss } from "../src/losses/kto";
import { ipoLoss } from "../src/losses/ipo";
import { dpoLoss } from "../src/losses/dpo";
import { listLossTypes, resolveLossOptions } from "../src/losses/registry";
import { preferenceLoss } from "../src/losses/preferenceLoss";
import { MAX_SCALE } from "../src/losses/options";
import "../src/losses/all";
import { WordTokenizer } from "../src/lm/tokenizer";
import { Transformer } from "../src/lm/transformer";
import { trainPreference, sequenceLogps } from "../src/lm/preferenceTrainer";
import { readTrlFiles } from "../src/lm/trlFiles";
import { trainOnTrlFile } from "../src/lm/trainOnTrlFile";
import type { RlaifData } from "../src/lm/rlaif";
import type { Sequence } from "../src/lm/batching";

before(async () => {
  await initBackend();
});

const tok = () =>
  WordTokenizer.fit(["the film was great , i loved it .", "the plot is dull and slow .", "what a waste of time !"], 40);

function writeJsonl(rows: object[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "reliability-maths-"));
  const file = path.join(dir, "mine.jsonl");
  fs.writeFileSync(file, rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
  return file;
}

test("item 5: seeds 2^32·k + s and s give different streams and different forks", () => {
  for (const [a, b] of [
    [1, 2 ** 32 + 1],
    [0, 2 ** 32],
    [7, 5 * 2 ** 32 + 7],
    [3, -(2 ** 32) + 3],
  ]) {
    assert.notEqual(new Rng(a).nextUint32(), new Rng(b).nextUint32(), `first output of ${a} vs ${b}`);
    assert.notEqual(
      new Rng(a).fork("rewards").nextUint32(),
      new Rng(b).fork("rewards").nextUint32(),
      `fork ${a} vs ${b}`,
    );
  }
  // Forks of wide seeds keep more than 32 bits: 2^53 parents cannot share 2^32 children.
  const child = new Rng(2 ** 40 + 5).fork("x");
  assert.ok(child.seed >= 2 ** 32, `a wide parent's fork is wide (seed ${child.seed})`);
  // Seeds below 2^32 keep the streams every stored result was computed with (values from the code before).
  assert.equal(new Rng(1).fork("rewards").seed, 810153877);
  assert.equal(new Rng(1).nextUint32(), 2442144158);
  assert.equal(new Rng(12345).nextUint32(), 518667457);
});

test("item 6: listwise LM training scores each ranking over its own length (4 and 2, not both cut to 2)", () => {
  const t = tok();
  const reference = new Transformer({ vocabSize: t.size, contextLength: 12, dModel: 8, nHeads: 2, nLayers: 1 }, 3);
  const policy = reference.clone();
  const s = (prompt: string, completion: string): Sequence => ({
    prompt: t.encode(prompt),
    completion: t.encode(completion),
    ended: true,
  });
  const c = (prompt: string, completion: string, score: number) => ({
    seq: s(prompt, completion),
    text: completion,
    score,
  });
  const data: RlaifData = {
    pairs: [],
    unpaired: [],
    rankings: [
      {
        prompt: "the film",
        ranking: [
          c("the film", "was great", 4),
          c("the film", "was dull", 3),
          c("the film", "was slow", 2),
          c("the film", "is a waste", 1),
        ],
      },
      { prompt: "the plot", ranking: [c("the plot", "is great", 2), c("the plot", "is dull", 1)] },
    ],
    tiedPrompts: 0,
    tiedLists: 0,
    flippedFraction: 0,
  };
  const before = tf.memory().numTensors;
  const r = trainPreference(policy, reference, data, {
    method: "listwise",
    lossOptions: { beta: 0.5 },
    steps: 1,
    batchSize: 2,
    learningRate: 1e-3,
    verbose: false,
  });
  // policy = reference at step 1: every u_k = 0, so a ranking of N has NLL Σ_{k<N} log(N − k + 1) = log N!.
  const expected = (Math.log(24) + Math.log(2)) / 2;
  assert.ok(
    Math.abs(r.logs[0].loss - expected) < 1e-5,
    `loss ${r.logs[0].loss}, expected (log 4! + log 2!)/2 = ${expected}`,
  );
  assert.equal(r.cachedReferenceLogps, 6, "reference log-probs for all 4 + 2 responses");
  // logps/chosen averages each ranking's best response's log-prob, logps/rejected its worst (the 4th and the 2nd).
  const mean = (xs: Float32Array) => (xs[0] + xs[1]) / 2;
  const rk = data.rankings;
  const best = mean(sequenceLogps(reference, [rk[0].ranking[0].seq, rk[1].ranking[0].seq]));
  const worst = mean(sequenceLogps(reference, [rk[0].ranking[3].seq, rk[1].ranking[1].seq]));
  assert.ok(Math.abs(r.logs[0]["logps/chosen"] - best) < 1e-4, `logps/chosen ${r.logs[0]["logps/chosen"]} vs ${best}`);
  assert.ok(
    Math.abs(r.logs[0]["logps/rejected"] - worst) < 1e-4,
    `logps/rejected ${r.logs[0]["logps/rejected"]} vs ${worst}`,
  );
  assert.equal(tf.memory().numTensors, before, "no tensor leaks");
  // A ranking of one response is refused by name.
  data.rankings.push({ prompt: "what a", ranking: [c("what a", "waste", 1)] });
  assert.throws(
    () => trainPreference(policy, reference, data, { method: "listwise", steps: 1, batchSize: 2, verbose: false }),
    /rankings\[2\] \(prompt "what a"\) ranks 1 response/,
  );
  policy.dispose();
  reference.dispose();
});

test("item 9: an invalid PREFOPT_THREADS is an error naming the variable, not a silent cpu fallback", async () => {
  const saved = process.env.PREFOPT_THREADS;
  try {
    for (const bad of ["0", "abc", "1.5"]) {
      process.env.PREFOPT_THREADS = bad;
      await assert.rejects(
        async () => initBackend(),
        new RegExp(`PREFOPT_THREADS must be a positive integer, got "${bad.replace(".", "\\.")}"`),
      );
    }
  } finally {
    if (saved === undefined) delete process.env.PREFOPT_THREADS;
    else process.env.PREFOPT_THREADS = saved;
  }
});

test("initBackend rejects on a bad PREFOPT_THREADS or PREFOPT_BACKEND, never throws synchronously", async () => {
  const saved = { threads: process.env.PREFOPT_THREADS, backend: process.env.PREFOPT_BACKEND };
  const restore = (name: "PREFOPT_THREADS" | "PREFOPT_BACKEND", v: string | undefined) => {
    if (v === undefined) delete process.env[name];
    else process.env[name] = v;
  };
  try {
    for (const [name, bad, message] of [
      ["PREFOPT_THREADS", "abc", /PREFOPT_THREADS must be a positive integer, got "abc"/],
      ["PREFOPT_BACKEND", "gpu", /PREFOPT_BACKEND must be one of .*, got "gpu"/],
    ] as const) {
      process.env[name] = bad;
      let promise: Promise<unknown> | undefined;
      assert.doesNotThrow(() => {
        promise = initBackend();
      }, `${name}=${bad}: initBackend threw synchronously`);
      // A caller that chains .catch (no await, no try) sees the error.
      const caught = await promise!.then(
        () => null,
        (e: Error) => e,
      );
      assert.match(String(caught?.message), message);
      restore(name, name === "PREFOPT_THREADS" ? saved.threads : saved.backend);
    }
  } finally {
    restore("PREFOPT_THREADS", saved.threads);
    restore("PREFOPT_BACKEND", saved.backend);
  }
});

test("item 10: pairs and rankings whose completions become identical after truncation are left out and counted", async () => {
  const t = tok();
  // contextLength 6: <bos> + "the film" (2) leaves 3 completion tokens; the texts differ at the 4th word.
  const prefs = writeJsonl([
    { prompt: "the film", chosen: " was great, i loved it.", rejected: " was great, i hated it." },
    { prompt: "the film", chosen: " was great.", rejected: " was dull." },
    { prompt: "the plot", chosen: " is zebra", rejected: " is giraffe" }, // both words → <unk>
  ]);
  const read = await readTrlFiles({ preferences: prefs }, t, 6);
  assert.equal(read.data.pairs.length, 1, "only the pair that still differs is kept");
  assert.deepEqual(read.identical, { pairs: 2, rankings: 0 });
  assert.equal(read.warnings.length, 1);
  assert.match(read.warnings[0], /2 pair\(s\) left out/);
  assert.ok(read.warnings[0].includes(`${prefs}:1`) && read.warnings[0].includes(`${prefs}:3`), read.warnings[0]);
  const ranks = writeJsonl([
    { prompt: "the film", responses: [" was great, i loved it.", " was great, i hated it.", " was dull."] },
    { prompt: "the plot", responses: [" is great.", " is dull."] },
  ]);
  const readR = await readTrlFiles({ rankings: ranks }, t, 6);
  assert.equal(readR.data.rankings.length, 1);
  assert.deepEqual(readR.identical, { pairs: 0, rankings: 1 });
  assert.match(readR.warnings[0], /1 ranking\(s\) left out/);
});

test("item 12: β beyond what float32 carries is refused (1e39 overflows; IPO's 1/(2β) at 1e-39 is ∞)", () => {
  assert.throws(
    () => resolveLossOptions("dpo", { beta: 1e39 }),
    /option beta is beyond float32's largest finite value/,
  );
  assert.throws(
    () => resolveLossOptions("ipo", { beta: 1e-39 }),
    /option beta is below float32's smallest normal value/,
  );
  const x = tf.tensor1d([-1, -2]);
  assert.throws(() => dpoLoss(x, x, x, x, { beta: 1e39 }), /dpoLoss.*beta is beyond float32/);
  assert.throws(() => ipoLoss(x, x, x, x, { beta: 1e-39 }), /ipoLoss.*beta is below float32's smallest normal/);
  // IPO squares 1/(2β): β = 1.2e-38 (a normal float32) still gives (4e37)² = ∞. At β = 2^-64 (the old
  // bound) one example's loss is 2^126, finite, but the mean over a batch of 4 overflows: 1/β is a scale
  // too, so IPO stops at 1/MAX_SCALE = 1e-6.
  assert.throws(() => resolveLossOptions("ipo", { beta: 1.2e-38 }), /option beta must be >= 0\.000001 for IPO/);
  assert.throws(() => resolveLossOptions("ipo", { beta: 2 ** -64 }), /option beta must be >= 0\.000001 for IPO/);
  assert.throws(() => ipoLoss(x, x, x, x, { beta: 9e-7 }), /ipoLoss.*beta must be >= 0.000001/);
  const four = tf.tensor1d([-1, -2, -3, -4]);
  const ok = ipoLoss(four, tf.tensor1d([-3, -1, -1, -1]), four, four, { beta: 1e-6 });
  const mean = tf.mean(ok.losses);
  assert.ok(Number.isFinite(mean.dataSync()[0]), "IPO's batch mean at β = 1e-6 is finite");
  tf.dispose([x, four, mean, ok.losses, ok.chosenRewards, ok.rejectedRewards]);
});

test("item 12: β·h must stay finite: scale options stop at MAX_SCALE = 1e6 (β = 3e38 overflowed at h = −4)", () => {
  assert.equal(MAX_SCALE, 1e6);
  // β = 3e38 is a normal float32, but dpoLoss at h = −4 gave softplus(1.2e39) = ∞.
  assert.throws(() => resolveLossOptions("dpo", { beta: 3e38 }), /option beta must be <= 1000000, got 3e\+38 \(/);
  const h4 = [tf.tensor1d([-5]), tf.tensor1d([-1]), tf.tensor1d([-1]), tf.tensor1d([-1])] as const; // h = −4
  assert.throws(() => dpoLoss(...h4, { beta: 3e38 }), /dpoLoss.*beta must be <= 1000000, got 3e\+38/);
  assert.throws(() => ipoLoss(...h4, { beta: 3e38 }), /ipoLoss.*beta must be <= 1000000/);
  // Every registered scale option (β, f-DPO's α, RPO's α, SimPO's γ, KTO's λs, unlikelihood's α) is capped.
  for (const info of listLossTypes())
    for (const [name, spec] of Object.entries(info.options))
      if (
        [
          "beta",
          "fAlphaCoef",
          "rpoAlpha",
          "simpoGamma",
          "desirableWeight",
          "undesirableWeight",
          "unlikelihoodAlpha",
          "bcoDelta",
        ].includes(name)
      ) {
        assert.equal(spec.max, MAX_SCALE, `${info.name}.${name}`);
        assert.throws(
          () => resolveLossOptions(info.name, { [name]: 2e6 }),
          new RegExp(`option ${name} must be <= 1000000`),
        );
      }
  // BCO's fixed reward shift δ is in reward units (β·h): ±MAX_SCALE (3e38 made a batch mean overflow).
  assert.throws(() => resolveLossOptions("bco_pair", { bcoDelta: -3e38 }), /option bcoDelta must be >= -1000000/);
  // At the cap every loss is finite, with finite gradients, for log-ratios of ±1e4 nats (the bound's premise)
  // with every other scale option at the cap too: β·h = 1e10 and (β·h)² = 1e20, far below float32's 3.4e38.
  const H = 1e4;
  for (const info of listLossTypes()) {
    const opts: Record<string, unknown> = {};
    for (const [name, spec] of Object.entries(info.options)) if (spec.max === MAX_SCALE) opts[name] = MAX_SCALE;
    for (const s of [H, -H]) {
      const out = tf.tidy(() => {
        const at = (pc: tf.Tensor): tf.Tensor => {
          if (info.data === "pairs")
            return preferenceLoss(
              info.name,
              {
                policyChosen: pc,
                policyRejected: tf.tensor1d([-H - 1, -1]),
                refChosen: tf.tensor1d([-1 - s, -1]),
                refRejected: tf.tensor1d([-1, -1 - s]),
                chosenLengths: [3, 3],
                rejectedLengths: [3, 3],
              },
              opts,
            ).losses;
          if (info.data === "unpaired")
            return preferenceLoss(
              info.name,
              {
                policy: pc,
                ref: tf.tensor1d([-1 - s, -1]),
                desirable: [true, false],
                klPolicy: tf.tensor1d([-1, -H]),
                klRef: tf.tensor1d([-1 - s, -1]),
              },
              opts,
            ).losses;
          return preferenceLoss(
            info.name,
            {
              policy: tf.stack([pc, tf.tensor1d([-2, -3])]),
              ref: tf.tensor2d([
                [-1 - s, -1],
                [-1, -1],
              ]),
            },
            opts,
          ).losses;
        };
        const pc = tf.tensor1d([-1, -H - 1]);
        const { value, grad } = tf.valueAndGrad((p: tf.Tensor) => tf.sum(at(p)))(pc);
        return [...at(pc).dataSync(), value.dataSync()[0], ...grad.dataSync()];
      });
      assert.ok(out.every(Number.isFinite), `${info.name} at h = ${s}, ${JSON.stringify(opts)}: ${out}`);
    }
  }
  // 1/τ and 1/(2β) are scales too: DiscoPOP's σ(βh/τ) at τ = 1.2e-38 gave an infinite gradient, and SPPO's
  // (a − 1/(2β))² at β = 1e-30 an infinite loss.
  assert.throws(
    () => resolveLossOptions("discopop", { discopopTau: 1.2e-38 }),
    /option discopopTau must be >= 0.000001, got 1.2e-38/,
  );
  assert.throws(
    () => resolveLossOptions("sppo_hard", { beta: 1e-30 }),
    /option beta must be >= 0\.000001 for sppo_hard/,
  );
  for (const [name, opts] of [
    ["discopop", { beta: MAX_SCALE, discopopTau: 1e-6, fAlphaCoef: MAX_SCALE, rpoAlpha: MAX_SCALE }],
    ["sppo_hard", { beta: 1e-6, rpoAlpha: MAX_SCALE }],
  ] as const)
    for (const s of [H, -H]) {
      const out = tf.tidy(() => {
        const f = (pc: tf.Tensor) =>
          tf.sum(
            preferenceLoss(
              name,
              {
                policyChosen: pc,
                policyRejected: tf.tensor1d([-H - 1, -1]),
                refChosen: tf.tensor1d([-1 - s, -1]),
                refRejected: tf.tensor1d([-1, -1 - s]),
              },
              opts,
            ).losses,
          );
        const { value, grad } = tf.valueAndGrad(f)(tf.tensor1d([-1, -H - 1]));
        return [value.dataSync()[0], ...grad.dataSync()];
      });
      assert.ok(out.every(Number.isFinite), `${name} at h = ${s}: ${out}`);
    }
  const ok = dpoLoss(...h4, { beta: MAX_SCALE });
  assert.ok(Math.abs(ok.losses.dataSync()[0] - 4e6) < 1, "−log σ(−4e6) = 4e6");
  tf.dispose([...h4, ok.losses, ok.chosenRewards, ok.rejectedRewards]);
});

test("item 13: plackettLuceProbability refuses a repeated, out-of-range or missing index", () => {
  assert.throws(() => plackettLuceProbability([1, 2, 3], [0, 0, 0]), /order\[1\] = 0 repeats an index/);
  assert.throws(
    () => plackettLuceProbability([1, 2, 3], [0, 1, 3]),
    /order\[2\] = 3 is not an index of the 3 utilities/,
  );
  assert.throws(() => plackettLuceProbability([1, 2, 3], [0, 1.5, 2]), /order\[1\] = 1.5 is not an index/);
  assert.throws(() => plackettLuceProbability([1, 2, 3], [2, 0]), /order ranks 2 of the 3 items/);
  assert.throws(() => plackettLuceProbability([1, NaN], [0, 1]), /every utility must be finite/);
  // A valid permutation still gives the hand value: r = (0, log 2, log 3), order (2, 0, 1): 3/6 · 1/3 = 1/6.
  assert.ok(Math.abs(plackettLuceProbability([0, Math.log(2), Math.log(3)], [2, 0, 1]) - 1 / 6) < 1e-15);
});

test("item 22: plackettLuceNll of empty rankings (shape [2, 0]) is 0 per ranking, not a tfjs error", () => {
  const nll = plackettLuceNll(tf.zeros([2, 0]));
  assert.deepEqual(nll.shape, [2]);
  assert.deepEqual(Array.from(nll.dataSync()), [0, 0]);
  const one = plackettLuceNll(tf.tensor2d([[5], [-1]]));
  assert.deepEqual(Array.from(one.dataSync()), [0, 0], "one item: nothing is ranked");
  tf.dispose([nll, one]);
});

test("item 23: trainOnTrlFile with a prompt longer than the context names the file and line", async () => {
  const t = tok();
  const rows = [
    { prompt: "the film", chosen: " was great.", rejected: " was dull." },
    { prompt: "the film was great , i loved it . the plot", chosen: " is great.", rejected: " is dull." },
  ];
  const file = writeJsonl(rows);
  // The same records with a blank line first: the long prompt is on the file's line 3 (not its 2nd record's line).
  const spaced = path.join(path.dirname(file), "spaced.jsonl");
  fs.writeFileSync(spaced, "\n" + rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
  const reference = new Transformer({ vocabSize: t.size, contextLength: 8, dModel: 8, nHeads: 2, nLayers: 1 }, 1);
  const opts = { method: "dpo", steps: 1, batchSize: 1, verbose: false };
  for (const [source, where] of [
    [file, `${file}:2`],
    [spaced, `${spaced}:3`],
    [rows, "records:2"],
  ] as const) {
    await assert.rejects(
      trainOnTrlFile(source, reference, reference, t, opts),
      (err: Error) => err.message.startsWith(`${where}: field "prompt": `) && /leaving no room/.test(err.message),
    );
  }
  reference.dispose();
});

test("item 34: ktoLoss refuses a NaN or infinite z0 tensor", () => {
  const p = tf.tensor1d([-1, -2]);
  const r = tf.tensor1d([-1.5, -1]);
  for (const bad of [NaN, Infinity]) {
    const z0 = tf.scalar(bad);
    assert.throws(
      () => ktoLoss(p, r, [true, false], { beta: 0.1, z0 }),
      /options\.z0 must be finite, got (NaN|Infinity)/,
    );
    z0.dispose();
  }
  const rows = tf.tensor1d([0.1, NaN]);
  assert.throws(
    () => ktoLoss(tf.tensor2d([[-1], [-2]]), tf.tensor2d([[-1], [-1]]), [true], { beta: 0.1, z0: rows }),
    /z0 must be finite, got NaN at flat index 1/,
  );
  tf.dispose([p, r, rows]);
});
