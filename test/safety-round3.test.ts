// Issue 20 ("never lose or mix a user's data, round 3"), each fault reproduced before it was fixed:
// models, single files, merges and exports follow the output rules; a resume continues only its own
// request; checks mean what they say (NaN teachers, CAM coverage); rejects are deterministic.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { initBackend } from '../src/model/backend.js';
import { writeSynth, SYNTH_DEFAULTS } from '../src/data/synth.js';
import { openDataset } from '../src/data/index.js';
import { trainStudent } from '../src/train/student.js';
import { DEFAULT_RECIPE } from '../src/train/recipe.js';
import { makeTeacher } from './helpers/teacher.js';
import { tmpDir, tree } from './helpers/fixtures.js';
import { cli } from './helpers/cli.js';

let base = '';
let data = '';
let teacher = '';
let cams = '';
let shards = '';
const W = ['--backend', 'wasm', '--quiet'];
const noStack = (r: { stderr: string }) => assert.doesNotMatch(r.stderr, /\n\s+at /, `a stack trace: ${r.stderr}`);
const refused = (r: { code: number; stderr: string }, why: RegExp) => {
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^snapmix: error: /m);
  assert.match(r.stderr, why);
  noStack(r);
};
const studentArgs = (out: string, ...extra: string[]) => ['train', '--shards', shards, '--val', data, '--out', out, '--epochs', '2', '--width', '8', '--stages', '2', '--batch-size', '16', '--train-workers', '1', ...W, ...extra];

before(async () => {
  base = await tmpDir();
  data = path.join(base, 'data');
  teacher = path.join(base, 'teacher');
  cams = path.join(base, 'cams');
  shards = path.join(base, 'shards');
  await writeSynth({ ...SYNTH_DEFAULTS, out: data, classes: 3, perClass: 6, testPerClass: 2, size: 32 });
  await initBackend('wasm');
  await makeTeacher(teacher, (await openDataset(data)).classNames, 32);
  assert.equal(cli(['cams', '--data', data, '--teacher', teacher, '--out', cams, ...W]).code, 0);
  const g = cli(['generate', '--data', data, '--cams', cams, '--out', shards, '--size', '32', '--rounds', '1', '--shard-size', '10', '--workers', '1', ...W]);
  assert.equal(g.code, 0, g.stderr);
});

test('1. train never turns a teacher or an --init backbone into a student; --init is an input', async () => {
  const before = await tree(teacher);
  for (const extra of [['--resume'], []]) {
    const r = cli(studentArgs(teacher, ...extra));
    refused(r, /did not write/);
    assert.doesNotMatch(r.stderr, /pass --resume/, 'the refusal must not invite --resume');
  }
  assert.deepEqual(await tree(teacher), before, 'the teacher is untouched');
  refused(cli(studentArgs(teacher, '--init', teacher)), /is --init/);
  refused(cli(studentArgs(path.join(teacher, 'student'), '--init', teacher)), /is inside --init/);
  refused(cli(['train', '--data', data, '--out', teacher, '--init', teacher, '--epochs', '1', ...W]), /is --init/);
  assert.deepEqual(await tree(teacher), before, 'the teacher is untouched');
});

test('6. --resume continues only the same request, and names what differs', async () => {
  const ds = await openDataset(data);
  const out = path.join(base, 'student');
  const recipe = { ...DEFAULT_RECIPE, epochs: 2, batchSize: 16 };
  await trainStudent({ shards: [shards], val: ds, valName: data, out, recipe, width: 8, stages: 2, workers: 1, bufferSize: 2048, trainWorkers: 1, quiet: true, stopAfterEpoch: 1 });
  const before = await tree(out);
  refused(cli(studentArgs(out, '--resume', '--lr', '0.2')), /another training request \(recipe\.lr: 0\.05 → 0\.2\)/);
  refused(cli(studentArgs(out, '--resume', '--optimizer', 'adam')), /recipe\.optimizer: "sgd" → "adam"/);
  refused(cli(studentArgs(out, '--resume').map((x, i, all) => (all[i - 1] === '--width' ? '16' : x))), /arch\.width: 8 → 16/);
  const other = path.join(base, 'shards-2');
  assert.equal(cli(['generate', '--data', data, '--cams', cams, '--out', other, '--size', '32', '--rounds', '1', '--seed', '9', '--shard-size', '10', '--workers', '1', ...W]).code, 0);
  refused(cli(['train', '--shards', other, ...studentArgs(out, '--resume').slice(3)]), /shards/);
  assert.deepEqual(await tree(out), before, 'a refused resume writes nothing');
  // Without --resume the same request is told to pass it; with it, it continues to the end.
  refused(cli(studentArgs(out)), /already holds a model; pass --resume/);
  const r = cli(studentArgs(out, '--resume'));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /resume: from epoch 1 of 2/);
  const meta = JSON.parse(await fs.readFile(path.join(out, 'model.json'), 'utf8')).userDefinedMetadata.snapmix;
  assert.doesNotMatch(JSON.stringify(meta), new RegExp(base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), 'no machine path in the model');
});

