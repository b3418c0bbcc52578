// PPO as RLHF runs it and the DPO paper ran it (§6.1, App. C: TRL's PPOTrainer; Ziegler et al. 2019;
// Stiennon et al. 2020; Huang et al. 2022, "The N implementation details of RLHF with PPO"). One iteration:
//
//   1. rollout: `batchSize` prompts drawn from the training prompts, one completion each from π_old (T = 1);
//   2. score R(x, y) (judge, learned reward model or classifier), scaled by the running moments of every
//      score seen so far: R ← (R − μ)/σ (TRL use_score_scaling + use_score_norm);
//   3. per-token reward r_t = −β (log π_old − log π_ref)(y_t) at every token, + R at the last (ppoMath.ts);
//   4. the value head V (ppoValueHead.ts: on the policy's own body) at every token, and GAE with γ = 1,
//      λ = 0.95: advantages A_t and returns G_t = A_t + V_t; advantages whitened over the batch's tokens
//      (TRL whiten; rewards themselves are not whitened, TRL's whiten_rewards default);
//   5. `ppoEpochs` passes over the rollout in shuffled minibatches of `miniBatchSize`: one Adam step each on
//      L = PPO-clip(ε = 0.2) + vf_coef · clipped value loss (cliprange_value 0.2, vf_coef 0.1), global
//      gradient norm clipped;
//   6. the KL controller moves β towards the target KL (sequence-level KL(π_old‖π_ref), the batch mean):
//      by default the proportional-integral controller on log β (ppoMath.ts piKlUpdate), which holds its
//      target within a few dozen iterations; "adaptive" is Ziegler's (TRL AdaptiveKLController).
//
// `onTiming` (off by default; it reads the clock only, so the numbers are the same with it) reports each
// iteration's wall time in three phases: sampling (step 1), scoring (steps 2-4: the reward, the policy's,
// value head's and reference's log-probs, GAE) and the update (step 5).
//
// RLOO (the leave-one-out baseline without a critic, this project's former "PPO") is src/lm/rloo.ts.
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../random";
import { throwIfInterrupted } from "../interrupt";
import { packSequences, disposeBatch, type Sequence } from "./batching";
import { modelTokenLogProbs } from "./logprobs";
import { adamStep, makeAdam, progress } from "./optim";
import { judge, type Principle } from "./judges";
import { sampleGroups } from "./sampling";
import {
  adaptiveKlUpdate,
  clippedValueLossTensor,
  gaeAdvantages,
  perTokenRewards,
  piKlUpdate,
  ppoClipLoss,
  updateMoments,
  whiten,
  type BatchReward,
  type Moments,
  type PiKlGains,
  type PpoLog,
} from "./ppoMath";
import { ValueHead, logProbsAndValues } from "./ppoValueHead";
import type { Transformer } from "./transformer";
import type { WordTokenizer } from "./tokenizer";

export type { BatchReward, PpoLog } from "./ppoMath";

/** One iteration's wall time by phase, in milliseconds (PpoOptions.onTiming). */
export interface PpoTiming {
  samplingMs: number;
  scoringMs: number;
  updateMs: number;
}

export interface PpoOptions {
  /** KL coefficient β (with `targetKl`: its initial value). */
  beta: number;
  /** Move β so the batch's sequence-level KL approaches this many nats; β stays fixed if unset. */
  targetKl?: number;
  /** "pi" (default): proportional-integral on log β; "adaptive": Ziegler et al. 2019 (needs klHorizon). */
  klController?: "pi" | "adaptive";
  piGains?: PiKlGains;
  /** The adaptive controller's horizon H (default 10,000, TRL's). */
  klHorizon?: number;
  iterations: number;
  /** Rollout size: samples per iteration, one per prompt drawn with replacement (TRL batch_size). */
  batchSize: number;
  /** Samples per gradient step (default 64, TRL mini_batch_size ×  gradient accumulation). */
  miniBatchSize?: number;
  /** Passes over each rollout (default 4, TRL ppo_epochs). */
  ppoEpochs?: number;
  /** GAE discount γ (default 1) and λ (default 0.95), TRL's defaults. */
  gamma?: number;
  lambda?: number;
  /** PPO's ratio clip ε (default 0.2) and the value clip (default 0.2, TRL cliprange_value). */
  clipRange?: number;
  clipRangeValue?: number;
  /** Weight of the value loss (default 0.1, TRL vf_coef). */
  vfCoef?: number;
  /** Scale scores by their running mean and standard deviation (default true). */
  scoreNorm?: boolean;
  learningRate?: number;
  clipNorm?: number;
  maxNewTokens: number;
  seed?: number;
  verbose?: boolean;
  /** Called after each iteration's update (the policy holds the new weights): checkpoint evaluation. */
  onIteration?: (iteration: number, log: PpoLog) => void;
  /** Called after each iteration's update with its phases' wall time (the bench's split); off by default. */
  onTiming?: (iteration: number, timing: PpoTiming) => void;
}

