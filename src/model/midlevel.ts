// The paper's "Baseline+" head (--midlevel): mid-level features (gradient stopped) → 1×1 conv + ReLU →
// global max pooling → its own classifier. Trained on the same mixed labels; logits added at test time.
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../util/errors.js';

/** Identity forward, zero gradient: the mid-level head must not pull on the backbone. */
class StopGradient extends tf.layers.Layer {
  static className = 'StopGradient';
  call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    const f = tf.customGrad(((a: tf.Tensor) => ({ value: a.clone(), gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy) })) as unknown as Parameters<typeof tf.customGrad>[0]);
    return f(x) as tf.Tensor;
  }
  computeOutputShape(s: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return s;
  }
}
tf.serialization.registerClass(StopGradient);

export const MIDLEVEL_CLASSIFIER = 'mid_classifier';

/** The default mid-level layer of a zoo model: the output of the second-to-last stage. */
function defaultMidLayer(model: tf.LayersModel): string {
  const outs = model.layers.map((l) => l.name).filter((n) => /^s\d+b\d+_out$|^cam_features$/.test(n));
  const stages = [...new Set(outs.map((n) => (n === 'cam_features' ? Infinity : Number(n.slice(1).split('b')[0]))))].sort((a, b) => a - b);
  const prev = stages.length > 1 ? stages[stages.length - 2] : undefined;
  const name = prev === undefined ? undefined : outs.filter((n) => n.startsWith(`s${prev}b`)).pop();
  if (!name) throw new UserError('--midlevel needs a model with at least two stages; pass --mid-layer NAME');
  return name;
}

export interface MidlevelModels {
  /** Two outputs: [main logits, mid-level logits]; what the loop trains. */
  train: tf.LayersModel;
  /** One output: their sum; what is evaluated and saved. */
  deploy: tf.LayersModel;
}

export function withMidlevelHead(base: tf.LayersModel, midLayer: string | undefined, numClasses: number, seed: number): MidlevelModels {
  const name = midLayer ?? defaultMidLayer(base);
  let layer: tf.layers.Layer;
  try {
    layer = base.getLayer(name);
  } catch {
    throw new UserError(`--mid-layer ${name}: no such layer in the student`);
  }
  const feat = layer.output as tf.SymbolicTensor;
  if (feat.shape.length !== 4) throw new UserError(`--mid-layer ${name} must output a 4-D feature map`);
  const stopped = new StopGradient({ name: 'mid_stop_gradient' }).apply(feat) as tf.SymbolicTensor;
  const channels = feat.shape[3] as number;
  const conv = tf.layers.conv2d({ filters: channels * 2, kernelSize: 1, activation: 'relu', name: 'mid_conv', kernelInitializer: tf.initializers.heNormal({ seed: seed * 1000 + 777 }) }).apply(stopped) as tf.SymbolicTensor;
  const pooled = tf.layers.globalMaxPooling2d({ name: 'mid_gmp' }).apply(conv) as tf.SymbolicTensor;
  const midLogits = tf.layers.dense({ units: numClasses, name: MIDLEVEL_CLASSIFIER, kernelInitializer: tf.initializers.glorotUniform({ seed: seed * 1000 + 778 }) }).apply(pooled) as tf.SymbolicTensor;
  const main = base.outputs[0];
  const sum = tf.layers.add({ name: 'logits_sum' }).apply([main, midLogits]) as tf.SymbolicTensor;
  return {
    train: tf.model({ inputs: base.inputs, outputs: [main, midLogits], name: 'student_midlevel_train' }),
    deploy: tf.model({ inputs: base.inputs, outputs: sum, name: 'student_midlevel' }),
  };
}
