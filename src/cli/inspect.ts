import type { Argv } from 'yargs';
import type { InspectReport } from '../pipeline/inspect.js';
import { sameLabelLine, shiftLine, weightTable } from '../shards/summary.js';

export const command = 'inspect <shards>';
export const describe = 'summarise a shard directory: counts, label weights per method, class balance, label fidelity';

export function builder(y: Argv) {
  return y
    .positional('shards', { type: 'string', demandOption: true, describe: "a 'snapmix generate' output directory" })
    .option('json', { type: 'boolean', default: false, describe: 'print the report as JSON' })
    .option('masks', { type: 'string', describe: "the 'snapmix synth' dataset the shards came from: report mean |rho − rho_true| with part masks as ground truth" })
    .option('verify', { type: 'boolean', default: true, describe: 'verify the output first, as snapmix verify does (--no-verify to skip); an empty output is reported, not refused' });
}

const f = (v: number) => (Number.isFinite(v) ? v.toFixed(3) : 'n/a');

export function formatReport(r: InspectReport): string {
  const lines = [
    `shards: ${r.shards}, rows: ${r.rows}, bytes: ${r.bytes}`,
    `counts: planned ${r.counts.planned}, written ${r.counts.written}, skipped ${r.counts.skipped} ${JSON.stringify(r.counts.skipped_by_reason)}, rejected sources ${r.counts.rejected_sources} ${JSON.stringify(r.counts.rejected_by_reason)}`,
    '',
    ...weightTable(r.methods),
    '',
    'label shift against area labels, per weight, on mixed rows of two labels (what SnapMix changes):',
    ...Object.entries(r.label_shift).map(([k, s]) => `  ${k}: mean ${f(s.mean)}, p10 ${f(s.p10)}, median ${f(s.p50)}, p90 ${f(s.p90)}, max ${f(s.max)} (${s.rows} rows)`),
    ...Object.entries(r.methods).flatMap(([k, m]) => [shiftLine(k, m), sameLabelLine(k, m)]).filter((l): l is string => !!l).map((l) => `  ${l}`),
    '',
    'class balance (rows as A, as B, soft-label mass):',
    ...r.class_balance.map((c) => `  ${c.name}: ${c.as_a} / ${c.as_b} / ${c.soft_mass.toFixed(1)}`),
  ];
  if (r.fidelity) {
    lines.push('', `label fidelity on ${r.fidelity.samples} samples (part masks as ground truth):`,
      `  mean |rho − rho_true|: these labels ${f(r.fidelity.label_error)}  area labels of the same boxes ${f(r.fidelity.area_error)}  ratio ${f(r.fidelity.ratio)}`);
  }
  return lines.join('\n');
}

export async function handler(a: Awaited<ReturnType<typeof builder>['argv']>): Promise<void> {
  const { readManifest } = await import('../shards/reader.js');
  const { verifyDirectory } = await import('../shards/verify.js');
  const { inspectShards } = await import('../pipeline/inspect.js');
  const m = await readManifest(a.shards);
  if (a.verify) await verifyDirectory(a.shards, { allowEmpty: true });
  const r = await inspectShards(a.shards, m, a.masks);
  console.log(a.json ? JSON.stringify(r, null, 2) : formatReport(r));
}
