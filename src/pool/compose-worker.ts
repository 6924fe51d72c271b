// Piscina worker: decode the sources a task needs, compose each planned sample, encode it.
import { promises as fs } from 'node:fs';
import { decodeRgb, encodeRgb } from '../image/decode.js';
import { composeSample, type SourceView } from '../mix/compose.js';
import type { ComposedRow, ComposeTask, Reject } from './tasks.js';

export default async function composeTask(t: ComposeTask): Promise<ComposedRow[]> {
  const views = new Map<number, SourceView | Reject>();
  for (const [key, src] of Object.entries(t.sources)) {
    let bytes: Buffer;
    try {
      bytes = await fs.readFile(src.path);
    } catch (e) {
      views.set(Number(key), { id: src.id, path: src.path, reason: 'unreadable', message: (e as Error).message });
      continue;
    }
    try {
      const img = await decodeRgb(bytes, t.resize);
      views.set(Number(key), { rgb: img.data, label: src.label, cam: src.cam });
    } catch (e) {
      views.set(Number(key), { id: src.id, path: src.path, reason: 'corrupt', message: (e as Error).message.replace('an in-memory image', src.path) });
    }
  }
  const out: ComposedRow[] = [];
  for (const plan of t.plans) {
    const A = views.get(plan.a)!;
    const B = views.get(plan.b)!;
    if ('reason' in A) { out.push({ plan, reject: A }); continue; }
    if ('reason' in B) { out.push({ plan, reject: B }); continue; }
    const c = composeSample(plan, t.resize, A, B);
    const image = await encodeRgb(c.pixels, plan.viewA.size, plan.viewA.size, t.format, t.quality);
    out.push({ plan, image: new Uint8Array(image.buffer, image.byteOffset, image.byteLength), weights: c.weights });
  }
  return out;
}
