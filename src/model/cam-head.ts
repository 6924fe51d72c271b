// Find a model's CAM head: the last 4-D layer feeding a GlobalAveragePooling2D and the Dense classifier
// after it. CAM = ReLU(features)·W + b (docs/SHARDS.md "SnapMix semantics"), computed from one forward pass.
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../util/errors.js';

export interface CamHead {
  featureLayer: tf.layers.Layer;
  classifier: tf.layers.Layer;
  /** Model with two outputs: features [N,h,w,K] and class scores [N,C]. */
  twoHead: tf.LayersModel;
  /** True when the classifier already applies softmax (its output are probabilities). */
  outputsProbabilities: boolean;
  numClasses: number;
}

// Layers that pass the pooled vector through unchanged at inference.
const PASS_THROUGH = new Set(['Dropout', 'Flatten', 'Activation', 'ReLU', 'Reshape']);

function outboundLayers(model: tf.LayersModel, layer: tf.layers.Layer): tf.layers.Layer[] {
  return model.layers.filter((l) => l.inboundNodes.some((n) => n.inboundLayers.includes(layer)));
}

function describeLayers(model: tf.LayersModel): string {
  return model.layers.map((l) => `${l.name}(${l.getClassName()})`).join(', ');
}

export function findCamHead(model: tf.LayersModel, opts: { featureLayer?: string; classifierLayer?: string } = {}): CamHead {
  const byName = (name: string, flag: string) => {
    try {
      return model.getLayer(name);
    } catch {
      throw new UserError(`${flag} ${name}: no such layer; layers are ${describeLayers(model)}`);
    }
  };
  let feature: tf.layers.Layer | undefined = opts.featureLayer ? byName(opts.featureLayer, '--feature-layer') : undefined;
  let classifier: tf.layers.Layer | undefined = opts.classifierLayer ? byName(opts.classifierLayer, '--classifier-layer') : undefined;

  if (!feature || !classifier) {
    const gaps = model.layers.filter((l) => l.getClassName() === 'GlobalAveragePooling2D');
    const gap = gaps[gaps.length - 1];
    if (!gap && (!feature || !classifier)) {
      throw new UserError(
        `model has no CAM head: no GlobalAveragePooling2D layer found. Pass --feature-layer and --classifier-layer, ` +
          `or use a model ending in conv features → GlobalAveragePooling2D → Dense. Layers: ${describeLayers(model)}`,
      );
    }
    if (!feature) {
      const inbound = gap.inboundNodes[0]?.inboundLayers[0];
      if (!inbound) throw new UserError(`GlobalAveragePooling2D layer ${gap.name} has no input layer`);
      feature = inbound;
    }
    if (!classifier) {
      let cur: tf.layers.Layer = gap;
      for (let hops = 0; hops < 8 && !classifier; hops++) {
        const next = outboundLayers(model, cur);
        if (next.length !== 1) break;
        if (next[0].getClassName() === 'Dense') classifier = next[0];
        else if (PASS_THROUGH.has(next[0].getClassName())) cur = next[0];
        else break;
      }
      if (!classifier) {
        throw new UserError(`model has no CAM head: no Dense layer directly after ${gap.name}; pass --classifier-layer`);
      }
    }
  }
  const featShape = feature.outputShape as number[];
  if (!Array.isArray(featShape) || featShape.length !== 4) {
    throw new UserError(`feature layer ${feature.name} must output a 4-D map [N,h,w,K], got ${JSON.stringify(featShape)}`);
  }
  if (classifier.getClassName() !== 'Dense') {
    throw new UserError(`classifier layer ${classifier.name} must be Dense, got ${classifier.getClassName()}`);
  }
  const [kernel] = classifier.getWeights();
  if (!kernel || kernel.shape[0] !== featShape[3]) {
    throw new UserError(
      `classifier ${classifier.name} takes ${kernel?.shape[0]} inputs but feature layer ${feature.name} has ${featShape[3]} channels`,
    );
  }
  const activation = (classifier.getConfig() as { activation?: string }).activation;
  const twoHead = tf.model({ inputs: model.inputs, outputs: [feature.output as tf.SymbolicTensor, classifier.output as tf.SymbolicTensor] });
  return {
    featureLayer: feature,
    classifier,
    twoHead,
    outputsProbabilities: activation === 'softmax',
    numClasses: kernel.shape[1] as number,
  };
}

export interface CamBatch {
  /** [N, h, w] raw CAM of the requested class per image. */
  cams: Float32Array;
  h: number;
  w: number;
  /** [N, C] class probabilities. */
  probs: Float32Array;
}

/**
 * One forward pass: raw CAM of class labels[n] for each image, plus probabilities. CAM uses
 * ReLU(features), the classifier's weights and its bias, as the official SnapMix code does.
 */
export function computeCams(head: CamHead, input: tf.Tensor4D, labels: Int32Array): CamBatch {
  return tf.tidy(() => {
    const [feat, out] = head.twoHead.predict(input) as tf.Tensor[];
    const [n, h, w, k] = feat.shape as number[];
    const [kernel, bias] = head.classifier.getWeights() as [tf.Tensor2D, tf.Tensor1D | undefined];
    const wSel = tf.gather(kernel, tf.tensor1d(labels, 'int32'), 1).transpose() as tf.Tensor2D; // [N, K]
    const f = tf.relu(feat).reshape([n, h * w, k]);
    let cam = tf.matMul(f, wSel.reshape([n, k, 1])).reshape([n, h * w]);
    if (bias) cam = cam.add(tf.gather(bias, tf.tensor1d(labels, 'int32')).reshape([n, 1]));
    const probs = head.outputsProbabilities ? out : tf.softmax(out);
    return { cams: cam.dataSync() as Float32Array, h, w, probs: probs.dataSync() as Float32Array };
  });
}
