// Dataset entry point: pick the reader from what --data points at.
import { promises as fs } from 'node:fs';
import { UserError } from '../util/errors.js';
import { readImageFolder } from './imagefolder.js';
import { isCubRoot, readCub } from './cub.js';
import { isManifestFile, readManifest } from './manifest.js';
import type { Dataset, DatasetRecord, Split } from './types.js';

export type DatasetFormat = 'auto' | 'imagefolder' | 'cub' | 'manifest';
export const DATASET_FORMATS: readonly DatasetFormat[] = ['auto', 'imagefolder', 'cub', 'manifest'];

export async function openDataset(p: string, format: DatasetFormat = 'auto'): Promise<Dataset> {
  const st = await fs.stat(p).catch(() => undefined);
  if (!st) throw new UserError(`--data ${p} does not exist; point it at an ImageFolder or CUB-200-2011 directory, or a .csv/.jsonl manifest`);
  let f = format;
  if (f === 'auto') f = st.isFile() ? 'manifest' : (await isCubRoot(p)) ? 'cub' : 'imagefolder';
  if (f === 'manifest') {
    if (!st.isFile() || !isManifestFile(p)) throw new UserError(`--data ${p}: a manifest must be a .csv or .jsonl file`);
    return readManifest(p);
  }
  if (!st.isDirectory()) throw new UserError(`--data ${p} is a file; only .csv/.jsonl manifests may be files`);
  return f === 'cub' ? readCub(p) : readImageFolder(p);
}

/**
 * Records of one split. A dataset without splits ('all') serves every record as train and has no test.
 */
export function splitRecords(ds: Dataset, split: Exclude<Split, 'all'>): DatasetRecord[] {
  const hasSplits = ds.records.some((r) => r.split !== 'all');
  if (!hasSplits) return split === 'train' ? ds.records : [];
  return ds.records.filter((r) => r.split === split);
}

export type { Dataset, DatasetRecord, Split } from './types.js';
