// The training loop shared by teacher (clean data) and student (mixed shards): batches of normalised
// images with dense targets, loss = −Σ_c t_c·log softmax(z)_c (= rho_a·CE(y_a) + rho_b·CE(y_b) for
// SnapMix targets, DESIGN §2), L2 weight decay on kernels, scheduled learning rate.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { learningRate } from './schedule.js';
import type { Recipe } from './recipe.js';
import { createProgress } from './progress.js';

export interface Batch {
  /** [n, size, size, 3] normalised. */
  x: Float32Array;
  /** [n, C] dense targets. */
  targets: Float32Array;
  /** Hard label per sample (the dominant class), for running accuracy. */
  labels: Int32Array;
  n: number;
}

export interface BatchSource {
  /** Batches of one epoch, in a seeded order. */
  epoch(epoch: number): AsyncIterable<Batch> | Iterable<Batch>;
  /** Batches per epoch (for progress and schedule). */
  batchesPerEpoch: number;
  size: number;
  numClasses: number;
}

export interface EpochMetrics {
  epoch: number;
  lr: number;
  train_loss: number;
  train_acc: number;
  test_top1: number | null;
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
}

export function makeOptimizer(r: Recipe): tf.Optimizer {
  return r.optimizer === 'adam' ? tf.train.adam(r.lr) : tf.train.momentum(r.lr, r.momentum);
}

function setLr(opt: tf.Optimizer, lr: number): void {
  const o = opt as unknown as { setLearningRate?: (v: number) => void; learningRate: number };
  if (o.setLearningRate) o.setLearningRate(lr);
  else o.learningRate = lr;
}

export async function trainLoop(o: LoopOptions): Promise<{ best: number | null; history: EpochMetrics[] }> {
  const { model, source, recipe } = o;
  const opt = o.optimizer ?? makeOptimizer(recipe);
  const kernels = model.trainableWeights.filter((w) => /kernel/.test(w.name)).map((w) => w.read());
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  let best = o.bestSoFar ?? -Infinity;
  const history: EpochMetrics[] = [];
  const end = Math.min(recipe.epochs, o.stopAfterEpoch ?? recipe.epochs);
  for (let epoch = o.startEpoch ?? 0; epoch < end; epoch++) {
    const t0 = Date.now();
    const bar = createProgress(`epoch ${epoch + 1}/${recipe.epochs}`, source.batchesPerEpoch, { quiet: o.quiet });
    let lossSum = 0;
    let accSum = 0;
    let seen = 0;
    let b = 0;
    let lr = recipe.lr;
    for await (const batch of source.epoch(epoch)) {
      lr = learningRate(recipe.schedule, recipe.lr, epoch + b / source.batchesPerEpoch, recipe.epochs, recipe.warmup);
      setLr(opt, lr);
      const x = tf.tensor4d(batch.x, [batch.n, source.size, source.size, 3]);
      const t = tf.tensor2d(batch.targets, [batch.n, source.numClasses]);
      let predT: tf.Tensor | undefined;
      const cost = opt.minimize(
        () => {
          // A model may have several heads (--midlevel): each is trained on the same targets, and
          // their logits are added for prediction, as at test time.
          const out = model.apply(x, { training: true }) as tf.Tensor2D | tf.Tensor2D[];
          const heads = Array.isArray(out) ? out : [out];
          predT = tf.keep((heads.length > 1 ? tf.addN(heads) : heads[0]).argMax(-1));
          const ces = heads.map((logits) => tf.neg(tf.sum(tf.mul(t, tf.logSoftmax(logits)), 1)).mean());
          const ce = ces.length > 1 ? tf.addN(ces) : ces[0];
          if (recipe.weightDecay <= 0) return ce as tf.Scalar;
          const l2 = tf.addN(kernels.map((k) => tf.sum(tf.square(k))));
          return tf.add(ce, tf.mul(l2, 0.5 * recipe.weightDecay)) as tf.Scalar;
        },
        true,
        vars,
      )!;
      const [lossV] = await cost.data();
      const pred = (await predT!.data()) as Int32Array;
      tf.dispose([x, t, cost, predT!]);
      for (let i = 0; i < batch.n; i++) if (pred[i] === batch.labels[i]) accSum++;
      lossSum += lossV * batch.n;
      seen += batch.n;
      b++;
      if (!Number.isFinite(lossV)) throw new Error(`training diverged at epoch ${epoch + 1} batch ${b} (loss ${lossV}); lower --lr`);
      bar.update(b, { loss: (lossSum / seen).toFixed(3), acc: (accSum / seen).toFixed(3) });
    }
    bar.stop();
    const trainSeconds = (Date.now() - t0) / 1000;
    const top1 = await o.evaluate();
    const m: EpochMetrics = {
      epoch: epoch + 1,
      lr,
      train_loss: lossSum / Math.max(1, seen),
      train_acc: accSum / Math.max(1, seen),
      test_top1: top1,
      seconds: (Date.now() - t0) / 1000,
      images_per_s: seen / trainSeconds,
    };
    history.push(m);
    const score = top1 ?? -epoch; // without held-out data the last epoch is the one kept
    const isBest = top1 === null ? true : score > best;
    if (isBest) best = score;
    if (o.metricsFile) await fs.appendFile(o.metricsFile, JSON.stringify(m) + '\n');
    await o.onEpoch(m, isBest, opt);
  }
  opt.dispose();
  return { best: Number.isFinite(best) && best >= 0 ? best : null, history };
}

export async function ensureDir(p: string): Promise<string> {
  await fs.mkdir(p, { recursive: true });
  return path.resolve(p);
}
