// The report of `experiment.ts --protocol budget`: per design, each student's last- and best-epoch test
// top-1 over the seeds (mean ± sd), label error, whether the unmixed student overfits (train accuracy at
// the end, validation below its best), and paired differences with 95% t intervals; each ordering stated
// as it holds or not. Usage: npx tsx scripts/budget-report.ts runs/b60-target [runs/b60-birds …]
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { mean, pairedDifference, sd } from '../src/util/stats.js';
import type { DemoResult } from '../src/pipeline/demo.js';

const pct = (v: number) => (v * 100).toFixed(1);
for (const dir of process.argv.slice(2)) {
  const seeds = (await fs.readdir(dir)).filter((d) => /^seed-\d+$/.test(d)).sort();
  const runs: { seed: string; r: DemoResult }[] = [];
  for (const s of seeds) {
    const r = await fs.readFile(path.join(dir, s, 'results.json'), 'utf8').then((t) => JSON.parse(t) as DemoResult, () => undefined);
    if (r) runs.push({ seed: s, r });
  }
  if (!runs.length) {
    console.log(`${dir}: no finished seed`);
    continue;
  }
  const methods = runs[0].r.rows.map((x) => x.method);
  const of = (m: string, k: 'finalTop1' | 'top1' | 'finalTrainAcc') => runs.map(({ r }) => r.rows.find((x) => x.method === m)![k]);
  console.log(`### ${path.basename(dir)}: ${runs.length} seed(s) (${runs.map((x) => x.seed).join(', ')})\n`);
  console.log(`teacher test top-1 ${pct(mean(runs.map((x) => x.r.teacherTop1)))} ± ${pct(sd(runs.map((x) => x.r.teacherTop1)))}%; CAM maximum inside the part ${pct(mean(runs.map((x) => x.r.camInPart)))}%\n`);
  console.log('| student | last-epoch test top-1 % | best-epoch test top-1 % (chosen on test: optimistic) | train acc at the end % | label error vs part masks |');
  console.log('|---|---:|---:|---:|---:|');
  for (const m of methods) {
    const le = runs.map(({ r }) => r.rows.find((x) => x.method === m)!.labelError).filter((v): v is number => v !== null);
    console.log(`| ${m} | ${pct(mean(of(m, 'finalTop1')))} ± ${pct(sd(of(m, 'finalTop1')))} | ${pct(mean(of(m, 'top1')))} ± ${pct(sd(of(m, 'top1')))} | ${pct(mean(of(m, 'finalTrainAcc')))} | ${le.length ? mean(le).toFixed(3) : 'n/a'} |`);
  }
  const none = runs.map(({ r }) => r.rows.find((x) => x.method === 'none')!);
  const drop = none.map((x) => Math.max(...x.curve) - x.curve[x.curve.length - 1]);
  console.log(`\nunmixed student: train accuracy at the end ${none.map((x) => pct(x.finalTrainAcc)).join(', ')}%; validation ${drop.map((d) => pct(d)).join(', ')} points below its best at the end (overfits: ${none.every((x, i) => x.finalTrainAcc >= 0.99 && drop[i] > 0) ? 'yes, every seed' : 'not in every seed'})\n`);
  console.log('paired differences of last-epoch test top-1 (points), mean [95% interval], seed by seed:\n');
  const pairs: [string, string][] = [['snapmix', 'none'], ['cutmix', 'none'], ['mixup', 'none'], ['snapmix', 'cutmix'], ['cutmix', 'mixup'], ['snapmix-midlevel', 'snapmix'], ['snapmix-midlevel', 'none']];
  for (const [a, b] of pairs) {
    if (!methods.includes(a) || !methods.includes(b)) continue;
    const d = pairedDifference(of(b, 'finalTop1'), of(a, 'finalTop1'));
    const verdict = d.low === undefined ? 'one seed: not tested' : d.low > 0 ? `${a} > ${b} holds` : d.high! < 0 ? `${a} < ${b}: the ordering is reversed` : `${a} vs ${b}: not distinguishable at this size`;
    console.log(`- ${a} − ${b}: ${d.mean >= 0 ? '+' : ''}${pct(d.mean)}${d.low === undefined ? '' : ` [${pct(d.low)}, ${pct(d.high!)}]`}: ${verdict}`);
  }
  console.log('');
}
