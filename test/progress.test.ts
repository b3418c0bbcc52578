// Progress where the user looks (src/progress.ts, src/sweep/progress.ts, src/liveFigure.ts):
// in a kernel cell one display replaced in place (display_data, then update_display_data with its
// display_id) carrying step, metric, rate and ETA; in a terminal lines on stderr.
import { describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { Writable } from "node:stream";
import { initBackend } from "../src/backend";
import {
  Progress,
  clockText,
  progressSettings,
  progressText,
  reportProgress,
  reportStage,
  type ProgressSnapshot,
} from "../src/progress";
import { liveFigure } from "../src/liveFigure";
import { ProgressBar } from "../src/sweep/progress";
import { withInterruptScope } from "../src/interrupt";
import { Transformer } from "../src/lm/transformer";
import { generateReviewCorpus } from "../src/lm/corpus";
import { lmPreset, setupCorpus } from "../src/lm/pipeline";
import { trainSft } from "../src/lm/sft";

type Sent = { data: Record<string, unknown>; id?: string; update: boolean };

/** Runs fn as if in a kernel cell (tslab's display hook captured); returns what was sent. */
async function inKernel(fn: () => void | Promise<void>): Promise<Sent[]> {
  const jupyter = require("tslab/dist/jupyter") as {
    lastWriteDisplayData: ((d: object, update: boolean) => void) | null;
  };
  const sent: Sent[] = [];
  const saved = jupyter.lastWriteDisplayData;
  jupyter.lastWriteDisplayData = (msg, update) => {
    const m = msg as { data: Record<string, unknown>; transient: { display_id?: string } };
    sent.push({ data: m.data, id: m.transient.display_id, update });
  };
  try {
    await fn();
  } finally {
    jupyter.lastWriteDisplayData = saved;
  }
  return sent;
}

/** Captures what fn writes to stderr. */
function stderrOf(fn: () => void): string {
  const write = process.stderr.write;
  let out = "";
  process.stderr.write = ((chunk: string) => ((out += chunk), true)) as typeof process.stderr.write;
  try {
    fn();
  } finally {
    process.stderr.write = write;
  }
  return out;
}

const text = (s: Sent) => String(s.data["text/plain"]);

describe("progress: rate, ETA and the text line", () => {
  test("rate = steps since the first report / seconds, ETA = steps left / rate (hand-derived)", () => {
    let ms = 0;
    const shown: ProgressSnapshot[] = [];
    const p = new Progress("SFT", 10, { now: () => ms, sink: { show: (s) => shown.push(s) } });
    for (let step = 1; step <= 4; step++) {
      ms += 500; // 2 steps/s
      p.update(step, `loss ${step}`);
    }
    const s = shown[3];
    assert.equal(s.step, 4);
    assert.equal(s.elapsedSeconds, 2);
    assert.equal(s.rate, 2);
    assert.equal(s.etaSeconds, 3); // (10 − 4) / 2
    assert.equal(progressText(s), "SFT 4/10 (40%) · loss 4 · 2.0 steps/s · ETA 0:03");
    ms += 3000;
    p.update(10, "loss 0.5");
    assert.equal(progressText(shown[4]), "SFT 10/10 (100%) · loss 0.5 · 2.0 steps/s · done in 5.0 s");
    p.update(11);
    assert.equal(shown.length, 5, "nothing after the last step");
  });
  test("no rate before a second report; clock text", () => {
    const p = new Progress("x", 5, { startStep: 1, now: () => 0, sink: { show() {} } });
    const s = p.snapshot(1);
    assert.ok(Number.isNaN(s.rate) && s.etaSeconds === Infinity);
    assert.match(progressText(s), /ETA --:--$/);
    assert.deepEqual(
      [clockText(0), clockText(61), clockText(3725), clockText(NaN)],
      ["0:00", "1:01", "1:02:05", "--:--"],
    );
  });
});

describe("progress in a kernel cell", () => {
  test("a loop done within progressSettings.delayMs (1 s; a single-batch sampling call) shows nothing", async () => {
    const sent = await inKernel(() => {
      for (let s = 1; s <= 50; s++) reportProgress("sampling", s, 50);
    });
    assert.deepEqual(sent, []);
  });
  test("(the tests below show loops at once)", () => {
    progressSettings.delayMs = 0;
  });
  test("one display per loop, updated in place (first display_data, then update_display_data), last says done", async () => {
    const sent = await inKernel(() => {
      for (let s = 1; s <= 200; s++) reportProgress("loop", s, 200, `loss ${s}`);
    });
    assert.ok(sent.length >= 2, `${sent.length} messages`);
    assert.equal(sent[0].update, false);
    assert.ok(sent[0].id?.startsWith("prefopt-progress-"));
    assert.ok(
      sent.slice(1).every((s) => s.update && s.id === sent[0].id),
      "later messages update the same display",
    );
    assert.ok(sent.length <= 10, `throttled (${sent.length} messages for 200 fast steps)`);
    assert.match(text(sent[sent.length - 1]), /^loop 200\/200 \(100%\) · loss 200 · .* done in/);
    assert.match(String(sent[0].data["text/html"]), /<progress value="1" max="200"/);
  });
  test("a loop inside a running loop (PPO's sampling) shows nothing; the next loop gets a new display", async () => {
    const sent = await inKernel(() => {
      reportProgress("outer", 1, 2);
      for (let s = 1; s <= 5; s++) reportProgress("inner", s, 5);
      reportProgress("outer", 2, 2);
      reportProgress("after", 1, 1);
    });
    assert.ok(!sent.some((s) => text(s).startsWith("inner")), sent.map(text).join("\n"));
    const ids = new Set(sent.map((s) => s.id));
    assert.equal(ids.size, 2, "outer and after: two displays");
  });
  test("SFT reports through it: display then in-place updates with step, loss, rate, ETA", async () => {
    await initBackend();
    const preset = {
      ...lmPreset("quick"),
      corpusSize: 300,
      maxVocab: 100,
      evaluation: { prompts: 4, samplesPerPrompt: 2 },
      model: { contextLength: 16, dModel: 8, nHeads: 2, nLayers: 1 },
    };
    const setup = setupCorpus(generateReviewCorpus(300, 0), preset);
    const m = new Transformer({ ...preset.model, vocabSize: setup.tokenizer.size }, 0);
    const sent = await inKernel(() => {
      trainSft(m, setup.trainRows, setup.heldOutRows, { steps: 6, batchSize: 8, learningRate: 1e-2 });
    });
    m.dispose();
    const sft = sent.filter((s) => text(s).startsWith("SFT"));
    assert.ok(sft.length >= 2 && !sft[0].update && sft.slice(1).every((s) => s.update && s.id === sft[0].id));
    assert.match(text(sft[sft.length - 1]), /^SFT 6\/6 \(100%\) · loss \d+\.\d{3} · [\d.]+ steps\/s · done in/);
  });
  test("stages (Figure 2): one display per label and cell, listing the stages so far", async () => {
    const sent = await inKernel(() => {
      withInterruptScope(() => {
        reportStage("fig2 data", "SFT …");
        reportStage("fig2 data", "pairs …");
      });
      withInterruptScope(() => reportStage("fig2 data", "loaded from cache"));
    });
    assert.equal(sent.length, 3);
    assert.deepEqual(
      sent.map((s) => s.update),
      [false, true, false],
    );
    assert.equal(sent[0].id, sent[1].id);
    assert.notEqual(sent[2].id, sent[0].id, "a later cell starts its own display");
    assert.match(text(sent[1]), /SFT …\npairs …$/);
  });
});

describe("progress in a terminal (stderr is not a TTY under the test runner)", () => {
  test("a line every `every` steps and the last; every = 0 keeps logs silent", () => {
    const out = stderrOf(() => {
      for (let s = 1; s <= 100; s++) reportProgress("SFT", s, 100, "loss 1", 20);
    });
    const lines = out.trimEnd().split("\n");
    assert.deepEqual(
      lines.map((l) => l.split(" ")[1]),
      ["20/100", "40/100", "60/100", "80/100", "100/100"],
    );
    assert.match(lines[4], /done in/);
    assert.equal(
      stderrOf(() => {
        for (let s = 1; s <= 3; s++) reportProgress("sampling", s, 3, "", 0);
      }),
      "",
    );
  });
});

describe("progress on a terminal (stderr a TTY)", () => {
  test("the line is redrawn in place; a loop done within delayMs prints nothing", () => {
    const tty = process.stderr.isTTY;
    const delay = progressSettings.delayMs;
    process.stderr.isTTY = true;
    try {
      progressSettings.delayMs = 1000;
      const quick = stderrOf(() => {
        for (let s = 1; s <= 50; s++) reportProgress("sampling", s, 50, "", 0);
      });
      assert.equal(quick, "");
      progressSettings.delayMs = 0;
      const shown = stderrOf(() => {
        for (let s = 1; s <= 50; s++) reportProgress("SFT", s, 50, "loss 1", 20);
      });
      assert.ok(shown.startsWith("\r\x1b[2KSFT "), JSON.stringify(shown.slice(0, 40)));
      assert.match(shown, /\r\x1b\[2KSFT 50\/50 \(100%\) · loss 1 · .*done in [\d.]+ s\n$/);
    } finally {
      process.stderr.isTTY = tty;
      progressSettings.delayMs = delay;
    }
  });
});

describe("sweeps: a heartbeat before the first run ends", () => {
  const sink = () => {
    let out = "";
    const w = new Writable({
      write(chunk, _e, cb) {
        out += String(chunk);
        cb();
      },
    });
    return { w, text: () => out };
  };
  test("in a log: a 0/N line with elapsed time while the first run is still going", async () => {
    const s = sink();
    const bar = new ProgressBar(4, "sweep", s.w, 50);
    await new Promise((r) => setTimeout(r, 180));
    const beforeTick = s.text();
    bar.tick(true);
    bar.finish();
    assert.match(beforeTick, /sweep .* 0\/4 0% .*elapsed 0:00/, `nothing before the first run ended: ${beforeTick}`);
    const after = s.text().length;
    await new Promise((r) => setTimeout(r, 120));
    assert.equal(s.text().length, after, "finish() stops the heartbeat");
  });
  test("in a kernel cell: one display, updated in place, saying the first run is in progress", async () => {
    let bar: ProgressBar | undefined;
    const sent = await inKernel(async () => {
      bar = new ProgressBar(2, "sweep", process.stderr, 5000);
      await new Promise((r) => setTimeout(r, 1150));
      bar.tick(true);
      bar.tick(true);
      bar.finish();
    });
    assert.ok(sent.length >= 3, `${sent.length} messages`);
    assert.equal(sent[0].update, false);
    assert.ok(sent.slice(1).every((s) => s.update && s.id === sent[0].id));
    assert.match(text(sent[0]), /0\/2 .*\(first run in progress\)/);
    assert.match(text(sent[sent.length - 1]), /2\/2 100%/);
  });
});

describe("liveFigure", () => {
  test("one figure display redrawn in place as points arrive; done() draws every point", async () => {
    let fig: ReturnType<typeof liveFigure> | undefined;
    const sent = await inKernel(() => {
      fig = liveFigure({ title: { text: "loss" } }, { everyMs: 0 });
      for (let s = 1; s <= 3; s++) {
        fig.push("train", s, 1 / s);
        fig.push("held-out", s, 2 / s);
      }
      fig.done();
    });
    const figs = sent.filter((s) => "application/vnd.plotly.v1+json" in s.data);
    assert.equal(figs[0].update, false);
    assert.ok(figs.slice(1).every((s) => s.update && s.id === figs[0].id));
    const last = figs[figs.length - 1].data["application/vnd.plotly.v1+json"] as {
      data: Array<{ name: string; x: number[]; y: number[] }>;
    };
    assert.deepEqual(
      last.data.map((t) => [t.name, t.x, t.y]),
      [
        ["train", [1, 2, 3], [1, 1 / 2, 1 / 3]],
        ["held-out", [1, 2, 3], [2, 1, 2 / 3]],
      ],
    );
  });
});
