import type { Argv } from 'yargs';
import { verifyDirectory } from '../shards/verify.js';

export const command = 'verify <shards>';
export const describe = 'check a shard directory: manifest schema, sha256 per shard, Arrow layout, row counts';

export function builder(y: Argv) {
  return y.positional('shards', { type: 'string', demandOption: true, describe: "a 'snapmix generate' output directory" });
}

export async function handler(a: Awaited<ReturnType<typeof builder>['argv']>): Promise<void> {
  const r = await verifyDirectory(a.shards);
  console.log(`verify: ${a.shards} OK (${r.shards} shard(s), ${r.rows} rows)`);
}
