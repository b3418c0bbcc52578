// TR-DPO: DPO whose reference model moves with the policy (Gorbatovski et al. 2024, "Learn Your Reference Model
// for Real Good Alignment", §3). The loss is DPO's (Rafailov et al. 2023, Eq. 7) on the offline pairs; after
// every τ-th Adam step the reference is updated (groupMath.ts mixInto):
//
//   θ_ref ← α θ + (1 − α) θ_ref     soft update, α in (0, 1) (the paper's Eq. 4)
//   θ_ref ← θ                        hard update, α = 1 (Eq. 5)
//
// as TRL's SyncRefModelCallback does with ref_model_mixup_alpha = α and ref_model_sync_steps = τ. Because the
// reference changes, its log-probs are computed on each minibatch (no cache, one extra forward pass a step).
// The reference passed in is never modified: the trainer updates its own copy.
import { Rng } from "../random";
import { throwIfInterrupted } from "../interrupt";
import { makeAdam, progress } from "./optim";
import { mixInto, syncDue } from "./groupMath";
import { dpoPairStep } from "./onlineDpo";
import { sequenceLogps } from "./preferenceTrainer";
import type { TokenizedPair } from "./rlaif";
import type { Transformer } from "./transformer";

export interface TrDpoOptions {
  beta: number;
  /** The mixing weight α in (0, 1]: 1 is the hard update. */
  alpha: number;
  /** Update the reference after every τ-th step. */
  tau: number;
  steps: number;
  batchSize: number;
  learningRate?: number;
  clipNorm?: number;
  seed?: number;
  verbose?: boolean;
  onStep?: (step: number, log: TrDpoLog) => void;
}

export type TrDpoLog = {
  step: number;
  loss: number;
  grad_norm: number;
  "rewards/accuracies": number;
  /** Reference updates so far. */
  "trdpo/syncs": number;
};

/** Train `policy` in place by TR-DPO on `pairs`, starting from (a copy of) `reference`. */
export function trainTrDpo(
  policy: Transformer,
  reference: Transformer,
  pairs: readonly TokenizedPair[],
  opts: TrDpoOptions,
): { logs: TrDpoLog[]; seconds: number; syncs: number } {
  if (pairs.length === 0) throw new Error("trainTrDpo: no pairs");
  if (!(opts.alpha > 0 && opts.alpha <= 1)) throw new Error(`trainTrDpo: alpha must lie in (0, 1], got ${opts.alpha}`);
  if (!(Number.isInteger(opts.tau) && opts.tau >= 1))
    throw new Error(`trainTrDpo: tau must be an integer ≥ 1, got ${opts.tau}`);
  if (!(Number.isInteger(opts.batchSize) && opts.batchSize >= 1))
    throw new Error(`trainTrDpo: batchSize must be an integer ≥ 1, got ${opts.batchSize}`);
  const t0 = Date.now();
  const rng = new Rng(opts.seed ?? 0).fork("tr-dpo");
  const ref = reference.clone(false);
  const optimizer = makeAdam(opts.learningRate ?? 5e-4);
  const logs: TrDpoLog[] = [];
  let syncs = 0;
  let order: number[] = [];
  try {
    for (let step = 1; step <= opts.steps; step++) {
      throwIfInterrupted();
      const rows: number[] = [];
      while (rows.length < Math.min(opts.batchSize, pairs.length)) {
        if (order.length === 0) order = rng.shuffle(Array.from(pairs.keys()));
        rows.push(order.shift() as number);
      }
      const chosen = rows.map((i) => pairs[i].chosenSeq);
      const rejected = rows.map((i) => pairs[i].rejectedSeq);
      const r = dpoPairStep(
        policy,
        optimizer,
        chosen,
        rejected,
        sequenceLogps(ref, chosen),
        sequenceLogps(ref, rejected),
        opts.beta,
        opts.clipNorm ?? 1,
      );
      if (syncDue(step, opts.tau)) {
        mixInto(ref.variables, policy.variables, opts.alpha);
        syncs++;
      }
      const log: TrDpoLog = {
        step,
        loss: r.loss,
        grad_norm: r.gradNorm,
        "rewards/accuracies": r.accuracy,
        "trdpo/syncs": syncs,
      };
      logs.push(log);
      if (opts.verbose !== false) progress("TR-DPO", step, opts.steps, `loss ${r.loss.toFixed(3)} syncs ${syncs}`);
      opts.onStep?.(step, log);
    }
  } finally {
    optimizer.dispose();
    ref.dispose();
  }
  return { logs, seconds: (Date.now() - t0) / 1000, syncs };
}