/**
 * Train `policy` in place with PPO against `reward` (a constitution of judges or a batched reward),
 * regularised towards `reference` by the per-token KL penalty. The value head lives for the call only.
 */
export function trainPpo(
  policy: Transformer,
  reference: Transformer,
  tokenizer: WordTokenizer,
  prompts: readonly string[],
  reward: readonly Principle[] | BatchReward,
  opts: PpoOptions,
): { logs: PpoLog[]; seconds: number; betas: number[] } {
  const scoreBatch: BatchReward =
    typeof reward === "function" ? reward : (ps, cs) => ps.map((p, i) => judge(reward, p, cs[i]).total);
  if (!(opts.beta > 0)) throw new Error(`trainPpo: beta must be > 0, got ${opts.beta}`);
  if (!(Number.isInteger(opts.batchSize) && opts.batchSize >= 2))
    throw new Error(`trainPpo: batchSize must be an integer ≥ 2, got ${opts.batchSize}`);
  const mb = Math.min(opts.miniBatchSize ?? 64, opts.batchSize);
  if (!(Number.isInteger(mb) && mb >= 1)) throw new Error(`trainPpo: miniBatchSize must be ≥ 1, got ${mb}`);
  if (opts.klController === "adaptive" && opts.targetKl !== undefined && opts.klHorizon === undefined)
    throw new Error("trainPpo: the adaptive controller needs klHorizon");
  const gamma = opts.gamma ?? 1;
  const lambda = opts.lambda ?? 0.95;
  const eps = opts.clipRange ?? 0.2;
  const vClip = opts.clipRangeValue ?? 0.2;
  const vfCoef = opts.vfCoef ?? 0.1;
  const epochs = opts.ppoEpochs ?? 4;
  const t0 = Date.now();
  const rng = new Rng(opts.seed ?? 0).fork("ppo-gae");
  const head = new ValueHead(policy.config.dModel);
  const variables = [...policy.variables, ...head.variables];
  const optimizer = makeAdam(opts.learningRate ?? 5e-4);
  const ids = prompts.map((p) => tokenizer.encode(p));
  const logs: PpoLog[] = [];
  const betas: number[] = [];
  let beta = opts.beta;
  let pi = { logBeta: Math.log(beta), lastError: 0 };
  let moments: Moments = { mean: 0, variance: 0, count: 0 };
  try {
    for (let it = 1; it <= opts.iterations; it++) {
      throwIfInterrupted();
      const tSample = performance.now();
      const pick = Array.from({ length: opts.batchSize }, () => rng.int(prompts.length));
      const seqs = sampleGroups(
        policy,
        pick.map((i) => ids[i]),
        1,
        rng,
        { maxNewTokens: opts.maxNewTokens, temperature: 1 },
      ).flat();
      const tScore = performance.now();
      const raw = Array.from(
        scoreBatch(
          pick.map((i) => prompts[i]),
          seqs.map((s) => tokenizer.decode(s.completion)),
          seqs,
        ),
      );
      if (raw.length !== seqs.length || !raw.every(Number.isFinite))
        throw new Error(
          `trainPpo: the reward returned ${raw.length} scores for ${seqs.length} samples${raw.every(Number.isFinite) ? "" : " (some not finite)"}`,
        );
      moments = updateMoments(moments, raw);
      const sd = Math.max(Math.sqrt(moments.variance), 1e-8);
      const scores = opts.scoreNorm === false ? raw : raw.map((s) => (s - moments.mean) / sd);
      const step = ppoIteration(policy, reference, head, optimizer, variables, seqs, scores, rng, {
        beta,
        gamma,
        lambda,
        eps,
        vClip,
        vfCoef,
        epochs,
        miniBatchSize: mb,
        clipNorm: opts.clipNorm ?? 1,
      });
      opts.onTiming?.(it, {
        samplingMs: tScore - tSample,
        scoringMs: step.scoredAt - tScore,
        updateMs: performance.now() - step.scoredAt,
      });
      const meanScore = raw.reduce((a, b) => a + b, 0) / raw.length;
      const log: PpoLog = {
        iteration: it,
        "objective/scores": meanScore,
        "objective/kl": step.meanKl,
        "objective/rlhf_reward": meanScore - beta * step.meanKl,
        "policy/clipfrac_avg": step.clipfrac,
        "loss/policy_avg": step.policyLoss,
        "objective/kl_coef": beta,
        "loss/value_avg": step.valueLoss,
        "val/clipfrac_avg": step.valueClipfrac,
      };
      logs.push(log);
      betas.push(beta);
      if (opts.targetKl !== undefined) {
        if (opts.klController === "adaptive")
          beta = adaptiveKlUpdate(beta, step.meanKl, opts.targetKl, seqs.length, opts.klHorizon as number);
        else {
          pi = piKlUpdate(pi, step.meanKl, opts.targetKl, opts.piGains);
          beta = Math.exp(pi.logBeta);
        }
      }
      if (opts.verbose !== false)
        progress(
          "PPO",
          it,
          opts.iterations,
          `score ${meanScore.toFixed(3)} kl ${step.meanKl.toFixed(3)} β ${log["objective/kl_coef"].toPrecision(3)}`,
          5,
        );
      opts.onIteration?.(it, log);
    }
  } finally {
    optimizer.dispose();
    head.dispose();
  }
  return { logs, seconds: (Date.now() - t0) / 1000, betas };
}

