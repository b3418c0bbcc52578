// The notebooks' shared helpers: check, band, logLogSlope, plackettLuceProbability and the verdict table.
import { describe, test } from "node:test";
import * as assert from "node:assert/strict";
import {
  band,
  check,
  CheckFailed,
  clusteredMean,
  formatCi,
  grade,
  NOT_TESTABLE,
  logLogSlope,
  permutations,
  plackettLuceProbability,
  showHoldsHere,
  showVerdicts,
  verdictFrame,
  verdictRows,
  VERDICT_COLUMNS,
  type Verdict,
} from "../src/notebook";

describe("check", () => {
  test("passes silently-with-a-tick on true and throws CheckFailed naming the claim on false", () => {
    assert.doesNotThrow(() => check(true, "one is one"));
    assert.throws(
      () => check(false, "two is three"),
      (e: unknown) => e instanceof CheckFailed && /check failed: two is three/.test((e as Error).message),
    );
  });
  test("a truthy non-boolean is not accepted as a pass", () => {
    assert.throws(() => check(1 as unknown as boolean, "truthy"), CheckFailed);
  });
});

describe("band", () => {
  test("mean line and a closed 95% CI polygon (meanCi95) in the given colour", () => {
    const [fill, line] = band(
      [0, 10],
      [
        [1, 3],
        [2, 2],
      ],
      "demo",
      "rgb(10,20,30)",
    );
    assert.deepEqual(line.y, [2, 2]);
    assert.equal((line.line as { color: string }).color, "rgb(10,20,30)");
    const half = 12.706204736174707; // meanCi95: Student t, t_{0.975,1}·sd/√n with values 1, 3 (sd √2, n 2)
    assert.deepEqual(fill.x, [0, 10, 10, 0]);
    (fill.y as number[]).forEach((v, i) => assert.ok(Math.abs(v - [2 + half, 2, 2, 2 - half][i]) < 1e-9));
    assert.equal(fill.fillcolor, "rgba(10,20,30,0.2)");
    assert.deepEqual(fill.line, { width: 0 });
  });
  test("extra options reach both traces, but the band keeps no outline", () => {
    const [fill, line] = band([0], [[1]], "d", "rgb(1,2,3)", { legendgroup: "g", line: { dash: "dot" } });
    assert.equal(fill.legendgroup, "g");
    assert.deepEqual(fill.line, { width: 0 });
    assert.deepEqual(line.line, { color: "rgb(1,2,3)", dash: "dot" });
  });
  test("bad input is an error naming the band", () => {
    assert.throws(() => band([0, 1], [[1]], "short", "rgb(1,2,3)"), /band "short": 2 steps but 1/);
    assert.throws(() => band([0], [[1]], "hex", "#ff0000"), /band "hex": color must be "rgb\(r,g,b\)"/);
    assert.throws(() => band([0], [[]], "empty", "rgb(1,2,3)"), /no values at step 0/);
  });
});

describe("logLogSlope and formatCi", () => {
  test("recovers the exponent of a power law exactly", () => {
    const xs = [10, 100, 1000, 5000];
    assert.ok(
      Math.abs(
        logLogSlope(
          xs,
          xs.map((x) => 3 * x ** -0.5),
        ) + 0.5,
      ) < 1e-12,
    );
    assert.ok(
      Math.abs(
        logLogSlope(
          xs,
          xs.map((x) => x ** 2),
        ) - 2,
      ) < 1e-12,
    );
  });
  test("rejects non-positive values and mismatched lengths", () => {
    assert.throws(() => logLogSlope([1, 2], [1, 0]), /finite and > 0/);
    assert.throws(() => logLogSlope([1, 2, 3], [1, 2]), /equal-length/);
    assert.throws(() => logLogSlope([2, 2], [1, 3]), /all x are equal/);
  });
  test("formatCi", () => {
    assert.equal(formatCi({ mean: 0.12345, half: 0.0321 }), "0.123 ± 0.032");
    assert.equal(formatCi({ mean: 1, half: 0.5 }, 1), "1.0 ± 0.5");
  });
});

