// Hand-written numerics of the product (docs/SHARDS.md "SnapMix semantics"): the semantic percentage map and O(1) box masses.
import { upsampleBilinear } from './upsample.js';

export interface Spm {
  /** H×W, non-negative, sums to 1 — or all NaN when the CAM is constant (0/0, as in the official code). */
  map: Float64Array;
  H: number;
  W: number;
}

/** SPM = bilinear-upsample(CAM, align_corners=False) − min, / sum. */
export function spmFromCam(cam: ArrayLike<number>, h: number, w: number, H: number, W: number): Spm {
  return { map: normaliseInPlace(upsampleBilinear(cam, h, w, H, W)), H, W };
}

/**
 * − min, / sum, in place. Applied to the view's crop of the upsampled CAM, so the SPM describes the
 * pixels the sample shows, as the official code's CAM of its augmented input does.
 */
export function normaliseInPlace(up: Float64Array): Float64Array {
  let min = Infinity;
  for (let i = 0; i < up.length; i++) if (up[i] < min) min = up[i];
  let sum = 0;
  for (let i = 0; i < up.length; i++) {
    up[i] -= min;
    sum += up[i];
  }
  for (let i = 0; i < up.length; i++) up[i] /= sum;
  return up;
}

/** Summed-area table, (H+1)×(W+1), so any box sum is four lookups. */
export function integralImage(map: ArrayLike<number>, H: number, W: number): Float64Array {
  const I = new Float64Array((H + 1) * (W + 1));
  for (let y = 0; y < H; y++) {
    let row = 0;
    for (let x = 0; x < W; x++) {
      row += map[y * W + x];
      I[(y + 1) * (W + 1) + x + 1] = I[y * (W + 1) + x + 1] + row;
    }
  }
  return I;
}

export type Box = [number, number, number, number]; // x1, y1, x2, y2 (exclusive)

/** Sum of the map inside box (x2, y2 exclusive) from its integral image. */
export function boxSum(I: Float64Array, W: number, b: Box): number {
  const [x1, y1, x2, y2] = b;
  if (x2 <= x1 || y2 <= y1) return 0;
  const s = W + 1;
  return I[y2 * s + x2] - I[y1 * s + x2] - I[y2 * s + x1] + I[y1 * s + x1];
}

export function boxArea(b: Box): number {
  return Math.max(0, b[2] - b[0]) * Math.max(0, b[3] - b[1]);
}
