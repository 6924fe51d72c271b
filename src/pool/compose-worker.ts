// Piscina worker: the source-cache pass (read, hash and decode each source once into its slot) and the
// compose task (crop the cached sources, mix, encode each planned sample).
import { promises as fs } from 'node:fs';
import { createHash } from 'node:crypto';
import { decodeRgb, encodeRgb } from '../image/decode.js';
import { readSlot, writeSlot } from '../image/source-cache.js';
import { composeSample, type SourceView } from '../mix/compose.js';
import { upsampled } from '../cam/view-spm.js';
import type { ComposedRow, ComposeTask, DecodeSourcesResult, DecodeSourcesTask, Reject } from './tasks.js';

export async function decodeSources(t: DecodeSourcesTask): Promise<DecodeSourcesResult> {
  const sha256: string[] = [];
  const rejects: (Reject | null)[] = [];
  for (const it of t.items) {
    let bytes: Buffer;
    try {
      bytes = await fs.readFile(it.path);
    } catch (e) {
      sha256.push('');
      rejects.push({ id: it.id, path: it.path, reason: 'unreadable', message: (e as Error).message });
      continue;
    }
    sha256.push(createHash('sha256').update(bytes).digest('hex'));
    try {
      writeSlot(t.cache, it.slot, (await decodeRgb(bytes, t.cache.R, t.fit)).data);
      rejects.push(null);
    } catch (e) {
      rejects.push({ id: it.id, path: it.path, reason: 'corrupt', message: (e as Error).message.replace('an in-memory image', it.path) });
    }
  }
  return { sha256, rejects };
}

export default async function composeTask(t: ComposeTask): Promise<ComposedRow[]> {
  const views = new Map<number, SourceView | Reject>();
  for (const [key, src] of Object.entries(t.sources)) {
    views.set(Number(key), src.reject ?? {
      rgb: readSlot(t.cache, src.slot), label: src.label, cam: src.cam,
      up: src.cam ? upsampled(src.cam.data, src.cam.h, src.cam.w, t.cache.R) : undefined,
    });
  }
  const out: ComposedRow[] = [];
  for (const plan of t.plans) {
    const A = views.get(plan.a)!;
    const B = views.get(plan.b)!;
    if ('reason' in A) { out.push({ plan, reject: A }); continue; }
    if ('reason' in B) { out.push({ plan, reject: B }); continue; }
    const c = composeSample(plan, t.cache.R, A, B);
    const image = await encodeRgb(c.pixels, plan.viewA.size, plan.viewA.size, t.format, t.quality);
    out.push({ plan, image: new Uint8Array(image.buffer, image.byteOffset, image.byteLength), weights: c.weights });
  }
  return out;
}
