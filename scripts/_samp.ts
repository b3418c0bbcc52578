import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../src/backend";
import { Transformer } from "../src/lm/transformer";
import { prefill, decodeStep, disposeKvCache } from "../src/lm/kvCache";
import { sampleToken } from "../src/lm/sampling";
import { Rng } from "../src/random";
(async () => {
  const b = await initBackend();
  const m = new Transformer({ vocabSize: 2000, contextLength: 24, dModel: 64, nHeads: 4, nLayers: 2 }, 0);
  const rows = Array.from({ length: 128 }, (_, i) => [1, 5 + i, 7, 9, 11, 13]);
  for (let rep = 0; rep < 3; rep++) {
    let t0 = performance.now();
    let { logits, cache } = prefill(m, rows);
    const tPre = performance.now() - t0;
    let tDec = 0, tSamp = 0, tSync = 0;
    const rng = new Rng(1);
    for (let s = 0; s < 12; s++) {
      t0 = performance.now();
      const data = logits.dataSync();
      tSync += performance.now() - t0;
      t0 = performance.now();
      const toks = rows.map((_, i) => sampleToken(data.subarray(i * 2000, (i + 1) * 2000), rng, 1, 0, [0, 1, 2]));
      tSamp += performance.now() - t0;
      logits.dispose();
      t0 = performance.now();
      const r = decodeStep(m, toks, rows.map(() => 6 + s), cache);
      tDec += performance.now() - t0;
      logits = r.logits; cache = r.cache;
    }
    logits.dispose(); disposeKvCache(cache);
    console.log(b.threads, "prefill", tPre.toFixed(1), "decode(12)", tDec.toFixed(1), "sync", tSync.toFixed(1), "sample", tSamp.toFixed(1));
  }
  const info = await tf.profile(() => { const { logits, cache } = prefill(m, rows); const r = decodeStep(m, rows.map(() => 5), rows.map(() => 6), cache); r.logits.dataSync(); tf.dispose([logits, r.logits]); disposeKvCache(r.cache); });
  const by = new Map<string, [number, number]>();
  for (const k of info.kernels) { if (k.name === "unnamed scope") continue; const e = by.get(k.name) ?? [0, 0]; e[0]++; e[1] += k.kernelTimeMs as number; by.set(k.name, e); }
  console.log([...by.entries()].sort((a, b) => b[1][1] - a[1][1]).slice(0, 15).map(([n, [c, ms]]) => `${n} ${c} ${ms.toFixed(1)}`).join("; "));
})();
