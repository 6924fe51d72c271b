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
import { cli, entry } from './helpers/cli.js';

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
  assert.equal(cli(['cams', '--allow-weak-teacher', '--data', data, '--teacher', teacher, '--out', cams, ...W]).code, 0);
  const g = cli(['generate', '--allow-weak-teacher', '--data', data, '--cams', cams, '--out', shards, '--size', '32', '--rounds', '1', '--shard-size', '10', '--workers', '1', ...W]);
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
  // A teacher this version trained (it records its request) is named as a teacher.
  const t2 = path.join(base, 'teacher-trained');
  assert.equal(cli(['train', '--data', data, '--out', t2, '--epochs', '1', '--size', '32', '--width', '8', '--stages', '2', ...W]).code, 0);
  const before2 = await tree(t2);
  refused(cli(studentArgs(t2, '--resume')), /holds a teacher model, and this is student training/);
  assert.deepEqual(await tree(t2), before2);
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
  assert.equal(cli(['generate', '--allow-weak-teacher', '--data', data, '--cams', cams, '--out', other, '--size', '32', '--rounds', '1', '--seed', '9', '--shard-size', '10', '--workers', '1', ...W]).code, 0);
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
  refused(cli(['cams', '--allow-weak-teacher', '--data', data, '--teacher', nan, '--out', path.join(base, 'cams-nan'), ...W]), /NaN or infinite/);
  refused(cli(['generate', '--allow-weak-teacher', '--data', data, '--teacher', nan, '--out', path.join(base, 'gen-nan'), '--size', '32', ...W]), /NaN or infinite/);
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
    const r = cli(['generate', '--allow-weak-teacher', '--data', bad, '--teacher', teacher, '--out', o, '--size', '32', '--rounds', '1', '--workers', '1', ...W]);
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

test('3, 7. merge checks parts against their contents and never replaces another CAM cache without --overwrite; generate --cams needs full coverage', async () => {
  const parts = [0, 1].map((i) => path.join(base, `cpart-${i}`));
  parts.forEach((p, i) => assert.equal(cli(['cams', '--allow-weak-teacher', '--data', data, '--teacher', teacher, '--out', p, '--num-shards', '2', '--shard-index', String(i), ...W]).code, 0));
  // A part whose cams.arrow is another slice's (metadata agrees, contents do not) does not merge.
  const swapped = path.join(base, 'cpart-swapped');
  await fs.cp(parts[1], swapped, { recursive: true });
  const third = path.join(base, 'cpart-third');
  assert.equal(cli(['cams', '--allow-weak-teacher', '--data', data, '--teacher', teacher, '--out', third, '--num-shards', '3', '--shard-index', '0', ...W]).code, 0);
  await fs.copyFile(path.join(third, 'cams.arrow'), path.join(swapped, 'cams.arrow'));
  const camsJson = JSON.parse(await fs.readFile(path.join(third, 'cams.json'), 'utf8'));
  const own = JSON.parse(await fs.readFile(path.join(swapped, 'cams.json'), 'utf8'));
  await fs.writeFile(path.join(swapped, 'cams.json'), JSON.stringify({ ...own, count: camsJson.count }));
  refused(cli(['merge', parts[0], swapped, '--out', path.join(base, 'merged-bad')]), /does not cover|neither a CAM nor a reject|not among the records/);
  // A malformed part record is named, not a stack trace.
  const broken = path.join(base, 'cpart-broken');
  await fs.cp(parts[1], broken, { recursive: true });
  await fs.writeFile(path.join(broken, '.snapmix', 'cams-part.json'), '{"format":"snapmix-cams-part","version":1}');
  refused(cli(['merge', parts[0], broken, '--out', path.join(base, 'merged-bad2')]), /not a valid snapmix CAM part record/);
  // An existing cache of another teacher is kept unless --overwrite.
  const other = path.join(base, 'cams-other');
  const t2 = path.join(base, 'teacher-other');
  await makeTeacher(t2, (await openDataset(data)).classNames, 32, 7);
  assert.equal(cli(['cams', '--allow-weak-teacher', '--data', data, '--teacher', t2, '--out', other, ...W]).code, 0);
  const before = await tree(other);
  refused(cli(['merge', ...parts, '--out', other]), /already holds a CAM cache of other data, another teacher/);
  assert.deepEqual(await tree(other), before);
  const merged = path.join(base, 'merged-cams');
  assert.equal(cli(['merge', ...parts, '--out', merged]).code, 0);
  assert.equal(cli(['merge', ...parts, '--out', merged]).code, 0, 'the same merge again is allowed');
  assert.deepEqual(await tree(merged, (n) => n === '.snapmix'), await tree(cams, (n) => n === '.snapmix'), 'merged = single run');
  // A cache that lost a class's CAMs (with matching metadata) is refused by generate.
  const { readCamCache, writeCamCache } = await import('../src/shards/cam-cache.js');
  const c = await readCamCache(cams);
  const keep = c.set.ids.map((_, i) => i).filter((i) => c.set.labels[i] !== 0);
  const n = c.set.h * c.set.w;
  const cams2 = new Float32Array(keep.length * n);
  keep.forEach((i, k) => cams2.set(c.set.cams.subarray(i * n, (i + 1) * n), k * n));
  const lost = path.join(base, 'cams-lost-class');
  await writeCamCache(lost, { ...c.set, ids: keep.map((i) => c.set.ids[i]), labels: Int32Array.from(keep.map((i) => c.set.labels[i])), cams: cams2, prob: Float32Array.from(keep.map((i) => c.set.prob[i])), pred: Int32Array.from(keep.map((i) => c.set.pred[i])), sha256: keep.map((i) => c.set.sha256[i]) }, { ...c.meta, count: keep.length }, c.rejects);
  refused(cli(['generate', '--allow-weak-teacher', '--data', data, '--cams', lost, '--out', path.join(base, 'gen-lost'), '--size', '32', ...W]), /records have neither a CAM nor a reject/);
  await fs.rm(path.join(merged, 'rejects.jsonl'));
  refused(cli(['generate', '--allow-weak-teacher', '--data', data, '--cams', merged, '--out', path.join(base, 'gen-norej'), '--size', '32', ...W]), /no rejects\.jsonl: the cache is incomplete/);
});

