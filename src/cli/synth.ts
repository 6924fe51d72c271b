import { withExamples } from './common.js';
import type { Argv } from 'yargs';
import { SYNTH_DEFAULTS } from '../data/synth-defaults.js';
import { SYNTH_DESIGNS, type SynthDesign } from '../data/synth-render.js';
import { createProgress } from '../train/progress.js';

export const command = 'synth';
export const describe = 'write the synthetic fine-grained benchmark (ImageFolder train/test + part masks)';

export function builder(y: Argv) {
  const d = SYNTH_DEFAULTS;
  return withExamples(y
    .option('out', { type: 'string', demandOption: true, describe: 'output directory (must be empty unless --overwrite)' })
    .option('classes', { type: 'number', default: d.classes, describe: 'number of classes (2–32; up to 52 with --design pretrain, 18 with --design birds); they differ only in the small part' })
    .option('per-class', { type: 'number', default: d.perClass, describe: 'training images per class' })
    .option('test-per-class', { type: 'number', default: d.testPerClass, describe: 'test images per class' })
    .option('size', { type: 'number', default: d.size, describe: 'image side in pixels' })
    .option('seed', { type: 'number', default: d.seed, describe: 'same seed and options → same bytes' })
    .option('noise', { type: 'number', default: d.noise, describe: 'pixel noise std (0–255 scale): difficulty' })
    .option('clutter', { type: 'number', default: d.clutter, describe: 'background clutter shapes per image' })
    .option('color-jitter', { type: 'number', default: d.colorJitter, describe: "jitter of the part's colours (0–255): difficulty" })
    .option('part-scale', { type: 'number', array: true, default: d.partScale, describe: 'min max side of the part as a fraction of the image side (max ≤ 0.316: part ≤ 10% of the area)' })
    .option('design', { choices: SYNTH_DESIGNS, default: 'target' as SynthDesign, describe: "birds: classes that differ in head colour, wing pattern and tail shape at once (up to 18), birds at varied place, scale and heading over textured backgrounds, every discriminative part in the mask; target: the benchmark's classes (8 glyphs × 4 palettes, up to 32); pretrain: up to 52 classes of other glyphs or palettes, disjoint from every target class, to pretrain a backbone for fine-tuning (use another --seed too)" })
    .option('overwrite', { type: 'boolean', default: false, describe: 'replace a non-empty --out' })
    .option('quiet', { type: 'boolean', default: false }), [
    ['the default benchmark', '$0 synth --out data/synth --classes 10 --per-class 100 --size 64'],
  ]);
}

export async function handler(a: Awaited<ReturnType<typeof builder>['argv']>): Promise<void> {
  const { writeSynth } = await import('../data/synth.js');
  const total = a.classes * (a.perClass + a.testPerClass);
  const bar = createProgress('synth', total, { quiet: a.quiet });
  const t0 = Date.now();
  const r = await writeSynth({
    out: a.out,
    classes: a.classes,
    perClass: a.perClass,
    testPerClass: a.testPerClass,
    size: a.size,
    seed: a.seed,
    noise: a.noise,
    clutter: a.clutter,
    colorJitter: a.colorJitter,
    partScale: a.partScale as [number, number],
    design: a.design as SynthDesign,
    overwrite: a.overwrite,
    onProgress: (d) => bar.update(d),
  });
  bar.stop();
  console.log(`synth: wrote ${r.images} images (+ masks, parts.jsonl) to ${r.dir} in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
}
