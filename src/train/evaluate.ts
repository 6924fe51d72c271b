import * as tf from '@tensorflow/tfjs';
import { toFloatBatch } from '../image/views.js';
import type { ImageSet } from './images.js';

export interface EvalResult {
  top1: number;
  n: number;
  /** Predicted class per image. */
  predictions: Int32Array;
}

/** Top-1 on the un-augmented (centre) view, in batches. */
export async function evaluate(
  model: tf.LayersModel,
  set: ImageSet,
  pre: { mean: number[]; std: number[] },
  batchSize = 64,
): Promise<EvalResult> {
  const predictions = new Int32Array(set.images.length);
  let correct = 0;
  for (let s = 0; s < set.images.length; s += batchSize) {
    const imgs = set.images.slice(s, s + batchSize);
    const pred = tf.tidy(() => {
      const x = tf.tensor4d(toFloatBatch(imgs, set.size, pre.mean, pre.std), [imgs.length, set.size, set.size, 3]);
      return (model.predict(x) as tf.Tensor).argMax(-1);
    });
    const p = (await pred.data()) as Int32Array;
    pred.dispose();
    for (let i = 0; i < p.length; i++) {
      predictions[s + i] = p[i];
      if (p[i] === set.labels[s + i]) correct++;
    }
  }
  return { top1: set.images.length ? correct / set.images.length : NaN, n: set.images.length, predictions };
}