test('4, 12. rerunning export, merge or generate --overwrite keeps a user\'s files; a killed export or merge finishes on rerun', async () => {
  const exp = path.join(base, 'export');
  const run = () => cli(['export', shards, '--to', 'parquet', '--out', exp, '--quiet']);
  assert.equal(run().code, 0);
  await fs.writeFile(path.join(exp, 'LICENSE'), 'mine');
  await fs.mkdir(path.join(exp, '.git'));
  await fs.writeFile(path.join(exp, '.git', 'HEAD'), 'ref');
  assert.equal(run().code, 0);
  // Killed mid-export: the record (export.json) and card are gone, a parquet half-written.
  await fs.rm(path.join(exp, 'export.json'));
  await fs.rm(path.join(exp, 'README.md'));
  await fs.writeFile(path.join(exp, 'data-00000-of-00002.parquet.tmp-99999'), 'half');
  const r = run();
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await fs.readFile(path.join(exp, 'LICENSE'), 'utf8'), 'mine');
  assert.equal(await fs.readFile(path.join(exp, '.git', 'HEAD'), 'utf8'), 'ref');
  assert.ok((await fs.readdir(exp)).includes('export.json'));
  // generate --overwrite keeps them too.
  const own = path.join(base, 'gen-own');
  await fs.cp(shards, own, { recursive: true });
  await fs.writeFile(path.join(own, 'LICENSE'), 'mine');
  const g = cli(['generate', '--allow-weak-teacher', '--data', data, '--cams', cams, '--out', own, '--size', '32', '--rounds', '1', '--seed', '5', '--workers', '1', '--overwrite', ...W]);
  assert.equal(g.code, 0, g.stderr);
  assert.equal(await fs.readFile(path.join(own, 'LICENSE'), 'utf8'), 'mine');
  // A split generate merged, rerun with a user's file in it; and a merge killed before it wrote anything.
  const gparts = [0, 1].map((i) => path.join(base, `gpart-${i}`));
  gparts.forEach((p, i) => assert.equal(cli(['generate', '--allow-weak-teacher', '--data', data, '--cams', cams, '--out', p, '--size', '32', '--rounds', '1', '--shard-size', '6', '--workers', '1', '--num-shards', '2', '--shard-index', String(i), ...W]).code, 0));
  const merged = path.join(base, 'gmerged');
  await fs.mkdir(path.join(merged, '.snapmix'), { recursive: true });
  await fs.writeFile(path.join(merged, '.snapmix', 'output.json'), JSON.stringify({ kind: 'shards', tool: 'snapmix' }));
  const m1 = cli(['merge', ...gparts, '--out', merged]);
  assert.equal(m1.code, 0, m1.stderr);
  await fs.writeFile(path.join(merged, 'LICENSE'), 'mine');
  assert.equal(cli(['merge', ...gparts, '--out', merged]).code, 0);
  assert.equal(await fs.readFile(path.join(merged, 'LICENSE'), 'utf8'), 'mine');
  const sources = JSON.parse(await fs.readFile(path.join(merged, '.snapmix', 'sources.json'), 'utf8'));
  assert.ok(!String(sources.cams ?? '').includes('gpart-'), 'sources.json does not point into a part');
});

