// `synthetic`: a cheap experiment kind with a known answer, for the runner's own tests and benchmarks.
// score = center + slope · x + noise · ε,  ε ~ N(0, 1) drawn from Rng(seed ⊕ hash(config)), so the mean
// over seeds is known in closed form and the run is a pure function of (config, seed). `delayMs` makes a
// run take time: sleeping (the thread idles) or, with `spin: true`, busy-looping (the thread computes);
// `failSeed` makes the run with that seed throw (to test failure handling).
import { canonicalJson, type JsonObject } from "../sweep/config";
import { ConfigReader, registerExperimentKind, type ExperimentKind } from "../sweep/kinds";
import { Rng, hashString } from "../random";

function busyWait(ms: number): number {
  const end = Date.now() + ms;
  let x = 0;
  while (Date.now() < end) for (let i = 0; i < 1000; i++) x += Math.sqrt(i + x);
  return x;
}

// Part of every run id: bump it when a run's metrics change (test/kind-versions.test.ts checks that).
const VERSION = 2;

export const syntheticKind: ExperimentKind = {
  name: "synthetic",
  description: "score = center + slope·x + noise·N(0,1); optional delay. For tests and benchmarks of the runner.",
  version: VERSION,
  usesBackend: false,
  resolve(config, complain) {
    const r = ConfigReader.root(config, complain);
    const out: JsonObject = {
      center: r.number("center", 0),
      slope: r.number("slope", 1),
      x: r.number("x", 0),
      noise: r.number("noise", 1, { min: 0 }),
      delayMs: r.number("delayMs", 0, { min: 0 }),
      spin: r.boolean("spin", false),
      note: r.string("note", ""),
      failSeed: r.number("failSeed", -1, { integer: true }),
    };
    r.done();
    return out;
  },
  async run(config, seed) {
    const c = config as {
      center: number;
      slope: number;
      x: number;
      noise: number;
      delayMs: number;
      spin: boolean;
      note: string;
      failSeed: number;
    };
    if (seed === c.failSeed) throw new Error(`synthetic run asked to fail on seed ${seed}`);
    if (c.delayMs > 0) {
      if (c.spin) busyWait(c.delayMs);
      else await new Promise((done) => setTimeout(done, c.delayMs));
    }
    const rng = new Rng((seed ^ hashString(canonicalJson(config))) >>> 0);
    const eps = rng.normal();
    return { score: c.center + c.slope * c.x + c.noise * eps, eps, noteLength: c.note.length, note: c.note };
  },
};

registerExperimentKind(syntheticKind);
