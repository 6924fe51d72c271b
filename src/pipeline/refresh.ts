// Teacher refresh (--refresh-every K): every K epochs the current student becomes the teacher and the
// shards are regenerated with its CAMs (new draws: the seed moves on), the offline stand-in for the
// official code's online CAMs.
import path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { saveModel, DEFAULT_PREPROCESS } from '../model/io.js';
import type { BackendChoice } from '../model/backend-choices.js';
import { teacherHandle } from '../model/teacher.js';
import type { Dataset } from '../data/types.js';
import { splitRecords } from '../data/index.js';
import { readManifest } from '../shards/reader.js';
import { generate } from './generate.js';
import { storedConfigInput } from '../shards/config.js';
import { UserError } from '../util/errors.js';

export async function makeRefresher(o: {
  every: number; epochs: number; shards: string; data: Dataset; backend: Exclude<BackendChoice, 'auto'>; workers: number; log: (l: string) => void;
}) {
  const m = await readManifest(o.shards);
  if (m.config.method !== 'snapmix') throw new UserError(`--refresh-every regenerates SnapMix shards; ${o.shards} holds ${m.config.method}`);
  if (m.class_names.join('\n') !== o.data.classNames.join('\n')) throw new UserError(`--refresh-every: the dataset's classes differ from ${o.shards}'s`);
  return async (epoch: number, deploy: tf.LayersModel, outDir: string): Promise<string[] | undefined> => {
    if (epoch % o.every !== 0 || epoch >= o.epochs) return undefined;
    const teacherDir = path.join(outDir, 'refresh', `teacher-e${epoch}`);
    const shardsDir = path.join(outDir, 'refresh', `shards-e${epoch}`);
    await saveModel(deploy, teacherDir, { classNames: o.data.classNames, inputSize: m.config.size, preprocess: DEFAULT_PREPROCESS });
    o.log(`refresh: regenerating ${m.counts.planned} samples with the epoch-${epoch} student as teacher`);
    await generate({
      config: { ...storedConfigInput(m.config), seed: refreshSeed(m.config.seed, epoch) },
      dataset: o.data, records: splitRecords(o.data, 'train'), teacher: await teacherHandle(teacherDir, {}, { backend: o.backend }), out: shardsDir,
      workers: o.workers, camBatch: 32, strict: false, overwrite: true, allowWeakTeacher: true, // the student of this epoch, by design
    });
    return [shardsDir];
  };
}

/** The seed of the shards regenerated after epoch e: moved on by e, kept inside the schema's uint32 range. */
export const refreshSeed = (seed: number, epoch: number): number => (seed + epoch) % 2 ** 32;
