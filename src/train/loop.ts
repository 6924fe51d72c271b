// The training loop shared by teacher (clean data) and student (mixed shards): batches of normalised
// images with dense targets, loss = −Σ_c t_c·log softmax(z)_c (= rho_a·CE(y_a) + rho_b·CE(y_b) for
// SnapMix targets, docs/SHARDS.md "SnapMix semantics"), L2 weight decay on kernels, scheduled learning rate.
import { promises as fs } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { learningRate } from './schedule.js';
import type { Recipe } from './recipe.js';
import { createProgress } from './progress.js';
import { stepLoss } from './loss.js';
import { Replicas } from './replicas.js';
import { fastBatchNorm } from './sync-bn.js';
import { plainConvolutions } from './plain-conv.js';

export type { Batch, BatchSource } from './batch.js';
import type { Batch, BatchSource } from './batch.js';

export interface EpochMetrics {
  epoch: number;
  lr: number;
  train_loss: number;
  train_acc: number;
  /** Top-1 on the held-out split (teacher: the dataset's test split; student: --val's), a fraction. */
  val_top1: number | null;
  seconds: number;
  images_per_s: number;
}

export interface LoopOptions {
  model: tf.LayersModel;
  source: BatchSource;
  recipe: Recipe;
  /** Top-1 on held-out data, or null when there is none. */
  evaluate: () => Promise<number | null>;
  /** Called after every epoch with whether it is the best so far; saves the model (and a checkpoint). */
  onEpoch: (m: EpochMetrics, isBest: boolean, optimizer: tf.Optimizer) => Promise<void>;
  /** An optimizer restored from a checkpoint (--resume); otherwise one is made from the recipe. */
  optimizer?: tf.Optimizer;
  metricsFile?: string;
  startEpoch?: number;
  /** Stop after this many epochs in total (an interruption, as tests simulate one); the schedule still spans recipe.epochs. */
  stopAfterEpoch?: number;
  bestSoFar?: number;
  quiet?: boolean;
  /**
   * Data-parallel replicas in worker threads (--train-workers; wasm only): each step is split into this
   * many micro-batches whose gradients are summed in rank order (src/train/replicas.ts). 1: in process.
   */
  trainWorkers?: number;
  /** Per trainable weight, a factor for its gradient (fine-tuning: a smaller backbone learning rate). */
  gradScales?: number[];
  /** Validate every this many epochs and after the last (default 1): the others record val_top1 null and are never "best". */
  evalEvery?: number;
}

export function makeOptimizer(r: Recipe): tf.Optimizer {
  return r.optimizer === 'adam' ? tf.train.adam(r.lr) : tf.train.momentum(r.lr, r.momentum);
}

export function setLr(opt: tf.Optimizer, lr: number): void {
  const o = opt as unknown as { setLearningRate?: (v: number) => void; learningRate: number };
  if (o.setLearningRate) o.setLearningRate(lr);
  else o.learningRate = lr;
}

/** Iterate a sync or async batch source, asking for the next batch while the caller works on this one. */
async function* ahead(src: AsyncIterable<Batch> | Iterable<Batch>): AsyncGenerator<Batch> {
  const it = Symbol.asyncIterator in src ? (src as AsyncIterable<Batch>)[Symbol.asyncIterator]() : (src as Iterable<Batch>)[Symbol.iterator]();
  let next = Promise.resolve(it.next());
  for (;;) {
    const r = await next;
    if (r.done) return;
    // A sync source builds the next batch here, while the replicas compute this one.
    next = new Promise((resolve) => setImmediate(() => resolve(it.next())));
    yield r.value;
  }
}

type Step = (batch: Batch, lr: number) => Promise<{ loss: number; pred: Int32Array }>;

/** One optimizer step in this thread (the replicas have their own): the batch's mean loss and predictions. */
function inProcessStep(model: tf.LayersModel, opt: tf.Optimizer, source: BatchSource, recipe: Recipe, scales: number[] | undefined): Step {
  const kernels = model.trainableWeights.filter((w) => /kernel/.test(w.name)).map((w) => w.read());
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  return async (batch, lr) => {
    setLr(opt, lr);
    const x = tf.tensor4d(batch.x, [batch.n, source.size, source.size, 3]);
    const t = tf.tensor2d(batch.targets, [batch.n, source.numClasses]);
    let predT: tf.Tensor | undefined;
    const f = () => {
      const r = stepLoss(model, x, t, batch.n, kernels, recipe.weightDecay);
      predT = r.pred;
      return r.loss;
    };
    let cost: tf.Scalar;
    if (scales) {
      const { value, grads } = tf.variableGrads(f, vars);
      const named = vars.map((v, i) => ({ name: v.name, tensor: scales[i] === 1 ? grads[v.name] : tf.mul(grads[v.name], scales[i]) }));
      opt.applyGradients(named);
      tf.dispose([...named.map((g) => g.tensor), ...Object.values(grads)]);
      cost = value;
    } else {
      cost = opt.minimize(f, true, vars)!;
    }
    const [loss] = await cost.data();
    const pred = (await predT!.data()) as Int32Array;
    tf.dispose([x, t, cost, predT!]);
    return { loss, pred };
  };
}

