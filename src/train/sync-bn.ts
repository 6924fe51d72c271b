// Synchronised BatchNorm for data-parallel replicas: every BatchNormalization layer normalises with the
// statistics of the whole batch (all replicas' micro-batches), not of its own micro-batch, so N replicas
// compute the gradient of one large batch and keep identical moving averages (PyTorch's SyncBatchNorm).
// Forward: all-reduce Σx and the count, then Σ(x − mean)² (two passes: no E[x²] − mean² cancellation).
// Backward: all-reduce the upstream gradients of mean and variance; dx = (Σdmean + 2(x − mean)·Σdvar)/n.
import * as tf from '@tensorflow/tfjs';
import type { AllReduce } from '../util/barrier.js';

interface BnLayer {
  call: (inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>) => tf.Tensor | tf.Tensor[];
  getClassName(): string;
  readonly gamma: { read(): tf.Tensor } | null;
  readonly beta: { read(): tf.Tensor } | null;
  readonly movingMean: { read(): tf.Tensor; write(t: tf.Tensor): void };
  readonly movingVariance: { read(): tf.Tensor; write(t: tf.Tensor): void };
  readonly momentum: number;
  readonly epsilon: number;
  readonly axis: number;
}

/** The all-reduce a BN layer uses and how many replicas take part in this step. */
export interface BnComm { reduce: AllReduce; parties(): number }

function syncedMoments(comm: BnComm) {
  return tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
    const C = x.shape[x.rank - 1]!;
    const axes = Array.from({ length: x.rank - 1 }, (_, i) => i);
    const local = new Float32Array(C + 1);
    local.set(tf.tidy(() => tf.sum(x, axes)).dataSync());
    local[C] = x.size / C;
    const s = comm.reduce.sum(local, comm.parties());
    const n = s[C];
    const mean = tf.tensor1d(Float32Array.from({ length: C }, (_, i) => s[i] / n));
    const sq = comm.reduce.sum(tf.tidy(() => tf.sum(tf.square(tf.sub(x, mean)), axes)).dataSync(), comm.parties());
    const variance = tf.tensor1d(Float32Array.from({ length: C }, (_, i) => sq[i] / n));
    save([x, mean, tf.scalar(n)]);
    const value = tf.stack([mean, variance]);
    variance.dispose();
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [xs, m, nT] = saved;
        const N = nT.dataSync()[0];
        const g = comm.reduce.sum(dy.dataSync(), comm.parties()); // [Σdmean (C), Σdvar (C)]
        const dmean = tf.tensor1d(Float32Array.from({ length: C }, (_, i) => g[i] / N));
        const dvar2 = tf.tensor1d(Float32Array.from({ length: C }, (_, i) => (2 * g[C + i]) / N));
        return tf.add(dmean, tf.mul(tf.sub(xs, m), dvar2));
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
}

/** Make every BatchNormalization layer of model normalise with whole-batch statistics when training. */
export function syncBatchNorm(model: tf.LayersModel, comm: BnComm): number {
  const moments = syncedMoments(comm);
  let count = 0;
  for (const l of model.layers as unknown as BnLayer[]) {
    if (l.getClassName() !== 'BatchNormalization') continue;
    const stock = l.call.bind(l);
    l.call = (inputs, kwargs) => {
      if (!kwargs?.training) return stock(inputs, kwargs);
      return tf.tidy(() => {
        const x = Array.isArray(inputs) ? inputs[0] : inputs;
        if (l.axis !== -1 && l.axis !== x.rank - 1) throw new Error('synchronised BatchNorm supports channels-last layers only');
        const mv = moments(x) as tf.Tensor2D;
        const [mean, variance] = tf.unstack(mv);
        const normed = tf.batchNorm(x, mean, variance, l.beta?.read(), l.gamma?.read(), l.epsilon);
        // The same moving-average update as tfjs-layers, from the whole batch's statistics.
        for (const [v, value] of [[l.movingMean, mean], [l.movingVariance, variance]] as const) {
          tf.tidy(() => {
            const orig = v.read();
            v.write(tf.sub(orig, tf.mul(tf.sub(orig, value), 1 - l.momentum)));
          });
        }
        return normed;
      });
    };
    count++;
  }
  return count;
}
