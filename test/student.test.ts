// Student training from shards: streaming + shuffle buffer, soft-label loss, resume, --midlevel, HF dirs, bad input.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/model/backend.js';
import { writeSynth, SYNTH_DEFAULTS } from '../src/data/synth.js';
import { openDataset, splitRecords } from '../src/data/index.js';
import { generate } from '../src/pipeline/generate.js';
import { trainStudent } from '../src/train/student.js';
import { openShardSets } from '../src/train/shard-set.js';
import { shardSource } from '../src/train/shard-source.js';
import { makePool } from '../src/pool/pools.js';
import { loadModel, DEFAULT_PREPROCESS } from '../src/model/io.js';
import { findCamHead } from '../src/model/cam-head.js';
import { DEFAULT_RECIPE } from '../src/train/recipe.js';
import { makeTeacher, wasmTeacher } from './helpers/teacher.js';
import { tmpDir } from './helpers/fixtures.js';
import { cli } from './helpers/cli.js';

let base = '';
let data = '';
let shards = '';
const recipe = { ...DEFAULT_RECIPE, epochs: 3, batchSize: 8, lr: 0.02 };

before(async () => {
  base = await tmpDir();
  data = path.join(base, 'data');
  shards = path.join(base, 'shards');
  await writeSynth({ ...SYNTH_DEFAULTS, out: data, classes: 3, perClass: 8, testPerClass: 3, size: 32 });
  await initBackend('wasm');
  const ds = await openDataset(data);
  await makeTeacher(path.join(base, 'teacher'), ds.classNames, 32);
  await generate({
    config: { method: 'snapmix', rounds: 2, size: 32, resize: 32, crop: 'center', flip: true, beta: 5, prob: 1, seed: 0, shardSize: 10, format: 'png', quality: 90 },
    dataset: ds, records: splitRecords(ds, 'train'), teacher: await wasmTeacher(path.join(base, 'teacher')), allowWeakTeacher: true, out: shards, workers: 2, camBatch: 8, strict: false, overwrite: false,
  });
});

const student = async (out: string, extra: Partial<Parameters<typeof trainStudent>[0]> = {}) =>
  trainStudent({ shards: [shards], val: await openDataset(data), valName: data, out, recipe, width: 8, stages: 2, workers: 2, bufferSize: 7, ...extra });

test('shard source: every row once per epoch through the shuffle buffer, seeded order, soft targets', async () => {
  const ds = await openDataset(data);
  const sets = await openShardSets([shards], ds.classNames, data);
  assert.equal(sets[0].files.length, 5);
  const pool = makePool('decode-worker', 2);
  try {
    const src = shardSource({ sets, numClasses: 3, size: 32, batchSize: 4, seed: 1, bufferSize: 7, pre: DEFAULT_PREPROCESS, pool });
    const epochTargets = async (e: number) => {
      const rows: string[] = [];
      for await (const b of src.epoch(e)) {
        assert.equal(b.x.length, b.n * 32 * 32 * 3);
        for (let i = 0; i < b.n; i++) rows.push(Array.from(b.targets.subarray(i * 3, i * 3 + 3), (v) => v.toFixed(5)).join(','));
      }
      return rows;
    };
    const e0 = await epochTargets(0);
    const e0again = await epochTargets(0);
    const e1 = await epochTargets(1);
    assert.equal(e0.length, 48);
    assert.equal(src.batchesPerEpoch, 12);
    assert.deepEqual(e0, e0again, 'same seed and epoch → same order');
    assert.notDeepEqual(e0, e1, 'another epoch → another order');
    assert.deepEqual([...e0].sort(), [...e1].sort(), 'each row exactly once per epoch');
  } finally {
    await pool.destroy();
  }
});

