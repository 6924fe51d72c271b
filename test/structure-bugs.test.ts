// Bugs found reading the code (issue "A house the next maintainer can carry on", item 7), each shown
// failing before its fix: an unbounded mask cache, a refresh seed past the schema, a CAM cache whose
// cams.json shape was trusted, and students whose weights were never freed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { Lru } from '../src/util/lru.js';
import { refreshSeed } from '../src/pipeline/refresh.js';
import { resolveGenerateConfig } from '../src/shards/config.js';
import { readCamCache } from '../src/shards/cam-cache.js';
import { initBackend } from '../src/model/backend.js';
import { writeSynth, SYNTH_DEFAULTS } from '../src/data/synth.js';
import { openDataset, splitRecords } from '../src/data/index.js';
import { generate } from '../src/pipeline/generate.js';
import { trainStudent } from '../src/train/student.js';
import { DEFAULT_RECIPE } from '../src/train/recipe.js';
import { makeTeacher, wasmTeacher } from './helpers/teacher.js';
import { tmpDir } from './helpers/fixtures.js';

test('Lru keeps at most its capacity, dropping the least recently used', () => {
  const c = new Lru<number, string>(2);
  c.set(1, 'a');
  c.set(2, 'b');
  assert.equal(c.get(1), 'a'); // 1 is now the most recent
  c.set(3, 'c');
  assert.equal(c.size, 2);
  assert.equal(c.get(2), undefined, 'the least recently used went');
  assert.equal(c.get(1), 'a');
  assert.equal(c.get(3), 'c');
});

test('a refresh after the last seed stays inside the config schema', () => {
  const seed = refreshSeed(4294967295, 1);
  assert.equal(seed, 0);
  assert.doesNotThrow(() => resolveGenerateConfig({ method: 'snapmix', seed }));
  assert.equal(refreshSeed(3, 2), 5, 'an ordinary seed moves on by the epoch');
});

test('a CAM cache whose cams.json shape disagrees with cams.arrow is refused, and students free their weights', async () => {
  const base = await tmpDir();
  const data = path.join(base, 'data');
  await writeSynth({ ...SYNTH_DEFAULTS, out: data, classes: 3, perClass: 4, testPerClass: 1, size: 32 });
  await initBackend('wasm');
  const ds = await openDataset(data);
  await makeTeacher(path.join(base, 'teacher'), ds.classNames, 32);
  const shards = path.join(base, 'shards');
  await generate({
    config: { method: 'snapmix', rounds: 1, size: 32, resize: 32, seed: 0, shardSize: 20 },
    dataset: ds, records: splitRecords(ds, 'train'), teacher: await wasmTeacher(path.join(base, 'teacher')), allowWeakTeacher: true, out: shards, workers: 1, camBatch: 8, strict: false, overwrite: false,
  });
  const cams = path.join(shards, 'cams');
  const meta = JSON.parse(await fs.readFile(path.join(cams, 'cams.json'), 'utf8'));
  await readCamCache(cams);
  await fs.writeFile(path.join(cams, 'cams.json'), JSON.stringify({ ...meta, w: meta.w * 2 }));
  await assert.rejects(readCamCache(cams), /cams\.json says \d+×\d+ CAMs but cams\.arrow holds \d+ values per CAM/);

  const before = tf.memory().numTensors;
  await trainStudent({ shards: [shards], val: ds, valName: data, out: path.join(base, 'student'), recipe: { ...DEFAULT_RECIPE, epochs: 1, batchSize: 8 }, width: 8, stages: 2, workers: 1, bufferSize: 16, quiet: true });
  const left = tf.memory().numTensors - before;
  assert.ok(left <= 4, `${left} tensors left behind by one student`);
});
