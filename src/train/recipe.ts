// The training recipe shared by teacher and student training; validated where it enters.
import { UserError } from '../util/errors.js';
import { checkOptions } from '../util/schemas.js';
import type { ScheduleKind } from './schedule.js';

export type OptimizerKind = 'sgd' | 'adam';
export const OPTIMIZERS: readonly OptimizerKind[] = ['sgd', 'adam'];

export interface Recipe {
  epochs: number;
  batchSize: number;
  lr: number;
  optimizer: OptimizerKind;
  momentum: number;
  weightDecay: number;
  schedule: ScheduleKind;
  warmup: number;
  seed: number;
  /** Random-crop padding in pixels (pad-and-crop); 0 disables cropping. */
  cropPad: number;
  flip: boolean;
}

/** Measured on `synth --classes 10 --size 64`: see docs/TRAINING.md "Training the teacher". */
export const DEFAULT_RECIPE: Recipe = {
  epochs: 30,
  batchSize: 32,
  lr: 0.05,
  optimizer: 'sgd',
  momentum: 0.9,
  weightDecay: 5e-4,
  schedule: 'cosine',
  warmup: 1,
  seed: 0,
  cropPad: 4,
  flip: true,
};

/** A recipe checked against the train entry of schemas/options.schema.json (the one place its ranges live). */
export function validateRecipe(r: Recipe): Recipe {
  const problems = checkOptions('train', {
    epochs: r.epochs, 'batch-size': r.batchSize, lr: r.lr, optimizer: r.optimizer, momentum: r.momentum, 'weight-decay': r.weightDecay,
    schedule: r.schedule, warmup: r.warmup, seed: r.seed, 'crop-pad': r.cropPad,
  });
  if (r.warmup > r.epochs) problems.push(`--warmup must be at most --epochs (${r.epochs}), got ${r.warmup}`);
  if (problems.length) throw new UserError(problems.join('; '));
  return r;
}

/**
 * --backbone-lr when --init is given and the flag is not: a tenth of --lr. Measured
 * (scripts/bench-finetune-defaults.ts, docs/MEASUREMENTS.md): the backbone at the full rate dropped a
 * fine-tuned teacher 35 and 10 points below an earlier epoch (2 seeds), a 3-epoch warm-up still 14; at a
 * tenth the largest drop was 2 points.
 */
const FINE_TUNE_BACKBONE_LR = 0.1;

/** The fine-tuning flags teacher and student share. */
interface FineTuneFlags { init?: string; freezeStem?: boolean; backboneLr?: number }

/** The backbone's rate as a multiple of --lr: --backbone-lr, FINE_TUNE_BACKBONE_LR with --init, else 1. */
export const backboneLrOf = (o: FineTuneFlags): number => (o.init ? (o.backboneLr ?? FINE_TUNE_BACKBONE_LR) : 1);

/** --freeze-stem/--backbone-lr only with --init; the rate checked against the same schema (fine-tuning is not part of the recipe). */
export function checkFineTuneFlags(o: FineTuneFlags): void {
  if (!o.init && (o.freezeStem || o.backboneLr !== undefined)) throw new UserError('--freeze-stem and --backbone-lr fine-tune a pretrained backbone: pass --init MODEL too');
  const problems = checkOptions('train', { 'backbone-lr': backboneLrOf(o) });
  if (problems.length) throw new UserError(problems.join('; '));
}
