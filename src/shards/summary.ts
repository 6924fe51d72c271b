// Label-weight summaries per method, as `inspect` prints them and the dataset card shows them. Kept per
// shard (in the shard's stats marker) and combined in shard order, so a single run, a merge of parts and
// `verify`'s recount from the rows all arrive at the same numbers, bit for bit.

/** [sum, min, max] of one quantity. */
type Acc = [number, number, number];

interface MethodSums { n: number; weight_a: Acc; weight_b: Acc; weight_sum: Acc; area_weight: Acc }
export type WeightSums = Record<string, MethodSums>;

const KEYS = ['weight_a', 'weight_b', 'weight_sum', 'area_weight'] as const;
const acc = (): Acc => [0, Infinity, -Infinity];

function push(a: Acc, x: number): void {
  a[0] += x;
  if (x < a[1]) a[1] = x;
  if (x > a[2]) a[2] = x;
}

/** Add one row (float32 values as stored) to sums. */
export function addRow(sums: WeightSums, method: string, weightA: number, weightB: number, areaWeight: number): void {
  const e = (sums[method] ??= { n: 0, weight_a: acc(), weight_b: acc(), weight_sum: acc(), area_weight: acc() });
  e.n++;
  push(e.weight_a, weightA);
  push(e.weight_b, weightB);
  push(e.weight_sum, weightA + weightB);
  push(e.area_weight, areaWeight);
}

/** Shards' sums combined in the order given; methods in name order. */
export function combine(parts: WeightSums[]): WeightSums {
  const out: WeightSums = {};
  for (const p of parts) {
    for (const [m, s] of Object.entries(p)) {
      const e = (out[m] ??= { n: 0, weight_a: acc(), weight_b: acc(), weight_sum: acc(), area_weight: acc() });
      e.n += s.n;
      for (const k of KEYS) {
        e[k][0] += s[k][0];
        e[k][1] = Math.min(e[k][1], s[k][1]);
        e[k][2] = Math.max(e[k][2], s[k][2]);
      }
    }
  }
  return Object.fromEntries(Object.keys(out).sort().map((m) => [m, out[m]]));
}

interface Summary { n: number; mean: number; min: number; max: number }
export interface MethodSummary { n: number; weight_a: Summary; weight_b: Summary; weight_sum: Summary; area_weight: Summary }

export function summarise(sums: WeightSums): Record<string, MethodSummary> {
  const one = (n: number, a: Acc): Summary => (n ? { n, mean: a[0] / n, min: a[1], max: a[2] } : { n: 0, mean: NaN, min: NaN, max: NaN });
  return Object.fromEntries(Object.entries(sums).map(([m, s]) => [m, {
    n: s.n, weight_a: one(s.n, s.weight_a), weight_b: one(s.n, s.weight_b), weight_sum: one(s.n, s.weight_sum), area_weight: one(s.n, s.area_weight),
  }]));
}

const f = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : 'n/a');

/** The label-weight table (Markdown), one line per method. */
export function weightTable(methods: Record<string, MethodSummary>): string[] {
  return [
    '| method | n | weight_a mean [min, max] | weight_b mean [min, max] | a+b mean | area lam mean |',
    '|---|---:|---|---|---:|---:|',
    ...Object.entries(methods).map(([k, m]) => `| ${k} | ${m.n} | ${f(m.weight_a.mean)} [${f(m.weight_a.min)}, ${f(m.weight_a.max)}] | ${f(m.weight_b.mean)} [${f(m.weight_b.min)}, ${f(m.weight_b.max)}] | ${f(m.weight_sum.mean)} | ${f(m.area_weight.mean)} |`),
  ];
}
