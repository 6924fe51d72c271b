// Read a shard directory: manifest and rows batch by batch (integrity: src/shards/verify.ts).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { RecordBatchReader, type RecordBatch } from 'apache-arrow';
import { partNotice, type Manifest } from './manifest.js';
import { UserError } from '../util/errors.js';
import type { ShardFields } from './schema.js';

/** A row read back: the fields plus the dense target. */
export interface ShardSample extends ShardFields {
  softLabel: Float32Array;
}

export async function readManifest(dir: string): Promise<Manifest> {
  let text: string;
  try {
    text = await fs.readFile(path.join(dir, 'manifest.json'), 'utf8');
  } catch {
    const entries = await fs.readdir(dir).catch(() => undefined);
    if (!entries) throw new UserError(`shard directory ${dir} does not exist`);
    const part = await partNotice(dir);
    if (part) throw new UserError(part);
    throw new UserError(`${dir} has no manifest.json: not a finished 'snapmix generate' output${entries.length ? ' (an interrupted run? rerun generate to finish it)' : ' (it is empty)'}`);
  }
  return parseManifest(text, path.join(dir, 'manifest.json'));
}

/** Parse manifest.json text, naming the file when it is broken. */
export function parseManifest(text: string, file: string): Manifest {
  let m: Manifest;
  try {
    m = JSON.parse(text) as Manifest;
  } catch (e) {
    throw new UserError(`${file} is not valid JSON (${(e as Error).message}); it was damaged or edited: rerun the generate command that made it`);
  }
  if (!m || m.format !== 'snapmix-shards') throw new UserError(`${file} is not a snapmix shard manifest`);
  return m;
}

const num = (v: unknown) => (typeof v === 'bigint' ? Number(v) : (v as number));

export function* samplesOf(batch: RecordBatch): Generator<ShardSample> {
  const col = (n: string) => batch.getChild(n)!;
  const image = col('image');
  const bytes = image.getChild('bytes')!;
  const cols = ['label_a', 'label_b', 'weight_a', 'weight_b', 'area_weight', 'soft_label', 'method', 'source_a', 'source_b', 'box_a', 'box_b', 'round', 'index'].map(col);
  for (let i = 0; i < batch.numRows; i++) {
    const [la, lb, wa, wb, aw, soft, method, sa, sb, ba, bb, round, index] = cols.map((c) => c.get(i));
    yield {
      image: bytes.get(i) as Uint8Array,
      labelA: num(la), labelB: num(lb), weightA: wa, weightB: wb, areaWeight: aw,
      softLabel: (soft as { toArray(): Float32Array }).toArray(),
      method, sourceA: sa, sourceB: sb,
      boxA: Array.from((ba as { toArray(): Int32Array }).toArray()) as ShardSample['boxA'],
      boxB: Array.from((bb as { toArray(): Int32Array }).toArray()) as ShardSample['boxB'],
      round: num(round), index: num(index),
    };
  }
}

/** Stream every sample of every shard in the manifest, in index order; one batch in memory at a time. */
export async function* readSamples(dir: string, m: Manifest): AsyncGenerator<ShardSample> {
  for (const s of m.shards) {
    const file = path.join(dir, s.filename);
    let batches: RecordBatch[];
    try {
      batches = [...RecordBatchReader.from(await fs.readFile(file))] as RecordBatch[];
    } catch (e) {
      throw new UserError(`${file} cannot be read as an Arrow IPC stream (${(e as Error).message}); it is missing, truncated or corrupt: run 'snapmix verify ${dir}'`);
    }
    for (const batch of batches) yield* samplesOf(batch);
  }
}
