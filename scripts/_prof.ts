import { initBackend } from "../src/backend";
import { Transformer } from "../src/lm/transformer";
import { makeAdam } from "../src/lm/optim";
import { benchRows, dpoStep } from "./profile-lm";
import { sizeOf } from "./benchSizes";
(async () => {
  await initBackend();
  const size = sizeOf(process.env.SIZE ?? "fig2");
  const rows = benchRows(size);
  const ref = new Transformer(size.config, 0);
  const pol = ref.clone();
  const opt = makeAdam(1e-4);
  const refs = new Float32Array(rows.length);
  for (let i = 0; i < 3; i++) dpoStep(pol, opt, rows, refs);
  const ts: number[] = [];
  for (let i = 0; i < Number(process.env.N ?? 20); i++) { const t0 = performance.now(); dpoStep(pol, opt, rows, refs); ts.push(performance.now() - t0); }
  ts.sort((a, b) => a - b);
  console.log("median", ts[ts.length >> 1].toFixed(1), "min", ts[0].toFixed(1));
})();
