// The seeded plan (DESIGN §1, §3): round r, source i → partner, views, boxes, method. Every draw for
// (r, i) comes from its own counter-based Rng, so the plan is independent of workers and job splits.
import { Rng } from '../util/rng.js';
import type { Box } from '../cam/spm.js';
import type { CropView } from '../image/crop.js';
import { randBox } from './boxes.js';

export type Method = 'snapmix' | 'cutmix' | 'mixup' | 'none';
export const METHODS: readonly Method[] = ['snapmix', 'cutmix', 'mixup', 'none'];
/** Beta parameters of the official code's defaults. */
export const DEFAULT_BETA: Record<Method, number> = { snapmix: 5, cutmix: 3, mixup: 1, none: 1 };

export interface PlanConfig {
  method: Method;
  beta: number;
  /** Probability that a sample is mixed; otherwise it is written unmixed (method 'none'). */
  prob: number;
  seed: number;
  /** Output side S. */
  size: number;
  /** Side R ≥ S the source is resized to before the view crop. */
  resize: number;
  crop: 'random' | 'center';
  flip: boolean;
}

export interface SamplePlan {
  round: number;
  /** Global sample index: round·N + i. */
  index: number;
  a: number;
  b: number;
  method: Method;
  boxA: Box;
  boxB: Box;
  /** Mixup's blend weight (NaN otherwise). */
  lam: number;
  viewA: CropView;
  viewB: CropView;
}

const EMPTY: Box = [0, 0, 0, 0];

/** The view of source j in round r: the same for every sample that uses j in that round. */
export function viewFor(cfg: PlanConfig, round: number, j: number): CropView {
  const rng = new Rng(cfg.seed, 'view', round, j);
  const m = cfg.resize - cfg.size;
  const x0 = cfg.crop === 'random' ? rng.int(0, m) : m >> 1;
  const y0 = cfg.crop === 'random' ? rng.int(0, m) : m >> 1;
  const flip = cfg.flip && rng.bool();
  return { x0, y0, size: cfg.size, flip };
}

export function planSample(cfg: PlanConfig, round: number, i: number, n: number): SamplePlan {
  const rng = new Rng(cfg.seed, 'plan', round, i);
  const mixed = cfg.method !== 'none' && n > 1 && rng.next() < cfg.prob;
  // Partner: uniform over the other sources (an offline set has no use for mixing an image with itself).
  let b = i;
  if (n > 1) {
    b = rng.int(0, n - 2);
    if (b >= i) b++;
  }
  const base = { round, index: round * n + i, a: i, viewA: viewFor(cfg, round, i) };
  if (!mixed) return { ...base, b: i, method: 'none', boxA: EMPTY, boxB: EMPTY, lam: NaN, viewB: base.viewA };
  const S = cfg.size;
  const viewB = viewFor(cfg, round, b);
  if (cfg.method === 'mixup') return { ...base, b, method: 'mixup', boxA: EMPTY, boxB: EMPTY, lam: rng.beta(cfg.beta, cfg.beta), viewB };
  const lam = rng.beta(cfg.beta, cfg.beta);
  const boxA = randBox(rng, lam, S, S);
  if (cfg.method === 'cutmix') return { ...base, b, method: 'cutmix', boxA, boxB: boxA, lam: NaN, viewB };
  const lam1 = rng.beta(cfg.beta, cfg.beta);
  const boxB = randBox(rng, lam1, S, S);
  return { ...base, b, method: 'snapmix', boxA, boxB, lam: NaN, viewB };
}
