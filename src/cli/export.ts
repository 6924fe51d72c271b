import type { Argv } from 'yargs';
import { EXPORT_FORMATS } from '../shards/export-formats.js';
import type { ExportFormat } from '../pipeline/export.js';
import { stageBars, withQuiet, withExamples } from './common.js';

export const command = 'export <release>';
export const describe = 'write a release\'s shards as Parquet (DuckDB, Spark, polars, HF Hub) or WebDataset tars (PyTorch webdataset), deterministically';

export function builder(y: Argv) {
  return withExamples(withQuiet(y)
    .positional('release', { type: 'string', demandOption: true, describe: "a 'snapmix generate' or 'merge' output (verified first)" })
    .option('to', { choices: EXPORT_FORMATS, demandOption: true, describe: 'parquet: data-KKKKK-of-NNNNN.parquet per shard; webdataset: shard-KKKKKK.tar per shard' })
    .option('out', { type: 'string', demandOption: true, describe: 'output directory (new, empty, or an earlier export of the same release; --overwrite for another)' })
    .option('row-group-mb', { type: 'number', default: 100, describe: 'Parquet: largest row group in MiB of average row size' })
    .option('overwrite', { type: 'boolean', default: false, describe: 'replace an earlier snapmix export in --out (never other files)' }), [
    ['Parquet files and classes.csv, for DuckDB, polars, Spark and the Hub', '$0 export runs/shards --to parquet --out runs/parquet'],
    ['WebDataset tars (shard-000000.tar, …) for webdataset.WebDataset', '$0 export runs/shards --to webdataset --out runs/wds'],
  ]);
}

export async function handler(a: Awaited<ReturnType<typeof builder>['argv']>): Promise<void> {
  const { exportRelease } = await import('../pipeline/export.js');
  const bars = stageBars(a.quiet);
  const r = await exportRelease({
    release: a.release, to: a.to as ExportFormat, out: a.out, overwrite: a.overwrite, rowGroupBytes: a.rowGroupMb * 2 ** 20,
    onProgress: (d, t) => bars('export', d, t),
  });
  const rows = r.files.reduce((s, f) => s + f.rows, 0);
  const bytes = r.files.reduce((s, f) => s + f.bytes, 0);
  console.log(`export: ${rows} rows in ${r.files.length} ${a.to} file(s), ${(bytes / 2 ** 20).toFixed(1)} MiB, at ${a.out} (${r.seconds.toFixed(1)}s); SHA256SUMS, export.json and README.md beside them`);
}
