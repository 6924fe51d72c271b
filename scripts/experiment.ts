// Does SnapMix beat CutMix, Mixup and no mixing? Seeds × students on identical budgets, each seed a full
// run (own data, teacher, CAMs, shards, students; src/pipeline/demo.ts). Finished stages are reused, so
// an interrupted experiment resumes. Protocols:
//   demo      the demo preset, 2 rounds, 6 epochs from scratch (README's first experiment)
//   scratch   a small target set (10 classes × 30 images) where the unmixed student overfits; fresh
//             mixes every epoch (--epoch-rounds, rounds = epochs); students from scratch
//   finetune  the same, teacher and students fine-tuned from one backbone pretrained on the disjoint
//             'pretrain' design (--init, --freeze-stem, --backbone-lr 0.1), the paper's regime
//   budget    the paper's budget ratio: the finetune regime trained until the unmixed student overfits
//             (docs/EXPERIMENTS.md: --epochs 150 --per-class 10, rounds = epochs), students none, mixup, cutmix, snapmix and
//             snapmix with the mid-level head, on --design target or birds; 5 seeds by default
//   teacher-quality  on a finished finetune run (--out): SnapMix students behind teachers fine-tuned for
//             fewer epochs (--teacher-epochs 1,2,4; the run's own teacher is the top point), plotted as
//             student gain over the unmixed student against label error
// Usage: npx tsx scripts/experiment.ts [--protocol finetune] [--seeds 0,1,2] [--out runs/experiment-finetune]
//        [--epochs 20] [--per-class 30] [--workers 2] [--teacher-epochs 1,2,4]
import { parseArgs } from 'node:util';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { backendLine, initBackend } from '../src/model/backend.js';
import { DEMO_PRESETS, runDemo, type DemoPreset, type DemoResult, type Variant } from '../src/pipeline/demo.js';
import { SYNTH_DEFAULTS, writeSynth } from '../src/data/synth.js';
import { openDataset } from '../src/data/index.js';
import { trainTeacher } from '../src/train/teacher.js';
import { DEFAULT_RECIPE } from '../src/train/recipe.js';
import { writeLineChart, writeScatter } from '../src/image/plot.js';
import { exists } from '../src/util/fs.js';
import { machineLine } from './bench-common.js';

const { values } = parseArgs({
  options: {
    protocol: { type: 'string', default: 'demo' },
    seeds: { type: 'string', default: '0,1,2' },
    out: { type: 'string' },
    full: { type: 'boolean', default: false },
    workers: { type: 'string', default: '2' },
    epochs: { type: 'string', default: '20' },
    'per-class': { type: 'string', default: '30' },
    'teacher-epochs': { type: 'string', default: '1,2,4' },
    design: { type: 'string', default: 'target' },
  },
});
const protocol = values.protocol as 'demo' | 'scratch' | 'finetune' | 'budget' | 'teacher-quality';
if (!['demo', 'scratch', 'finetune', 'budget', 'teacher-quality'].includes(protocol)) throw new Error(`--protocol demo|scratch|finetune|budget|teacher-quality, got ${protocol}`);
const design = values.design as 'target' | 'birds';
const out = values.out ?? `runs/experiment${protocol === 'demo' ? '' : `-${protocol === 'teacher-quality' ? 'finetune' : protocol}`}${protocol === 'budget' ? `-${design}` : ''}`;
if (protocol === 'teacher-quality') {
  await teacherQuality(out, values['teacher-epochs']!.split(',').map(Number), Number(values.workers));
  process.exit(0);
}
const seeds = values.seeds!.split(',').map(Number);
const epochs = Number(values.epochs);
const preset: DemoPreset = protocol === 'demo'
  ? (values.full ? DEMO_PRESETS.full : DEMO_PRESETS.default)
  : protocol === 'budget'
    ? { classes: 10, perClass: Number(values['per-class']), testPerClass: 20, size: 64, teacherEpochs: 15, rounds: epochs, studentEpochs: epochs, batchSize: 16, design }
    : { classes: 10, perClass: Number(values['per-class']), testPerClass: 30, size: 64, teacherEpochs: protocol === 'finetune' ? 15 : 30, rounds: epochs, studentEpochs: epochs, batchSize: 16 };
