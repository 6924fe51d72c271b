// Pixel mixing, hand-written because it is the product (docs/SHARDS.md "SnapMix semantics"). Images are HWC uint8 RGB, S×S.
import type { Box } from '../cam/spm.js';


/**
 * Math.round for 0 ≤ v ≤ 256, bit for bit (test/mix.test.ts checks every value within thousands of ulps of
 * each integer and half-integer), at under half its cost in V8 here. Adding the largest double below 0.5
 * rounds ties up as Math.round does; plain (v + 0.5) | 0 would not: just below 0.5 the sum rounds up to 1.
 */
export const roundNonNeg = (v: number) => (v + 0.49999999999999994) | 0;

const round255 = (v: number) => (v <= 0 ? 0 : v >= 255 ? 255 : roundNonNeg(v));

/** Where B's S×S view lies in the array holding B: its width, the view's top-left and mirroring. */
export interface ViewOf { width: number; x0: number; y0: number; flip: boolean }

/**
 * Paste B[boxB] resized to boxA's size into a copy of A: bilinear with align_corners=True (the
 * official F.interpolate call), rounded to uint8. b is B's S×S view, or, with view, the whole source
 * B is a view of (so the view need not be cropped out first).
 */
export function pasteResized(a: Uint8Array, b: Uint8Array, S: number, boxA: Box, boxB: Box, view?: ViewOf): Uint8Array {
  return pasteResizedInto(a.slice(), b, S, boxA, boxB, view);
}

/** pasteResized, writing into out (A's pixels) in place. */
export function pasteResizedInto(out: Uint8Array, b: Uint8Array, S: number, boxA: Box, boxB: Box, view: ViewOf = { width: S, x0: 0, y0: 0, flip: false }): Uint8Array {
  const [ax1, ay1, ax2, ay2] = boxA;
  const [bx1, by1, bx2, by2] = boxB;
  const ow = ax2 - ax1;
  const oh = ay2 - ay1;
  const iw = bx2 - bx1;
  const ih = by2 - by1;
  if (ow <= 0 || oh <= 0 || iw <= 0 || ih <= 0) return out;
  const sx = ow > 1 ? (iw - 1) / (ow - 1) : 0;
  const sy = oh > 1 ? (ih - 1) / (oh - 1) : 0;
  // Column offsets (into B's array, through the view) and weights are the same on every row: computed
  // once. The loops below evaluate exactly the reference expressions, top·(1−ly) + bot·ly with
  // top = b00·(1−lx) + b01·lx, so the bytes do not change; the value is a convex combination of bytes,
  // so rounding needs no clamp.
  const col = (vx: number) => (view.flip ? view.x0 + S - 1 - vx : view.x0 + vx) * 3;
  const cx0 = new Int32Array(ow);
  const cx1 = new Int32Array(ow);
  const clx = new Float64Array(ow);
  const cmx = new Float64Array(ow);
  for (let x = 0; x < ow; x++) {
    const fx = x * sx;
    const x0 = Math.floor(fx);
    cx0[x] = col(bx1 + x0);
    cx1[x] = col(bx1 + Math.min(x0 + 1, iw - 1));
    clx[x] = fx - x0;
    cmx[x] = 1 - clx[x];
  }
  const rowLen = view.width * 3;
  for (let y = 0; y < oh; y++) {
    const fy = y * sy;
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, ih - 1);
    const ly = fy - y0;
    const my = 1 - ly;
    const r0 = (view.y0 + by1 + y0) * rowLen;
    const r1 = (view.y0 + by1 + y1) * rowLen;
    let o = ((ay1 + y) * S + ax1) * 3;
    for (let x = 0; x < ow; x++, o += 3) {
      const lx = clx[x];
      const mx = cmx[x];
      const p00 = r0 + cx0[x];
      const p01 = r0 + cx1[x];
      const p10 = r1 + cx0[x];
      const p11 = r1 + cx1[x];
      out[o] = roundNonNeg((b[p00] * mx + b[p01] * lx) * my + (b[p10] * mx + b[p11] * lx) * ly);
      out[o + 1] = roundNonNeg((b[p00 + 1] * mx + b[p01 + 1] * lx) * my + (b[p10 + 1] * mx + b[p11 + 1] * lx) * ly);
      out[o + 2] = roundNonNeg((b[p00 + 2] * mx + b[p01 + 2] * lx) * my + (b[p10 + 2] * mx + b[p11 + 2] * lx) * ly);
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
