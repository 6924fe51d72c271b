import { chosenFit, FITS, type Fit } from '../image/fit.js';
import path from 'node:path';
import type { Argv } from 'yargs';
import type { ImageSet } from '../train/images.js';
import { pct } from '../train/progress.js';
import type { CamsOf } from '../train/localisation.js';
import { UserError } from '../util/errors.js';
import type { Dataset } from '../data/types.js';
import { startBackend, startOnnxProvider, withBackend, withDataFormat, withOnnxHead } from './common.js';

export const command = 'eval';
export const describe = 'top-1 of a model on a dataset split (and CAM-on-part share on synthetic data)';

export function builder(y: Argv) {
  return withOnnxHead(withDataFormat(withBackend(y)))
    .option('model', { type: 'string', demandOption: true, describe: 'tfjs LayersModel directory (model.json + weights) or an ONNX file (MODEL.onnx)' })
    .option('data', { type: 'string', demandOption: true, describe: 'dataset to evaluate on' })
    .option('split', { choices: ['test', 'train'] as const, default: 'test' as const, describe: 'which split' })
    .option('size', { type: 'number', describe: 'input size (default: the model\'s)' })
    .option('fit', { choices: FITS, describe: "how photos become the square input: fill (squash) or cover (centre square). Default: the model's recorded fit (training metadata, ONNX sidecar), else fill" })
    .option('json', { type: 'boolean', default: false, describe: 'print one JSON object (accuracies as fractions)' })
    .option('confusion', { type: 'string', describe: 'also write the confusion matrix as a PNG heat map to this file' })
    .option('overwrite', { type: 'boolean', default: false, describe: 'let --confusion replace an existing file snapmix did not write (never an input)' })
    .option('matrix', { type: 'boolean', describe: 'print the confusion matrix as text (default: when there are at most 30 classes)' })
    .option('feature-layer', { type: 'string', describe: 'CAM feature layer name (default: found automatically)' })
    .option('classifier-layer', { type: 'string', describe: 'CAM classifier layer name (default: found automatically)' });
}

type Args = Awaited<ReturnType<typeof builder>['argv']>;

/** Top-1 and a CamsOf for the model, whichever kind it is. */
async function scorer(a: Args, dataset: Dataset): Promise<{ size: number; fit?: Fit; predict: (set: ImageSet) => Promise<Int32Array>; camsOf: CamsOf }> {
  const { isOnnx, threadsPerWorker, describeOnnx, openOnnxRunner } = await import('../model/onnx-teacher.js');
  const { checkModelClasses } = await import('../model/classes.js');
  const { loadModel, DEFAULT_PREPROCESS } = await import('../model/io.js');
  const { evaluate } = await import('../train/evaluate.js');
  const { findCamHead } = await import('../model/cam-head.js');
  const { tfjsCamsOf } = await import('../train/localisation.js');
  if (isOnnx(a.model)) {
    const head = { featureTensor: a.featureTensor, classifierNode: a.classifierNode, teacherConfig: a.teacherConfig };
    const d = await describeOnnx(a.model, head); // read once: the provider is tried on these bytes, the session opened from them
    const provider = await startOnnxProvider(a.backend, d.bytes, a.model);
    const t = await openOnnxRunner(a.model, { ...head, provider, threads: threadsPerWorker(1) }, d);
    checkModelClasses(`model ${a.model}`, t.numClasses, { classNames: t.classNames }, dataset.classNames, a.data);
    if (a.size !== undefined && a.size !== t.inputSize) throw new UserError(`--size ${a.size}: ${a.model} takes ${t.inputSize} px (its sidecar's input_size)`);
    return {
      size: t.inputSize,
      fit: t.fit,
      camsOf: (imgs, labels) => t.run(imgs, labels),
      predict: async (set) => {
        const out = new Int32Array(set.images.length);
        for (let s = 0; s < set.images.length; s += 64) {
          const labels = set.labels.slice(s, s + 64);
          const { probs } = await t.run(set.images.slice(s, s + 64), labels);
          const C = t.numClasses;
          for (let i = 0; i < labels.length; i++) {
            let best = 0;
            for (let c = 1; c < C; c++) if (probs[i * C + c] > probs[i * C + best]) best = c;
            out[s + i] = best;
          }
        }
        return out;
      },
    };
  }
  await startBackend(a.backend);
  const { model, meta } = await loadModel(a.model);
  const size = a.size ?? meta.inputSize ?? (model.inputs[0].shape[1] as number);
  if (!size) throw new UserError(`model ${a.model} has no fixed input size; pass --size`);
  checkModelClasses(`model ${a.model}`, (model.outputs[0].shape as number[])[1], meta, dataset.classNames, a.data);
  const pre = meta.preprocess ?? DEFAULT_PREPROCESS;
  return {
    size,
    fit: meta.fit,
    predict: async (set) => (await evaluate(model, set, pre)).predictions,
    camsOf: (imgs, labels) => tfjsCamsOf(findCamHead(model, { featureLayer: a.featureLayer, classifierLayer: a.classifierLayer }), size, pre)(imgs, labels),
  };
}

