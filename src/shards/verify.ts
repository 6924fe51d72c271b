// Verify a shard directory against its contracts: manifest schema, sha256 per shard, each shard's Arrow
// schema against schemas/shard.schema.json, row counts, and the HF state.json listing.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { RecordBatchReader, type Schema } from 'apache-arrow';
import { check } from '../util/schemas.js';
import { readManifest, verifyShards } from './reader.js';
import { UserError } from '../util/errors.js';

/** A JSON description of an Arrow schema: what shard.schema.json validates. */
export function describeSchema(schema: Schema): { fields: { name: string; type: string }[]; metadata: Record<string, unknown> } {
  const metadata: Record<string, unknown> = {};
  for (const [k, v] of schema.metadata) {
    try {
      metadata[k] = JSON.parse(v);
    } catch {
      metadata[k] = v;
    }
  }
  return { fields: schema.fields.map((f) => ({ name: f.name, type: String(f.type) })), metadata };
}

export async function verifyDirectory(dir: string): Promise<{ shards: number; rows: number }> {
  const m = await readManifest(dir);
  const problems = check('manifest', m, '', `${dir}/manifest.json: `);
  if (problems.length) throw new UserError(problems.join('\n'));
  await verifyShards(dir, m);
  let rows = 0;
  for (const s of m.shards) {
    const file = path.join(dir, s.filename);
    const reader = (await RecordBatchReader.from(await fs.readFile(file))).open();
    const schema = reader.schema; // read before iterating: a drained reader drops it
    let n = 0;
    for (const b of reader) n += b.numRows;
    const p = check('shard', describeSchema(schema), '', `${file}: `);
    if (p.length) throw new UserError(p.join('\n'));
    if (n !== s.rows) throw new UserError(`${file}: ${n} rows, the manifest says ${s.rows}`);
    rows += n;
  }
  const state = JSON.parse(await fs.readFile(path.join(dir, 'state.json'), 'utf8')) as { _data_files: { filename: string }[] };
  const listed = state._data_files.map((f) => f.filename).join();
  if (listed !== m.shards.map((s) => s.filename).join()) throw new UserError(`${dir}/state.json lists other data files than the manifest`);
  return { shards: m.shards.length, rows };
}
