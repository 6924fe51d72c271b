// Data-parallel training (--train-workers N): N = 1 and N = 2 follow the same loss curve (synchronised
// BatchNorm and summed gradients compute the full-batch step; only the float summation order differs),
// a fixed N is bit-reproducible, and --resume with N = 2 is exact.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { initBackend } from '../src/model/backend.js';
import { writeSynth, SYNTH_DEFAULTS } from '../src/data/synth.js';
import { openDataset, splitRecords } from '../src/data/index.js';
import { trainTeacher } from '../src/train/teacher.js';
import { trainStudent } from '../src/train/student.js';
import { generate } from '../src/pipeline/generate.js';
import { DEFAULT_RECIPE, type Recipe } from '../src/train/recipe.js';
import { microBatch, Replicas } from '../src/train/replicas.js';
import { fastBatchNorm } from '../src/train/sync-bn.js';
import { plainConvolutions } from '../src/train/plain-conv.js';
import { buildResNet } from '../src/model/zoo.js';
import { loadModel } from '../src/model/io.js';
import * as tf from '@tensorflow/tfjs';
import { tmpDir } from './helpers/fixtures.js';

let base = '';
let data = '';
let shards = '';
// 24 training images in batches of 23: the last batch has one row, so with N = 2 replica 1 sits out a
// step (zero gradient, still one apply) and BatchNorm reduces over the one active replica.
const recipe: Recipe = { ...DEFAULT_RECIPE, epochs: 3, batchSize: 23, lr: 0.05, warmup: 0, seed: 5, weightDecay: 5e-4 };

before(async () => {
  base = await tmpDir('snapmix-dp-');
  data = path.join(base, 'data');
  shards = path.join(base, 'shards');
  await writeSynth({ ...SYNTH_DEFAULTS, out: data, classes: 3, perClass: 8, testPerClass: 2, size: 32 });
  await initBackend('wasm');
  const dataset = await openDataset(data);
  await generate({
    config: { method: 'cutmix', rounds: 1, size: 32, seed: 2, shardSize: 10 }, dataset, records: splitRecords(dataset, 'train'),
    out: shards, workers: 2, camBatch: 8, strict: false, overwrite: false,
  });
});

/** The model's weight file (named weights.<sha>.bin by its content). */
const weights = async (dir: string) => fs.readFile(path.join(dir, (await fs.readdir(dir)).find((f) => /^weights\..*\.bin$/.test(f))!));

async function teacher(out: string, trainWorkers: number) {
  return trainTeacher({ dataset: await openDataset(data), out, size: 32, recipe, width: 8, stages: 2, quiet: true, trainWorkers });
}

test('micro-batches are contiguous, cover the batch once, and differ in size by at most one', () => {
  for (const [n, R] of [[32, 2], [23, 2], [1, 2], [7, 3], [5, 8]]) {
    const parts = Array.from({ length: R }, (_, r) => microBatch(n, r, R));
    assert.equal(parts[0][0], 0);
    assert.equal(parts[R - 1][1], n);
    parts.forEach(([lo, hi], r) => {
      if (r) assert.equal(lo, parts[r - 1][1]);
      assert.ok(hi - lo === Math.floor(n / R) || hi - lo === Math.ceil(n / R));
      if (r) assert.ok(hi - lo <= parts[r - 1][1] - parts[r - 1][0], 'larger micro-batches first');
    });
    assert.equal(parts.filter(([lo, hi]) => hi > lo).length, Math.min(n, R), 'the replicas with rows are ranks 0..n−1');
  }
});

