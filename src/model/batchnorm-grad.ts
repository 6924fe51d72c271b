// tfjs's FusedBatchNorm gradient tiles 1/sqrt(var) to the full activation shape before a multiply that
// broadcasting does anyway; on wasm that Tile was the largest cost of a training step. This is the same
// gradient without the Tile (checked against the stock one in test/conv-grad.test.ts).
import * as tf from '@tensorflow/tfjs';

let registered = false;

export function registerBatchNormGradient(): void {
  if (registered) return;
  registered = true;
  tf.registerGradient({
    kernelName: 'FusedBatchNorm',
    inputsToSave: ['x', 'mean', 'variance', 'scale'],
    gradFunc: (dyIn: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
      const dy = dyIn as tf.Tensor;
      const { varianceEpsilon } = attrs as unknown as { varianceEpsilon: number };
      const [x, mean, variance, scale] = saved;
      const scaleValue = scale == null ? tf.scalar(1) : scale;
      const axes = tf.backend_util.getReductionAxes(mean.shape, x.shape);
      const reduce = (t: tf.Tensor) => (mean.rank === 1 ? tf.sum(t, axes) : t).reshape(mean.shape);
      const xMinusMean = tf.sub(x, mean);
      const dyScaled = tf.mul(dy, scaleValue);
      const rstd = tf.rsqrt(tf.add(variance, tf.scalar(varianceEpsilon)));
      const minusHalfRCube = tf.mul(tf.mul(tf.mul(rstd, rstd), rstd), tf.scalar(-0.5));
      return {
        x: () => tf.mul(tf.mul(dy, rstd), scaleValue).reshape(x.shape),
        mean: () => reduce(tf.mul(tf.mul(rstd, tf.scalar(-1)), dyScaled)),
        variance: () => reduce(tf.mul(tf.mul(minusHalfRCube, xMinusMean), dyScaled)),
        scale: () => reduce(tf.mul(dy, tf.mul(xMinusMean, rstd))),
        offset: () => reduce(dy),
      };
    },
  });
}
