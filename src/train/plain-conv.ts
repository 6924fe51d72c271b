// tfjs-layers runs every Conv2D through the fused conv op, whose gradient always computes the input
// gradient too, even for the first convolution, whose input is the image: on the zoo model at 64 px that
// unused stem gradient was the costliest backprop kernel of a step. The plain conv2d op's gradient is
// lazy per input, so in training a bias-free, linear, channels-last Conv2D runs as conv2d instead (the
// same kernels and numbers; inference is untouched).
import * as tf from '@tensorflow/tfjs';

interface ConvLayer {
  call: (inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>) => tf.Tensor | tf.Tensor[];
  getClassName(): string;
  readonly kernel: { read(): tf.Tensor4D };
  readonly bias: unknown;
  readonly activation: { getClassName(): string };
  readonly strides: [number, number];
  readonly padding: 'valid' | 'same' | 'causal';
  readonly dataFormat: string;
  readonly dilationRate: [number, number];
}

export function plainConvolutions(model: tf.LayersModel): number {
  let count = 0;
  for (const l of model.layers as unknown as ConvLayer[]) {
    if (l.getClassName() !== 'Conv2D' || l.bias != null || l.activation.getClassName().toLowerCase() !== 'linear') continue;
    if (l.dataFormat !== 'channelsLast' || l.dilationRate.some((d) => d !== 1) || l.padding === 'causal') continue;
    const stock = l.call.bind(l);
    l.call = (inputs, kwargs) => {
      if (!kwargs?.training) return stock(inputs, kwargs);
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
      return tf.conv2d(x, l.kernel.read(), l.strides, l.padding as 'valid' | 'same');
    };
    count++;
  }
  return count;
}
