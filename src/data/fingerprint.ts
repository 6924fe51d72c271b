// Dataset identity for caches and shards: class names, ids, labels, splits and file bytes (docs/ARCHITECTURE.md "3. Contracts").
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import type { DatasetRecord } from './types.js';
import { mapLimit } from '../util/limit.js';

/** sha256 of each file ('' where it cannot be read: a rejected source). */
export async function hashFiles(records: DatasetRecord[]): Promise<string[]> {
  return mapLimit(records, 16, async (r) => {
    try {
      return createHash('sha256').update(await fs.readFile(r.path)).digest('hex');
    } catch {
      return '';
    }
  });
}

/** One record's line of the fingerprint (split CAM passes store theirs and merge hashes them in order). */
export const fingerprintLine = (r: DatasetRecord, sha256: string) => `${r.id}\t${r.label}\t${r.split}\t${sha256}\n`;

export function datasetFingerprint(classNames: string[], records: DatasetRecord[], sha256: string[]): string {
  const h = createHash('sha256');
  h.update(JSON.stringify(classNames));
  records.forEach((r, i) => h.update(fingerprintLine(r, sha256[i])));
  return h.digest('hex');
}
