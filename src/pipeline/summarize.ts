// `snapmix summarize`: runs (student or teacher directories with metrics.jsonl) grouped by the user, as
// mean ± sd over seeds of the best and the last validation top-1, and each group against a reference
// group as paired differences (run i against run i) with a 95% interval.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { UserError } from '../util/errors.js';
import { mean, pairedDifference, sd } from '../util/stats.js';

interface RunScores { dir: string; epochs: number; best: number; last: number }
interface GroupSummary { name: string; runs: RunScores[]; best: { mean: number; sd: number }; last: { mean: number; sd: number } }
interface Comparison { group: string; against: string; best: ReturnType<typeof pairedDifference>; last: ReturnType<typeof pairedDifference> }
export interface Summary { groups: GroupSummary[]; comparisons: Comparison[] }

async function scores(dir: string): Promise<RunScores> {
  const file = path.join(dir, 'metrics.jsonl');
  const text = await fs.readFile(file, 'utf8').catch(() => {
    throw new UserError(`${file} cannot be read: not a 'snapmix train' output (or it has not finished an epoch)`);
  });
  // Epochs skipped by --val-every record null; the evaluated ones count.
  const top1 = text.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { val_top1?: number | null }).val_top1).filter((v): v is number => typeof v === 'number');
  if (!top1.length) throw new UserError(`${file} has no validated epoch (no val_top1: trained without a validation split?)`);
  return { dir, epochs: top1.length, best: Math.max(...top1), last: top1[top1.length - 1] };
}

/** groups: name → run directories (paired by position: run i of each group shares seed i). */
export async function summarize(groups: [string, string[]][], against?: string): Promise<Summary> {
  const out: GroupSummary[] = [];
  for (const [name, dirs] of groups) {
    const runs = await Promise.all(dirs.map(scores));
    out.push({ name, runs, best: { mean: mean(runs.map((r) => r.best)), sd: sd(runs.map((r) => r.best)) }, last: { mean: mean(runs.map((r) => r.last)), sd: sd(runs.map((r) => r.last)) } });
  }
  const ref = out.find((g) => g.name === (against ?? out[0].name));
  if (!ref) throw new UserError(`--against ${against}: no such group (groups: ${out.map((g) => g.name).join(', ')})`);
  const comparisons = out.filter((g) => g !== ref).map((g) => {
    if (g.runs.length !== ref.runs.length) throw new UserError(`group ${g.name} has ${g.runs.length} runs, ${ref.name} ${ref.runs.length}: paired differences need one run per seed in each`);
    return {
      group: g.name, against: ref.name,
      best: pairedDifference(ref.runs.map((r) => r.best), g.runs.map((r) => r.best)),
      last: pairedDifference(ref.runs.map((r) => r.last), g.runs.map((r) => r.last)),
    };
  });
  return { groups: out, comparisons };
}

const pct = (v: number) => `${(v * 100).toFixed(1)}`;
const diff = (d: Comparison['best']) => `${d.mean >= 0 ? '+' : ''}${pct(d.mean)}${d.low === undefined ? ' (one pair: no interval)' : ` [${pct(d.low)}, ${pct(d.high!)}]`}`;

export function summaryText(s: Summary): string {
  const lines = [
    '| group | runs | best top-1 % (mean ± sd) | last top-1 % (mean ± sd) |',
    '|---|---:|---:|---:|',
    ...s.groups.map((g) => `| ${g.name} | ${g.runs.length} | ${pct(g.best.mean)} ± ${pct(g.best.sd)} | ${pct(g.last.mean)} ± ${pct(g.last.sd)} |`),
  ];
  if (s.comparisons.length) {
    lines.push('', 'paired differences in top-1 points (run i against run i), mean [95% interval]:');
    for (const c of s.comparisons) {
      const holds = c.best.low !== undefined ? (c.best.low > 0 ? 'above' : c.best.high! < 0 ? 'below' : 'not distinguishable from') : 'not tested against';
      lines.push(`  ${c.group} − ${c.against}: best ${diff(c.best)}, last ${diff(c.last)}: ${c.group} is ${holds} ${c.against} (best top-1)`);
    }
  }
  return lines.join('\n');
}
