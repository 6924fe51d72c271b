// Label weights for each method (docs/SHARDS.md "SnapMix semantics"): pure functions of SPMs (as integral images) and boxes.
import { boxArea, boxSum, integralImage, type Box } from '../cam/spm.js';
import type { ViewSpm } from '../cam/view-spm.js';

export interface Weights {
  weightA: number;
  weightB: number;
  /** 1 − area(boxA)/image area: the CutMix-style label of the same boxes (for ablations). */
  areaWeight: number;
}

/** The SPM of a view as the weights need it: total mass and box masses (from an integral image, or analytically). */
export type SpmStats = ViewSpm;

/**
 * SnapMix: rho_a = 1 − SPM_a(box_a)/(Σ SPM_a + 1e-8); rho_b = SPM_b(box_b)/(Σ SPM_b + 1e-8).
 * Same label → both become rho_a + rho_b. NaN (constant CAM) → area fallback, rho_b = 1 − area lam.
 * Empty box (either) → no paste, rho_a = 1, rho_b = 0. Order of the rules as in the official code.
 */
export function snapmixWeights(a: SpmStats, boxA: Box, b: SpmStats, boxB: Box, sameLabel: boolean): Weights {
  const areaWeight = 1 - boxArea(boxA) / (a.W * a.H);
  if (boxArea(boxA) === 0 || boxArea(boxB) === 0) return { weightA: 1, weightB: 0, areaWeight: 1 };
  let ra = 1 - a.boxMass(boxA) / (a.total + 1e-8);
  let rb = b.boxMass(boxB) / (b.total + 1e-8);
  if (sameLabel) {
    const tmp = ra;
    ra += rb;
    rb += tmp;
  }
  if (Number.isNaN(ra)) ra = areaWeight;
  if (Number.isNaN(rb)) rb = 1 - areaWeight;
  return { weightA: ra, weightB: rb, areaWeight };
}

/** CutMix: the same box in both; area labels that sum to 1. */
export function cutmixWeights(box: Box, W: number, H: number): Weights {
  const lam = 1 - boxArea(box) / (W * H);
  return { weightA: lam, weightB: 1 - lam, areaWeight: lam };
}

/** Mixup: pixel blend with lam. */
export function mixupWeights(lam: number): Weights {
  return { weightA: lam, weightB: 1 - lam, areaWeight: lam };
}

export const NO_MIX: Weights = { weightA: 1, weightB: 0, areaWeight: 1 };

export function statsFromMap(map: ArrayLike<number>, W: number, H: number): SpmStats {
  const I = integralImage(map, H, W);
  return { W, H, total: I[I.length - 1], boxMass: (b) => boxSum(I, W, b) };
}

/** Dense target rho_a·e_a + rho_b·e_b (labels may coincide: the weights then add); the shards' soft_label and the trainer's targets. */
export function softLabel(numClasses: number, labelA: number, labelB: number, w: Pick<Weights, 'weightA' | 'weightB'>): Float32Array {
  const t = new Float32Array(numClasses);
  t[labelA] += w.weightA;
  t[labelB] += w.weightB;
  return t;
}