interface IterationSettings {
  beta: number;
  gamma: number;
  lambda: number;
  eps: number;
  vClip: number;
  vfCoef: number;
  epochs: number;
  miniBatchSize: number;
  clipNorm: number;
}

/**
 * Steps 3-5 on one scored rollout; returns the rollout's mean sequence KL, the update's averages and when
 * (performance.now()) the scoring ended and the update began.
 */
function ppoIteration(
  policy: Transformer,
  reference: Transformer,
  head: ValueHead,
  optimizer: tf.Optimizer,
  variables: tf.Variable[],
  seqs: readonly Sequence[],
  scores: readonly number[],
  rng: Rng,
  s: IterationSettings,
): {
  meanKl: number;
  policyLoss: number;
  valueLoss: number;
  clipfrac: number;
  valueClipfrac: number;
  scoredAt: number;
} {
  const batch = packSequences(seqs, policy.config.contextLength);
  const [B, Tm1] = batch.mask.shape;
  const kept: tf.Tensor[] = [];
  try {
    const [oldLp, oldV, refLp, mask] = tf.tidy(() => {
      const pv = logProbsAndValues(policy, head, batch.ids, batch.mask);
      return [
        pv.logProbs.dataSync(),
        pv.values.dataSync(),
        modelTokenLogProbs(reference, batch.ids, batch.mask).dataSync(),
        batch.mask.dataSync(),
      ];
    });
    const adv = new Float32Array(B * Tm1);
    const ret = new Float32Array(B * Tm1);
    let klSum = 0;
    for (let b = 0; b < B; b++) {
      const at: number[] = [];
      for (let t = 0; t < Tm1; t++) if (mask[b * Tm1 + t]) at.push(b * Tm1 + t);
      const lpO = at.map((i) => oldLp[i]);
      const lpR = at.map((i) => refLp[i]);
      lpO.forEach((lp, j) => (klSum += lp - lpR[j]));
      const g = gaeAdvantages(
        perTokenRewards(scores[b], lpO, lpR, s.beta),
        at.map((i) => oldV[i]),
        s.gamma,
        s.lambda,
      );
      at.forEach((i, j) => ((adv[i] = g.advantages[j]), (ret[i] = g.returns[j])));
    }
    const shape: [number, number] = [B, Tm1];
    const oldLpT = tf.tensor2d(oldLp as Float32Array, shape);
    const oldVT = tf.tensor2d(oldV as Float32Array, shape);
    const advT = tf.tensor2d(whiten(adv, mask), shape);
    const retT = tf.tensor2d(ret, shape);
    kept.push(oldLpT, oldVT, advT, retT);
    const scoredAt = performance.now();
    let n = 0;
    const sums = { policy: 0, value: 0, clip: 0, vclip: 0 };
    for (let e = 0; e < s.epochs; e++) {
      const order = rng.shuffle(Array.from({ length: B }, (_, i) => i));
      for (let m = 0; m < B; m += s.miniBatchSize) {
        throwIfInterrupted();
        const rows = tf.tensor1d(order.slice(m, m + s.miniBatchSize), "int32");
        const pick = (t: tf.Tensor2D) => tf.gather(t, rows) as tf.Tensor2D;
        const mbIds = pick(batch.ids);
        const mbMask = pick(batch.mask);
        const parts = { policy: 0, value: 0, clip: 0, vclip: 0 };
        try {
          adamStep(
            optimizer,
            variables,
            () =>
              tf.tidy(() => {
                const pv = logProbsAndValues(policy, head, mbIds, mbMask);
                const pg = ppoClipLoss(pv.logProbs, pick(oldLpT), pick(advT), mbMask, s.eps);
                const vf = clippedValueLossTensor(pv.values, pick(oldVT), pick(retT), mbMask, s.vClip);
                parts.policy = pg.loss.dataSync()[0];
                parts.value = vf.loss.dataSync()[0];
                parts.clip = pg.clipfrac.dataSync()[0];
                parts.vclip = vf.clipfrac.dataSync()[0];
                return tf.add(pg.loss, tf.mul(vf.loss, s.vfCoef)) as tf.Scalar;
              }),
            s.clipNorm,
          );
        } finally {
          tf.dispose([rows, mbIds, mbMask]);
        }
        sums.policy += parts.policy;
        sums.value += parts.value;
        sums.clip += parts.clip;
        sums.vclip += parts.vclip;
        n++;
      }
    }
    return {
      meanKl: klSum / B,
      policyLoss: sums.policy / n,
      valueLoss: sums.value / n,
      clipfrac: sums.clip / n,
      valueClipfrac: sums.vclip / n,
      scoredAt,
    };
  } finally {
    tf.dispose(kept);
    disposeBatch(batch);
  }
}
