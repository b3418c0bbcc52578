// Small guards from issue 15 item 16: non-finite options that used to give NaN, a scalar passed where a
// ranking axis is needed, and a figure height that used to print "min-height:NaNpx".
import { before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend";
import { figureHtml } from "../src/display";
import { ktoLoss } from "../src/losses/kto";
import { plackettLuceNll } from "../src/losses/listwise";
import { fitBradleyTerry } from "../src/rewardModels/bradleyTerry";
import { fitPlackettLuce } from "../src/rewardModels/plackettLuce";

before(async () => {
  await initBackend();
});

describe("non-finite options are refused, not turned into NaN", () => {
  test("l2: Infinity (Bradley–Terry and Plackett–Luce fits)", () => {
    const pairs: Array<[number, number]> = [
      [0, 1],
      [1, 0],
      [0, 1],
    ];
    assert.throws(() => fitBradleyTerry(pairs, 2, { l2: Infinity }), /l2 must be finite and >= 0, got Infinity/);
    assert.throws(
      () =>
        fitPlackettLuce(
          [
            [0, 1],
            [1, 0],
          ],
          2,
          { l2: Infinity },
        ),
      /l2 must be finite and >= 0, got Infinity/,
    );
    assert.throws(() => fitBradleyTerry(pairs, 2, { l2: NaN }), /l2 must be finite/);
  });

  test("z0: NaN (KTO reference point)", () => {
    const p = tf.tensor1d([-1, -2]);
    const r = tf.tensor1d([-1.5, -1.5]);
    assert.throws(() => ktoLoss(p, r, [true, false], { beta: 0.1, z0: NaN }), /z0 must be a finite number, got NaN/);
    assert.throws(() => ktoLoss(p, r, [true, false], { beta: 0.1, z0: Infinity }), /z0 must be a finite number/);
    tf.dispose([p, r]);
  });
});

test("plackettLuceNll on a scalar says what shape it needs", () => {
  const s = tf.scalar(1);
  assert.throws(
    () => plackettLuceNll(s),
    /plackettLuceNll .*ranked items on the last axis \(shape \[\.\.\., N\]\), got a scalar/,
  );
  s.dispose();
});

test("figureHtml never writes min-height:NaNpx", () => {
  const html = figureHtml({ data: [], layout: { height: "auto" as unknown as number } }, "f1", false);
  assert.match(html, /min-height:420px/);
  assert.match(figureHtml({ data: [], layout: { height: 300 } }, "f2", false), /min-height:300px/);
  assert.doesNotMatch(figureHtml({ data: [], layout: { height: -5 } }, "f3", false), /NaN/);
});
