// Small statistics for seed summaries: mean, sample sd, and a paired 95% interval from Student's t.

export const mean = (v: number[]): number => v.reduce((a, b) => a + b, 0) / v.length;

/** Sample standard deviation (n − 1); 0 for one value. */
export function sd(v: number[]): number {
  if (v.length < 2) return 0;
  const m = mean(v);
  return Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - 1));
}

// Two-sided 97.5% quantiles of Student's t for 1..30 degrees of freedom (standard tables).
const T975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];

/** t(0.975, df); the normal 1.96 past 30. */
const t975 = (df: number): number => (df >= 1 && df <= 30 ? T975[df - 1] : 1.96);

/** Mean of paired differences b − a with its 95% interval (undefined interval with fewer than 2 pairs). */
export function pairedDifference(a: number[], b: number[]): { n: number; mean: number; low?: number; high?: number } {
  const d = a.map((x, i) => b[i] - x);
  const m = mean(d);
  if (d.length < 2) return { n: d.length, mean: m };
  const half = t975(d.length - 1) * sd(d) / Math.sqrt(d.length);
  return { n: d.length, mean: m, low: m - half, high: m + half };
}