test('the training fast path (one BatchNorm op, plain convolutions) gives tfjs-layers\' loss, gradients and moving averages', () => {
  const make = () => buildResNet({ inputSize: 32, numClasses: 3, width: 8, depth: 1, stages: 2, seed: 4 });
  const stock = make();
  const fast = make();
  assert.equal(fastBatchNorm(fast), 6); // stem, 2 in stage 0, 3 in stage 1 (with the projection)
  assert.equal(plainConvolutions(fast), 6);
  const x = tf.randomNormal([6, 32, 32, 3], 0.3, 1.2, 'float32', 3);
  const t = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2], 'int32'), 3).toFloat();
  const run = (m: tf.LayersModel) => {
    const vars = m.trainableWeights.map((w) => w.read() as tf.Variable);
    const { value, grads } = tf.variableGrads(() => tf.neg(tf.sum(tf.mul(t, tf.logSoftmax(m.apply(x, { training: true }) as tf.Tensor)))).div(6) as tf.Scalar, vars);
    return { loss: value.dataSync()[0], grads: vars.map((v) => grads[v.name].dataSync()), names: vars.map((v) => v.name) };
  };
  const a = run(stock);
  const b = run(fast);
  assert.ok(Math.abs(a.loss - b.loss) <= 1e-5 * Math.abs(a.loss), `loss ${a.loss} vs ${b.loss}`);
  a.grads.forEach((g, i) => {
    const scale = Math.max(1e-3, ...Array.from(g, Math.abs));
    const diff = Math.max(...Array.from(g, (v, j) => Math.abs(v - b.grads[i][j])));
    assert.ok(diff <= 1e-3 * scale, `${a.names[i]}: max |Δgrad| ${diff} of ${scale}`);
  });
  for (const l of stock.layers.filter((q) => q.getClassName() === 'BatchNormalization')) {
    const [, , mm, mv] = l.getWeights().map((w) => w.dataSync());
    const [, , fm, fv] = fast.getLayer(l.name).getWeights().map((w) => w.dataSync());
    mm.forEach((v, j) => assert.ok(Math.abs(v - fm[j]) <= 1e-5 + 1e-4 * Math.abs(v), `${l.name} moving mean`));
    mv.forEach((v, j) => assert.ok(Math.abs(v - fv[j]) <= 1e-5 + 1e-4 * Math.abs(v), `${l.name} moving variance`));
  }
  // Inference is untouched: with the same weights both models predict the same bits.
  stock.setWeights(fast.getWeights());
  assert.deepEqual((fast.predict(x) as tf.Tensor).dataSync(), (stock.predict(x) as tf.Tensor).dataSync());
});

test('teacher with --train-workers 1 and 2: the same loss curve within float tolerance; N = 2 twice gives identical weights', async () => {
  const one = await teacher(path.join(base, 't1'), 1);
  const two = await teacher(path.join(base, 't2'), 2);
  const again = await teacher(path.join(base, 't2b'), 2);
  assert.equal(one.history.length, 3);
  one.history.forEach((m, i) => {
    const d = Math.abs(m.train_loss - two.history[i].train_loss);
    assert.ok(d <= 2e-3 * Math.abs(m.train_loss), `epoch ${i + 1}: loss ${m.train_loss} (N=1) vs ${two.history[i].train_loss} (N=2)`);
  });
  // Training moved the model (the comparison is not of two untrained curves).
  assert.ok(one.history[2].train_loss < one.history[0].train_loss, JSON.stringify(one.history.map((m) => m.train_loss)));
  assert.deepEqual(await weights(path.join(base, 't2b')), await weights(path.join(base, 't2')), 'N = 2 is bit-reproducible');
  assert.deepEqual(again.history.map((m) => m.train_loss), two.history.map((m) => m.train_loss));
});

