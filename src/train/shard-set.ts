// Shard directories as training input: snapmix outputs (manifest.json, checked by sha256) or any HF
// save_to_disk directory whose columns follow the shard contract (state.json + dataset_info.json).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { RecordBatchReader } from 'apache-arrow';
import { readManifest } from '../shards/reader.js';
import { partNotice } from '../shards/manifest.js';
import { verifyDirectory } from '../shards/verify.js';
import { UserError } from '../util/errors.js';

export interface ShardSet {
  dir: string;
  files: string[];
  classNames: string[];
  rows: number;
  method: string;
  /** A snapmix output's rounds: how many, the rows each holds, and each file's sample-index range. */
  rounds?: { count: number; sources: number; rows: number[]; ranges: [number, number][] };
}

/** Rows per round: the planned sources of each round less the samples rejects.jsonl lists as skipped there. */
async function rowsPerRound(dir: string, rounds: number, sources: number): Promise<number[]> {
  const rows = new Array<number>(rounds).fill(sources);
  const text = await fs.readFile(path.join(dir, 'rejects.jsonl'), 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const r = JSON.parse(line) as { stage?: string; index?: number };
    if (r.stage === 'compose' && Number.isInteger(r.index)) rows[Math.floor(r.index! / sources)]--;
  }
  return rows;
}

const REQUIRED = ['image', 'label_a', 'label_b', 'weight_a', 'weight_b'];

async function countRows(file: string): Promise<number> {
  const reader = RecordBatchReader.from(await fs.readFile(file)).open();
  const names = reader.schema.fields.map((f) => f.name);
  const missing = REQUIRED.filter((c) => !names.includes(c));
  if (missing.length) throw new UserError(`${file} lacks column(s) ${missing.join(', ')} of the shard contract`);
  let n = 0;
  for (const b of reader) n += b.numRows;
  return n;
}

async function openShardSet(dir: string): Promise<ShardSet> {
  const entries = await fs.readdir(dir).catch(() => undefined);
  if (!entries) throw new UserError(`--shards ${dir} does not exist`);
  if (!entries.length) throw new UserError(`--shards ${dir} is empty; point it at a 'snapmix generate' output`);
  const part = entries.includes('manifest.json') ? undefined : await partNotice(dir);
  if (part) throw new UserError(part);
  if (entries.includes('manifest.json')) {
    // Train only on an output whose every claim holds; the row count is the shards', not the manifest's word.
    const { rows } = await verifyDirectory(dir, { allowEmpty: true });
    const m = await readManifest(dir);
    const rounds = { count: m.config.rounds, sources: m.dataset.sources, rows: await rowsPerRound(dir, m.config.rounds, m.dataset.sources), ranges: m.shards.map((s) => [s.first_index, s.last_index] as [number, number]) };
    return { dir, files: m.shards.map((s) => path.join(dir, s.filename)), classNames: m.class_names, rows, method: m.config.method, rounds };
  }
  if (entries.includes('state.json')) {
    const state = JSON.parse(await fs.readFile(path.join(dir, 'state.json'), 'utf8')) as { _data_files?: { filename: string }[] };
    const info = JSON.parse(await fs.readFile(path.join(dir, 'dataset_info.json'), 'utf8').catch(() => '{}')) as { features?: { label_a?: { names?: string[] } } };
    const names = info.features?.label_a?.names;
    if (!names) throw new UserError(`${dir}/dataset_info.json has no ClassLabel names for label_a; it does not follow the shard contract`);
    const files = (state._data_files ?? []).map((f) => path.join(dir, f.filename));
    if (!files.length) throw new UserError(`${dir}/state.json lists no data files`);
    let rows = 0;
    for (const f of files) rows += await countRows(f);
    return { dir, files, classNames: names, rows, method: 'hf' };
  }
  throw new UserError(`--shards ${dir} has neither manifest.json (snapmix generate) nor state.json (HF save_to_disk): ${entries.slice(0, 5).join(', ')}${entries.length > 5 ? ', …' : ''}`);
}

/** Open every directory and check that they and the validation data share one class list. */
export async function openShardSets(dirs: string[], valClassNames: string[], valName: string): Promise<ShardSet[]> {
  if (!dirs.length) throw new UserError('--shards is required: one or more shard directories');
  const sets: ShardSet[] = [];
  for (const d of dirs) sets.push(await openShardSet(d));
  for (const s of sets) {
    if (s.classNames.join('\n') !== valClassNames.join('\n')) {
      const diff = s.classNames.length !== valClassNames.length
        ? `${s.classNames.length} classes vs ${valClassNames.length}`
        : `first difference: '${s.classNames.find((c, i) => c !== valClassNames[i])}' vs '${valClassNames.find((c, i) => c !== s.classNames[i])}'`;
      throw new UserError(`shards ${s.dir} and --val ${valName} have different class lists (${diff}); train and validate on the same classes`);
    }
    if (s.rows === 0) throw new UserError(`--shards ${s.dir} holds no rows`);
  }
  return sets;
}
