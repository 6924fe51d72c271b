// The replicas' SGD with momentum (src/train/momentum.ts) against tf.train.momentum: the same float32 bits
// over several steps with changing learning rates, and its state round-trips through tfjs's optimizer weights.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/model/backend.js';
import { momentumFromWeights, momentumStep, momentumStepSummed, momentumToWeights, summedGradient } from '../src/train/momentum.js';
import { Rng } from '../src/util/rng.js';

test('momentumStep gives tf.train.momentum\'s bits, and its state is tfjs\'s optimizer weights', async () => {
  await initBackend('wasm');
  const rng = new Rng(11, 'momentum');
  const shapes = [[3, 4], [5], [2, 2, 2]];
  const sizes = shapes.map((s) => s.reduce((a, b) => a * b, 1));
  const init = shapes.map((s, i) => Float32Array.from({ length: sizes[i] }, () => rng.normal()));
  const vars = init.map((v, i) => tf.variable(tf.tensor(v, shapes[i]), true, `m${i}/kernel`));
  const opt = tf.train.momentum(0.1, 0.9);
  const flat = new Float32Array(sizes.reduce((a, b) => a + b, 0));
  init.forEach((v, i) => flat.set(v, sizes.slice(0, i).reduce((a, b) => a + b, 0)));
  const state = momentumFromWeights([], vars.map((v) => v.name), sizes);
  for (const lr of [0.1, 0.05, 0.3, 0.01]) {
    const g = Float32Array.from({ length: flat.length }, () => rng.normal() * 3);
    let at = 0;
    const named = vars.map((v, i) => {
      const tensor = tf.tensor(g.subarray(at, at + sizes[i]), shapes[i]);
      at += sizes[i];
      return { name: v.name, tensor };
    });
    (opt as unknown as { setLearningRate(v: number): void }).setLearningRate(lr);
    opt.applyGradients(named);
    momentumStep(flat, state, g, lr, 0.9);
  }
  const want = new Float32Array(vars.flatMap((v) => Array.from(v.dataSync())));
  assert.deepEqual(flat, want, 'weights bit for bit');
  const theirs = await opt.getWeights();
  const ours = momentumToWeights(state, vars.map((v) => v.name), shapes);
  assert.deepEqual(ours.map((w) => w.name), theirs.map((w) => w.name));
  ours.forEach((w, i) => assert.deepEqual(Array.from(w.values), Array.from(theirs[i].tensor.dataSync())));
  // Back from tfjs's weights: the same state.
  const again = momentumFromWeights(theirs.map((w) => ({ name: w.name, values: w.tensor.dataSync() as Float32Array, shape: w.tensor.shape })), vars.map((v) => v.name), sizes);
  assert.equal(again.iter, 4);
  assert.deepEqual(again.acc, state.acc);
  assert.throws(() => momentumFromWeights(theirs.slice(0, 2).map((w) => ({ name: w.name, values: w.tensor.dataSync() as Float32Array, shape: w.tensor.shape })), vars.map((v) => v.name), sizes), /1 momentum slots for 3 weights/);
});

test('momentumStepSummed and summedGradient: the rows\' sum, weight decay, gradient factors (and the step) in one pass, the same bits as one after another', () => {
  const rng = new Rng(12, 'summed');
  const sizes = [7, 3, 11];
  const n = sizes.reduce((a, b) => a + b, 0);
  const segments = [{ size: 7, decay: 5e-4, scale: 1 }, { size: 3, decay: 0, scale: 0.1 }, { size: 11, decay: 1e-3, scale: 0.5 }];
  const w1 = Float32Array.from({ length: n }, () => rng.normal());
  const w2 = w1.slice();
  const s1 = momentumFromWeights([], ['a', 'b', 'c'], sizes);
  const s2 = momentumFromWeights([], ['a', 'b', 'c'], sizes);
  for (const lr of [0.1, 0.02, 0.2]) {
    const rows = [0, 1, 2].map(() => Float32Array.from({ length: n }, () => rng.normal()));
    // One after another, as the replicas did before: a float32 all-reduce, decay, factor, step.
    const g = new Float32Array(n);
    for (const r of rows) for (let i = 0; i < n; i++) g[i] += r[i];
    let at = 0;
    let l2 = 0;
    for (const seg of segments) {
      for (let i = at; i < at + seg.size; i++) {
        if (seg.decay) {
          g[i] += seg.decay * w1[i];
          l2 += w1[i] * w1[i];
        }
        g[i] *= seg.scale;
      }
      at += seg.size;
    }
    // The gradient alone (Adam's path), with the weights segment by segment.
    const alone = new Float32Array(n);
    const starts = [0, 7, 10];
    assert.equal(summedGradient(rows, segments, (k) => w1.subarray(starts[k], starts[k] + segments[k].size), alone), l2);
    assert.deepEqual(alone, g, 'summedGradient: the same bits');
    momentumStep(w1, s1, g, lr, 0.9);
    assert.equal(momentumStepSummed(w2, s2, rows, segments, lr, 0.9), l2, 'Σw² of the decayed weights');
  }
  assert.deepEqual(w2, w1);
  assert.deepEqual(s2.acc, s1.acc);
  assert.equal(s2.iter, 3);
});
