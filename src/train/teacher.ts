// `snapmix train --data`: train a zoo model on clean data (the teacher), keep the best by test top-1.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Dataset } from '../data/types.js';
import { splitRecords } from '../data/index.js';
import { buildResNet, DEFAULT_RESNET } from '../model/zoo.js';
import { DEFAULT_PREPROCESS, saveModel } from '../model/io.js';
import { loadImageSet } from './images.js';
import { chosenFit, type Fit } from '../image/decode.js';
import { evaluate } from './evaluate.js';
import { cleanSource } from './clean-source.js';
import { trainLoop, type EpochMetrics } from './loop.js';
import { pct } from './progress.js';
import { backboneLrOf, checkFineTuneFlags, validateRecipe, type Recipe } from './recipe.js';
import { UserError } from '../util/errors.js';
import { gradientScales, modelFromBackbone } from './init.js';
import { withOutput, type OutState } from '../util/outdir.js';
import { checkTrainOutput, modelIdentity, recordsIdentity, writeTrainRequest, type TrainRequest } from './request.js';

export interface TeacherOptions {
  dataset: Dataset;
  out: string;
  size: number;
  /** How photos become the square input (default fill); recorded in the model for cams and eval. */
  fit?: Fit;
  recipe: Recipe;
  width?: number;
  depth?: number;
  stages?: number;
  quiet?: boolean;
  log?: (line: string) => void;
  /** Data-parallel replicas (wasm; see trainLoop). Default 1: in process. */
  trainWorkers?: number;
  /** Fine-tuning from a trained zoo model's backbone (see src/train/init.ts). */
  init?: string;
  freezeStem?: boolean;
  backboneLr?: number;
}

export interface TeacherResult {
  bestTop1: number | null;
  history: EpochMetrics[];
  seconds: number;
}

export async function trainTeacher(o: TeacherOptions): Promise<TeacherResult> {
  validateRecipe(o.recipe);
  const reads = [{ flag: '--data', path: o.dataset.root }, ...(o.init ? [{ flag: '--init', path: o.init }] : [])];
  return withOutput({ out: o.out, kind: 'model', command: 'train', reads, overwrite: false }, (out) => train(o, out.state));
}

async function train(o: TeacherOptions, outState: OutState): Promise<TeacherResult> {
  const recipe = validateRecipe(o.recipe);
  const log = o.log ?? (() => {});
  const trainRecs = splitRecords(o.dataset, 'train');
  const test = splitRecords(o.dataset, 'test');
  if (trainRecs.length === 0) throw new UserError(`no training images in ${o.dataset.root}`);
  const request: TrainRequest = {
    mode: 'teacher',
    data: recordsIdentity(o.dataset.classNames, [...trainRecs, ...test]),
    size: o.size, fit: chosenFit(o.fit, undefined), recipe: { ...recipe },
    arch: o.init ? null : { width: o.width ?? DEFAULT_RESNET.width, depth: o.depth ?? DEFAULT_RESNET.depth, stages: o.stages ?? DEFAULT_RESNET.stages },
    init: o.init ? { model: await modelIdentity(o.init), freezeStem: !!o.freezeStem, backboneLr: backboneLrOf(o) } : null,
    trainWorkers: o.trainWorkers ?? 1,
  };
  const existing = await fs.readdir(o.out).catch(() => [] as string[]);
  if (existing.includes('model.json')) throw new UserError(`--out ${o.out} already holds a model; teacher training never writes over one. Nothing was written; choose a new --out directory`);
  await checkTrainOutput(o.out, outState, request, false);
  const t0 = Date.now();
  const fit = chosenFit(o.fit, undefined);
  const trainSet = await loadImageSet(trainRecs, o.size, { fit });
  const testSet = await loadImageSet(test, o.size, { fit });
  log(`data: ${trainRecs.length} train / ${test.length} test images, ${o.dataset.classNames.length} classes, ${o.size}px`);
  const numClasses = o.dataset.classNames.length;
  checkFineTuneFlags(o);
  const backboneLr = backboneLrOf(o);
  const model = o.init
    ? (await modelFromBackbone(o.init, { inputSize: o.size, numClasses, seed: recipe.seed, freezeStem: !!o.freezeStem })).model
    : buildResNet({
      inputSize: o.size,
      numClasses,
      width: o.width ?? DEFAULT_RESNET.width,
      depth: o.depth ?? DEFAULT_RESNET.depth,
      stages: o.stages ?? DEFAULT_RESNET.stages,
      seed: recipe.seed,
    });
  if (o.init) log(`init: backbone of ${o.init}${o.freezeStem ? ', stem frozen' : ''}${backboneLr !== 1 ? `, backbone learning rate ${backboneLr}× --lr` : ''}`);
  log(`model: resnet width ${o.width ?? DEFAULT_RESNET.width} depth ${o.depth ?? DEFAULT_RESNET.depth} stages ${o.stages ?? DEFAULT_RESNET.stages}, ${model.countParams()} parameters`);
  const metricsFile = path.join(o.out, 'metrics.jsonl');
  await writeTrainRequest(o.out, request);
  await fs.writeFile(metricsFile, '');
  const pre = DEFAULT_PREPROCESS;
  const meta = { classNames: o.dataset.classNames, inputSize: o.size, preprocess: pre, fit, recipe, arch: { kind: 'resnet', width: o.width, depth: o.depth, stages: o.stages } };
  const { best, history } = await trainLoop({
    model,
    source: cleanSource(trainSet, numClasses, recipe, pre),
    recipe,
    metricsFile,
    quiet: o.quiet,
    trainWorkers: o.trainWorkers,
    gradScales: backboneLr !== 1 ? gradientScales(model, backboneLr) : undefined,
    evaluate: async () => (testSet.images.length ? (await evaluate(model, testSet, pre)).top1 : null),
    onEpoch: async (m, isBest) => {
      log(
        `epoch ${m.epoch}/${recipe.epochs} loss ${m.train_loss.toFixed(4)} train_acc ${pct(m.train_acc)} ` +
          `val_top1 ${m.val_top1 === null ? 'n/a' : pct(m.val_top1)} (test split) lr ${m.lr.toExponential(2)} ` +
          `${m.images_per_s.toFixed(1)} img/s${isBest ? ' *best, saved' : ''}`,
      );
      if (isBest) await saveModel(model, o.out, { ...meta, epoch: m.epoch, valTop1: m.val_top1 });
    },
  });
  model.dispose();
  return { bestTop1: best, history, seconds: (Date.now() - t0) / 1000 };
}
