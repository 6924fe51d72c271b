// Views of an RGB uint8 HWC image: seeded crop and flip for training. Pure array functions.
import type { Rng } from '../util/rng.js';

export interface ViewParams {
  /** Top-left of the crop in the zero-padded image (0..2·pad). */
  dy: number;
  dx: number;
  flip: boolean;
}

/** Draw a random-crop (pad-and-crop, as CIFAR-style training does) and horizontal flip. */
export function drawView(rng: Rng, pad: number, flip: boolean): ViewParams {
  return { dy: rng.int(0, 2 * pad), dx: rng.int(0, 2 * pad), flip: flip && rng.bool() };
}

/**
 * Apply a view to an image of size s×s×c into out (same size): crop a window shifted by (dy−pad, dx−pad)
 * with zero fill, then mirror horizontally if asked.
 */
export function applyView(src: Uint8Array, size: number, channels: number, pad: number, v: ViewParams, out: Uint8Array): void {
  const oy = v.dy - pad;
  const ox = v.dx - pad;
  for (let y = 0; y < size; y++) {
    const sy = y + oy;
    for (let x = 0; x < size; x++) {
      const tx = v.flip ? size - 1 - x : x;
      const sx = x + ox;
      const o = (y * size + tx) * channels;
      if (sy < 0 || sy >= size || sx < 0 || sx >= size) {
        for (let c = 0; c < channels; c++) out[o + c] = 0;
      } else {
        const i = (sy * size + sx) * channels;
        for (let c = 0; c < channels; c++) out[o + c] = src[i + c];
      }
    }
  }
}

/** uint8 HWC images → normalised float32 batch, (v/255 − mean)/std per channel. */
export function toFloatBatch(images: Uint8Array[], size: number, mean: number[], std: number[]): Float32Array {
  const per = size * size * 3;
  const out = new Float32Array(images.length * per);
  const scale = mean.map((_, c) => 1 / (255 * std[c]));
  const shift = mean.map((m, c) => m / std[c]);
  for (let n = 0; n < images.length; n++) {
    const img = images[n];
    const base = n * per;
    for (let i = 0; i < per; i += 3) {
      out[base + i] = img[i] * scale[0] - shift[0];
      out[base + i + 1] = img[i + 1] * scale[1] - shift[1];
      out[base + i + 2] = img[i + 2] * scale[2] - shift[2];
    }
  }
  return out;
}
