// Batches from decoded images with seeded pad-and-crop + flip views and one-hot targets
// (teacher training on clean data).
import { Rng } from '../util/rng.js';
import { applyView, drawView, toFloatBatch } from '../image/views.js';
import type { ImageSet } from './images.js';
import type { Batch, BatchSource } from './loop.js';
import type { Recipe } from './recipe.js';

export function cleanSource(set: ImageSet, numClasses: number, recipe: Recipe, pre: { mean: number[]; std: number[] }): BatchSource {
  const n = set.images.length;
  const size = set.size;
  const bs = recipe.batchSize;
  return {
    size,
    numClasses,
    batchesPerEpoch: Math.ceil(n / bs),
    *epoch(epoch: number): Iterable<Batch> {
      const order = new Rng(recipe.seed, 'train-order', epoch).shuffle(Array.from({ length: n }, (_, i) => i));
      for (let s = 0; s < n; s += bs) {
        const idx = order.slice(s, s + bs);
        const views = idx.map((i) => {
          const out = new Uint8Array(size * size * 3);
          const v = drawView(new Rng(recipe.seed, 'train-view', epoch, i), recipe.cropPad, recipe.flip);
          applyView(set.images[i], size, 3, recipe.cropPad, v, out);
          return out;
        });
        const targets = new Float32Array(idx.length * numClasses);
        const labels = new Int32Array(idx.length);
        idx.forEach((i, j) => {
          labels[j] = set.labels[i];
          targets[j * numClasses + set.labels[i]] = 1;
        });
        yield { x: toFloatBatch(views, size, pre.mean, pre.std), targets, labels, n: idx.length };
      }
    },
  };
}
