// Pixel mixing, hand-written because it is the product (DESIGN §2). Images are HWC uint8 RGB, S×S.
import type { Box } from '../cam/spm.js';

const round255 = (v: number) => (v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v));

/**
 * Paste B[boxB] resized to boxA's size into a copy of A: bilinear with align_corners=True (the
 * official F.interpolate call), rounded to uint8.
 */
export function pasteResized(a: Uint8Array, b: Uint8Array, S: number, boxA: Box, boxB: Box): Uint8Array {
  const out = a.slice();
  const [ax1, ay1, ax2, ay2] = boxA;
  const [bx1, by1, bx2, by2] = boxB;
  const ow = ax2 - ax1;
  const oh = ay2 - ay1;
  const iw = bx2 - bx1;
  const ih = by2 - by1;
  if (ow <= 0 || oh <= 0 || iw <= 0 || ih <= 0) return out;
  const sx = ow > 1 ? (iw - 1) / (ow - 1) : 0;
  const sy = oh > 1 ? (ih - 1) / (oh - 1) : 0;
  for (let y = 0; y < oh; y++) {
    const fy = y * sy;
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, ih - 1);
    const ly = fy - y0;
    for (let x = 0; x < ow; x++) {
      const fx = x * sx;
      const x0 = Math.floor(fx);
      const x1 = Math.min(x0 + 1, iw - 1);
      const lx = fx - x0;
      const p00 = ((by1 + y0) * S + bx1 + x0) * 3;
      const p01 = ((by1 + y0) * S + bx1 + x1) * 3;
      const p10 = ((by1 + y1) * S + bx1 + x0) * 3;
      const p11 = ((by1 + y1) * S + bx1 + x1) * 3;
      const o = ((ay1 + y) * S + ax1 + x) * 3;
      for (let c = 0; c < 3; c++) {
        const top = b[p00 + c] * (1 - lx) + b[p01 + c] * lx;
        const bot = b[p10 + c] * (1 - lx) + b[p11 + c] * lx;
        out[o + c] = round255(top * (1 - ly) + bot * ly);
      }
    }
  }
  return out;
}

/** CutMix: B's pixels in the same box. */
export function pasteSameBox(a: Uint8Array, b: Uint8Array, S: number, box: Box): Uint8Array {
  const out = a.slice();
  const [x1, y1, x2, y2] = box;
  for (let y = y1; y < y2; y++) {
    const o = (y * S + x1) * 3;
    out.set(b.subarray(o, o + (x2 - x1) * 3), o);
  }
  return out;
}

/** Mixup: lam·A + (1−lam)·B, rounded. */
export function blend(a: Uint8Array, b: Uint8Array, lam: number): Uint8Array {
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = round255(lam * a[i] + (1 - lam) * b[i]);
  return out;
}