describe("clusteredMean", () => {
  test("equal clusters: the standard error of the cluster means (hand values)", () => {
    // clusters a: 1, 3 (mean 2); b: 4, 6 (mean 5); c: 7, 9 (mean 8) → means 2, 5, 8: sd 3, se 3/√3 = √3
    const r = clusteredMean([1, 3, 4, 6, 7, 9], ["a", "a", "b", "b", "c", "c"]);
    assert.equal(r.mean, 5);
    assert.ok(Math.abs(r.se - Math.sqrt(3)) < 1e-12);
    assert.equal(r.clusters, 3);
    assert.equal(r.n, 6);
  });
  test("wider than the i.i.d. standard error when samples within a cluster agree", () => {
    const values = [1, 1, 1, 1, 5, 5, 5, 5];
    const r = clusteredMean(values, [0, 0, 0, 0, 1, 1, 1, 1]);
    const m = 3,
      sd = Math.sqrt(values.reduce((s, v) => s + (v - m) ** 2, 0) / 7);
    assert.ok(r.se > 1.5 * (sd / Math.sqrt(8)));
    assert.ok(Math.abs(r.se - 2) < 1e-12); // cluster means 1 and 5: sd 2√2, se 2
  });
  test("unequal clusters: the CR1 formula by hand", () => {
    // values 0 | 2, 4 | 6: N = 4, m = 3; S − n·m = −3, 0, 3; se = √(3/2 · 18)/4 = √27/4
    const r = clusteredMean([0, 2, 4, 6], [1, 2, 2, 3]);
    assert.ok(Math.abs(r.se - Math.sqrt(27) / 4) < 1e-12);
  });
  test("bad input", () => {
    assert.throws(() => clusteredMean([1, 2], ["a"]), /2 values but 1 cluster labels/);
    assert.throws(() => clusteredMean([1, 2], ["a", "a"]), /at least 2 clusters, got 1/);
    assert.throws(() => clusteredMean([1, NaN], ["a", "b"]), /finite/);
  });
});

describe("plackettLuceProbability", () => {
  test("sums to 1 over all 24 rankings of 4, is shift-invariant, and is σ(r0 − r1) for two items", () => {
    const r = [1.2, 0.3, -0.5, 0.9];
    const perms = permutations([0, 1, 2, 3]);
    assert.equal(perms.length, 24);
    assert.equal(new Set(perms.map((p) => p.join())).size, 24);
    const total = perms.reduce((s, o) => s + plackettLuceProbability(r, o), 0);
    assert.ok(Math.abs(total - 1) < 1e-12);
    for (const o of perms)
      assert.ok(
        Math.abs(
          plackettLuceProbability(r, o) -
            plackettLuceProbability(
              r.map((v) => v + 500),
              o,
            ),
        ) < 1e-12,
      );
    assert.ok(Math.abs(plackettLuceProbability([1.2, 0.3], [0, 1]) - 1 / (1 + Math.exp(-0.9))) < 1e-15);
  });
  test("hand value for three items", () => {
    // P(2 ≻ 0 ≻ 1 | r = (0, ln 2, ln 3)) = 3/6 · 1/3 = 1/6
    assert.ok(Math.abs(plackettLuceProbability([0, Math.log(2), Math.log(3)], [2, 0, 1]) - 1 / 6) < 1e-15);
  });
});