const variants: Variant[] = protocol === 'demo'
  ? ['none', 'mixup', 'cutmix', 'snapmix'].map((m) => ({ name: m, method: m as Variant['method'] }))
  : protocol === 'budget'
    ? [{ name: 'none', method: 'none' }, { name: 'mixup', method: 'mixup' }, { name: 'cutmix', method: 'cutmix' }, { name: 'snapmix', method: 'snapmix' }, { name: 'snapmix-midlevel', method: 'snapmix', midlevel: true }]
    : [
    { name: 'none', method: 'none' }, { name: 'mixup', method: 'mixup' },
    { name: 'cutmix', method: 'cutmix' }, { name: 'cutmix-other-class', method: 'cutmix', partner: 'other-class' },
    { name: 'snapmix', method: 'snapmix' }, { name: 'snapmix-other-class', method: 'snapmix', partner: 'other-class' },
    { name: 'snapmix-midlevel', method: 'snapmix', midlevel: true },
  ];
const backend = await initBackend('wasm');
const workers = Number(values.workers);
console.log(machineLine());
console.log(backendLine(backend));
console.log(`protocol ${protocol}; preset ${JSON.stringify(preset)}; seeds ${seeds.join(', ')}; students ${variants.map((v) => v.name).join(', ')}`);
const t0 = Date.now();

// The pretrained backbone (finetune): one, shared by every seed's teacher and students.
let init: { model: string; freezeStem: boolean; backboneLr: number } | undefined;
if (protocol === 'finetune' || protocol === 'budget') {
  const pre = path.join(out, 'pretrain');
  const backbone = path.join(pre, 'backbone');
  if (!(await exists(path.join(pre, '.done')))) {
    const tp = Date.now();
    await writeSynth({ ...SYNTH_DEFAULTS, out: path.join(pre, 'data'), design: 'pretrain', classes: 52, perClass: 40, testPerClass: 10, size: preset.size, seed: 1000, overwrite: true });
    await fs.rm(backbone, { recursive: true, force: true });
    const r = await trainTeacher({ dataset: await openDataset(path.join(pre, 'data')), out: backbone, size: preset.size, recipe: { ...DEFAULT_RECIPE, epochs: 20, batchSize: 32, seed: 1000 }, quiet: true, trainWorkers: backend.kind === 'wasm' ? 2 : 1 });
    await fs.writeFile(path.join(pre, '.done'), JSON.stringify({ top1: r.bestTop1, seconds: (Date.now() - tp) / 1000 }) + '\n');
  }
  const done = JSON.parse(await fs.readFile(path.join(pre, '.done'), 'utf8')) as { top1: number; seconds: number };
  console.log(`pretrain: backbone on 52 disjoint classes × 40 images, 20 epochs: test top-1 ${(done.top1 * 100).toFixed(1)}% (${done.seconds.toFixed(0)}s)`);
  init = { model: backbone, freezeStem: true, backboneLr: 0.1 };
}

