// A validation split carved from the training images (--val-fraction): per class, the images whose
// sha256(seed, id) sorts first, so the choice is seeded, stable as images are added, and balanced.
import { createHash } from 'node:crypto';
import type { DatasetRecord } from '../data/types.js';

export function carveValidation(records: DatasetRecord[], fraction: number, seed: number): { val: DatasetRecord[]; rest: DatasetRecord[] } {
  const key = (r: DatasetRecord) => createHash('sha256').update(`${seed}\0${r.id}`).digest('hex');
  const byClass = new Map<number, DatasetRecord[]>();
  for (const r of records) (byClass.get(r.label) ?? byClass.set(r.label, []).get(r.label)!).push(r);
  const chosen = new Set<string>();
  for (const rs of byClass.values()) {
    const k = Math.max(1, Math.round(fraction * rs.length));
    for (const r of rs.map((x) => [key(x), x] as const).sort((a, b) => (a[0] < b[0] ? -1 : 1)).slice(0, k)) chosen.add(r[1].id);
  }
  return { val: records.filter((r) => chosen.has(r.id)), rest: records.filter((r) => !chosen.has(r.id)) };
}
