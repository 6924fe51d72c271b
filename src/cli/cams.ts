import path from 'node:path';
import type { Argv } from 'yargs';
import { createProgress } from '../train/progress.js';
import { UserError } from '../util/errors.js';
import { headFrom, partFrom, startTeacher, withBackend, withDataFormat, withFit, withOnnxHead, withQuiet, withSplit, withExamples } from './common.js';
import { chosenFit, type Fit } from '../image/fit.js';

export const command = 'cams';
export const describe = 'compute the CAM cache: one teacher pass per source image, in a worker pool';

export function withCamOptions<T>(y: Argv<T>) {
  return withOnnxHead(y)
    .option('workers', { type: 'number', describe: 'worker threads (default: one per CPU the job got, from the affinity mask or $SLURM_CPUS_PER_TASK: up to 4 for a tfjs teacher\'s CAM pass, up to 16 for composing; an ONNX teacher\'s CAM pass defaults to 1 worker using every core, and splits the cores between workers otherwise; native tfjs backends use one inference thread)' })
    .option('cam-batch', { type: 'number', default: 32, describe: 'images per teacher forward pass' })
    .option('feature-layer', { type: 'string', describe: 'CAM feature layer (default: the last 4-D layer feeding a GlobalAveragePooling2D)' })
    .option('classifier-layer', { type: 'string', describe: 'CAM classifier layer (default: the Dense after that pooling)' })
    .option('strict', { type: 'boolean', default: false, describe: 'stop at the first unreadable or corrupt image instead of skipping and counting it' })
    .option('allow-weak-teacher', { type: 'boolean', default: false, describe: "use a teacher whose top-1 agrees with the dataset's labels less than 10 points above chance (refused otherwise: its CAMs would be of the wrong classes)" });
}

export function builder(y: Argv) {
  return withExamples(withFit(withSplit(withCamOptions(withQuiet(withDataFormat(withBackend(y))))), "the teacher's recorded fit (model metadata, ONNX sidecar), else fill; generate must use the same")
    .option('data', { type: 'string', demandOption: true, describe: 'dataset (ImageFolder, CUB-200-2011, or manifest)' })
    .option('teacher', { type: 'string', demandOption: true, describe: 'teacher: a tfjs LayersModel directory or an ONNX file (MODEL.onnx, with its sidecar)' })
    .option('out', { type: 'string', demandOption: true, describe: 'CAM cache directory to write' })
    .option('split', { choices: ['train', 'test'] as const, default: 'train' as const, describe: 'which split to compute CAMs for' })
    .option('overwrite', { type: 'boolean', default: false, describe: 'replace an existing CAM cache in --out (never a directory snapmix did not write)' }), [
    ['the cache of the synthetic benchmark, with a tfjs teacher', '$0 cams --data data/synth --teacher runs/teacher --out runs/cams'],
    ['a PyTorch teacher exported to ONNX (sidecar resnet50.json beside it)', '$0 cams --data CUB_200_2011 --teacher resnet50.onnx --out runs/cams'],
  ]);
}

export async function handler(a: Awaited<ReturnType<typeof builder>['argv']>): Promise<void> {
  const { exists } = await import('../util/fs.js');
  const { openDataset, splitRecords } = await import('../data/index.js');
  const { extractCams } = await import('../pipeline/cams.js');
  const { agreementText, readCamCache, writeCamCache } = await import('../shards/cam-cache.js');
  const { datasetFingerprint, hashFiles } = await import('../data/fingerprint.js');
  const { withOutput } = await import('../util/outdir.js');
  const { isCamsPart, sliceOf, writeCamsPart } = await import('../pipeline/merge.js');
  const dataset = await openDataset(a.data, a.dataFormat);
  const all = splitRecords(dataset, a.split);
  if (!all.length) throw new UserError(`${a.data} has no ${a.split} images`);
  // One part of a split pass: a contiguous slice of the records; 'snapmix merge' joins the parts in order.
  const part = partFrom(a.numShards, a.shardIndex, 'cams');
  const records = part ? all.slice(...sliceOf(all.length, part)) : all;
  const reads = [{ flag: '--data', path: dataset.root }, { flag: '--teacher', path: a.teacher }];
  // Lock (and so prove OUT writable) before the long teacher pass, not after it.
  await withOutput({ out: a.out, kind: 'cams', command: 'cams', reads, overwrite: a.overwrite }, async (out) => {
    // A finished cache (cams.json, written last) is kept unless --overwrite; an unfinished one (a killed
    // run) is simply redone, so rerunning the same command after a crash works.
    const teacher = await startTeacher(a.backend, a.teacher, headFrom(a), true);
    // A part is finished only with its part record (written after cams.json): a part killed between the
    // two is redone, not reported as done and then refused by merge forever.
    const finished = (await exists(path.join(a.out, 'cams.json'))) && (!part || (await isCamsPart(a.out)));
    if (out.state === 'ours' && finished && !a.overwrite) {
      // The same request again (same data bytes, teacher and split) is already done: say so, exit 0.
      const { meta } = await readCamCache(a.out, { part: true });
      const dsFp = datasetFingerprint(dataset.classNames, records, await hashFiles(records));
      const fit = chosenFit(a.fit as Fit | undefined, teacher.fit);
      if (meta.teacher_fingerprint === teacher.fingerprint && meta.dataset_fingerprint === dsFp && meta.split === a.split && meta.fit === fit) {
        console.log(`cams: ${a.out} already holds these CAMs (same data, teacher, split and --fit); nothing to do`);
        return;
      }
      throw new UserError(`--out ${a.out} already holds a CAM cache of other data, another teacher or another --fit; pass --overwrite to replace it or choose another directory`);
    }
    const bar = createProgress('cams', records.length, { quiet: a.quiet });
    const t0 = Date.now();
    const { set, meta, rejects, allSha } = await extractCams({
      dataset, records, split: a.split, teacher, workers: a.workers, batchSize: a.camBatch, strict: a.strict, fit: a.fit as Fit | undefined, onProgress: (d) => bar.update(d), allowEmpty: !!part, allowWeakTeacher: a.allowWeakTeacher,
    });
    bar.stop();
    if (meta.teacher_agreement) console.error(`cams: the teacher against the labels: ${agreementText(meta.teacher_agreement)}`);
    if (out.state === 'ours') await out.clear();
    await writeCamCache(a.out, set, meta, rejects);
    if (part) await writeCamsPart(a.out, part, all.length, records, allSha, meta);
    const s = (Date.now() - t0) / 1000;
    console.log(`cams: ${set.ids.length} CAMs (${set.h}×${set.w}, --fit ${meta.fit})${part ? ` (part ${part.index} of ${part.of}: records ${sliceOf(all.length, part).join('..')})` : ''} in ${a.out}, ${rejects.length} rejected; ${s.toFixed(1)}s (${(records.length / s).toFixed(1)} images/s)`);
  });
}