const results: DemoResult[] = [];
for (const seed of seeds) {
  const r = await runDemo({
    out: path.join(out, `seed-${seed}`), preset, seed, backend: backend.kind, workers, quiet: true, log: (l) => console.log(`[seed ${seed}] ${l}`),
    variants, epochRounds: protocol !== 'demo', init,
  });
  results.push(r);
  console.log(`[seed ${seed}] teacher ${(r.teacherTop1 * 100).toFixed(1)}%; ${r.rows.map((x) => `${x.method} ${(x.top1 * 100).toFixed(1)}%`).join(', ')}; ${r.seconds.toFixed(0)}s`);
}
console.log('');
console.log(`teacher top-1: ${fmt(results.map((r) => r.teacherTop1), 100, 1)}%; CAM max inside part: ${fmt(results.map((r) => r.camInPart), 100, 1)}%`);
console.log('');
console.log(`| student | top-1 (%), best epoch | top-1 (%), last epoch | train acc (%), last epoch | label error vs part masks | area-label error | seconds |`);
console.log('|---|---:|---:|---:|---:|---:|---:|');
for (const v of variants) {
  const rows = results.map((r) => r.rows.find((x) => x.method === v.name)!);
  console.log(`| ${v.name} | ${fmt(rows.map((x) => x.top1), 100, 1)} | ${fmt(rows.map((x) => x.finalTop1), 100, 1)} | ${fmt(rows.map((x) => x.finalTrainAcc), 100, 1)} | ${fmt(rows.map((x) => x.labelError), 1, 3)} | ${fmt(rows.map((x) => x.areaError), 1, 3)} | ${fmt(rows.map((x) => x.seconds), 1, 0)} |`);
}
// Mean learning curves over the seeds, one line per student.
const curves = variants.map((v) => {
  const cs = results.map((r) => r.rows.find((x) => x.method === v.name)!.curve);
  return { name: v.name, values: cs[0].map((_, e) => stats(cs.map((c) => c[e])).m) };
});
const png = path.join(out, 'curves.png');
await writeLineChart(png, curves, `${protocol}: validation top-1 per epoch, mean of ${seeds.length} seed(s)`, 'top-1');
await fs.writeFile(path.join(out, 'summary.json'), JSON.stringify({ protocol, preset, seeds, variants, results }, null, 2) + '\n');
console.log('');
console.log(`experiment: ${((Date.now() - t0) / 1000).toFixed(0)}s wall; curves ${png}; summary ${path.join(out, 'summary.json')}`);

