// Decode a list of records into memory at the working size (small fine-grained sets fit easily:
// 10k images at 64 px are 120 MB).
import type { DatasetRecord } from '../data/types.js';
import { chosenFit, decodeRgb, type Fit } from '../image/decode.js';
import { mapLimit } from '../util/limit.js';

export interface ImageSet {
  ids: string[];
  labels: Int32Array;
  images: Uint8Array[];
  size: number;
}

export async function loadImageSet(records: DatasetRecord[], size: number, o: { fit?: Fit; onProgress?: (done: number) => void } = {}): Promise<ImageSet> {
  let done = 0;
  const images = await mapLimit(records, 8, async (r) => {
    const img = await decodeRgb(r.path, size, chosenFit(o.fit, undefined));
    o.onProgress?.(++done);
    return img.data;
  });
  return { ids: records.map((r) => r.id), labels: Int32Array.from(records.map((r) => r.label)), images, size };
}