test('9. non-finite weights are refused at load: cams, generate, eval and --init', async () => {
  const nan = path.join(base, 'teacher-nan');
  await fs.cp(teacher, nan, { recursive: true });
  const json = JSON.parse(await fs.readFile(path.join(nan, 'model.json'), 'utf8'));
  const bin = path.join(nan, json.weightsManifest[0].paths[0]);
  const bytes = await fs.readFile(bin);
  new Float32Array(bytes.buffer, bytes.byteOffset, 4).fill(NaN);
  await fs.writeFile(bin, bytes);
  refused(cli(['cams', '--data', data, '--teacher', nan, '--out', path.join(base, 'cams-nan'), ...W]), /NaN or infinite/);
  refused(cli(['generate', '--data', data, '--teacher', nan, '--out', path.join(base, 'gen-nan'), '--size', '32', ...W]), /NaN or infinite/);
  refused(cli(studentArgs(path.join(base, 'student-nan'), '--init', nan)), /NaN or infinite/);
  for (const d of ['cams-nan', 'gen-nan', 'student-nan']) assert.equal(await fs.stat(path.join(base, d)).then(() => true, () => false), false, `${d} not created`);
});

test('10. rejects.jsonl is deterministic and holds no machine path', async () => {
  const bad = path.join(base, 'data-bad');
  await fs.cp(data, bad, { recursive: true });
  const cls = (await fs.readdir(path.join(bad, 'train'))).sort()[0];
  const victim = path.join(bad, 'train', cls, (await fs.readdir(path.join(bad, 'train', cls))).sort()[0]);
  const jpeg = await sharp(await fs.readFile(victim)).jpeg().toBuffer();
  await fs.writeFile(victim, jpeg.subarray(0, Math.floor(jpeg.length / 2))); // a truncated file
  const outs = [path.join(base, 'rej-1'), path.join(base, 'rej-2')];
  for (const o of outs) {
    const r = cli(['generate', '--data', bad, '--teacher', teacher, '--out', o, '--size', '32', '--rounds', '1', '--workers', '1', ...W]);
    assert.equal(r.code, 0, r.stderr);
  }
  const [a, b] = await Promise.all(outs.map((o) => fs.readFile(path.join(o, 'rejects.jsonl'), 'utf8')));
  assert.equal(a, b);
  assert.ok(a.trim().length > 0, 'the truncated image is rejected');
  for (const o of outs) {
    for (const f of ['rejects.jsonl', 'cams/rejects.jsonl', 'manifest.json']) {
      const text = await fs.readFile(path.join(o, f), 'utf8');
      assert.ok(!text.includes(base) && !text.includes(path.sep + 'tmp' + path.sep), `${f} holds a machine path: ${text}`);
    }
  }
  const line = JSON.parse(a.trim().split('\n')[0]);
  assert.deepEqual(Object.keys(line).sort(), ['id', 'message', 'reason', 'stage']);
  assert.equal(line.reason, 'corrupt');
});

test('2. single-file outputs (eval --confusion, preview --out) never replace an input or a file snapmix did not write', async () => {
  const img = path.join(data, 'train', (await fs.readdir(path.join(data, 'train'))).sort()[0]);
  const anImage = path.join(img, (await fs.readdir(img)).sort()[0]);
  const shard = path.join(shards, (await fs.readdir(shards)).find((f) => f.endsWith('.arrow'))!);
  const inputs = { data: await tree(data), teacher: await tree(teacher), shards: await tree(shards) };
  const evalTo = (file: string, ...extra: string[]) => cli(['eval', '--model', teacher, '--data', data, '--confusion', file, '--backend', 'wasm', ...extra]);
  const previewTo = (file: string, ...extra: string[]) => cli(['preview', '--shards', shards, '--n', '2', '--out', file, ...extra]);
  for (const overwrite of [[], ['--overwrite']]) {
    refused(evalTo(anImage, ...overwrite), /is inside --data/);
    refused(evalTo(path.join(teacher, 'model.json'), ...overwrite), /is inside --model/);
    refused(previewTo(path.join(shards, 'manifest.json'), ...overwrite), /is inside --shards/);
    refused(previewTo(shard, ...overwrite), /is inside --shards/);
    refused(previewTo(path.join(data, 'sheet.png'), ...overwrite), /is inside --data/);
  }
  assert.deepEqual({ data: await tree(data), teacher: await tree(teacher), shards: await tree(shards) }, inputs, 'no input changed');
  // A user's file is kept unless --overwrite; our own PNG is replaced; a directory or a link is refused.
  const mine = path.join(base, 'mine.png');
  await fs.writeFile(mine, 'my drawing');
  refused(evalTo(mine), /snapmix did not write it.*--overwrite/);
  refused(previewTo(mine), /snapmix did not write it.*--overwrite/);
  assert.equal(await fs.readFile(mine, 'utf8'), 'my drawing');
  refused(previewTo(base), /is a directory/);
  await fs.symlink(mine, path.join(base, 'link.png'));
  refused(previewTo(path.join(base, 'link.png'), '--overwrite'), /symbolic link/);
  const sheet = path.join(base, 'new', 'dir', 'sheet.png');
  const p = previewTo(sheet);
  assert.equal(p.code, 0, p.stderr);
  assert.equal(previewTo(sheet).code, 0, 'its own PNG is replaced on a rerun');
  const e = evalTo(path.join(base, 'cm.png'));
  assert.equal(e.code, 0, e.stderr);
  assert.equal(evalTo(mine, '--overwrite').code, 0);
  assert.notEqual(await fs.readFile(mine, 'utf8'), 'my drawing');
  assert.deepEqual((await fs.readdir(path.join(base, 'new', 'dir'))), ['sheet.png'], 'no temporary file left');
});
