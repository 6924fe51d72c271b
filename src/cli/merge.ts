import { withExamples } from './common.js';
import type { Argv } from 'yargs';

export const command = 'merge <parts..>';
export const describe = 'join the parts of a split generate or cams (--num-shards/--shard-index) into one output, byte-identical to a single run';

export function builder(y: Argv) {
  return withExamples(y
    .positional('parts', { type: 'string', array: true, demandOption: true, describe: 'the part directories, in any order' })
    .option('out', { type: 'string', demandOption: true, describe: 'output directory: shards, or a CAM cache when the parts are cams parts (new, empty, or --overwrite of an earlier snapmix output)' })
    .option('overwrite', { type: 'boolean', default: false, describe: 'replace an earlier snapmix shard output in --out' })
    .option('license', { type: 'string', describe: "dataset card license (default: what the parts' generate recorded)" })
    .option('card-title', { type: 'string', describe: "dataset card title (default: what the parts' generate recorded)" }), [
    ['after a 4-way array job (bash expands p{0,1,2,3})', '$0 merge /shared/parts/p{0,1,2,3} --out /shared/shards'],
  ]);
}

export async function handler(a: Awaited<ReturnType<typeof builder>['argv']>): Promise<void> {
  const { isCamsPart, merge, mergeCams } = await import('../pipeline/merge.js');
  const parts = a.parts as string[];
  if (parts.length && (await isCamsPart(parts[0]))) {
    const c = await mergeCams({ parts, out: a.out, overwrite: a.overwrite });
    console.log(`merge: ${c.count} CAMs from ${c.parts} part(s) at ${a.out} (dataset fingerprint ${c.fingerprint.slice(0, 12)}…)`);
    return;
  }
  const r = await merge({ parts: a.parts as string[], out: a.out, overwrite: a.overwrite, release: { license: a.license, title: a.cardTitle } });
  console.log(`merge: ${r.manifest.counts.written} samples in ${r.manifest.shards.length} shard(s) from ${r.parts} part(s) at ${a.out}`);
  console.log(`merge: manifest sha256 ${r.manifestSha256}`);
}
