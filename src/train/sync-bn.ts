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
// Kernels: the per-channel sums are average pools over x viewed as [1, M, 1, C], the per-channel affine
// maps are 1×1 depthwise convolutions, and every C-long vector is computed in JS. On wasm, tf.sum over the
// leading axes transposes first and broadcasting mul/add are scalar loops: this cut a batch-16 step of the
// zoo model from 104 to 88 ms. The moving averages are updated in JS too (C values, float32 rounding).
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

// The kernels are called directly: the ops around them add a cast, reshapes and argument checks (~60
// kernel calls a step); inside a custom gradient's forward and backward nothing is taped anyway.

/** Per-channel mean of x (channels last) as [C]: one average pool per image, then the mean over images in JS. */
function channelMean(x: tf.Tensor, C: number): Float32Array {
  const x4 = x.rank === 4 ? x : x.reshape([1, x.size / C, 1, C]);
  const [n, h, w] = x4.shape;
  const m = tf.engine().runKernel('AvgPool', { x: x4 }, { filterSize: [h, w], strides: [1, 1], pad: 'valid' }) as tf.Tensor;
  const v = m.dataSync() as Float32Array;
  m.dispose();
  if (x4 !== x) x4.dispose();
  if (n === 1) return v;
  const out = new Float32Array(C);
  for (let c = 0; c < C; c++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += v[i * C + c];
    out[c] = s / n;
  }
  return out;
}

/** x·scale + bias per channel as one kernel: a 1×1 depthwise convolution (mul + add with broadcasting are two scalar passes on wasm). */
function affine(x4: tf.Tensor4D, scale: Float32Array, bias?: Float32Array): tf.Tensor4D {
  const C = scale.length;
  const filter = tf.tensor4d(scale, [1, 1, C, 1]);
  const b = bias && tf.tensor1d(bias);
  const y = tf.engine().runKernel('FusedDepthwiseConv2D', b ? { x: x4, filter, bias: b } : { x: x4, filter }, {
    strides: [1, 1], pad: 'valid', dataFormat: 'NHWC', dilations: [1, 1], activation: 'linear',
  }) as tf.Tensor4D;
  tf.dispose([filter, b!].filter(Boolean));
  return y;
}

/** One BN layer's training op: (x, γ, β) → y, and the batch statistics for the moving averages. */
function trainingBatchNorm(comm: BnComm | undefined, epsilon: number, stats: { mean?: Float32Array; variance?: Float32Array }) {
  return tf.customGrad(((x: tf.Tensor, gamma: tf.Tensor1D, beta: tf.Tensor1D, save: tf.GradSaveFunc) => {
    const C = x.shape[x.rank - 1]!;
    const M = x.size / C;
    // Pooling and 1×1 depthwise kernels do the reductions and the affine maps on x as a 4-D tensor (other
    // ranks viewed as [1, M, 1, C]); per-channel vectors are computed here in JS.
    const x4 = (x.rank === 4 ? x : x.reshape([1, M, 1, C])) as tf.Tensor4D;
    // This replica's mean and M2 = Σ(x − mean)² per channel, then every replica's, combined in rank order.
    const meanLocal = channelMean(x4, C);
    const d = affine(x4, new Float32Array(C).fill(1), meanLocal.map((v) => -v));
    const local = new Float32Array(2 * C + 1);
    local.set(meanLocal, 0);
    const sq = tf.square(d);
    const m2 = channelMean(sq, C);
    sq.dispose();
    for (let i = 0; i < C; i++) local[C + i] = m2[i] * M;
    local[2 * C] = M;
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
    // x − mean (the whole batch's) = d + shift, shift = mean_r − mean: zero without replicas; folded into
    // the per-channel factors below instead of a pass over d.
    const shift = Float64Array.from({ length: C }, (_, i) => local[i] - meanArr[i]);
    const rstd = Float64Array.from(varArr, (v) => 1 / Math.sqrt(v + epsilon));
    const g = gamma.dataSync();
    const b = beta.dataSync();
    // y = (d + shift)·rstd·γ + β = d·(rstd·γ) + (β + shift·rstd·γ)
    const scale = Float32Array.from({ length: C }, (_, i) => rstd[i] * g[i]);
    const y4 = affine(d, scale, Float32Array.from({ length: C }, (_, i) => b[i] + shift[i] * scale[i]));
    const y = x4 === x ? y4 : y4.reshape(x.shape);
    stats.mean = Float32Array.from(meanArr);
    stats.variance = varArr;
    // n, rstd, shift and γ·rstd stay in this closure for the backward pass: no read-back there.
    save([d]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [dc] = saved as [tf.Tensor4D];
        const dy4 = (dy.rank === 4 ? dy : dy.reshape([1, M, 1, C])) as tf.Tensor4D;
        // Local Σdy and Σdy·x̂ = rstd·(Σdy·d + shift·Σdy) are dβ and dγ; their sums over replicas give dx.
        const s1 = channelMean(dy4, C);
        const prod = tf.mul(dy4, dc);
        const s2 = channelMean(prod, C);
        prod.dispose();
        const sums = new Float32Array(2 * C);
        for (let i = 0; i < C; i++) {
          sums[i] = s1[i] * M;
          sums[C + i] = rstd[i] * (s2[i] * M + shift[i] * s1[i] * M);
        }
        const dbeta = tf.tensor1d(sums.slice(0, C));
        const dgamma = tf.tensor1d(sums.slice(C));
        const S = allSum(comm, sums);
        // dx = γ·rstd·(dy − S1/n − x̂·S2/n), x̂ = (d + shift)·rstd:
        //    = dy·(γ·rstd) + d·(−γ·rstd²·S2/n) + (−γ·rstd·(S1/n + shift·rstd·S2/n))
        const kd = Float32Array.from({ length: C }, (_, i) => -scale[i] * rstd[i] * S[C + i] / n);
        const k0 = Float32Array.from({ length: C }, (_, i) => -scale[i] * (S[i] / n + shift[i] * rstd[i] * S[C + i] / n));
        const dx = tf.tidy(() => {
          const sum = tf.add(affine(dy4, scale, k0), affine(dc, kd));
          return sum.rank === dy.rank ? sum : sum.reshape(dy.shape);
        });
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
        const stats: { mean?: Float32Array; variance?: Float32Array } = {};
        const y = trainingBatchNorm(comm, l.epsilon, stats)(x, l.gamma!.read(), l.beta!.read());
        // The same moving-average update as tfjs-layers (orig − (orig − value)·(1 − momentum), each step
        // rounded to float32 as its three kernels do), on C values in JS instead of six kernel calls.
        const keep = Math.fround(1 - l.momentum);
        for (const [v, value] of [[l.movingMean, stats.mean!], [l.movingVariance, stats.variance!]] as const) {
          const orig = v.read().dataSync();
          v.write(tf.tensor(Float32Array.from(orig, (o, i) => Math.fround(o - Math.fround(Math.fround(o - value[i]) * keep))), v.read().shape));
        }
        return y;
      });
    };
    count++;
  }
  return count;
}