test('weight decay on the replicas (added to the summed gradient) is the in-process weight decay', async () => {
  const ds = await openDataset(data);
  const run = (out: string, trainWorkers: number, weightDecay: number) =>
    trainTeacher({ dataset: ds, out: path.join(base, out), size: 32, recipe: { ...recipe, epochs: 2, weightDecay }, width: 8, stages: 2, quiet: true, trainWorkers });
  // A strong decay, so that missing it (in the gradient or in the reported loss) would show.
  const one = await run('wd1', 1, 0.05);
  const two = await run('wd2', 2, 0.05);
  const none = await run('wd0', 2, 0);
  one.history.forEach((m, i) => {
    const d = Math.abs(m.train_loss - two.history[i].train_loss);
    assert.ok(d <= 2e-3 * m.train_loss, `epoch ${i + 1}: loss ${m.train_loss} (N=1) vs ${two.history[i].train_loss} (N=2)`);
    assert.ok(Math.abs(m.train_loss - none.history[i].train_loss) > 2e-2 * m.train_loss, 'the decay changes the loss enough for the check above to see it');
  });
  const [k1, k2] = await Promise.all(['wd1', 'wd2'].map(async (d) => {
    const { model } = await loadModel(path.join(base, d));
    const w = model.trainableWeights.filter((v) => /kernel/.test(v.name)).map((v) => Array.from(v.read().dataSync()));
    model.dispose();
    return w.flat();
  }));
  const scale = Math.max(...k1.map(Math.abs));
  const diff = Math.max(...k1.map((v, i) => Math.abs(v - k2[i])));
  assert.ok(diff <= 1e-3 * scale, `kernels differ by ${diff} of ${scale}`);
});

test('student with --train-workers 2: an interrupted run resumed gives the same weights as one uninterrupted run', async () => {
  const val = await openDataset(data);
  const run = (out: string, extra: { stopAfterEpoch?: number; resume?: boolean }) => trainStudent({
    shards: [shards], val, valName: data, out, recipe: { ...recipe, epochs: 4, batchSize: 8 }, width: 8, stages: 2,
    workers: 1, bufferSize: 16, quiet: true, trainWorkers: 2, ...extra,
  });
  const full = path.join(base, 's-full');
  const cut = path.join(base, 's-cut');
  const a = await run(full, {});
  await run(cut, { stopAfterEpoch: 2 });
  const b = await run(cut, { resume: true });
  assert.deepEqual(b.history.map((m) => m.epoch), [3, 4]);
  assert.deepEqual(b.history.map((m) => m.train_loss), a.history.slice(2).map((m) => m.train_loss));
  assert.deepEqual(await weights(path.join(cut, 'checkpoint')), await weights(path.join(full, 'checkpoint')));
  assert.deepEqual(await fs.readFile(path.join(cut, 'checkpoint', 'optimizer.bin')), await fs.readFile(path.join(full, 'checkpoint', 'optimizer.bin')));
});

test('a replica that dies mid-step fails the step and every later one, and close still returns', async () => {
  await initBackend('wasm');
  const model = buildResNet({ inputSize: 32, numClasses: 3, width: 8, depth: 1, stages: 2, seed: 4 });
  const optimizer = tf.train.momentum(0.05, 0.9);
  const reps = await Replicas.start({ model, optimizer, recipe: { ...recipe, batchSize: 8 }, n: 2, size: 32, numClasses: 3 });
  const n = 8;
  const batch = { x: new Float32Array(n * 32 * 32 * 3).map((_, i) => Math.sin(i)), targets: new Float32Array(n * 3).map((_, i) => (i % 3 === 0 ? 1 : 0)), labels: new Int32Array(n), n };
  const ok = await reps.step(batch, 0.05);
  assert.equal(ok.pred.length, n);
  assert.ok(Number.isFinite(ok.loss));
  const t0 = Date.now();
  const outcome = reps.step(batch, 0.05).then(() => 'resolved', (e: Error) => e);
  // Replica 1's thread ends while the step runs (as a crash or an out-of-memory kill would end it).
  await (reps as unknown as { pools: { destroy(): Promise<void> }[] }).pools[1].destroy();
  assert.ok((await outcome) instanceof Error, 'the step fails');
  assert.ok(Date.now() - t0 < 5000, 'the failure is reported promptly, not after a hang');
  await assert.rejects(reps.step(batch, 0.05));
  await reps.close();
  model.dispose();
});
