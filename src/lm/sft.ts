// Supervised fine-tuning (here: pre-training from scratch) of the reference model on the corpus, by
// maximum likelihood: L = −(1/N_tok) Σ_rows Σ_t m_t log π(x_{t+1} | x_≤t), where m_t marks the scored
// tokens (every token after <bos>, <eos> included when the text is complete) and N_tok = Σ m_t is their
// number; held-out perplexity is exp(L) on the held-out rows. π is softmax over the tokens the model may
// emit (NON_EMITTED excluded), the distribution sampling draws from.
import * as tf from "@tensorflow/tfjs";
import { Rng } from "../random";
import { packTexts, disposeBatch } from "./batching";
import { throwIfInterrupted } from "../interrupt";
import { modelTokenLogProbs } from "./logprobs";
import { adamStep, makeAdam, progress } from "./optim";
import type { Transformer } from "./transformer";

export interface SftOptions {
  steps: number;
  batchSize: number;
  learningRate?: number;
  clipNorm?: number;
  seed?: number;
  /** Log progress to stderr (default true). */
  verbose?: boolean;
  /** Evaluate held-out perplexity every this many steps (0 = only at the end). */
  evalEvery?: number;
}

export interface SftResult {
  losses: number[];
  /** [step, held-out perplexity] pairs. */
  heldOutPerplexity: Array<[number, number]>;
  trainPerplexity: number;
  finalHeldOutPerplexity: number;
  seconds: number;
}

/** Mean negative log-likelihood per scored token of `rows` (token ids after <bos>, `sftRow` form), in batches. */
export function meanNll(model: Transformer, rows: readonly number[][], batchSize = 64): number {
  let total = 0;
  let count = 0;
  for (let s = 0; s < rows.length; s += batchSize) {
    throwIfInterrupted();
    const batch = packTexts(rows.slice(s, s + batchSize) as number[][], model.config.contextLength);
    const [sum, n] = tf.tidy(() => {
      const lp = modelTokenLogProbs(model, batch.ids, batch.mask);
      return [tf.sum(tf.mul(lp, batch.mask)).dataSync()[0], tf.sum(batch.mask).dataSync()[0]];
    });
    disposeBatch(batch);
    total -= sum;
    count += n;
  }
  return total / count;
}

/** Perplexity exp(mean NLL per token) of `rows` under the model. */
export function perplexity(model: Transformer, rows: readonly number[][], batchSize = 64): number {
  return Math.exp(meanNll(model, rows, batchSize));
}

/** Train `model` in place on token rows by maximum likelihood. */
export function trainSft(
  model: Transformer,
  train: readonly number[][],
  heldOut: readonly number[][],
  opts: SftOptions,
): SftResult {
  const t0 = Date.now();
  const rng = new Rng(opts.seed ?? 0).fork("sft");
  const optimizer = makeAdam(opts.learningRate ?? 3e-3);
  const losses: number[] = [];
  const heldOutPerplexity: Array<[number, number]> = [];
  let order: number[] = [];
  try {
    for (let step = 1; step <= opts.steps; step++) {
      throwIfInterrupted();
      if (order.length < opts.batchSize) order = order.concat(rng.shuffle(Array.from(train.keys())));
      const rows = order.splice(0, opts.batchSize).map((i) => train[i] as number[]);
      const batch = packTexts(rows, model.config.contextLength);
      const r = adamStep(
        optimizer,
        model.variables,
        () =>
          tf.tidy(() => {
            const lp = modelTokenLogProbs(model, batch.ids, batch.mask);
            return tf.neg(tf.div(tf.sum(tf.mul(lp, batch.mask)), tf.sum(batch.mask))) as tf.Scalar;
          }),
        opts.clipNorm ?? 1,
      );
      disposeBatch(batch);
      losses.push(r.loss);
      if (opts.evalEvery && step % opts.evalEvery === 0 && step !== opts.steps)
        heldOutPerplexity.push([step, perplexity(model, heldOut)]);
      if (opts.verbose !== false) progress("SFT", step, opts.steps, `loss ${r.loss.toFixed(3)}`, 20);
    }
  } finally {
    optimizer.dispose();
  }
  const finalHeldOutPerplexity = perplexity(model, heldOut);
  heldOutPerplexity.push([opts.steps, finalHeldOutPerplexity]);
  const trainPerplexity = perplexity(model, train.slice(0, Math.min(train.length, heldOut.length * 2)));
  return { losses, heldOutPerplexity, trainPerplexity, finalHeldOutPerplexity, seconds: (Date.now() - t0) / 1000 };
}
