import type { Argv } from 'yargs';
import type { DatasetFormat } from '../data/index.js';
import type { ShardVerdict } from '../pipeline/reproduce.js';
import { UserError } from '../util/errors.js';
import { partFrom, startTeacher, withBackend, withDataFormat, withQuiet, withSplit, stageBars, withExamples } from './common.js';

export const command = 'reproduce <release>';
export const describe = "regenerate a release's recorded request from its data and teacher and compare every shard's sha256 with its manifest";

export function builder(y: Argv) {
  return withExamples(withSplit(withQuiet(withDataFormat(withBackend(y))))
    .positional('release', { type: 'string', demandOption: true, describe: "a 'snapmix generate' or 'merge' output (a published release)" })
    .option('data', { type: 'string', demandOption: true, describe: 'the dataset the release was made from (its fingerprint is checked file by file against the release\'s sources.jsonl)' })
    .option('teacher', { type: 'string', describe: 'the teacher the release names (tfjs model directory or MODEL.onnx); or --cams' })
    .option('cams', { type: 'string', describe: "a CAM cache of that teacher on that data ('snapmix cams')" })
    .option('scratch', { type: 'string', describe: 'regenerate into this directory and keep it (default: a temporary directory, removed afterwards)' })
    .option('keep', { type: 'boolean', default: false, describe: 'keep the temporary regeneration and print where it is' })
    .option('workers', { type: 'number', describe: 'worker threads (as for generate)' })
    .epilogue('Spot-check a big release cheaply with --num-shards K --shard-index I: only shards k ≡ I (mod K) are regenerated and compared.'), [
    ['every shard', '$0 reproduce release --data CUB_200_2011 --teacher teacher.onnx'],
    ['one twentieth of the shards, from a CAM cache', '$0 reproduce release --data data --cams cams --num-shards 20 --shard-index 7'],
  ]);
}

const describeShard = (v: ShardVerdict) => {
  if (v.identical) return `${v.filename}: identical`;
  const why = [v.regenerated === 'differs from the manifest' ? 'the regenerated shard differs from the manifest' : '', v.releaseFile !== 'matches the manifest' ? `the release's file ${v.releaseFile}` : ''].filter(Boolean).join('; ');
  const d = v.difference;
  const where = !d ? '' : d.row !== undefined ? `; first difference at row ${d.row} (index ${d.index}), column ${d.what}: release ${d.release}, regenerated ${d.regenerated}` : d.what === 'schema metadata' ? '' : `; the ${d.what} differs: release ${d.release}, regenerated ${d.regenerated}`;
  const meta = d?.metadata ? `; schema metadata: ${d.metadata}` : '';
  return `${v.filename}: DIFFERENT (${why}${where}${meta})`;
};

export async function handler(a: Awaited<ReturnType<typeof builder>['argv']>): Promise<void> {
  const { openDataset, splitRecords } = await import('../data/index.js');
  const { readManifest } = await import('../shards/reader.js');
  const { reproduce } = await import('../pipeline/reproduce.js');
  const m = await readManifest(a.release);
  const part = partFrom(a.numShards, a.shardIndex, 'reproduce');
  // As in generate: a teacher only for a SnapMix release, and its compute started only for a pass (no --cams).
  const teacher = m.config.method === 'snapmix' && a.teacher ? await startTeacher(a.backend, a.teacher, {}, !a.cams) : undefined;
  // The release records its dataset layout; --data-format overrides it only when given.
  const dataset = await openDataset(a.data, (a.dataFormat === 'auto' ? m.dataset.format : a.dataFormat) as DatasetFormat);
  const records = splitRecords(dataset, 'train');
  const r = await reproduce({
    release: a.release, dataset, records, teacher, cams: a.cams, part, scratch: a.scratch, keep: a.keep, workers: a.workers,
    log: (l) => console.error(l),
    onProgress: stageBars(a.quiet),
  });
  for (const v of r.shards) console.log(`reproduce: ${describeShard(v)}`);
  for (const f of r.files) console.log(`reproduce: ${f.name}: ${f.identical ? 'identical' : f.version ? `identical but for the snapmix version that made it (${f.version})` : 'DIFFERENT'}`);
  if (a.keep || a.scratch) console.log(`reproduce: the regeneration is in ${r.scratch}`);
  const bad = r.shards.filter((s) => !s.identical).length;
  if (!r.ok) {
    const causes = r.causes.length ? ` Cause: ${r.causes.join('; ')}.` : ' The data and teacher fingerprints agree with the release: the difference comes from the snapmix version or the compute backend (CAM values), or the shards were changed.';
    throw new UserError(`${a.release} does not reproduce: ${bad} of ${r.shards.length} shard(s) differ${r.files.some((f) => !f.identical) ? `, and ${r.files.filter((f) => !f.identical).map((f) => f.name).join(', ')}` : ''}.${causes}`);
  }
  console.log(`reproduce: ${a.release} reproduces: ${r.shards.length} shard(s) identical${part ? ` (part ${part.index} of ${part.of})` : ', and manifest.json, README.md, sources.jsonl, rejects.jsonl'}`);
}