test('train a student from shards; an interrupted run resumed ends with the same weights', async () => {
  const full = path.join(base, 'student-full');
  const r = await student(full);
  assert.equal(r.history.length, 3);
  const metrics = (await fs.readFile(path.join(full, 'metrics.jsonl'), 'utf8')).trim().split('\n');
  assert.equal(metrics.length, 3);
  const cut = path.join(base, 'student-cut');
  await student(cut, { stopAfterEpoch: 2 });
  assert.equal((await fs.readFile(path.join(cut, 'metrics.jsonl'), 'utf8')).trim().split('\n').length, 2);
  await assert.rejects(student(cut), /already holds a model; pass --resume/);
  const resumed = await student(cut, { resume: true });
  assert.equal(resumed.history.length, 1);
  assert.equal(resumed.history[0].epoch, 3);
  const weightsOf = async (d: string) => (await fs.readdir(path.join(d, 'checkpoint'))).filter((f) => f.startsWith('weights.'));
  assert.deepEqual(await weightsOf(cut), await weightsOf(full), 'checkpoint weights (content-named) identical');
  const a = (await fs.readFile(path.join(full, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l).train_loss);
  const b = (await fs.readFile(path.join(cut, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l).train_loss);
  assert.deepEqual(b, a);
});

test('--midlevel: a Baseline+ head on mid-level features; saved model predicts with summed logits', async () => {
  const out = path.join(base, 'student-mid');
  await student(out, { midlevel: true, recipe: { ...recipe, epochs: 1 } });
  const { model } = await loadModel(out);
  const names = model.layers.map((l) => l.name);
  for (const n of ['mid_stop_gradient', 'mid_conv', 'mid_gmp', 'mid_classifier', 'logits_sum']) assert.ok(names.includes(n), n);
  assert.equal(findCamHead(model).classifier.name, 'classifier');
  const x = tf.randomNormal([2, 32, 32, 3]);
  const sum = model.predict(x) as tf.Tensor;
  const parts = tf.model({ inputs: model.inputs, outputs: [model.getLayer('classifier').output as tf.SymbolicTensor, model.getLayer('mid_classifier').output as tf.SymbolicTensor] }).predict(x) as tf.Tensor[];
  const diff = await tf.max(tf.abs(tf.sub(sum, tf.add(parts[0], parts[1])))).data();
  assert.ok(diff[0] < 1e-5);
  const e = cli(['eval', '--model', out, '--data', data, '--json', '--backend', 'wasm']);
  assert.equal(e.code, 0, e.stderr);
});

test('an HF save_to_disk directory (state.json, no manifest) trains too', async () => {
  const hf = path.join(base, 'hf');
  await fs.mkdir(hf);
  for (const f of await fs.readdir(shards)) if (f.endsWith('.arrow') || f === 'state.json' || f === 'dataset_info.json') await fs.copyFile(path.join(shards, f), path.join(hf, f));
  const r = await trainStudent({ shards: [hf], val: await openDataset(data), valName: data, out: path.join(base, 'student-hf'), size: 32, recipe: { ...recipe, epochs: 1 }, width: 8, stages: 2, workers: 1, bufferSize: 16 });
  assert.equal(r.history.length, 1);
});

test('bad input before training: class-list mismatch, sha256 mismatch, empty shard directory', async () => {
  const out = path.join(base, 'bad-student');
  const other = path.join(base, 'other');
  await writeSynth({ ...SYNTH_DEFAULTS, out: other, classes: 4, perClass: 2, testPerClass: 1, size: 32 });
  const r1 = cli(['train', '--shards', shards, '--val', other, '--out', out, '--backend', 'wasm']);
  assert.equal(r1.code, 2);
  assert.match(r1.stderr, /different class lists \(3 classes vs 4\)/);
  const tampered = path.join(base, 'tampered');
  await fs.cp(shards, tampered, { recursive: true });
  const f = path.join(tampered, 'data-00001-of-00005.arrow');
  const buf = await fs.readFile(f);
  buf[buf.length - 20] ^= 0xff;
  await fs.writeFile(f, buf);
  const r2 = cli(['train', '--shards', tampered, '--val', data, '--out', out, '--backend', 'wasm']);
  assert.equal(r2.code, 2);
  assert.match(r2.stderr, /data-00001-of-00005.arrow: sha256 .* does not match the manifest/);
  const empty = path.join(base, 'empty-shards');
  await fs.mkdir(empty);
  const r3 = cli(['train', '--shards', empty, '--val', data, '--out', out, '--backend', 'wasm']);
  assert.equal(r3.code, 2);
  assert.match(r3.stderr, /--shards .*empty-shards is empty/);
  assert.equal(await fs.stat(out).then(() => true, () => false), false, 'nothing written');
});

test('--refresh-every: the student becomes the teacher and the shards are regenerated with its CAMs', async () => {
  const { makeRefresher } = await import('../src/pipeline/refresh.js');
  const ds = await openDataset(data);
  await initBackend('wasm');
  const lines: string[] = [];
  const out = path.join(base, 'student-refresh');
  const afterEpoch = await makeRefresher({ every: 1, epochs: 2, shards, data: ds, backend: 'wasm', workers: 2, log: (l) => lines.push(l) });
  const r = await trainStudent({ shards: [shards], val: ds, valName: data, out, recipe: { ...recipe, epochs: 2 }, width: 8, stages: 2, workers: 2, bufferSize: 7, log: (l) => lines.push(l), afterEpoch });
  assert.equal(r.history.length, 2);
  const refreshed = path.join(out, 'refresh', 'shards-e1');
  const m = JSON.parse(await fs.readFile(path.join(refreshed, 'manifest.json'), 'utf8'));
  const orig = JSON.parse(await fs.readFile(path.join(shards, 'manifest.json'), 'utf8'));
  assert.notEqual(m.teacher.fingerprint, orig.teacher.fingerprint, 'CAMs from the student, not the first teacher');
  assert.equal(m.config.seed, orig.config.seed + 1, 'new draws');
  assert.equal(m.counts.planned, orig.counts.planned);
  assert.ok(lines.some((l) => l.includes(`refresh: training on ${refreshed}`)), lines.join('\n'));
  // The refresh is refused for shards that are not SnapMix.
  const cut = path.join(base, 'cut-shards');
  await generate({
    config: { method: 'cutmix', rounds: 1, size: 32, resize: 32, crop: 'center', flip: true, beta: 3, prob: 1, seed: 0, shardSize: 10, format: 'png', quality: 90 },
    dataset: ds, records: splitRecords(ds, 'train'), out: cut, workers: 1, camBatch: 8, strict: false, overwrite: false,
  });
  await assert.rejects(makeRefresher({ every: 1, epochs: 2, shards: cut, data: ds, backend: 'wasm', workers: 1, log: () => {} }), /regenerates SnapMix shards/);
});