// Teacher quality vs gain, on a finished finetune run: same data, backbone, recipe and seeds; only the
// teacher's fine-tuning epochs change. Gain = SnapMix student's best top-1 minus the unmixed student's.
async function teacherQuality(base: string, teacherEpochs: number[], workers: number): Promise<void> {
  const summaryFile = path.join(base, 'summary.json');
  if (!(await exists(summaryFile))) throw new Error(`${summaryFile} not found: run --protocol finetune --out ${base} first`);
  const sum = JSON.parse(await fs.readFile(summaryFile, 'utf8')) as { protocol: string; preset: DemoPreset; seeds: number[]; results: DemoResult[] };
  if (sum.protocol !== 'finetune') throw new Error(`${base} is a '${sum.protocol}' run; teacher-quality needs a finetune run`);
  const be = await initBackend('wasm');
  console.log(machineLine());
  console.log(backendLine(be));
  const init = { model: path.join(base, 'pretrain', 'backbone'), freezeStem: true, backboneLr: 0.1 };
  const t0 = Date.now();
  interface Pt { epochs: number; seed: number; teacherTop1: number; camInPart: number; labelError: number; top1: number; gain: number; seconds: number }
  const pts: Pt[] = [];
  sum.seeds.forEach((seed, i) => {
    const r = sum.results[i];
    const snap = r.rows.find((x) => x.method === 'snapmix')!;
    const none = r.rows.find((x) => x.method === 'none')!;
    pts.push({ epochs: sum.preset.teacherEpochs, seed, teacherTop1: r.teacherTop1, camInPart: r.camInPart, labelError: snap.labelError!, top1: snap.top1, gain: snap.top1 - none.top1, seconds: NaN });
  });
  for (const e of teacherEpochs) {
    for (const [i, seed] of sum.seeds.entries()) {
      const none = sum.results[i].rows.find((x) => x.method === 'none')!;
      const dir = path.join(base, 'teacher-quality', `seed-${seed}`, `teacher-${e}`);
      // A finished point is read back with the wall time of the run that made it.
      const pointFile = path.join(dir, 'point.json');
      if (await exists(pointFile)) {
        pts.push(JSON.parse(await fs.readFile(pointFile, 'utf8')) as Pt);
        continue;
      }
      const r = await runDemo({
        out: dir, preset: { ...sum.preset, teacherEpochs: e }, seed, backend: be.kind, workers, quiet: true,
        log: (l) => console.log(`[teacher ${e} ep, seed ${seed}] ${l}`), variants: [{ name: 'snapmix', method: 'snapmix' }], epochRounds: true, init,
      });
      const snap = r.rows[0];
      const pt: Pt = { epochs: e, seed, teacherTop1: r.teacherTop1, camInPart: r.camInPart, labelError: snap.labelError!, top1: snap.top1, gain: snap.top1 - none.top1, seconds: r.seconds };
      await fs.writeFile(pointFile, JSON.stringify(pt) + '\n');
      pts.push(pt);
      console.log(`[teacher ${e} ep, seed ${seed}] teacher ${(r.teacherTop1 * 100).toFixed(1)}%, label error ${snap.labelError!.toFixed(3)}, snapmix ${(snap.top1 * 100).toFixed(1)}% (none ${(none.top1 * 100).toFixed(1)}%); ${r.seconds.toFixed(0)}s`);
    }
  }
  const mean = (xs: number[]) => stats(xs).m;
  const budgets = [...new Set(pts.map((p) => p.epochs))].sort((a, b) => a - b);
  console.log('');
  console.log('| teacher fine-tuning epochs | teacher top-1 (%) | CAM max inside part (%) | SnapMix label error | SnapMix student top-1 (%) | gain over none (points) | seconds a seed |');
  console.log('|---:|---:|---:|---:|---:|---:|---:|');
  const points = budgets.map((e) => {
    const g = pts.filter((p) => p.epochs === e);
    const secs = g.map((p) => p.seconds).filter(Number.isFinite);
    console.log(`| ${e} | ${fmt(g.map((p) => p.teacherTop1), 100, 1)} | ${fmt(g.map((p) => p.camInPart), 100, 1)} | ${fmt(g.map((p) => p.labelError), 1, 3)} | ${fmt(g.map((p) => p.top1), 100, 1)} | ${fmt(g.map((p) => p.gain), 100, 1)} | ${secs.length ? mean(secs).toFixed(0) : '(finetune run)'} |`);
    return { x: mean(g.map((p) => p.labelError)), y: mean(g.map((p) => p.gain)) * 100, ySd: stats(g.map((p) => p.gain)).sd * 100, label: `${e} ep: teacher ${(mean(g.map((p) => p.teacherTop1)) * 100).toFixed(0)}%` };
  });
  const png = path.join(base, 'teacher-quality', 'gain-vs-label-error.png');
  await writeScatter(png, points, `SnapMix student gain over none vs label error (mean ± sd, ${sum.seeds.length} seeds)`, 'SnapMix label error vs part masks', 'gain in top-1 (points)');
  await fs.writeFile(path.join(base, 'teacher-quality', 'summary.json'), JSON.stringify({ base, teacherEpochs, points: pts }, null, 2) + '\n');
  console.log('');
  console.log(`teacher-quality: ${((Date.now() - t0) / 1000).toFixed(0)}s wall; plot ${png}`);
}

// Declared (hoisted) so the teacher-quality branch, which runs before the main protocol's code, can use them.
function stats(xs: number[]): { m: number; sd: number } {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1)) : 0;
  return { m, sd };
}

/** Mean ± sd of the finite values, scaled, or n/a. */
function fmt(xs: (number | null | undefined)[], scale: number, digits: number): string {
  const v = xs.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  if (!v.length) return 'n/a';
  const { m, sd } = stats(v.map((x) => x * scale));
  return `${m.toFixed(digits)} ± ${sd.toFixed(digits)}`;
}
