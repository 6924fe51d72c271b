// Fine-tuning: a backbone pretrained on the disjoint 'pretrain' design of the synthetic benchmark starts a
// student for the target classes (new classifier); --freeze-stem keeps the stem fixed and --backbone-lr
// scales the backbone's steps, in process and on 2 replicas alike.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/model/backend.js';
import { writeSynth, SYNTH_DEFAULTS } from '../src/data/synth.js';
import { classDesign, maxClasses } from '../src/data/synth-render.js';
import { openDataset, splitRecords } from '../src/data/index.js';
import { generate } from '../src/pipeline/generate.js';
import { trainTeacher } from '../src/train/teacher.js';
import { trainStudent } from '../src/train/student.js';
import { loadModel } from '../src/model/io.js';
import { DEFAULT_RECIPE } from '../src/train/recipe.js';
import { tmpDir } from './helpers/fixtures.js';
import { cli } from './helpers/cli.js';
import { modelIdentity } from '../src/train/request.js';

let base = '';
let pre = '';
let data = '';
let shards = '';
const recipe = { ...DEFAULT_RECIPE, epochs: 1, batchSize: 8, warmup: 0, seed: 3 };

before(async () => {
  base = await tmpDir('snapmix-finetune-');
  data = path.join(base, 'target');
  shards = path.join(base, 'shards');
  pre = path.join(base, 'pretrained');
  await writeSynth({ ...SYNTH_DEFAULTS, out: path.join(base, 'pretrain-data'), design: 'pretrain', classes: 6, perClass: 4, testPerClass: 1, size: 32, seed: 11 });
  await writeSynth({ ...SYNTH_DEFAULTS, out: data, classes: 3, perClass: 6, testPerClass: 2, size: 32 });
  await initBackend('wasm');
  await trainTeacher({ dataset: await openDataset(path.join(base, 'pretrain-data')), out: pre, size: 32, recipe: { ...recipe, epochs: 2 }, width: 8, stages: 2, quiet: true });
  const dataset = await openDataset(data);
  await generate({ config: { method: 'cutmix', size: 32, seed: 1, shardSize: 10 }, dataset, records: splitRecords(dataset, 'train'), out: shards, workers: 1, camBatch: 8, strict: false, overwrite: false });
});

test("the pretraining design's classes are disjoint from every target class", () => {
  const target = new Set(Array.from({ length: maxClasses('target') }, (_, k) => JSON.stringify(classDesign(k, maxClasses('target')))));
  const pretrain = Array.from({ length: maxClasses('pretrain') }, (_, k) => JSON.stringify(classDesign(k, maxClasses('pretrain'), 'pretrain')));
  assert.equal(new Set(pretrain).size, pretrain.length);
  assert.ok(pretrain.every((d) => !target.has(d)));
  assert.ok(maxClasses('pretrain') >= 50);
});

async function weightsOf(dir: string): Promise<Map<string, Float32Array>> {
  const { model } = await loadModel(dir);
  const out = new Map(model.layers.flatMap((l) => l.getWeights().map((w, i) => [`${l.name}/${i}`, w.dataSync() as Float32Array] as const)));
  model.dispose();
  return out;
}

const moved = (a: Float32Array, b: Float32Array) => Math.sqrt(a.reduce((s, v, i) => s + (v - b[i]) ** 2, 0));

