// Label-weight summaries per method, as `inspect` prints them and the dataset card shows them. Kept per
// shard (in the shard's stats marker) and combined in shard order, so a single run, a merge of parts and
// `verify`'s recount from the rows all arrive at the same numbers, bit for bit.

/** [sum, min, max] of one quantity. */
type Acc = [number, number, number];

/**
 * Format ≥ 4: how far the labels are from area labels (the label-shift audit) and the same-label pairs.
 * shift: per mixed row of two labels, (|weight_a − lam| + |weight_b − (1 − lam)|) / 2, lam = area_weight;
 * same_sum: weight_a + weight_b of the rows whose two labels are one class (official rule: both to it).
 */
interface Audit { diff: number; shift?: Acc; same: number; same_sum?: Acc } // accumulators only once they hold a row (JSON has no Infinity)
interface MethodSums { n: number; weight_a: Acc; weight_b: Acc; weight_sum: Acc; area_weight: Acc; audit?: Audit }
export type WeightSums = Record<string, MethodSums>;

const KEYS = ['weight_a', 'weight_b', 'weight_sum', 'area_weight'] as const;
const acc = (): Acc => [0, Infinity, -Infinity];

function push(a: Acc, x: number): void {
  a[0] += x;
  if (x < a[1]) a[1] = x;
  if (x > a[2]) a[2] = x;
}

/** Add one row (float32 values as stored) to sums; with its labels (format ≥ 4), to the audit too. */
export function addRow(sums: WeightSums, method: string, weightA: number, weightB: number, areaWeight: number, labels?: [number, number]): void {
  const e = (sums[method] ??= { n: 0, weight_a: acc(), weight_b: acc(), weight_sum: acc(), area_weight: acc() });
  e.n++;
  push(e.weight_a, weightA);
  push(e.weight_b, weightB);
  push(e.weight_sum, weightA + weightB);
  push(e.area_weight, areaWeight);
  if (!labels || method === 'none') return;
  const a = (e.audit ??= { diff: 0, same: 0 });
  if (labels[0] === labels[1]) {
    a.same++;
    push((a.same_sum ??= acc()), weightA + weightB);
  } else {
    a.diff++;
    push((a.shift ??= acc()), (Math.abs(weightA - areaWeight) + Math.abs(weightB - (1 - areaWeight))) / 2);
  }
}

const addAcc = (e: Acc, s: Acc) => {
  e[0] += s[0];
  e[1] = Math.min(e[1], s[1]);
  e[2] = Math.max(e[2], s[2]);
};

/** Shards' sums combined in the order given; methods in name order. */
export function combine(parts: WeightSums[]): WeightSums {
  const out: WeightSums = {};
  for (const p of parts) {
    for (const [m, s] of Object.entries(p)) {
      const e = (out[m] ??= { n: 0, weight_a: acc(), weight_b: acc(), weight_sum: acc(), area_weight: acc() });
      e.n += s.n;
      for (const k of KEYS) addAcc(e[k], s[k]);
      if (s.audit) {
        const a = (e.audit ??= { diff: 0, same: 0 });
        a.diff += s.audit.diff;
        a.same += s.audit.same;
        if (s.audit.shift) addAcc((a.shift ??= acc()), s.audit.shift);
        if (s.audit.same_sum) addAcc((a.same_sum ??= acc()), s.audit.same_sum);
      }
    }
  }
  return Object.fromEntries(Object.keys(out).sort().map((m) => [m, out[m]]));
}

interface Summary { n: number; mean: number; min: number; max: number }
export interface MethodSummary {
  n: number; weight_a: Summary; weight_b: Summary; weight_sum: Summary; area_weight: Summary;
  /** Format ≥ 4: the label shift over the rows of two labels, and the share and weight sum of one-label rows. */
  shift?: Summary; same_label?: { share: number; weight_sum: Summary };
}

export function summarise(sums: WeightSums): Record<string, MethodSummary> {
  const one = (n: number, a: Acc): Summary => (n ? { n, mean: a[0] / n, min: a[1], max: a[2] } : { n: 0, mean: NaN, min: NaN, max: NaN });
  return Object.fromEntries(Object.entries(sums).map(([m, s]) => [m, {
    n: s.n, weight_a: one(s.n, s.weight_a), weight_b: one(s.n, s.weight_b), weight_sum: one(s.n, s.weight_sum), area_weight: one(s.n, s.area_weight),
    ...(s.audit ? { shift: one(s.audit.diff, s.audit.shift ?? acc()), same_label: { share: s.audit.same / Math.max(1, s.audit.diff + s.audit.same), weight_sum: one(s.audit.same, s.audit.same_sum ?? acc()) } } : {}),
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

/**
 * The label-shift audit in one plain line: how far a method's labels are from area labels on rows of two
 * labels. Under 0.05 a method labels as CutMix does (expect the same accuracy); the cut-offs are stated in
 * the line so a reader can judge them.
 */
export function shiftLine(method: string, m: MethodSummary): string | undefined {
  if (!m.shift || !m.shift.n) return undefined;
  const x = m.shift.mean;
  const verdict = x < 0.05 ? 'little (< 0.05): expect it to train like CutMix here' : x < 0.15 ? 'moderately (0.05–0.15)' : 'substantially (≥ 0.15): the CAMs say something area does not';
  return `${method}: labels differ from area labels by ${x.toFixed(3)} on average per weight (max ${m.shift.max.toFixed(3)}, ${m.shift.n} rows of two labels): ${verdict}`;
}

/** Same-label pairs in one line: their share and their weight sum (official rule: both weights to the one class). */
export function sameLabelLine(method: string, m: MethodSummary): string | undefined {
  if (!m.same_label || !m.same_label.weight_sum.n) return undefined;
  return `${method}: ${(m.same_label.share * 100).toFixed(1)}% of mixed rows pair one class with itself (weight sum mean ${m.same_label.weight_sum.mean.toFixed(3)}: they carry that much more loss; --partner other-class avoids them)`;
}
