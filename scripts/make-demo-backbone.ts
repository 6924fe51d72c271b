// Makes assets/demo-backbone: the backbone `snapmix demo` fine-tunes its teacher and students from, the
// stand-in for an ImageNet-pretrained network. A zoo ResNet (width 16, 64 px) trained on the synthetic
// benchmark's 'pretrain' design, whose classes are disjoint from every class the demo uses. Seeded and run
// on the wasm backend with 2 training replicas, so it is re-made byte for byte: the script prints each
// file's sha256 and whether it equals the committed one.
// Usage: npx tsx scripts/make-demo-backbone.ts [--check]   (--check: make it in a temporary directory and compare)
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { initBackend } from '../src/model/backend.js';
import { SYNTH_DEFAULTS, writeSynth } from '../src/data/synth.js';
import { openDataset } from '../src/data/index.js';
import { trainTeacher } from '../src/train/teacher.js';
import { DEFAULT_RECIPE } from '../src/train/recipe.js';
import { DEMO_BACKBONE_RECIPE } from '../src/pipeline/demo.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const target = path.join(root, 'assets', 'demo-backbone');
const check = process.argv.includes('--check');
const r = DEMO_BACKBONE_RECIPE;
await initBackend('wasm');
const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'snapmix-demo-backbone-'));
const t0 = Date.now();
await writeSynth({ ...SYNTH_DEFAULTS, out: path.join(tmp, 'data'), design: 'pretrain', classes: r.classes, perClass: r.perClass, testPerClass: r.testPerClass, size: r.size, seed: r.seed, overwrite: true });
const res = await trainTeacher({
  dataset: await openDataset(path.join(tmp, 'data')), out: path.join(tmp, 'model'), size: r.size,
  recipe: { ...DEFAULT_RECIPE, epochs: r.epochs, batchSize: 32, seed: r.seed }, quiet: true, trainWorkers: 2,
});
console.log(`backbone: ${r.classes} pretrain classes × ${r.perClass} images, ${r.epochs} epochs: test top-1 ${((res.bestTop1 ?? 0) * 100).toFixed(1)}%, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
const made = (await fs.readdir(path.join(tmp, 'model'))).filter((f) => f === 'model.json' || /^weights\..*\.bin$/.test(f)).sort();
const sha = async (f: string) => createHash('sha256').update(await fs.readFile(f)).digest('hex');
let same = true;
for (const f of made) {
  const mine = await sha(path.join(tmp, 'model', f));
  const committed = await sha(path.join(target, f)).catch(() => 'none');
  same &&= mine === committed;
  console.log(`${f}: ${mine} ${mine === committed ? 'identical to the committed file' : committed === 'none' ? '(not committed yet)' : 'DIFFERENT from the committed file'}`);
}
if (!check) {
  await fs.rm(target, { recursive: true, force: true });
  await fs.mkdir(target, { recursive: true });
  for (const f of made) await fs.copyFile(path.join(tmp, 'model', f), path.join(target, f));
  console.log(`written to ${path.relative(root, target)}`);
}
await fs.rm(tmp, { recursive: true, force: true });
if (check && !same) process.exit(1);
