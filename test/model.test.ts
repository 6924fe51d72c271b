import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/model/backend.js';
import { buildResNet, ZOO_CLASSIFIER_LAYER, ZOO_FEATURE_LAYER } from '../src/model/zoo.js';
import { loadModel, saveModel } from '../src/model/io.js';
import { computeCams, findCamHead } from '../src/model/cam-head.js';
import { tmpDir } from './helpers/fixtures.js';

test('save/load round trip gives identical predictions; files are model.json + content-named weights', async () => {
  await initBackend('wasm');
  const model = buildResNet({ inputSize: 32, numClasses: 5, width: 8, depth: 1, stages: 2, seed: 3 });
  const dir = path.join(await tmpDir(), 'm');
  await saveModel(model, dir, { classNames: ['a', 'b', 'c', 'd', 'e'], inputSize: 32 });
  await fs.writeFile(path.join(dir, 'metrics.jsonl'), '{}\n');
  const x = tf.randomUniform([3, 32, 32, 3], -1, 1, 'float32', 1);
  const before = await (model.predict(x) as tf.Tensor).data();
  // A second save replaces the weights file and keeps unrelated files.
  await saveModel(model, dir, { classNames: ['a', 'b', 'c', 'd', 'e'], inputSize: 32 });
  const files = (await fs.readdir(dir)).sort();
  assert.equal(files.length, 3);
  assert.ok(files.includes('metrics.jsonl') && files.includes('model.json'));
  assert.match(files.find((f) => f.startsWith('weights'))!, /^weights\.[0-9a-f]{12}\.bin$/);
  const loaded = await loadModel(dir);
  const after = await (loaded.model.predict(x) as tf.Tensor).data();
  assert.deepEqual(Array.from(after), Array.from(before));
  assert.deepEqual(loaded.meta.classNames, ['a', 'b', 'c', 'd', 'e']);
  assert.match(loaded.fingerprint, /^[0-9a-f]{64}$/);
  await assert.rejects(loadModel(path.join(dir, 'missing')), /no model at/);
});

test('CAM head: found in zoo models and in a user Keras-style model; CAM = ReLU(f)·W + b', async () => {
  await initBackend('wasm');
  const zoo = buildResNet({ inputSize: 32, numClasses: 4, width: 8, depth: 1, stages: 2, seed: 1 });
  const h = findCamHead(zoo);
  assert.equal(h.featureLayer.name, ZOO_FEATURE_LAYER);
  assert.equal(h.classifier.name, ZOO_CLASSIFIER_LAYER);

  // A user model: conv → GAP → dropout → dense(softmax), as a converted Keras model looks.
  const inp = tf.input({ shape: [16, 16, 3] });
  const f = tf.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', name: 'last_conv' }).apply(inp) as tf.SymbolicTensor;
  const g = tf.layers.globalAveragePooling2d({}).apply(f) as tf.SymbolicTensor;
  const d = tf.layers.dropout({ rate: 0.2 }).apply(g) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 3, activation: 'softmax', name: 'head' }).apply(d) as tf.SymbolicTensor;
  const user = tf.model({ inputs: inp, outputs: out });
  const uh = findCamHead(user);
  assert.equal(uh.featureLayer.name, 'last_conv');
  assert.equal(uh.classifier.name, 'head');
  assert.equal(uh.outputsProbabilities, true);

  // CAM against a direct computation.
  const x = tf.randomNormal([2, 16, 16, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
  const labels = Int32Array.from([2, 0]);
  const { cams, h: ch, w: cw, probs } = computeCams(uh, x, labels);
  assert.equal(ch, 16);
  assert.equal(cw, 16);
  const feat = (await tf.model({ inputs: inp, outputs: f }).predict(x) as tf.Tensor).arraySync() as number[][][][];
  const [W, b] = uh.classifier.getWeights().map((t) => t.arraySync()) as [number[][], number[]];
  for (const [n, y, xx] of [[0, 3, 5], [1, 15, 0], [1, 7, 9]]) {
    let expect = b[labels[n]];
    for (let k = 0; k < 6; k++) expect += Math.max(0, feat[n][y][xx][k]) * W[k][labels[n]];
    assert.ok(Math.abs(cams[n * 256 + y * 16 + xx] - expect) < 1e-4, `cam at ${n},${y},${xx}`);
  }
  const p = await (user.predict(x) as tf.Tensor).data();
  assert.ok(Array.from(p).every((v, i) => Math.abs(v - probs[i]) < 1e-6));

  // Overrides and errors.
  assert.equal(findCamHead(user, { featureLayer: 'last_conv', classifierLayer: 'head' }).classifier.name, 'head');
  assert.throws(() => findCamHead(user, { featureLayer: 'nope' }), /--feature-layer nope: no such layer/);
  const flat = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [4, 4, 3] }), tf.layers.dense({ units: 2 })] });
  assert.throws(() => findCamHead(flat), /model has no CAM head: no GlobalAveragePooling2D/);
});

test('zoo init is reproducible: the same seed gives identical weights (tfjs ignores seed 0, so none is 0)', async () => {
  await initBackend('wasm');
  const sums = async (seed: number) => {
    const m = buildResNet({ inputSize: 32, numClasses: 3, width: 8, depth: 1, stages: 2, seed });
    const out = await Promise.all(m.getWeights().map(async (w) => Array.from(await w.data())));
    m.dispose();
    return out;
  };
  const a = await sums(0);
  assert.deepEqual(await sums(0), a);
  assert.notDeepEqual(await sums(1), a);
});
