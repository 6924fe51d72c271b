import { withExamples } from './common.js';
import type { Argv } from 'yargs';

export const command = 'verify <shards>';
export const describe = 'check every claim of a shard directory against its bytes (exit 2 on any problem); see docs/SAFETY.md';

export function builder(y: Argv) {
  return withExamples(y
    .positional('shards', { type: 'string', demandOption: true, describe: "a 'snapmix generate' output directory" })
    .option('allow-empty', { type: 'boolean', default: false, describe: 'accept an output with 0 written rows' })
    .option('manifest-sha256', { type: 'string', describe: "the manifest's published sha256 (as generate printed it): an edited manifest fails" }), [
    ['shards, sha256, layout, metadata, index ranges, plan, counts, stray files', '$0 verify runs/shards'],
    ['also prove the manifest is the published one', '$0 verify runs/shards --manifest-sha256 HEX'],
  ]);
}

export async function handler(a: Awaited<ReturnType<typeof builder>['argv']>): Promise<void> {
  const { verifyDirectory } = await import('../shards/verify.js');
  const r = await verifyDirectory(a.shards, { allowEmpty: a.allowEmpty, manifestSha256: a.manifestSha256 });
  console.log(`verify: ${a.shards} OK (${r.shards} shard(s), ${r.rows} rows; manifest sha256 ${r.manifestSha256})`);
}