export async function handler(a: Args): Promise<void> {
  const { openDataset, splitRecords } = await import('../data/index.js');
  const { loadImageSet } = await import('../train/images.js');
  const { confusion, confusionText } = await import('../train/confusion.js');
  const { writeConfusion } = await import('../image/plot.js');
  const { checkPngTarget } = await import('../image/png-out.js');
  const { camInPartShare } = await import('../train/localisation.js');
  const { exists } = await import('../util/fs.js');
  const dataset = await openDataset(a.data, a.dataFormat);
  const reads = [{ flag: '--model', path: a.model }, { flag: '--data', path: dataset.root }, ...(a.teacherConfig ? [{ flag: '--teacher-config', path: a.teacherConfig }] : [])];
  const plotTo = a.confusion ? { file: a.confusion, flag: '--confusion', reads, overwrite: a.overwrite } : undefined;
  if (plotTo) await checkPngTarget(plotTo); // before the model runs, not after
  const records = splitRecords(dataset, a.split);
  if (!records.length) throw new UserError(`${a.data} has no ${a.split} images`);
  const s = await scorer(a, dataset);
  const set = await loadImageSet(records, s.size, { fit: chosenFit(a.fit as Fit | undefined, s.fit) });
  const cm = confusion(set.labels, await s.predict(set), dataset.classNames);
  const out: Record<string, unknown> = { model: a.model, data: a.data, split: a.split, n: cm.n, top1: cm.top1, per_class: cm.perClass, confusion: cm.matrix };
  const isSynth = await exists(path.join(dataset.root, 'parts.jsonl'));
  if (isSynth) out.cam_in_part = (await camInPartShare(s.camsOf, set, dataset.root)).share;
  if (plotTo) await writeConfusion(plotTo, cm.matrix, dataset.classNames, `${path.basename(a.model)} on ${a.split}: top-1 ${pct(cm.top1)} (${cm.n} images)`);
  if (a.json) console.log(JSON.stringify(out));
  else {
    console.log(`eval: top-1 ${pct(cm.top1)} on ${cm.n} ${a.split} images`);
    if (out.cam_in_part !== undefined) console.log(`eval: CAM maximum inside the part mask for ${pct(out.cam_in_part as number)} of images`);
    console.log('eval: per-class top-1:');
    for (const p of cm.perClass) console.log(`  ${p.name}: ${p.n ? pct(p.top1) : 'n/a'} of ${p.n}`);
    if (a.matrix ?? dataset.classNames.length <= 30) console.log(`eval: confusion matrix (rows true, columns predicted):\n${confusionText(cm)}`);
    if (a.confusion) console.log(`eval: confusion matrix plot in ${a.confusion}`);
  }
}
