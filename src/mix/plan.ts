// The seeded plan (docs/ARCHITECTURE.md "3. Contracts"): round r, source i → partner, views, boxes, method. Every draw for
// (r, i) comes from its own counter-based Rng, so the plan is independent of workers and job splits.
import { Rng } from '../util/rng.js';
import type { Box } from '../cam/spm.js';
import type { CropView } from '../image/crop.js';
import { randBox } from './boxes.js';

export type Method = 'snapmix' | 'cutmix' | 'mixup' | 'none';
export const METHODS: readonly Method[] = ['snapmix', 'cutmix', 'mixup', 'none'];
/** Beta parameters of the official code's defaults. */
export const DEFAULT_BETA: Record<Method, number> = { snapmix: 5, cutmix: 3, mixup: 1, none: 1 };

/** Who a source may be mixed with: any other source (the official rule), or one of another class. */
export type Partner = 'any' | 'other-class';
export const PARTNERS: readonly Partner[] = ['any', 'other-class'];

export interface PlanConfig {
  method: Method;
  /** Default 'any'. 'other-class' needs the sources' labels (partnerIndex). */
  partner?: Partner;
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
function viewFor(cfg: PlanConfig, round: number, j: number): CropView {
  const rng = new Rng(cfg.seed, 'view', round, j);
  const m = cfg.resize - cfg.size;
  const x0 = cfg.crop === 'random' ? rng.int(0, m) : m >> 1;
  const y0 = cfg.crop === 'random' ? rng.int(0, m) : m >> 1;
  const flip = cfg.flip && rng.bool();
  return { x0, y0, size: cfg.size, flip };
}

/** Sources grouped by label, for drawing a partner of another class in O(1). */
export interface PartnerIndex {
  labels: ArrayLike<number>;
  /** Source indices sorted by (label, index). */
  order: Int32Array;
  /** Per label: where its block starts in order, and its size. */
  start: Map<number, number>;
  size: Map<number, number>;
}

export function partnerIndex(labels: ArrayLike<number>): PartnerIndex {
  const order = Int32Array.from({ length: labels.length }, (_, j) => j).sort((x, y) => labels[x] - labels[y] || x - y);
  const start = new Map<number, number>();
  const size = new Map<number, number>();
  order.forEach((j, k) => {
    if (!start.has(labels[j])) start.set(labels[j], k);
    size.set(labels[j], (size.get(labels[j]) ?? 0) + 1);
  });
  return { labels, order, start, size };
}

export function planSample(cfg: PlanConfig, round: number, i: number, n: number, partners?: PartnerIndex): SamplePlan {
  if (cfg.partner === 'other-class' && (!partners || partners.labels.length !== n)) throw new Error('planSample: --partner other-class needs the labels of all n sources');
  const rng = new Rng(cfg.seed, 'plan', round, i);
  // With one class only, other-class has no partner: the sample is written unmixed.
  const mixed = cfg.method !== 'none' && n > 1 && rng.next() < cfg.prob && (cfg.partner !== 'other-class' || partners!.size.size > 1);
  // Partner: uniform over the other sources (an offline set has no use for mixing an image with itself),
  // or over the sources of other classes (one draw either way, so the later draws stay aligned).
  let b = i;
  if (cfg.partner === 'other-class') {
    const p = partners!;
    const L = p.labels[i];
    const others = n - p.size.get(L)!;
    if (others > 0) {
      const k = rng.int(0, others - 1);
      b = p.order[k < p.start.get(L)! ? k : k + p.size.get(L)!];
    }
  } else if (n > 1) {
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

/** The plan of every global index of a run with n sources (labels: the sources', needed for other-class). */
export function planner(cfg: PlanConfig, n: number, labels?: ArrayLike<number>): (index: number) => SamplePlan {
  const partners = cfg.partner === 'other-class' ? partnerIndex(labels ?? []) : undefined;
  return (index) => planSample(cfg, Math.floor(index / n), index % n, n, partners);
}
