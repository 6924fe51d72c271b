export type ScheduleKind = 'cosine' | 'step' | 'constant';
export const SCHEDULES: readonly ScheduleKind[] = ['cosine', 'step', 'constant'];

/**
 * Learning rate at fractional epoch t (0 ≤ t < epochs). step: ×0.1 at 50% and 75% of training.
 * A linear warm-up over the first `warmup` epochs avoids early BatchNorm blow-ups at high rates.
 */
export function learningRate(kind: ScheduleKind, base: number, t: number, epochs: number, warmup = 0): number {
  const w = warmup > 0 && t < warmup ? (t + 1e-3) / warmup : 1;
  const frac = Math.min(1, t / epochs);
  let f = 1;
  if (kind === 'cosine') f = 0.5 * (1 + Math.cos(Math.PI * frac));
  else if (kind === 'step') f = frac >= 0.75 ? 0.01 : frac >= 0.5 ? 0.1 : 1;
  return base * f * Math.min(1, w);
}
