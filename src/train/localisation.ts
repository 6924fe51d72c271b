// How well a model's CAM finds the synthetic benchmark's part: the share of images whose upsampled
// CAM maximum lies inside the ground-truth part mask.
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import type { CamHead } from '../model/cam-head.js';
import { computeCams } from '../model/cam-head.js';
import { toFloatBatch } from '../image/views.js';
import type { ImageSet } from './images.js';
import { readParts } from '../data/synth.js';
import { argmax, upsampleBilinear } from '../cam/upsample.js';
import { UserError } from '../util/errors.js';

/** CAMs [n, h·w] of labels[n] for a batch of images (a tfjs head, or any TeacherRunner). */
export type CamsOf = (images: Uint8Array[], labels: Int32Array) => Promise<{ cams: Float32Array; h: number; w: number }>;

/** camsOf for a tfjs CAM head with its preprocessing. */
export function tfjsCamsOf(head: CamHead, size: number, pre: { mean: number[]; std: number[] }): CamsOf {
  return async (imgs, labels) => {
    const x = tf.tensor4d(toFloatBatch(imgs, size, pre.mean, pre.std), [imgs.length, size, size, 3]);
    try {
      return computeCams(head, x, labels);
    } finally {
      x.dispose();
    }
  };
}

export async function camInPartShare(camsOf: CamsOf, set: ImageSet, dataRoot: string, batchSize = 64): Promise<{ share: number; n: number }> {
  const parts = await readParts(dataRoot);
  let hits = 0;
  for (let s = 0; s < set.images.length; s += batchSize) {
    const imgs = set.images.slice(s, s + batchSize);
    const labels = set.labels.slice(s, s + batchSize);
    const { cams, h, w } = await camsOf(imgs, labels);
    for (let i = 0; i < imgs.length; i++) {
      const id = set.ids[s + i];
      const entry = parts.get(id);
      if (!entry) throw new UserError(`${path.join(dataRoot, 'parts.jsonl')} has no entry for ${id}`);
      // The model may run at another size than the dataset was drawn at: bring the mask to the
      // evaluated images' size (nearest neighbour keeps it binary; images and masks are square).
      const { data, info } = await sharp(path.join(dataRoot, entry.mask)).extractChannel(0)
        .resize(set.size, set.size, { kernel: 'nearest', fit: 'fill' }).raw().toBuffer({ resolveWithObject: true });
      if (info.width !== set.size || info.height !== set.size) throw new UserError(`mask ${entry.mask} could not be brought to ${set.size}×${set.size}`);
      const up = upsampleBilinear(cams.subarray(i * h * w, (i + 1) * h * w), h, w, set.size, set.size);
      if (data[argmax(up)] > 127) hits++;
    }
  }
  return { share: set.images.length ? hits / set.images.length : NaN, n: set.images.length };
}
