import type { Argv } from 'yargs';

export const command = 'preview';
export const describe = 'contact sheet of samples: both views, both SPMs with boxes, the mix, rho_a/rho_b vs area lam';

export function builder(y: Argv) {
  return y
    .option('shards', { type: 'string', demandOption: true, describe: "a 'snapmix generate' output directory" })
    .option('n', { type: 'number', default: 16, describe: 'samples to show (spread evenly over the shards)' })
    .option('out', { type: 'string', default: 'preview.png', describe: 'PNG to write (replaces only a PNG snapmix wrote, unless --overwrite; never an input)' })
    .option('data', { type: 'string', describe: 'dataset the shards came from (default: as recorded by generate)' })
    .option('cams', { type: 'string', describe: 'CAM cache used (default: as recorded by generate)' })
    .option('overwrite', { type: 'boolean', default: false, describe: 'let --out replace an existing file snapmix did not write (never an input)' });
}

export async function handler(a: Awaited<ReturnType<typeof builder>['argv']>): Promise<void> {
  const { readManifest } = await import('../shards/reader.js');
  const { previewSheet } = await import('../pipeline/preview.js');
  const m = await readManifest(a.shards);
  const rows = await previewSheet(a.shards, m, a.n, { file: a.out, flag: '--out', reads: [{ flag: '--shards', path: a.shards }], overwrite: a.overwrite }, { data: a.data, cams: a.cams });
  console.log(`preview: ${rows} samples → ${a.out}`);
}