test('5. every check runs before anything is written: a failing --partner check leaves the output as it was', async () => {
  const one = path.join(base, 'one-class');
  const cls = (await fs.readdir(path.join(data, 'train'))).sort()[0];
  await fs.mkdir(path.join(one, 'train'), { recursive: true });
  await fs.cp(path.join(data, 'train', cls), path.join(one, 'train', cls), { recursive: true });
  const out = path.join(base, 'partner-out');
  const args = (...extra: string[]) => ['generate', '--allow-weak-teacher', '--data', one, '--out', out, '--size', '32', '--method', 'cutmix', '--rounds', '1', '--workers', '1', ...W, ...extra];
  assert.equal(cli(args()).code, 0);
  const before = await tree(out);
  refused(cli(args('--partner', 'other-class', '--overwrite')), /needs sources of at least 2 classes/);
  assert.deepEqual(await tree(out), before, '--overwrite removed nothing');
  const fresh = path.join(base, 'partner-fresh');
  refused(cli(['generate', '--allow-weak-teacher', '--data', one, '--out', fresh, '--size', '32', '--method', 'cutmix', '--partner', 'other-class', ...W]), /needs sources of at least 2 classes/);
  assert.equal(await fs.stat(fresh).then(() => true, () => false), false, 'nothing left behind');
});

test('8. reproduce --scratch may not be the release or sit inside it', async () => {
  const before = await tree(shards);
  for (const s of [shards, path.join(shards, 'scratch')]) {
    refused(cli(['reproduce', shards, '--data', data, '--cams', cams, '--scratch', s, ...W]), /is RELEASE|is inside RELEASE/);
  }
  assert.deepEqual(await tree(shards), before, 'the release is untouched');
  const ok = cli(['reproduce', shards, '--data', data, '--cams', cams, '--workers', '1', ...W]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /reproduces/);
});

test('12, 14. split cams: a part killed before its record is redone; a part with no readable image merges; parts are named as parts', async () => {
  const bad = path.join(base, 'data-unreadable-part');
  await fs.cp(data, bad, { recursive: true });
  // Make every image of the first third unreadable (the records sort by id: class dirs in order).
  const { openDataset: open, splitRecords } = await import('../src/data/index.js');
  const recs = splitRecords(await open(bad), 'train');
  const firstThird = recs.slice(0, Math.floor(recs.length / 3));
  for (const r of firstThird) await fs.writeFile(r.path, 'not an image');
  const parts = [0, 1, 2].map((i) => path.join(base, `upart-${i}`));
  for (const [i, p] of parts.entries()) {
    const r = cli(['cams', '--allow-weak-teacher', '--data', bad, '--teacher', teacher, '--out', p, '--num-shards', '3', '--shard-index', String(i), ...W]);
    assert.equal(r.code, 0, r.stderr);
  }
  // Killed between cams.json and the part record: the rerun redoes it instead of "nothing to do".
  await fs.rm(path.join(parts[1], '.snapmix', 'cams-part.json'));
  const again = cli(['cams', '--allow-weak-teacher', '--data', bad, '--teacher', teacher, '--out', parts[1], '--num-shards', '3', '--shard-index', '1', ...W]);
  assert.equal(again.code, 0, again.stderr);
  assert.doesNotMatch(again.stdout, /nothing to do/);
  const merged = path.join(base, 'umerged');
  const m = cli(['merge', ...parts, '--out', merged]);
  assert.equal(m.code, 0, m.stderr);
  const single = path.join(base, 'usingle');
  assert.equal(cli(['cams', '--allow-weak-teacher', '--data', bad, '--teacher', teacher, '--out', single, ...W]).code, 0);
  assert.deepEqual(await tree(merged, (n) => n === '.snapmix'), await tree(single, (n) => n === '.snapmix'), 'merged = single run');
  // A part given where a whole output is needed says so.
  refused(cli(['generate', '--allow-weak-teacher', '--data', bad, '--cams', parts[1], '--out', path.join(base, 'g-part'), '--size', '32', ...W]), /is part 1 of 3 of a split 'cams'.*snapmix merge/);
  const gp = path.join(base, 'gen-part');
  assert.equal(cli(['generate', '--allow-weak-teacher', '--data', data, '--cams', cams, '--out', gp, '--size', '32', '--rounds', '1', '--workers', '1', '--num-shards', '2', '--shard-index', '0', ...W]).code, 0);
  refused(cli(['verify', gp]), /is part 0 of 2 of a split 'generate'.*snapmix merge/);
  refused(cli(['export', gp, '--to', 'parquet', '--out', path.join(base, 'exp-part')]), /is part 0 of 2/);
  refused(cli(studentArgs(path.join(base, 'student-part')).map((x) => (x === shards ? gp : x))), /is part 0 of 2/);
});

