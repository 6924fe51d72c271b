// `snapmix demo` (what `npm start` runs): the embedded synthetic benchmark end to end. Stages that
// already finished in --out are reused, so an interrupted demo resumes.
import path from 'node:path';
import { promises as fs } from 'node:fs';
import type { Argv } from 'yargs';
import { SYNTH_DEFAULTS, writeSynth } from '../data/synth.js';
import { openDataset, splitRecords } from '../data/index.js';
import { trainTeacher } from '../train/teacher.js';
import { DEFAULT_RECIPE } from '../train/recipe.js';
import { loadModel, DEFAULT_PREPROCESS } from '../model/io.js';
import { findCamHead } from '../model/cam-head.js';
import { loadImageSet } from '../train/images.js';
import { evaluate } from '../train/evaluate.js';
import { camInPartShare } from '../cam/localisation.js';
import { log, startBackend, withBackend, withQuiet } from './common.js';

export const command = 'demo';
export const describe = 'end-to-end run on the embedded synthetic benchmark (what `npm start` runs)';

export function builder(y: Argv) {
  return withQuiet(withBackend(y))
    .option('out', { type: 'string', default: 'runs/demo', describe: 'run directory; finished stages in it are reused' })
    .option('classes', { type: 'number', default: SYNTH_DEFAULTS.classes })
    .option('per-class', { type: 'number', default: SYNTH_DEFAULTS.perClass })
    .option('size', { type: 'number', default: SYNTH_DEFAULTS.size })
    .option('epochs', { type: 'number', default: DEFAULT_RECIPE.epochs, describe: 'teacher epochs' })
    .option('seed', { type: 'number', default: 0 });
}

const exists = (p: string) => fs.stat(p).then(() => true, () => false);

export async function handler(a: Awaited<ReturnType<typeof builder>['argv']>): Promise<void> {
  const t0 = Date.now();
  await startBackend(a.backend);
  const dataDir = path.join(a.out, 'data');
  const teacherDir = path.join(a.out, 'teacher');
  if (await exists(path.join(dataDir, 'synth.json'))) log(`demo: reusing ${dataDir}`);
  else {
    log(`demo: [1/3] synth → ${dataDir}`);
    await writeSynth({ ...SYNTH_DEFAULTS, out: dataDir, classes: a.classes, perClass: a.perClass, testPerClass: Math.ceil(a.perClass / 2), size: a.size, seed: a.seed, overwrite: true });
  }
  const dataset = await openDataset(dataDir);
  if (await exists(path.join(teacherDir, 'model.json'))) log(`demo: reusing teacher ${teacherDir}`);
  else {
    log(`demo: [2/3] train teacher → ${teacherDir}`);
    await fs.rm(teacherDir, { recursive: true, force: true });
    await trainTeacher({ dataset, out: teacherDir, size: a.size, recipe: { ...DEFAULT_RECIPE, epochs: a.epochs, seed: a.seed }, quiet: a.quiet, log });
  }
  log('demo: [3/3] evaluate the teacher and its CAMs');
  const { model, meta } = await loadModel(teacherDir);
  const pre = meta.preprocess ?? DEFAULT_PREPROCESS;
  const set = await loadImageSet(splitRecords(dataset, 'test'), a.size);
  const ev = await evaluate(model, set, pre);
  const cam = await camInPartShare(findCamHead(model), set, dataset.root, pre);
  log('');
  log('| model   | test top-1 | CAM max inside part |');
  log('|---------|-----------:|--------------------:|');
  log(`| teacher | ${(ev.top1 * 100).toFixed(2).padStart(9)}% | ${(cam.share * 100).toFixed(1).padStart(18)}% |`);
  log('');
  log(`demo: done in ${((Date.now() - t0) / 1000).toFixed(0)}s; outputs in ${a.out}`);
}
