// Fine-tuning (`snapmix train --init MODEL`): a new zoo model for the target classes whose backbone (every
// layer but the classifier) starts from a trained model's weights, with options fine-tuning recipes use:
// a frozen stem, and a smaller learning rate for the backbone than for the new classifier.
import type * as tf from '@tensorflow/tfjs';
import { loadModel } from '../model/io.js';
import { buildResNet, ZOO_CLASSIFIER_LAYER, type ResNetOptions } from '../model/zoo.js';
import { UserError } from '../util/errors.js';

/** The zoo architecture of a trained model, read from its layers (stem width, blocks per stage, stages). */
function zooArchOf(model: tf.LayersModel, file: string): Pick<ResNetOptions, 'width' | 'depth' | 'stages'> {
  const names = model.layers.map((l) => l.name);
  let stem: tf.Tensor | undefined;
  try {
    stem = model.getLayer('stem_conv').getWeights()[0];
  } catch {
    throw new UserError(`--init ${file} is not a snapmix zoo model (no stem_conv layer); fine-tuning starts from a model 'snapmix train' wrote`);
  }
  const stages = new Set(names.map((n) => /^s(\d+)b\d+_/.exec(n)?.[1]).filter(Boolean)).size;
  const depth = new Set(names.map((n) => /^s0b(\d+)_/.exec(n)?.[1]).filter(Boolean)).size;
  return { width: stem.shape[3]!, depth, stages };
}

export interface InitResult { model: tf.LayersModel; copied: number; arch: Pick<ResNetOptions, 'width' | 'depth' | 'stages'> }

/** A zoo model for (size, classes) with every backbone layer's weights from the model in dir. */
export async function modelFromBackbone(dir: string, o: { inputSize: number; numClasses: number; seed: number; freezeStem: boolean }): Promise<InitResult> {
  const { model: src } = await loadModel(dir);
  const arch = zooArchOf(src, dir);
  const model = buildResNet({ inputSize: o.inputSize, numClasses: o.numClasses, ...arch, seed: o.seed });
  let copied = 0;
  for (const layer of model.layers) {
    if (layer.name === ZOO_CLASSIFIER_LAYER || !layer.getWeights().length) continue;
    let from: tf.layers.Layer;
    try {
      from = src.getLayer(layer.name);
    } catch {
      throw new UserError(`--init ${dir} has no layer ${layer.name}: not the same zoo architecture`);
    }
    const w = from.getWeights();
    const want = layer.getWeights().map((t) => t.shape.join('×'));
    if (w.map((t) => t.shape.join('×')).join() !== want.join()) throw new UserError(`--init ${dir}: layer ${layer.name} holds ${w.map((t) => t.shape.join('×')).join(', ')}, the student needs ${want.join(', ')}`);
    layer.setWeights(w);
    copied++;
    if (o.freezeStem && layer.name.startsWith('stem_')) layer.trainable = false;
  }
  src.dispose();
  return { model, copied, arch };
}

/** A zoo backbone layer (stem or a residual block), as opposed to a classifier or the mid-level head. */
const isBackboneLayer = (name: string) => /^stem_|^s\d+b\d+_/.test(name);

/** Per trainable weight: the factor its gradient is scaled by (backbone: backboneLr; new layers: 1). */
export function gradientScales(model: tf.LayersModel, backboneLr: number): number[] {
  const owner = new Map<string, string>();
  for (const l of model.layers) for (const w of l.trainableWeights) owner.set(w.name, l.name);
  return model.trainableWeights.map((w) => (isBackboneLayer(owner.get(w.name) ?? '') ? backboneLr : 1));
}
