// `snapmix inspect`: counts, per-method label-weight summary, class balance, and (on the synthetic
// benchmark) label fidelity: the same SnapMix formula with the ground-truth part mask as the "SPM".
import path from 'node:path';
import type { Manifest } from './generate.js';
import { readSamples } from '../shards/reader.js';
import { openReplay } from './replay.js';
import { readParts } from '../data/synth.js';
import { decodeRgb } from '../image/decode.js';
import { viewMapStats } from '../mix/compose.js';
import { snapmixWeights } from '../mix/labels.js';
import { UserError } from '../util/errors.js';
import { Lru } from '../util/lru.js';
import { addRow, summarise, type MethodSummary, type WeightSums } from '../shards/summary.js';

export interface InspectReport {
  shards: number;
  rows: number;
  bytes: number;
  counts: Manifest['counts'];
  methods: Record<string, MethodSummary>;
  class_balance: { name: string; as_a: number; as_b: number; soft_mass: number }[];
  /** Per mixed method, the label shift (|rho_a − lam| + |rho_b − (1 − lam)|) / 2 over rows of two labels: mean and quantiles. */
  label_shift: Record<string, { rows: number; mean: number; p10: number; p50: number; p90: number; max: number }>;
  /** Mean |rho − rho_true| of the shard's labels and of area labels of the same boxes, part masks as truth. */
  fidelity?: { samples: number; label_error: number; area_error: number; ratio: number };
}

export async function inspectShards(dir: string, m: Manifest, masks?: string): Promise<InspectReport> {
  const C = m.class_names.length;
  const sums: WeightSums = {};
  const asA = new Array(C).fill(0);
  const asB = new Array(C).fill(0);
  const mass = new Array(C).fill(0);
  let rows = 0;
  const shifts: Record<string, number[]> = {};
  const fid = masks ? await fidelityProbe(dir, m, masks) : undefined;
  for await (const s of readSamples(dir, m)) {
    rows++;
    addRow(sums, s.method, s.weightA, s.weightB, s.areaWeight, [s.labelA, s.labelB]);
    if (s.method !== 'none' && s.labelA !== s.labelB) (shifts[s.method] ??= []).push((Math.abs(s.weightA - s.areaWeight) + Math.abs(s.weightB - (1 - s.areaWeight))) / 2);
    asA[s.labelA]++;
    if (s.method !== 'none') asB[s.labelB]++;
    s.softLabel.forEach((v, c) => (mass[c] += v));
    if (fid && s.method !== 'mixup') await fid.add(s);
  }
  const methods = summarise(sums);
  return {
    shards: m.shards.length,
    rows,
    bytes: m.shards.reduce((a, s) => a + s.bytes, 0),
    counts: m.counts,
    methods,
    class_balance: m.class_names.map((name, c) => ({ name, as_a: asA[c], as_b: asB[c], soft_mass: mass[c] })),
    label_shift: Object.fromEntries(Object.entries(shifts).map(([k, v]) => [k, quantiles(Float64Array.from(v).sort())])),
    fidelity: fid?.result(),
  };
}

/** Mean and quantiles (nearest rank) of sorted values. */
function quantiles(v: Float64Array): InspectReport['label_shift'][string] {
  const q = (p: number) => v[Math.min(v.length - 1, Math.floor(p * v.length))];
  return { rows: v.length, mean: v.reduce((a, b) => a + b, 0) / v.length, p10: q(0.1), p50: q(0.5), p90: q(0.9), max: v[v.length - 1] };
}

async function fidelityProbe(dir: string, m: Manifest, masksRoot: string) {
  // rho_true: the SnapMix formula with the part mask as the map; it is the true semantic share of any
  // paste (snapmix, cutmix) and of an unmixed view. A blend (mixup) has no boxes to measure.
  if (m.config.method === 'mixup') throw new UserError('--masks measures the labels of pasted boxes; mixup blends whole images and has none');
  const replay = await openReplay(dir, m, { data: masksRoot });
  const parts = await readParts(masksRoot);
  const R = m.config.resize;
  // Masks are reused by the samples of every round; keep at most ~256 MiB of them (R² doubles each).
  const maskCache = new Lru<number, Float64Array>(Math.max(16, Math.floor(256 * 2 ** 20 / (R * R * 8))));
  const maskOf = async (j: number) => {
    let v = maskCache.get(j);
    if (!v) {
      const e = parts.get(replay.sources[j].id);
      if (!e) throw new UserError(`${path.join(masksRoot, 'parts.jsonl')} has no part mask for ${replay.sources[j].id}`);
      const rgb = (await decodeRgb(path.join(replay.dataRoot, e.mask), R, replay.fit)).data;
      v = new Float64Array(R * R);
      for (let i = 0; i < v.length; i++) v[i] = rgb[i * 3] / 255;
      maskCache.set(j, v);
    }
    return v;
  };
  let snapErr = 0;
  let areaErr = 0;
  let count = 0;
  return {
    async add(s: { method: string; index: number; weightA: number; weightB: number; areaWeight: number; boxA: number[]; boxB: number[]; labelA: number; labelB: number }) {
      const p = replay.planOf(s.index);
      if (p.boxA.join() !== s.boxA.join() || p.boxB.join() !== s.boxB.join()) {
        throw new UserError(`sample ${s.index}: replayed plan differs from the shard (boxes); pass the --data the shards were generated from`);
      }
      const t = snapmixWeights(viewMapStats(await maskOf(p.a), R, p.viewA), p.boxA, viewMapStats(await maskOf(p.b), R, p.viewB), p.boxB, s.labelA === s.labelB);
      // Area labels of the same boxes, with the same-label rule where two images were mixed.
      const same = s.method !== 'none' && s.labelA === s.labelB;
      const areaA = same ? 1 : s.areaWeight;
      const areaB = same ? 1 : 1 - s.areaWeight;
      snapErr += (Math.abs(s.weightA - t.weightA) + Math.abs(s.weightB - t.weightB)) / 2;
      areaErr += (Math.abs(areaA - t.weightA) + Math.abs(areaB - t.weightB)) / 2;
      count++;
    },
    result: () => ({ samples: count, label_error: snapErr / count, area_error: areaErr / count, ratio: areaErr > 0 ? snapErr / areaErr : NaN }),
  };
}
