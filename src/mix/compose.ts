// One sample from its plan: views of A and B, SPMs of the views, pixels and label weights.
// Pure: arrays in, arrays out (the worker does decoding and encoding around it).
import { cropFlip } from '../image/crop.js';
import { upsampleBilinear } from '../cam/upsample.js';
import { boxArea, normaliseInPlace } from '../cam/spm.js';
import { upsampled, viewSpmStats, type UpsampledCam } from '../cam/view-spm.js';
import type { SamplePlan } from './plan.js';
import { blend, pasteResizedInto, pasteSameBox } from './pixels.js';
import { cutmixWeights, mixupWeights, NO_MIX, snapmixWeights, statsFromMap, type SpmStats, type Weights } from './labels.js';

export interface SourceView {
  /** R×R×3 uint8, the source resized ('cover') to the plan's resize side. */
  rgb: Uint8Array;
  /** Raw CAM of the true class at feature resolution (needed for snapmix only). */
  cam?: { data: ArrayLike<number>; h: number; w: number };
  label: number;
  /** The CAM prepared for O(h·w) view masses (made once per source per task when absent). */
  up?: UpsampledCam;
}

export interface Composed {
  pixels: Uint8Array;
  weights: Weights;
}

/**
 * The SPM statistics of a view, densely: CAM upsampled to R×R, cropped/flipped like the pixels,
 * normalised. The reference the fast path (viewSpmStats) is tested against; inspect and preview use it.
 */
export function viewSpm(cam: { data: ArrayLike<number>; h: number; w: number }, R: number, view: SamplePlan['viewA']): SpmStats {
  const up = upsampleBilinear(cam.data, cam.h, cam.w, R, R);
  const v = cropFlip(up, R, 1, view, (n) => new Float64Array(n));
  return statsFromMap(normaliseInPlace(v), view.size, view.size);
}

/** Any non-negative R×R map (e.g. a part mask) through the same view, as mass statistics. */
export function viewMapStats(map: Float64Array, R: number, view: SamplePlan['viewA']): SpmStats {
  return statsFromMap(normaliseInPlace(cropFlip(map, R, 1, view, (n) => new Float64Array(n))), view.size, view.size);
}

export function composeSample(plan: SamplePlan, R: number, A: SourceView, B: SourceView): Composed {
  const S = plan.viewA.size;
  const va = cropFlip(A.rgb, R, 3, plan.viewA, (n) => new Uint8Array(n));
  switch (plan.method) {
    case 'none':
      return { pixels: va, weights: NO_MIX };
    case 'mixup': {
      const vb = cropFlip(B.rgb, R, 3, plan.viewB, (n) => new Uint8Array(n));
      return { pixels: blend(va, vb, plan.lam), weights: mixupWeights(plan.lam) };
    }
    case 'cutmix': {
      const vb = cropFlip(B.rgb, R, 3, plan.viewB, (n) => new Uint8Array(n));
      return { pixels: pasteSameBox(va, vb, S, plan.boxA), weights: cutmixWeights(plan.boxA, S, S) };
    }
    case 'snapmix': {
      if (!A.cam || !B.cam) throw new Error('snapmix needs the CAMs of both sources');
      const ua = A.up ?? upsampled(A.cam.data, A.cam.h, A.cam.w, R);
      const ub = B.up ?? upsampled(B.cam.data, B.cam.h, B.cam.w, R);
      const w = snapmixWeights(viewSpmStats(ua, plan.viewA), plan.boxA, viewSpmStats(ub, plan.viewB), plan.boxB, A.label === B.label);
      const empty = boxArea(plan.boxA) === 0 || boxArea(plan.boxB) === 0;
      // Paste straight from the source through B's view (no S×S crop of B), into A's fresh crop.
      const vB = { width: R, x0: plan.viewB.x0, y0: plan.viewB.y0, flip: plan.viewB.flip };
      return { pixels: empty ? va : pasteResizedInto(va, B.rgb, S, plan.boxA, plan.boxB, vB), weights: w };
    }
  }
}
