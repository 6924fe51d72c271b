// Per-epoch checkpoint for --resume: the model, the optimizer's slots and the loop state. state.json
// is written last and is the commit marker: a checkpoint without it is ignored.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { loadModel, saveModel, type ModelMeta } from '../model/io.js';
import { writeFileAtomic } from '../util/fs.js';
import { makeOptimizer } from './loop.js';
import type { Recipe } from './recipe.js';
import { UserError } from '../util/errors.js';

export interface CheckpointState {
  /** Epochs completed. */
  epoch: number;
  best: number | null;
  recipe: Recipe;
}

export async function saveCheckpoint(dir: string, model: tf.LayersModel, meta: ModelMeta, opt: tf.Optimizer, state: CheckpointState): Promise<void> {
  await fs.rm(path.join(dir, 'state.json'), { force: true });
  await saveModel(model, dir, meta);
  const weights = await opt.getWeights();
  const { data, specs } = await tf.io.encodeWeights(weights);
  await writeFileAtomic(path.join(dir, 'optimizer.bin'), new Uint8Array(data));
  await writeFileAtomic(path.join(dir, 'optimizer.json'), JSON.stringify(specs));
  await writeFileAtomic(path.join(dir, 'state.json'), JSON.stringify(state, null, 2) + '\n');
}

export async function loadCheckpoint(dir: string): Promise<{ model: tf.LayersModel; meta: ModelMeta; optimizer: tf.Optimizer; state: CheckpointState }> {
  const stateText = await fs.readFile(path.join(dir, 'state.json'), 'utf8').catch(() => undefined);
  if (!stateText) throw new UserError(`--resume: no finished checkpoint in ${dir}; start without --resume`);
  const state = JSON.parse(stateText) as CheckpointState;
  const { model, meta } = await loadModel(dir);
  const specs = JSON.parse(await fs.readFile(path.join(dir, 'optimizer.json'), 'utf8')) as tf.io.WeightsManifestEntry[];
  const bin = await fs.readFile(path.join(dir, 'optimizer.bin'));
  const map = tf.io.decodeWeights(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer, specs);
  const optimizer = makeOptimizer(state.recipe);
  await optimizer.setWeights(specs.map((s) => ({ name: s.name, tensor: map[s.name] })));
  return { model, meta, optimizer, state };
}