describe("verdict table", () => {
  const base: Verdict = {
    claim: "DPO reaches π*",
    setup: "bandit, 10 seeds",
    measured: "TV 0.03 ± 0.01",
    reproduced: "yes",
    why: "tabular policy",
    expected: "yes",
  };
  test("grade: full → yes, only the weaker test → partly, neither → no", () => {
    assert.equal(grade(true), "yes");
    assert.equal(grade(true, false), "yes");
    assert.equal(grade(false, true), "partly");
    assert.equal(grade(false), "no");
  });
  test("rows in the documented column order", () => {
    assert.deepEqual(VERDICT_COLUMNS, ["claim", "our setup", "measured", "reproduced", "why"]);
    assert.deepEqual(verdictRows([base]), [
      ["DPO reaches π*", "bandit, 10 seeds", "TV 0.03 ± 0.01", "yes", "tabular policy"],
    ]);
  });
  test("grade refuses conditions that are not booleans (a number or undefined is not a silent no)", () => {
    assert.throws(() => grade(undefined as never), /conditions must be booleans, got undefined/);
    assert.throws(() => grade(false, 0 as never), /got boolean and number/);
  });
  test("every row must state the expected verdict and a measured number", () => {
    const { expected: _e, ...noExpected } = base;
    assert.throws(() => verdictRows([noExpected as Verdict]), /has no "expected": state the verdict/);
    assert.throws(
      () => verdictRows([{ ...base, measured: "exact, see above" }]),
      /measured must state the measured numbers, got "exact, see above"/,
    );
  });
  test("'not testable at this scale' and 'not covered' are verdicts of their own, never yes", () => {
    const row = { ...base, reproduced: NOT_TESTABLE, expected: NOT_TESTABLE };
    assert.equal(verdictRows([row])[0][3], "not testable at this scale");
    assert.throws(() => verdictRows([{ ...row, expected: "yes" }]), CheckFailed);
    assert.throws(() => verdictRows([{ ...base, reproduced: "not covered" }]), CheckFailed);
  });
  test("every disagreement is named in one failure", () => {
    assert.throws(
      () =>
        verdictRows([
          { ...base, reproduced: "no" },
          { ...base, claim: "second", reproduced: "partly" },
        ]),
      /"DPO reaches π\*" is "no" .*; verdict for "second" is "partly"/,
    );
  });
  test("a verdict that disagrees with the stated one fails the run, naming the claim", () => {
    assert.doesNotThrow(() => verdictRows([{ ...base, expected: "yes" }]));
    assert.throws(
      () => verdictRows([{ ...base, reproduced: grade(false, true), expected: "yes" }]),
      (e: unknown) =>
        e instanceof CheckFailed &&
        /"DPO reaches π\*" is "partly" but the notebook's text says "yes"/.test((e as Error).message),
    );
  });
  test("empty fields, unknown verdicts and empty tables are errors", () => {
    assert.throws(() => verdictRows([]), /no verdicts/);
    assert.throws(() => verdictRows([{ ...base, why: " " }]), /has an empty "why"/);
    assert.throws(
      () => verdictRows([{ ...base, reproduced: "maybe" as never }]),
      /must be one of yes, partly, no, not covered, not testable at this scale, got maybe/,
    );
  });
  test("verdictFrame is a DataFrame with the same rows; showVerdicts prints one line per claim and returns nothing", () => {
    const second: Verdict = { ...base, claim: "second", reproduced: "no", expected: "no" };
    const df = verdictFrame([base, second]);
    assert.deepEqual(df.columns, VERDICT_COLUMNS);
    assert.deepEqual(df.values, verdictRows([base, second]));
    const lines: string[] = [];
    const log = console.log;
    console.log = (s: string) => lines.push(String(s));
    try {
      assert.equal(showVerdicts([base, second]), undefined);
    } finally {
      console.log = log;
    }
    assert.ok(lines.some((l) => l.startsWith("✓ yes") && l.includes("DPO reaches π*")));
    assert.ok(lines.some((l) => l.startsWith("✗ no") && l.includes("second")));
  });
});

describe("showHoldsHere", () => {
  const quiet = <T>(f: () => T): { value: T; lines: string[] } => {
    const lines: string[] = [];
    const log = console.log;
    console.log = (s: string) => lines.push(String(s));
    try {
      return { value: f(), lines };
    } finally {
      console.log = log;
    }
  };
  test("passes identities within tolerance and prints one 'holds here' line each", () => {
    const { lines } = quiet(() =>
      showHoldsHere([
        { identity: "Σ P = 1", residual: 2e-16, tolerance: 1e-12 },
        { identity: "slope = −½", residual: -3e-7, tolerance: 1e-6 },
      ]),
    );
    assert.ok(lines.some((l) => l.startsWith("✓ holds here: Σ P = 1 (residual 2.0e-16)")));
    assert.ok(lines.some((l) => l.includes("slope = −½")));
  });
  test("a residual over its tolerance, or not finite, fails the run naming the identity", () => {
    assert.throws(
      () => quiet(() => showHoldsHere([{ identity: "Σ P = 1", residual: 2e-11, tolerance: 1e-12 }])),
      (e: unknown) =>
        e instanceof CheckFailed &&
        /"Σ P = 1" does not hold here: residual 2e-11 > tolerance 1e-12/.test((e as Error).message),
    );
    assert.throws(() => quiet(() => showHoldsHere([{ identity: "nan", residual: NaN, tolerance: 1 }])), CheckFailed);
    assert.throws(() => showHoldsHere([{ identity: "t", residual: 0, tolerance: 0 }]), /tolerance must be > 0/);
    assert.throws(() => showHoldsHere([]), /no identities/);
  });
});
