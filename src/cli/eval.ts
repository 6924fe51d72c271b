import path from 'node:path';
import type { Argv } from 'yargs';
import { openDataset, splitRecords } from '../data/index.js';
import { loadModel, DEFAULT_PREPROCESS } from '../model/io.js';
import { findCamHead } from '../model/cam-head.js';
import { loadImageSet } from '../train/images.js';
import { evaluate } from '../train/evaluate.js';
import { camInPartShare } from '../cam/localisation.js';
import { UserError } from '../util/errors.js';
import { exists } from '../util/fs.js';
import { checkModelClasses } from '../model/classes.js';
import { startBackend, withBackend, withDataFormat } from './common.js';

export const command = 'eval';
export const describe = 'top-1 of a model on a dataset split (and CAM-on-part share on synthetic data)';

export function builder(y: Argv) {
  return withDataFormat(withBackend(y))
    .option('model', { type: 'string', demandOption: true, describe: 'tfjs LayersModel directory (model.json + weights)' })
    .option('data', { type: 'string', demandOption: true, describe: 'dataset to evaluate on' })
    .option('split', { choices: ['test', 'train'] as const, default: 'test' as const, describe: 'which split' })
    .option('size', { type: 'number', describe: 'input size (default: the model\'s)' })
    .option('json', { type: 'boolean', default: false, describe: 'print one JSON object' })
    .option('feature-layer', { type: 'string', describe: 'CAM feature layer name (default: found automatically)' })
    .option('classifier-layer', { type: 'string', describe: 'CAM classifier layer name (default: found automatically)' });
}

export async function handler(a: Awaited<ReturnType<typeof builder>['argv']>): Promise<void> {
  await startBackend(a.backend);
  const { model, meta } = await loadModel(a.model);
  const dataset = await openDataset(a.data, a.dataFormat);
  const inShape = model.inputs[0].shape;
  const size = a.size ?? meta.inputSize ?? (inShape[1] as number);
  if (!size) throw new UserError(`model ${a.model} has no fixed input size; pass --size`);
  checkModelClasses(`model ${a.model}`, (model.outputs[0].shape as number[])[1], meta, dataset.classNames, a.data);
  const records = splitRecords(dataset, a.split);
  if (!records.length) throw new UserError(`${a.data} has no ${a.split} images`);
  const set = await loadImageSet(records, size);
  const pre = meta.preprocess ?? DEFAULT_PREPROCESS;
  const r = await evaluate(model, set, pre);
  const out: Record<string, unknown> = { model: a.model, data: a.data, split: a.split, n: r.n, top1: r.top1 };
  const isSynth = await exists(path.join(dataset.root, 'parts.jsonl'));
  if (isSynth) {
    const head = findCamHead(model, { featureLayer: a.featureLayer, classifierLayer: a.classifierLayer });
    out.cam_in_part = (await camInPartShare(head, set, dataset.root, pre)).share;
  }
  if (a.json) console.log(JSON.stringify(out));
  else {
    console.log(`eval: top-1 ${(r.top1 * 100).toFixed(2)}% on ${r.n} ${a.split} images`);
    if (out.cam_in_part !== undefined) console.log(`eval: CAM maximum inside the part mask for ${((out.cam_in_part as number) * 100).toFixed(1)}% of images`);
  }
}
