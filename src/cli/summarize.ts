import type { Argv } from 'yargs';
import { UserError } from '../util/errors.js';
import { withExamples } from './common.js';

export const command = 'summarize <groups..>';
export const describe = "summarise training runs over seeds: best and last top-1 (mean ± sd) per group, and paired differences against a reference group with a 95% interval";

export function builder(y: Argv) {
  return withExamples(y
    .positional('groups', { type: 'string', array: true, demandOption: true, describe: 'NAME=DIR[,DIR…] per group, the runs of one group in seed order (run i of every group shares seed i)' })
    .option('against', { type: 'string', describe: 'the reference group of the paired differences (default: the first)' })
    .option('json', { type: 'boolean', default: false, describe: 'print the summary as JSON' }), [
    ['three seeds per method, each against none', '$0 summarize none=r/none-0,r/none-1,r/none-2 snapmix=r/snap-0,r/snap-1,r/snap-2'],
  ]);
}

/** NAME=DIR[,DIR…] → [name, dirs]. */
export function parseGroup(arg: string): [string, string[]] {
  const eq = arg.indexOf('=');
  const dirs = eq > 0 ? arg.slice(eq + 1).split(',').filter(Boolean) : [];
  if (eq <= 0 || !dirs.length) throw new UserError(`${JSON.stringify(arg)} is not NAME=DIR[,DIR…] (a group name, '=', its run directories separated by commas)`);
  return [arg.slice(0, eq), dirs];
}

export async function handler(a: Awaited<ReturnType<typeof builder>['argv']>): Promise<void> {
  const { summarize, summaryText } = await import('../pipeline/summarize.js');
  const groups = (a.groups as string[]).map(parseGroup);
  const names = groups.map(([n]) => n);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new UserError(`group ${dup} is named twice`);
  const s = await summarize(groups, a.against);
  console.log(a.json ? JSON.stringify(s, null, 2) : summaryText(s));
}
