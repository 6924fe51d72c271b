// Convolution weight gradients deferred to barrier waits (src/train/deferred-grads.ts): the same bits as
// computing them in the backward pass, whenever they are computed; a weight shared by two convolutions is
// refused instead of trained with a zero gradient; and a barrier wait does the idle work it is given.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/model/backend.js';
import { buildResNet } from '../src/model/zoo.js';
import { fastBatchNorm } from '../src/train/sync-bn.js';
import { plainConvolutions } from '../src/train/plain-conv.js';
import { deferConvFilterGradients, DeferredFilterGradients } from '../src/train/deferred-grads.js';
import { waitUntil } from '../src/util/barrier.js';
import { Rng } from '../src/util/rng.js';

test('deferred convolution weight gradients have the bits of immediate ones, computed in any order', async () => {
  await initBackend('wasm');
  const model = buildResNet({ inputSize: 32, numClasses: 3, width: 4, depth: 1, stages: 3, seed: 1 });
  fastBatchNorm(model);
  plainConvolutions(model);
  const rng = new Rng(3, 'deferred');
  const x = tf.tensor4d(Float32Array.from({ length: 4 * 32 * 32 * 3 }, () => rng.normal()), [4, 32, 32, 3]);
  const t = tf.oneHot(tf.tensor1d([0, 1, 2, 1], 'int32'), 3).toFloat();
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const f = () => tf.losses.softmaxCrossEntropy(t, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar;
  const want = tf.variableGrads(f, vars).grads;

  const d = new DeferredFilterGradients();
  deferConvFilterGradients(d);
  d.active = true;
  const got = tf.variableGrads(f, vars).grads;
  d.active = false;
  const convs = vars.filter((v) => v.rank === 4);
  assert.ok(convs.length >= 7, `the model has ${convs.length} conv kernels`);
  // Placeholders until resolved; compute two now (as a barrier wait would), the rest on demand.
  for (const v of convs) assert.equal(got[v.name].max().dataSync()[0], 0, `${v.name} is still a placeholder`);
  assert.equal(d.runOne(), true);
  assert.equal(d.runOne(), true);
  for (const v of [...vars].reverse()) {
    const g = d.resolve(got[v.name]);
    assert.deepEqual(g.dataSync(), want[v.name].dataSync(), `${v.name}: the same bits`);
    if (g !== got[v.name]) g.dispose();
  }
  d.end();
  assert.equal(d.runOne(), false, 'nothing left pending');
  // Inactive: tfjs's own gradient, nothing deferred.
  const again = tf.variableGrads(f, vars).grads;
  for (const v of convs) assert.deepEqual(again[v.name].dataSync(), want[v.name].dataSync());
  assert.equal(d.runOne(), false);

  // One kernel in two convolutions: tfjs sums its two gradients, and a sum of placeholders is wrong.
  const w = tf.variable(tf.randomNormal([3, 3, 3, 3], 0, 0.1, 'float32', 7));
  const shared = () => tf.conv2d(tf.conv2d(x, w, 1, 'same'), w, 1, 'same').square().mean() as tf.Scalar;
  d.active = true;
  const sg = tf.variableGrads(shared, [w]).grads;
  d.active = false;
  assert.throws(() => d.end(), /shared by two convolutions.*--train-workers 1/);
  tf.dispose(Object.values(sg));
});

test('a barrier wait does its idle work until ready, and none once ready', () => {
  const words = new Int32Array(new SharedArrayBuffer(8));
  const ctl = new Int32Array(new SharedArrayBuffer(8));
  let calls = 0;
  // The third piece of work is the other rank arriving.
  waitUntil(words, 0, (v) => v === 1, ctl, () => {
    calls++;
    if (calls === 3) Atomics.store(words, 0, 1);
    return true;
  });
  assert.equal(calls, 3);
  waitUntil(words, 0, (v) => v === 1, ctl, () => {
    calls++;
    return true;
  });
  assert.equal(calls, 3, 'already ready: no work done');
});