test('12. a lock left by a dead owner whose pid is reused (a restarted container) is taken over', async () => {
  const { acquireLock, LOCK_FILE } = await import('../src/util/lock.js');
  const os = await import('node:os');
  const dir = path.join(base, 'lock-dir');
  await fs.mkdir(dir);
  // The restarted process got the dead owner's pid: our own pid on a lock we do not hold.
  await fs.writeFile(path.join(dir, LOCK_FILE), JSON.stringify({ pid: process.pid, host: os.hostname(), command: 'generate', started: '2026-01-01T00:00:00Z', start: '1' }));
  const l = await acquireLock(dir, 'generate');
  await l.release();
  // A live pid that now belongs to a process started later than the recorded owner.
  await fs.writeFile(path.join(dir, LOCK_FILE), JSON.stringify({ pid: process.ppid, host: os.hostname(), command: 'generate', started: '2026-01-01T00:00:00Z', start: '1' }));
  const l2 = await acquireLock(dir, 'generate');
  await l2.release();
  // A lock this process holds is still refused to a second taker.
  const held = await acquireLock(dir, 'generate');
  await assert.rejects(acquireLock(dir, 'generate'), /is in use/);
  await held.release();
});

test('13. no stack traces: a wrong sidecar layout, PNG onto a missing path, --cache-mem beyond the machine, --train-workers beyond the cores', async () => {
  const onnx = path.join(path.dirname(new URL(import.meta.url).pathname), 'fixtures', 'tiny-resnet.onnx');
  const dir = path.join(base, 'onnx-layout');
  await fs.mkdir(dir);
  await fs.copyFile(onnx, path.join(dir, 't.onnx'));
  await fs.writeFile(path.join(dir, 't.json'), JSON.stringify({ input_size: 32, layout: 'nhwc' }));
  refused(cli(['cams', '--allow-weak-teacher', '--data', data, '--teacher', path.join(dir, 't.onnx'), '--out', path.join(base, 'cams-layout'), ...W]), /layout nhwc, but .* \(nchw\)/);
  const deep = path.join(base, 'no', 'such', 'dir', 'p.png');
  const p = cli(['preview', '--shards', shards, '--n', '1', '--out', deep]);
  assert.equal(p.code, 0, p.stderr);
  const g = cli(['generate', '--allow-weak-teacher', '--data', data, '--cams', cams, '--out', path.join(base, 'gen-mem'), '--size', '32', '--rounds', '1', '--workers', '1', '--cache-mem', '1000000', ...W]);
  assert.equal(g.code, 0, g.stderr);
  assert.match(g.stderr, /--cache-mem 1000000 MiB is more than this machine can hold; using \d+ MiB/);
  const t = cli(['train', '--shards', shards, '--val', data, '--out', path.join(base, 'student-64'), '--epochs', '1', '--width', '8', '--stages', '2', '--batch-size', '16', '--train-workers', '64', ...W]);
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stdout, /--train-workers 64 is more than this machine's \d+ cores; using \d+/);
});