test('--init: backbone from the pretrained model, new classifier; --freeze-stem fixes the stem; --backbone-lr scales the backbone steps', async () => {
  const val = await openDataset(data);
  const run = (out: string, extra: object) => trainStudent({ shards: [shards], val, valName: data, out, recipe, workers: 1, bufferSize: 16, quiet: true, init: pre, ...extra });
  const p = await weightsOf(pre);
  await run(path.join(base, 'ft-1'), { freezeStem: true, backboneLr: 1 });
  await run(path.join(base, 'ft-01'), { freezeStem: true, backboneLr: 0.1 });
  await run(path.join(base, 'ft-01-dp'), { freezeStem: true, backboneLr: 0.1, trainWorkers: 2 });
  const [a, b, c] = await Promise.all(['ft-1', 'ft-01', 'ft-01-dp'].map((d) => weightsOf(path.join(base, d))));
  // The architecture came from --init (width 8, 2 stages), the classifier is new: 3 classes, not 6.
  assert.deepEqual(a.get('stem_conv/0')!.length, p.get('stem_conv/0')!.length);
  assert.equal(a.get('classifier/1')!.length, 3);
  assert.equal(p.get('classifier/1')!.length, 6);
  for (const w of [a, b, c]) assert.deepEqual(w.get('stem_conv/0'), p.get('stem_conv/0'), 'the frozen stem is unchanged');
  // A backbone layer moved from its pretrained weights, about ten times less with --backbone-lr 0.1.
  const m1 = moved(a.get('s1b0_conv1/0')!, p.get('s1b0_conv1/0')!);
  const m01 = moved(b.get('s1b0_conv1/0')!, p.get('s1b0_conv1/0')!);
  const mdp = moved(c.get('s1b0_conv1/0')!, p.get('s1b0_conv1/0')!);
  assert.ok(m1 > 0 && m01 > 0, `${m1} ${m01}`);
  assert.ok(m01 / m1 > 0.05 && m01 / m1 < 0.2, `backbone displacement ratio ${m01 / m1}`);
  assert.ok(Math.abs(mdp - m01) < 0.2 * m01, `in process ${m01}, 2 replicas ${mdp}`);
  const meta = JSON.parse(await fs.readFile(path.join(base, 'ft-01', 'model.json'), 'utf8')).userDefinedMetadata.snapmix;
  assert.deepEqual(meta.student.fineTune, { init: await modelIdentity(pre), freezeStem: true, backboneLr: 0.1 });
  // --init without --backbone-lr fine-tunes the backbone at a tenth of --lr (the measured default): the same
  // weights as asking for 0.1; a student without --init keeps the full rate everywhere.
  await run(path.join(base, 'ft-default'), { freezeStem: true });
  assert.deepEqual(await weightsOf(path.join(base, 'ft-default')), b);
  const d = JSON.parse(await fs.readFile(path.join(base, 'ft-default', 'model.json'), 'utf8')).userDefinedMetadata.snapmix;
  assert.equal(d.student.fineTune.backboneLr, 0.1);
});

test('fine-tuning flags are refused without --init, --epoch-rounds in teacher mode, and --init must be a zoo model', async () => {
  const r = cli(['train', '--shards', shards, '--val', data, '--out', path.join(base, 'x'), '--freeze-stem', '--epochs', '1']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /pass --init MODEL too/);
  const t = cli(['train', '--data', data, '--out', path.join(base, 'y'), '--epoch-rounds']);
  assert.equal(t.code, 2);
  assert.match(t.stderr, /it trains a student/);
  const m = tf.sequential({ layers: [tf.layers.dense({ units: 2, inputShape: [3] })] });
  await m.save(`file://${path.join(base, 'not-zoo')}`).catch(async () => {
    const { saveModel } = await import('../src/model/io.js');
    await saveModel(m, path.join(base, 'not-zoo'), { classNames: ['a', 'b'], inputSize: 32, preprocess: { mean: [0, 0, 0], std: [1, 1, 1] } } as never);
  });
  for (const [flags, msg] of [[['--init', pre, '--backbone-lr', '0'], /--backbone-lr must be in \(0, 10\]/], [['--train-workers', '0'], /--train-workers must be in \[1, 64\], got 0/]] as const) {
    const out = path.join(base, 'bad-flag');
    const b = cli(['train', '--shards', shards, '--val', data, '--out', out, '--epochs', '1', ...flags]);
    assert.equal(b.code, 2, b.stderr);
    assert.match(b.stderr, msg);
    assert.equal(await fs.stat(path.join(out, 'model.json')).then(() => true, () => false), false, 'no model written');
  }
  const z = cli(['train', '--shards', shards, '--val', data, '--out', path.join(base, 'z'), '--init', path.join(base, 'not-zoo'), '--epochs', '1']);
  assert.equal(z.code, 2);
  assert.match(z.stderr, /not a snapmix zoo model/);
});
