import type { Argv } from 'yargs';
import { readManifest } from '../shards/reader.js';
import { previewSheet } from '../pipeline/preview.js';
import { UserError } from '../util/errors.js';

export const command = 'preview';
export const describe = 'contact sheet of samples: both views, both SPMs with boxes, the mix, rho_a/rho_b vs area lam';

export function builder(y: Argv) {
  return y
    .option('shards', { type: 'string', demandOption: true, describe: "a 'snapmix generate' output directory" })
    .option('n', { type: 'number', default: 16, describe: 'samples to show (spread evenly over the shards)' })
    .option('out', { type: 'string', default: 'preview.png', describe: 'PNG to write' })
    .option('data', { type: 'string', describe: 'dataset the shards came from (default: as recorded by generate)' })
    .option('cams', { type: 'string', describe: 'CAM cache used (default: as recorded by generate)' });
}

export async function handler(a: Awaited<ReturnType<typeof builder>['argv']>): Promise<void> {
  if (!Number.isInteger(a.n) || a.n < 1 || a.n > 256) throw new UserError(`--n must be an integer in [1, 256], got ${a.n}`);
  const m = await readManifest(a.shards);
  const rows = await previewSheet(a.shards, m, a.n, a.out, { data: a.data, cams: a.cams });
  console.log(`preview: ${rows} samples → ${a.out}`);
}