test('11. an empty value is never read as "not given"; parts that disagree on anything recorded do not merge', async () => {
  refused(cli(['generate', '--allow-weak-teacher', '--data', data, '--cams', cams, '--out', '', ...W]), /--out is empty/);
  refused(cli(studentArgs(path.join(base, 'student-empty-init'), '--init', '')), /--init is empty/);
  refused(cli(['verify', shards, '--manifest-sha256', '']), /is empty/);
  refused(cli(['verify', shards, '--manifest-sha256', 'abc']), /not a sha256/);
  const parts = [0, 1].map((i) => path.join(base, `lpart-${i}`));
  parts.forEach((p, i) => assert.equal(cli(['generate', '--allow-weak-teacher', '--data', data, '--cams', cams, '--out', p, '--size', '32', '--rounds', '1', '--shard-size', '6', '--workers', '1', '--num-shards', '2', '--shard-index', String(i), '--license', i ? 'mit' : 'cc-by-4.0', ...W]).code, 0));
  refused(cli(['merge', ...parts, '--out', path.join(base, 'lmerged')]), /disagree on what they recorded.*license/);
});

test('demo --out is an output like any other: never a directory of the user\'s files, never a demo of another request', async () => {
  const mine = path.join(base, 'project');
  await fs.mkdir(path.join(mine, 'teacher'), { recursive: true });
  await fs.writeFile(path.join(mine, 'teacher', 'notes.txt'), 'mine');
  const before = await tree(mine);
  refused(cli(['demo', '--out', mine, ...W]), /is not empty .* holds no snapmix demo run directory/);
  assert.deepEqual(await tree(mine), before);
  refused(cli(['demo', '--out', path.join(base, 'demo-w'), '--workers', '0', ...W]), /--workers must be in \[1, 64\], got 0/);
  refused(cli(['demo', '--out', path.join(base, 'demo-w'), '--workers', '2.5', ...W]), /--workers must be an integer, got 2.5/);
});

test('14. reproduce removes its temporary directory when stopped by SIGTERM', async () => {
  const { spawn } = await import('node:child_process');
  const os = await import('node:os');
  const big = path.join(base, 'shards-big');
  assert.equal(cli(['generate', '--allow-weak-teacher', '--data', data, '--cams', cams, '--out', big, '--size', '32', '--rounds', '30', '--workers', '1', ...W]).code, 0);
  const mine = async () => new Set((await fs.readdir(os.tmpdir())).filter((d) => d.startsWith('snapmix-reproduce-')));
  const before = await mine();
  const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
  const child = spawn(process.execPath, [...entry(), 'reproduce', big, '--data', data, '--cams', cams, '--workers', '1', ...W], { cwd: root, stdio: 'ignore' });
  const exited = new Promise<{ code: number | null; signal: string | null }>((res) => child.on('exit', (code, signal) => res({ code, signal })));
  let made: string | undefined;
  for (let i = 0; i < 600 && !made; i++) {
    await new Promise((r) => setTimeout(r, 50));
    made = [...(await mine())].find((d) => !before.has(d));
  }
  assert.ok(made, 'reproduce made its temporary directory');
  child.kill('SIGTERM');
  const { code } = await exited;
  assert.equal(code, 143, 'stopped by the signal, not finished');
  assert.equal(await fs.stat(path.join(os.tmpdir(), made!)).then(() => true, () => false), false, 'the temporary directory is gone');
});

test('4. synth --overwrite replaces the dataset it wrote and keeps a file the user added', async () => {
  const out = path.join(base, 'synth-own');
  const args = ['synth', '--out', out, '--classes', '2', '--per-class', '2', '--test-per-class', '1', '--size', '16', '--quiet'];
  assert.equal(cli(args).code, 0);
  await fs.writeFile(path.join(out, 'LICENSE'), 'mine');
  const r = cli([...args, '--seed', '5', '--overwrite']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await fs.readFile(path.join(out, 'LICENSE'), 'utf8'), 'mine');
  assert.equal(JSON.parse(await fs.readFile(path.join(out, 'synth.json'), 'utf8')).options.seed, 5);
});
