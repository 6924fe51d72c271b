// Piscina worker: the source-cache pass (read, hash and decode each source once into its slot) and the
// compose task (crop the cached sources, mix, encode each planned sample).
import { promises as fs } from 'node:fs';
import { createHash } from 'node:crypto';
import { decodeRgb, encodeRgb } from '../image/decode.js';
import { readSlot, writeSlot } from '../image/source-cache.js';
import { composeSample, type SourceView } from '../mix/compose.js';
import { upsampled } from '../cam/view-spm.js';
import type { ComposedRow, ComposeTask, DecodeSourcesResult, DecodeSourcesTask } from './tasks.js';
import { rejectOf, type Reject } from '../data/reject.js';

export async function decodeSources(t: DecodeSourcesTask): Promise<DecodeSourcesResult> {
  const sha256: string[] = [];
  // The items decode concurrently in libuv's pool (each into its own slot); results keep item order.
  const rejects = await Promise.all(t.items.map(async (it, k): Promise<Reject | null> => {
    let bytes: Buffer;
    try {
      bytes = await fs.readFile(it.path);
    } catch (e) {
      sha256[k] = '';
      return rejectOf(it.id, it.path, 'unreadable', e);
    }
    sha256[k] = createHash('sha256').update(bytes).digest('hex');
    try {
      writeSlot(t.cache, it.slot, (await decodeRgb(bytes, t.cache.R, t.fit)).data);
      return null;
    } catch (e) {
      return rejectOf(it.id, it.path, 'corrupt', e);
    }
  }));
  return { sha256, rejects };
}

const ENCODES_IN_FLIGHT = 2;

export default async function composeTask(t: ComposeTask): Promise<ComposedRow[]> {
  const views = new Map<number, SourceView | Reject>();
  for (const [key, src] of Object.entries(t.sources)) {
    views.set(Number(key), src.reject ?? {
      rgb: readSlot(t.cache, src.slot), label: src.label, cam: src.cam,
      up: src.cam ? upsampled(src.cam.data, src.cam.h, src.cam.w, t.cache.R) : undefined,
    });
  }
  // Each sample's encode runs in libuv's pool while this thread composes the next one; rows keep plan order.
  // At most ENCODES_IN_FLIGHT at once: more buys no speed here and grows native memory (malloc arenas).
  const out: Promise<ComposedRow>[] = [];
  for (const plan of t.plans) {
    if (out.length >= ENCODES_IN_FLIGHT) await out[out.length - ENCODES_IN_FLIGHT];
    const A = views.get(plan.a)!;
    const B = views.get(plan.b)!;
    if ('reason' in A) { out.push(Promise.resolve({ plan, reject: A })); continue; }
    if ('reason' in B) { out.push(Promise.resolve({ plan, reject: B })); continue; }
    const c = composeSample(plan, t.cache.R, A, B);
    out.push(encodeRgb(c.pixels, plan.viewA.size, plan.viewA.size, t.format, t.quality)
      .then((image) => ({ plan, image: new Uint8Array(image.buffer, image.byteOffset, image.byteLength), weights: c.weights })));
  }
  return Promise.all(out);
}
