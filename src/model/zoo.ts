// The model zoo: a small ResNet for 32–128 px whose end is the CAM head SnapMix needs:
// last conv features (ReLU) → GlobalAveragePooling2D → Dense classifier (logits).
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../util/errors.js';
import { checkOptions } from '../util/schemas.js';

export interface ResNetOptions {
  inputSize: number;
  numClasses: number;
  /** Channels of the first stage; stage s has width·2^s. */
  width: number;
  /** Basic blocks per stage. */
  depth: number;
  /** Number of stages (each after the first halves the resolution). */
  stages: number;
  /** Seed for weight initialisation, so a run is reproducible. */
  seed: number;
}

export { DEFAULT_RESNET } from './zoo-defaults.js';

/** Names the CAM-head discovery and the CAM extractor rely on for zoo models. */
export const ZOO_FEATURE_LAYER = 'cam_features';
export const ZOO_CLASSIFIER_LAYER = 'classifier';

function validateResNetOptions(o: ResNetOptions): void {
  const problems = checkOptions('train', { size: o.inputSize, width: o.width, depth: o.depth, stages: o.stages });
  if (!(Number.isInteger(o.numClasses) && o.numClasses >= 2)) problems.push(`a classifier needs at least 2 classes, got ${o.numClasses}`);
  if (problems.length) throw new UserError(problems.join('; '));
}

export function buildResNet(o: ResNetOptions): tf.LayersModel {
  validateResNetOptions(o);
  // tfjs treats seed 0 as "no seed" (random): start at 1 so every initialiser is reproducible.
  let seed = o.seed * 1000 + 1;
  const init = () => tf.initializers.heNormal({ seed: seed++ });
  const conv = (x: tf.SymbolicTensor, filters: number, k: number, stride: number, name: string) =>
    tf.layers
      .conv2d({ filters, kernelSize: k, strides: stride, padding: 'same', useBias: false, kernelInitializer: init(), name })
      .apply(x) as tf.SymbolicTensor;
  const bn = (x: tf.SymbolicTensor, name: string) =>
    tf.layers.batchNormalization({ momentum: 0.9, epsilon: 1e-5, name }).apply(x) as tf.SymbolicTensor;
  const relu = (x: tf.SymbolicTensor, name: string) => tf.layers.reLU({ name }).apply(x) as tf.SymbolicTensor;

  const input = tf.input({ shape: [o.inputSize, o.inputSize, 3], name: 'image' });
  // Stem: stride 2 above 48 px keeps the wasm cost low; CAMs stay at size/8 (64 px → 8×8) with 3 stages.
  const stemStride = o.inputSize > 48 ? 2 : 1;
  let x = relu(bn(conv(input, o.width, 3, stemStride, 'stem_conv'), 'stem_bn'), 'stem_relu');
  let channels = o.width;
  for (let s = 0; s < o.stages; s++) {
    const filters = o.width * 2 ** s;
    for (let b = 0; b < o.depth; b++) {
      const stride = s > 0 && b === 0 ? 2 : 1;
      const p = `s${s}b${b}`;
      let y = relu(bn(conv(x, filters, 3, stride, `${p}_conv1`), `${p}_bn1`), `${p}_relu1`);
      y = bn(conv(y, filters, 3, 1, `${p}_conv2`), `${p}_bn2`);
      let shortcut = x;
      if (stride !== 1 || channels !== filters) shortcut = bn(conv(x, filters, 1, stride, `${p}_proj`), `${p}_proj_bn`);
      const sum = tf.layers.add({ name: `${p}_add` }).apply([y, shortcut]) as tf.SymbolicTensor;
      const last = s === o.stages - 1 && b === o.depth - 1;
      x = relu(sum, last ? ZOO_FEATURE_LAYER : `${p}_out`);
      channels = filters;
    }
  }
  const pooled = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
  const logits = tf.layers
    .dense({ units: o.numClasses, name: ZOO_CLASSIFIER_LAYER, kernelInitializer: tf.initializers.glorotUniform({ seed: seed++ }) })
    .apply(pooled) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: logits, name: 'snapmix_resnet' });
}
