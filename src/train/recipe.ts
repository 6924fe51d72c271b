// The training recipe shared by teacher and student training; validated where it enters.
import { UserError } from '../util/errors.js';
import { SCHEDULES, type ScheduleKind } from './schedule.js';

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

/** Measured on `synth --classes 10 --size 64`: see README "Training the teacher". */
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

export function validateRecipe(r: Recipe): Recipe {
  const range = (name: string, v: number, lo: number, hi: number, int = false) => {
    if (!Number.isFinite(v) || v < lo || v > hi || (int && !Number.isInteger(v))) {
      throw new UserError(`--${name} must be ${int ? 'an integer ' : ''}in [${lo}, ${hi}], got ${v}`);
    }
  };
  range('epochs', r.epochs, 1, 10000, true);
  range('batch-size', r.batchSize, 1, 4096, true);
  range('lr', r.lr, 1e-7, 10);
  range('momentum', r.momentum, 0, 0.999);
  range('weight-decay', r.weightDecay, 0, 1);
  range('warmup', r.warmup, 0, r.epochs);
  range('crop-pad', r.cropPad, 0, 64, true);
  range('seed', r.seed, 0, 2 ** 32 - 1, true);
  if (!OPTIMIZERS.includes(r.optimizer)) throw new UserError(`--optimizer must be one of ${OPTIMIZERS.join(', ')}, got ${r.optimizer}`);
  if (!SCHEDULES.includes(r.schedule)) throw new UserError(`--schedule must be one of ${SCHEDULES.join(', ')}, got ${r.schedule}`);
  return r;
}
