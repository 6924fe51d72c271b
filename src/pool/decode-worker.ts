// Piscina worker: decode a batch of encoded shard images to one normalised float32 NHWC array.
import { decodeRgb } from '../image/decode.js';
import { toFloatBatch } from '../image/views.js';
import type { DecodeTask } from './tasks.js';

export default async function decodeTask(t: DecodeTask): Promise<Float32Array> {
  const images: Uint8Array[] = [];
  for (const [i, bytes] of t.images.entries()) {
    try {
      images.push((await decodeRgb(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), t.size, 'fill')).data);
    } catch (e) {
      throw new Error(`${t.where[i]}: cannot decode the stored image (${(e as Error).message})`);
    }
  }
  return toFloatBatch(images, t.size, t.mean, t.std);
}