/**
 * One epoch's batches through `step`, with the progress bar. `pipelined` (replicas): step b+1 is queued
 * before step b's result is read, so each replica starts it as soon as it finishes step b, without a round
 * trip through this thread (the replicas apply their own updates).
 */
async function runEpoch(o: LoopOptions, epoch: number, step: Step, pipelined: boolean): Promise<{ lossSum: number; accSum: number; seen: number; lr: number }> {
  const { source, recipe } = o;
  const bar = createProgress(`epoch ${epoch + 1}/${recipe.epochs}`, source.batchesPerEpoch, { quiet: o.quiet });
  let lossSum = 0;
  let accSum = 0;
  let seen = 0;
  let done = 0;
  let lr = recipe.lr;
  const settle = async (s: { batch: Batch; result: ReturnType<Step> }) => {
    const { loss: lossV, pred } = await s.result;
    for (let i = 0; i < s.batch.n; i++) if (pred[i] === s.batch.labels[i]) accSum++;
    lossSum += lossV * s.batch.n;
    seen += s.batch.n;
    done++;
    if (!Number.isFinite(lossV)) throw new Error(`training diverged at epoch ${epoch + 1} batch ${done} (loss ${lossV}); lower --lr`);
    bar.update(done, { loss: (lossSum / seen).toFixed(3), acc: (accSum / seen).toFixed(3) });
  };
  let pending: Parameters<typeof settle>[0] | undefined;
  let b = 0;
  for await (const batch of ahead(source.epoch(epoch))) {
    lr = learningRate(recipe.schedule, recipe.lr, epoch + b / source.batchesPerEpoch, recipe.epochs, recipe.warmup);
    const next = { batch, result: step(batch, lr) };
    next.result.catch(() => {}); // awaited in settle; a failure elsewhere must not leave it unhandled
    b++;
    if (pending) await settle(pending);
    pending = next;
    if (!pipelined) {
      await settle(pending);
      pending = undefined;
    }
  }
  if (pending) await settle(pending);
  bar.stop();
  return { lossSum, accSum, seen, lr };
}

export async function trainLoop(o: LoopOptions): Promise<{ best: number | null; history: EpochMetrics[] }> {
  const { model, source, recipe } = o;
  const opt = o.optimizer ?? makeOptimizer(recipe);
  const replicas = (o.trainWorkers ?? 1) > 1
    ? await Replicas.start({ model, optimizer: opt, recipe, n: o.trainWorkers!, size: source.size, numClasses: source.numClasses, gradScales: o.gradScales })
    : undefined;
  if (!replicas) {
    // The same training fast path the replicas use (one op per BatchNorm, lazy conv gradients).
    fastBatchNorm(model);
    plainConvolutions(model);
  }
  const scales = o.gradScales?.some((x) => x !== 1) ? o.gradScales : undefined;
  if (scales && scales.length !== model.trainableWeights.length) throw new Error(`gradScales has ${scales.length} entries for ${model.trainableWeights.length} trainable weights`);
  const step: Step = replicas ? (batch, lr) => replicas.step(batch, lr) : inProcessStep(model, opt, source, recipe, scales);
  let best = o.bestSoFar ?? -Infinity;
  const history: EpochMetrics[] = [];
  const end = Math.min(recipe.epochs, o.stopAfterEpoch ?? recipe.epochs);
  try {
    for (let epoch = o.startEpoch ?? 0; epoch < end; epoch++) {
      const t0 = Date.now();
      const { lossSum, accSum, seen, lr } = await runEpoch(o, epoch, step, !!replicas);
      // The replicas hold the trained weights: bring them into the model for evaluation and saving.
      if (replicas) await replicas.pull(model, opt);
      const trainSeconds = (Date.now() - t0) / 1000;
      const due = (epoch + 1) % (o.evalEvery ?? 1) === 0 || epoch + 1 === end;
      const top1 = due ? await o.evaluate() : null;
      const m: EpochMetrics = {
        epoch: epoch + 1,
        lr,
        train_loss: lossSum / Math.max(1, seen),
        train_acc: accSum / Math.max(1, seen),
        val_top1: top1,
        seconds: (Date.now() - t0) / 1000,
        images_per_s: seen / trainSeconds,
      };
      history.push(m);
      const score = top1 ?? -epoch; // without held-out data the last epoch is the one kept
      const isBest = !due ? false : top1 === null ? true : score > best;
      if (isBest) best = score;
      if (o.metricsFile) await fs.appendFile(o.metricsFile, JSON.stringify(m) + '\n');
      await o.onEpoch(m, isBest, opt);
    }
  } finally {
    await replicas?.close();
  }
  opt.dispose();
  return { best: Number.isFinite(best) && best >= 0 ? best : null, history };
}
