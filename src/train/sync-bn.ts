// BatchNorm for training as one op with a closed-form gradient, synchronised across data-parallel
// replicas: every BatchNormalization layer normalises with the statistics of the whole batch (all
// replicas' micro-batches), so N replicas compute the gradient of one large batch and keep identical
// moving averages (PyTorch's SyncBatchNorm). With no replicas (parties = 1) it is plain BatchNorm with
// fewer kernels than tfjs-layers' moments + FusedBatchNorm + its gradient.
//   forward:  each replica its count n_r, mean_r and M2_r = Σ(x − mean_r)² (two passes: no E[x²] − mean²
//             cancellation); one all-gather; every replica combines them in rank order (Chan et al.'s
//             parallel variance: M2 = Σ M2_r + n_r·(mean_r − mean)²); x̂ = (x − mean)·rstd; y = γ·x̂ + β
//   backward: local Σdy and Σdy·x̂ are dβ and dγ (the gradient all-reduce sums them over replicas);
//             their all-reduced sums S1, S2 give dx = γ·rstd·(dy − S1/n − x̂·S2/n)
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

/** The all-reduce the layers use and how many replicas take part in this step (none: one process). */
export interface BnComm { reduce: AllReduce; parties(): number }

/** Σ over replicas (in rank order), or the local values alone without replicas. */
function allSum(comm: BnComm | undefined, local: Float32Array): ArrayLike<number> {
  return comm ? comm.reduce.sum(local, comm.parties()) : local;
}

/** One BN layer's training op: (x, γ, β) → y, and the batch statistics for the moving averages. */
function trainingBatchNorm(comm: BnComm | undefined, epsilon: number, stats: { mean?: tf.Tensor1D; variance?: tf.Tensor1D }) {
  return tf.customGrad(((x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, save: tf.GradSaveFunc) => {
    const C = x.shape[x.rank - 1]!;
    const axes = Array.from({ length: x.rank - 1 }, (_, i) => i);
    const nLocal = x.size / C;
    // This replica's mean and M2 = Σ(x − mean)² per channel, then every replica's, combined in rank order.
    const meanLocal = tf.tidy(() => tf.div(tf.sum(x, axes), nLocal));
    let d = tf.sub(x, meanLocal);
    const local = new Float32Array(2 * C + 1);
    local.set(meanLocal.dataSync(), 0);
    local.set(tf.tidy(() => tf.sum(tf.square(d), axes)).dataSync(), C);
    local[2 * C] = nLocal;
    meanLocal.dispose();
    const parts = comm ? comm.reduce.gather(local, comm.parties()) : [Float64Array.from(local)];
    let n = 0;
    const meanArr = new Float64Array(C);
    for (const q of parts) {
      n += q[2 * C];
      for (let i = 0; i < C; i++) meanArr[i] += q[2 * C] * q[i];
    }
    for (let i = 0; i < C; i++) meanArr[i] /= n;
    const varArr = new Float32Array(C);
    for (let i = 0; i < C; i++) {
      let m2 = 0;
      for (const q of parts) m2 += q[C + i] + q[2 * C] * (q[i] - meanArr[i]) ** 2;
      varArr[i] = m2 / n;
    }
    if (parts.length > 1) {
      // Centre on the whole batch's mean: x − mean = d + (mean_r − mean).
      const shift = tf.tensor1d(Float32Array.from({ length: C }, (_, i) => local[i] - meanArr[i]));
      const dd = tf.add(d, shift);
      tf.dispose([d, shift]);
      d = dd;
    }
    const mean = tf.tensor1d(Float32Array.from(meanArr));
    const variance = tf.tensor1d(varArr);
    const rstdArr = varArr.map((v) => 1 / Math.sqrt(v + epsilon));
    const rstd = tf.tensor1d(rstdArr);
    // y = x̂·γ + β with x̂ = d·rstd folded into one per-channel scale: one full-size pass fewer. The backward
    // pass keeps d and folds rstd into its per-channel factors the same way (x̂ is never materialised).
    const y = tf.add(tf.mul(d, tf.mul(rstd, gamma)), beta);
    stats.mean = tf.keep(mean);
    stats.variance = tf.keep(variance);
    // n and rstd's values stay in this closure for the backward pass: no read-back from the backend there.
    save([d, rstd, gamma]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [dc, r, g] = saved;
        // Local Σdy and Σdy·x̂ = rstd·Σdy·d are dβ and dγ; their sums over replicas give dx.
        const dbeta = tf.sum(dy, axes);
        const dgamma = tf.mul(tf.sum(tf.mul(dy, dc), axes), r);
        const sums = new Float32Array(2 * C);
        sums.set(dbeta.dataSync(), 0);
        sums.set(dgamma.dataSync(), C);
        const S = allSum(comm, sums);
        const a = tf.tensor1d(Float32Array.from({ length: C }, (_, i) => S[i] / n));
        // x̂·(S2/n) = d·(rstd·S2/n)
        const b = tf.tensor1d(Float32Array.from({ length: C }, (_, i) => (rstdArr[i] * S[C + i]) / n));
        const dx = tf.mul(tf.sub(tf.sub(dy, a), tf.mul(dc, b)), tf.mul(g, r));
        return [dx, dgamma, dbeta];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
}

/**
 * Train every BatchNormalization layer of model with the op above (inference is untouched): whole-batch
 * statistics across replicas when comm is given, this process's batch otherwise. Returns the layer count.
 */
export function fastBatchNorm(model: tf.LayersModel, comm?: BnComm): number {
  let count = 0;
  for (const l of model.layers as unknown as BnLayer[]) {
    if (l.getClassName() !== 'BatchNormalization') continue;
    const stock = l.call.bind(l);
    l.call = (inputs, kwargs) => {
      const x = Array.isArray(inputs) ? inputs[0] : inputs;
      if (!kwargs?.training || !l.gamma || !l.beta || (l.axis !== -1 && l.axis !== x.rank - 1)) return stock(inputs, kwargs);
      return tf.tidy(() => {
        const stats: { mean?: tf.Tensor1D; variance?: tf.Tensor1D } = {};
        const y = trainingBatchNorm(comm, l.epsilon, stats)(x, l.gamma!.read(), l.beta!.read());
        // The same moving-average update as tfjs-layers, from the batch's statistics.
        for (const [v, value] of [[l.movingMean, stats.mean!], [l.movingVariance, stats.variance!]] as const) {
          tf.tidy(() => {
            const orig = v.read();
            v.write(tf.sub(orig, tf.mul(tf.sub(orig, value), 1 - l.momentum)));
          });
        }
        tf.dispose([stats.mean!, stats.variance!]);
        return y;
      });
    };
    count++;
  }
  return count;
}
