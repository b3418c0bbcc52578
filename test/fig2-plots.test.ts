// The Figure-2 plots (src/fig2/plots.ts, src/fig2/panels.ts) on a hand-built summary of every method: at
// most 8 traces per panel, every method drawn in some panel (none dropped), DPO and PPO-GT repeated as
// references, axis titles with units, hover with knob and step; the RM-vs-truth figure's coordinates; and
// the share of <unk> in stored completions counted by hand.
import { test } from "node:test";
import assert from "node:assert/strict";
import { frontierFigure, overOptimisationFigure, rewardModelFigure, unknownShare } from "../src/fig2/plots";
import { familiesFor, panelAxes, tracesPerPanel, FIG2_FAMILIES } from "../src/fig2/panels";
import { upperEnvelope, type FrontierPoint } from "../src/fig2/envelope";
import { METHOD_STYLE, type Fig2Summary } from "../src/fig2/summary";
import type { CheckpointRow } from "../src/fig2/run";

const FIG2_METHODS = [
  "dpo",
  "ppo",
  "ppo-gt",
  "rloo",
  "rloo-gt",
  "unlikelihood",
  "preferred-ft",
  "ipo",
  "kto",
  "listwise",
  "cdpo",
  "best-of-n",
  "best-of-n-gt",
];

function summaryOf(methods: readonly string[]): Fig2Summary {
  const points: FrontierPoint[] = [];
  methods.forEach((method, i) => {
    for (let step = 1; step <= 3; step++)
      points.push({
        method,
        knob: 0.1 * (i + 1),
        step,
        kl: step + i / 10,
        reward: 0.5 + 0.1 * step,
        vader: 0.5,
        rm: i,
      });
  });
  const envelopes = Object.fromEntries(methods.map((m) => [m, upperEnvelope(points.filter((p) => p.method === m))]));
  const sft: FrontierPoint = { method: "sft", knob: 0, step: 0, kl: 0, reward: 0.5, vader: 0.55, rm: 1 };
  return { points, envelopes, sft, verdicts: [], comparisons: {}, best: [], controllers: [] };
}

const S = summaryOf(FIG2_METHODS);

for (const [name, make] of [
  ["frontier", frontierFigure],
  ["over-optimisation", overOptimisationFigure],
] as const) {
  test(`${name} figure: at most 8 traces per panel, every method in a panel, axis titles with units`, () => {
    const fig = make(S);
    const counts = tracesPerPanel(fig);
    assert.ok(Object.keys(counts).length >= 6, `${Object.keys(counts).length} panels`);
    for (const [axis, n] of Object.entries(counts)) assert.ok(n <= 8, `panel ${axis}: ${n} traces`);
    const named = fig.data.map((t) => String(t.name));
    for (const m of FIG2_METHODS)
      assert.ok(
        named.some((n) => n.startsWith(METHOD_STYLE[m].name)),
        `${m} is drawn`,
      );
    const layout = fig.layout as Record<string, { title?: { text?: string } }>;
    for (const axis of Object.keys(counts)) {
      const ax = panelAxes(axis === "x" ? 0 : Number(axis.slice(1)) - 1);
      assert.match(layout[ax.xLayout].title?.text ?? "", /KL.*nats/);
      assert.match(layout[ax.yLayout].title?.text ?? "", /P\(positive\)/);
    }
    const hovers = fig.data.flatMap((t) => (t.text as string[] | undefined) ?? []);
    assert.ok(hovers.length > 0 && hovers.every((h) => /step \d+/.test(h) && /= [\d.]+/.test(h)), "hover: knob, step");
    const legendNames = fig.data.filter((t) => t.showlegend !== false).map((t) => String(t.name));
    assert.equal(new Set(legendNames).size, legendNames.length, "each legend entry once");
  });
}

test("frontier figure: DPO's and PPO-GT's envelopes are in every panel (the references)", () => {
  const fig = frontierFigure(S);
  const panels = Object.keys(tracesPerPanel(fig));
  for (const m of ["dpo", "ppo-gt"]) {
    const name = METHOD_STYLE[m].name;
    const withIt = new Set(fig.data.filter((t) => t.name === name).map((t) => String(t.xaxis)));
    assert.deepEqual([...withIt].sort(), [...panels].sort(), `${m} in every panel`);
  }
  // Each panel's KL axis spans its own methods' points: the supervised baselines' panel (the second)
  // ends at 1.05 × their largest KL, not at the references'.
  const top = Math.max(...S.points.filter((p) => ["unlikelihood", "preferred-ft"].includes(p.method)).map((p) => p.kl));
  assert.deepEqual((fig.layout as Record<string, { range?: number[] }>).xaxis2.range, [0, 1.05 * top]);
});

test("familiesFor: absent methods leave their family out; an unplaced method gets its own panel", () => {
  const f = familiesFor(["sft", "dpo", "ppo-gt", "kto", "mystery-a", "mystery-b", "mystery-c"]);
  assert.deepEqual(
    f.map((x) => [x.methods, x.references]),
    [
      [["dpo", "ppo-gt"], []],
      [["kto"], ["dpo", "ppo-gt"]],
      [
        ["mystery-a", "mystery-b"],
        ["dpo", "ppo-gt"],
      ],
      [["mystery-c"], ["dpo", "ppo-gt"]],
    ],
  );
  assert.equal(f[2].title, "Other methods");
  const placed = FIG2_FAMILIES.flatMap((x) => x.methods);
  assert.equal(new Set(placed).size, placed.length, "each method in one family only");
});

test("rewardModelFigure: x is the classifier reward, y the learned RM score, for the RM twins and SFT", () => {
  const fig = rewardModelFigure(S);
  const ppo = fig.data.find((t) => t.name === METHOD_STYLE.ppo.name)!;
  assert.deepEqual(
    ppo.x,
    [1, 2, 3].map((step) => 0.5 + 0.1 * step),
  );
  assert.deepEqual(ppo.y, [1, 1, 1]);
  assert.deepEqual(
    fig.data.map((t) => t.name),
    ["ppo", "ppo-gt", "rloo", "rloo-gt", "best-of-n", "best-of-n-gt"]
      .map((m) => METHOD_STYLE[m].name)
      .concat("SFT (π_ref)"),
  );
  const sft = fig.data[fig.data.length - 1];
  assert.deepEqual([sft.x, sft.y], [[0.5], [1]]);
});

test("unknownShare counts <unk> among the words of each method's stored completions", () => {
  const row = (method: string, completions: string[]) =>
    ({
      method,
      examples: completions.map((c) => ({ prompt: "p", completion: c, reward: 0.5 })),
    }) as unknown as CheckpointRow;
  const got = unknownShare([
    row("ppo", ["a <unk> b", "<unk> <unk>"]),
    row("dpo", ["x y  z", ""]),
    row("ppo", ["c"]),
    row("sft", ["<unk>"]),
  ]);
  assert.deepEqual(got, [
    { method: "dpo", words: 3, unk: 0 },
    { method: "ppo", words: 6, unk: 3 },
    { method: "sft", words: 1, unk: 1 },
  ]);
});
