// Do fine-tuning defaults keep a teacher from collapsing early? Fine-tunes a teacher from the demo's
// backbone (assets/demo-backbone) on the synthetic target design with the backbone at the full learning
// rate (the behaviour before --init implied --backbone-lr 0.1), at a tenth of it, and at the full rate
// after a 3-epoch warm-up, same seed, and prints test top-1 per epoch for each. Usage: npx tsx scripts/bench-finetune-defaults.ts [--epochs 8]
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { initBackend } from '../src/model/backend.js';
import { SYNTH_DEFAULTS, writeSynth } from '../src/data/synth.js';
import { openDataset } from '../src/data/index.js';
import { trainTeacher } from '../src/train/teacher.js';
import { DEFAULT_RECIPE } from '../src/train/recipe.js';
import { DEMO_BACKBONE } from '../src/pipeline/demo.js';
import { machineLine } from './bench-common.js';

const { values } = parseArgs({ options: { epochs: { type: 'string', default: '8' }, seeds: { type: 'string', default: '0,1' } } });
const epochs = Number(values.epochs);
console.log(machineLine());
await initBackend('wasm');
const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'snapmix-ft-defaults-'));
const rows: string[] = [];
for (const seed of values.seeds!.split(',').map(Number)) {
  const data = path.join(tmp, `data-${seed}`);
  await writeSynth({ ...SYNTH_DEFAULTS, out: data, classes: 10, perClass: 30, testPerClass: 30, size: 64, seed });
  const dataset = await openDataset(data);
  for (const [backboneLr, warmup] of [[1, 1], [0.1, 1], [1, 3]]) {
    const r = await trainTeacher({
      dataset, out: path.join(tmp, `t-${seed}-${backboneLr}-${warmup}`), size: 64, quiet: true, trainWorkers: 2,
      recipe: { ...DEFAULT_RECIPE, epochs, batchSize: 32, seed, warmup }, init: DEMO_BACKBONE, freezeStem: true, backboneLr,
    });
    const curve = r.history.map((m) => m.val_top1 ?? 0);
    const dip = Math.max(0, ...curve.map((v, i) => Math.max(0, ...curve.slice(0, i)) - v));
    rows.push(`| ${seed} | ${backboneLr} | ${warmup} | ${curve.map((v) => (v * 100).toFixed(1)).join(' ')} | ${(dip * 100).toFixed(1)} | ${(Math.max(...curve) * 100).toFixed(1)} |`);
  }
}
console.log(`fine-tuning a teacher from assets/demo-backbone: synth target, 10 classes × 30 images, ${epochs} epochs, lr ${DEFAULT_RECIPE.lr} (cosine), --freeze-stem`);
console.log('| seed | --backbone-lr | --warmup | test top-1 % per epoch | largest drop below an earlier epoch | best |');
console.log('|---|---:|---:|---|---:|---:|');
for (const r of rows) console.log(r);
await fs.rm(tmp, { recursive: true, force: true });
