// Training and inference throughput of the zoo model: images/s, median of N timed repeats after a
// warm-up. Usage: npx tsx scripts/bench-train.ts [--backend wasm] [--size 64] [--batch 32] [--repeats 5] [--steps 5]
import * as tf from '@tensorflow/tfjs';
import { parseArgs } from 'node:util';
import { backendLine, initBackend, type BackendChoice } from '../src/model/backend.js';
import { buildResNet, DEFAULT_RESNET } from '../src/model/zoo.js';
import { machineLine, median } from './bench-common.js';

const { values } = parseArgs({
  options: {
    backend: { type: 'string', default: 'wasm' },
    size: { type: 'string', default: '64' },
    batch: { type: 'string', default: '32' },
    repeats: { type: 'string', default: '5' },
    steps: { type: 'string', default: '5' },
    classes: { type: 'string', default: '10' },
  },
});
const size = Number(values.size);
const batch = Number(values.batch);
const repeats = Number(values.repeats);
const steps = Number(values.steps);
const classes = Number(values.classes);

const info = await initBackend(values.backend as BackendChoice);
console.log(machineLine());
console.log(backendLine(info));
const model = buildResNet({ inputSize: size, numClasses: classes, ...DEFAULT_RESNET });
console.log(`model: zoo resnet width ${DEFAULT_RESNET.width} depth ${DEFAULT_RESNET.depth} stages ${DEFAULT_RESNET.stages} (${model.countParams()} params); input ${size}x${size}x3; batch ${batch}; ${classes} classes`);
console.log(`method: ${steps} batches per repeat, ${repeats} repeats after 2 warm-up batches; images/s = ${steps}·${batch} / repeat time; median reported`);

const x = tf.randomUniform([batch, size, size, 3], -2, 2, 'float32', 1);
const y = tf.oneHot(tf.tensor1d(Array.from({ length: batch }, (_, i) => i % classes), 'int32'), classes).toFloat();
const opt = tf.train.momentum(0.01, 0.9);
const trainStep = async () => {
  const cost = opt.minimize(() => tf.neg(tf.sum(tf.mul(y, tf.logSoftmax(model.apply(x, { training: true }) as tf.Tensor)), 1)).mean() as tf.Scalar, true)!;
  await cost.data();
  cost.dispose();
};
const inferStep = async () => {
  const p = model.predict(x) as tf.Tensor;
  await p.data();
  p.dispose();
};

async function measure(name: string, step: () => Promise<void>): Promise<void> {
  for (let i = 0; i < 2; i++) await step();
  const rates: number[] = [];
  for (let r = 0; r < repeats; r++) {
    const t0 = performance.now();
    for (let s = 0; s < steps; s++) await step();
    rates.push((steps * batch) / ((performance.now() - t0) / 1000));
  }
  console.log(`${name}: ${median(rates).toFixed(1)} images/s (median of ${repeats}; min ${Math.min(...rates).toFixed(1)}, max ${Math.max(...rates).toFixed(1)})`);
}

await measure('train', trainStep);
await measure('inference', inferStep);
