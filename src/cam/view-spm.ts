// SPM masses of a view without building the R×R map (hand-written numerics of the product, docs/SHARDS.md "SnapMix semantics").
// The upsampled CAM is bilinear in the low-resolution CAM, so a box sum over it is
//   Σ_i Σ_j cam[i, j] · Wy_i(y1, y2) · Wx_j(x1, x2),
// with W the prefix sums of each source row's/column's interpolation weights: O(h·w) per box instead of
// O(R²) per view. The minimum over a crop is reached at a corner of one of the pieces on which the
// interpolation is bilinear, so only those grid points are evaluated, with the same formula as
// upsampleBilinear. Equal to the dense SPM (upsample → crop/flip → − min, / sum) up to float rounding.
import { axisWeights } from './upsample.js';
import type { Box } from './spm.js';

interface Axis {
  i0: Int32Array;
  i1: Int32Array;
  lam: Float64Array;
  /** prefix[j·(R+1) + x] = Σ_{x' < x} weight of source index j at output x'. */
  prefix: Float64Array;
  /** Output positions where the interpolation changes piece (the minimum's candidates, besides crop edges). */
  knots: Int32Array;
}

const axes = new Map<string, Axis>();

function axis(inSize: number, R: number): Axis {
  const key = `${inSize}:${R}`;
  let a = axes.get(key);
  if (a) return a;
  const { i0, i1, lam } = axisWeights(inSize, R);
  const prefix = new Float64Array(inSize * (R + 1));
  for (let j = 0; j < inSize; j++) {
    let s = 0;
    for (let x = 0; x < R; x++) {
      if (i0[x] === j) s += 1 - lam[x];
      if (i1[x] === j) s += lam[x];
      prefix[j * (R + 1) + x + 1] = s;
    }
  }
  const knots: number[] = [];
  const scale = inSize / R;
  for (let x = 0; x + 1 < R; x++) {
    const clampedHere = (x + 0.5) * scale - 0.5 < 0;
    const clampedNext = (x + 1.5) * scale - 0.5 < 0;
    if (i0[x] !== i0[x + 1] || clampedHere !== clampedNext) knots.push(x, x + 1);
  }
  a = { i0, i1, lam, prefix, knots: Int32Array.from(knots) };
  axes.set(key, a);
  return a;
}

export interface UpsampledCam {
  cam: ArrayLike<number>;
  h: number;
  w: number;
  R: number;
  ys: Axis;
  xs: Axis;
  /** A constant CAM has no SPM (0/0 in the official code): its masses are NaN. */
  constant: boolean;
}

export function upsampled(cam: ArrayLike<number>, h: number, w: number, R: number): UpsampledCam {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < h * w; i++) {
    lo = Math.min(lo, cam[i]);
    hi = Math.max(hi, cam[i]);
  }
  return { cam, h, w, R, ys: axis(h, R), xs: axis(w, R), constant: lo === hi };
}

/** Σ of the upsampled map over [x1, x2) × [y1, y2) in source (R×R) coordinates. */
function upSum(u: UpsampledCam, x1: number, y1: number, x2: number, y2: number): number {
  if (x2 <= x1 || y2 <= y1) return 0;
  const Rp = u.R + 1;
  let s = 0;
  for (let i = 0; i < u.h; i++) {
    const wy = u.ys.prefix[i * Rp + y2] - u.ys.prefix[i * Rp + y1];
    if (wy === 0) continue;
    let row = 0;
    for (let j = 0; j < u.w; j++) {
      const wx = u.xs.prefix[j * Rp + x2] - u.xs.prefix[j * Rp + x1];
      if (wx !== 0) row += u.cam[i * u.w + j] * wx;
    }
    s += row * wy;
  }
  return s;
}

/** The upsampled value at (x, y), exactly as upsampleBilinear computes it. */
function upAt(u: UpsampledCam, x: number, y: number): number {
  const r0 = u.ys.i0[y] * u.w;
  const r1 = u.ys.i1[y] * u.w;
  const ly = u.ys.lam[y];
  const c0 = u.xs.i0[x];
  const c1 = u.xs.i1[x];
  const lx = u.xs.lam[x];
  const top = u.cam[r0 + c0] * (1 - lx) + u.cam[r0 + c1] * lx;
  const bot = u.cam[r1 + c0] * (1 - lx) + u.cam[r1 + c1] * lx;
  return top * (1 - ly) + bot * ly;
}

function candidates(a: Axis, lo: number, hi: number): number[] {
  const c = [lo, hi - 1];
  for (const k of a.knots) if (k > lo && k < hi - 1) c.push(k);
  return c;
}

/** Minimum of the upsampled map over [x1, x2) × [y1, y2). */
function upMin(u: UpsampledCam, x1: number, y1: number, x2: number, y2: number): number {
  let m = Infinity;
  const cy = candidates(u.ys, y1, y2);
  const cx = candidates(u.xs, x1, x2);
  for (const y of cy) for (const x of cx) {
    const v = upAt(u, x, y);
    if (v < m) m = v;
  }
  return m;
}

/** The SPM of a view: its total mass and the mass inside any box (mix/labels.ts's SpmStats is this type). */
export interface ViewSpm {
  W: number;
  H: number;
  /** SPM mass of the whole view (1, or NaN for a constant CAM). */
  total: number;
  /** SPM mass inside a box given in the view's coordinates. */
  boxMass(b: Box): number;
}

/** The SPM of a size×size view at (x0, y0) of the R×R upsampled CAM, mirrored when flip. */
export function viewSpmStats(u: UpsampledCam, view: { x0: number; y0: number; size: number; flip: boolean }): ViewSpm {
  const S = view.size;
  const { x0, y0 } = view;
  if (u.constant) return { W: S, H: S, total: NaN, boxMass: () => NaN };
  const min = upMin(u, x0, y0, x0 + S, y0 + S);
  const denom = upSum(u, x0, y0, x0 + S, y0 + S) - min * S * S;
  return {
    W: S,
    H: S,
    total: 1,
    boxMass: ([bx1, by1, bx2, by2]) => {
      if (bx2 <= bx1 || by2 <= by1) return 0;
      const sx1 = view.flip ? x0 + S - bx2 : x0 + bx1;
      const sx2 = view.flip ? x0 + S - bx1 : x0 + bx2;
      const area = (bx2 - bx1) * (by2 - by1);
      return (upSum(u, sx1, y0 + by1, sx2, y0 + by2) - min * area) / denom;
    },
  };
}
