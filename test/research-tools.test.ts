// Tools for a researcher's own comparison: the label-shift audit (how far a method's labels are from area
// labels, before any training), the same-label pairs, in inspect and in the dataset card.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import fsSync from 'node:fs';
import path from 'node:path';
import { writeSynth, SYNTH_DEFAULTS } from '../src/data/synth.js';
import { makeTeacher } from './helpers/teacher.js';
import { initBackend } from '../src/model/backend.js';
import { openDataset } from '../src/data/index.js';
import { tmpDir } from './helpers/fixtures.js';
import { cli } from './helpers/cli.js';

let base = '';
let data = '';
const out: Record<string, string> = {};

before(async () => {
  base = await tmpDir('snapmix-research-');
  data = path.join(base, 'data');
  await writeSynth({ ...SYNTH_DEFAULTS, out: data, classes: 3, perClass: 10, testPerClass: 1, size: 32 });
  await initBackend('wasm');
  const teacher = path.join(base, 'teacher');
  await makeTeacher(teacher, (await openDataset(data)).classNames, 32);
  for (const method of ['cutmix', 'snapmix']) {
    out[method] = path.join(base, method);
    const r = cli(['generate', '--data', data, '--teacher', teacher, '--allow-weak-teacher', '--method', method, '--out', out[method], '--size', '32', '--rounds', '3', '--quiet']);
    assert.equal(r.code, 0, r.stderr);
  }
});

test('inspect audits the label shift against area labels: none for CutMix, some for SnapMix, with a plain reading', async () => {
  const cut = JSON.parse(cli(['inspect', out.cutmix, '--json']).stdout);
  const snap = JSON.parse(cli(['inspect', out.snapmix, '--json']).stdout);
  assert.equal(cut.label_shift.cutmix.mean, 0, 'CutMix labels are area labels');
  assert.ok(snap.label_shift.snapmix.mean > 0.01, JSON.stringify(snap.label_shift));
  const s = snap.label_shift.snapmix;
  assert.ok(s.p10 <= s.p50 && s.p50 <= s.p90 && s.p90 <= s.max, 'quantiles in order');
  const same = snap.methods.snapmix.same_label;
  assert.equal(s.rows + same.weight_sum.n, snap.methods.snapmix.n, 'rows of two labels and of one label are all the mixed rows');
  assert.ok(same.share > 0.1 && same.share < 0.6, `with 3 classes about a third of uniform partners share A's class: ${same.share}`);
  const text = cli(['inspect', out.cutmix]).stdout;
  assert.match(text, /cutmix: labels differ from area labels by 0\.000 on average per weight .*: little \(< 0\.05\): expect it to train like CutMix here/);
  assert.match(text, /cutmix: \d+\.\d% of mixed rows pair one class with itself \(weight sum mean 1\.000/);
  assert.match(cli(['inspect', out.snapmix]).stdout, /label shift against area labels, per weight.*\n {2}snapmix: mean 0\.\d{3}, p10 /);
});

test('the dataset card carries the audit, and verify recounts it from the rows', async () => {
  const card = await fs.readFile(path.join(out.snapmix, 'README.md'), 'utf8');
  assert.match(card, /^- snapmix: labels differ from area labels by 0\.\d{3} on average per weight/m);
  assert.match(card, /^- snapmix: \d+\.\d% of mixed rows pair one class with itself/m);
  const m = JSON.parse(await fs.readFile(path.join(out.snapmix, 'manifest.json'), 'utf8'));
  assert.ok(m.label_weights.snapmix.audit.diff > 0);
  assert.equal(cli(['verify', out.snapmix]).code, 0);
  // A manifest whose audit was edited fails verification.
  m.label_weights.snapmix.audit.diff += 1;
  await fs.writeFile(path.join(out.snapmix, 'manifest.json'), JSON.stringify(m, null, 2) + '\n');
  const v = cli(['verify', out.snapmix]);
  assert.equal(v.code, 2);
  assert.match(v.stderr, /label_weights differ/);
});

test('honest metadata: a student refuses --crop-pad/--flip (they would do nothing) and records no augmentation; train_acc says what it counts', async () => {
  const student = path.join(base, 'student');
  const args = ['train', '--shards', out.cutmix, '--val', data, '--out', student, '--epochs', '1', '--width', '8', '--stages', '2', '--batch-size', '8'];
  for (const extra of [['--crop-pad', '4'], ['--no-flip']]) {
    const r = cli([...args, ...extra]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--crop-pad and --flip augment a teacher's clean images; a student trains on the shards' views as generate made them/);
  }
  const r = cli(args);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /epoch 1\/1 loss \d+\.\d{4} train_acc \(heavier label\) /);
  const meta = JSON.parse(await fs.readFile(path.join(student, 'model.json'), 'utf8')).userDefinedMetadata.snapmix;
  assert.deepEqual([meta.recipe.cropPad, meta.recipe.flip], [0, false]);
});

test('summarize: mean ± sd of best and last top-1 per group, paired differences with a 95% t interval', async () => {
  const { pairedDifference } = await import('../src/util/stats.js');
  const d = pairedDifference([0.5, 0.5, 0.5], [0.51, 0.52, 0.53]);
  assert.ok(Math.abs(d.mean - 0.02) < 1e-12);
  const half = 4.303 * 0.01 / Math.sqrt(3); // t(0.975, 2) · sd / √n
  assert.ok(Math.abs(d.low! - (0.02 - half)) < 1e-9 && Math.abs(d.high! - (0.02 + half)) < 1e-9);
  const run = async (name: string, top1: number[]) => {
    const dir = path.join(base, 'runs', name);
    await fs.mkdir(dir, { recursive: true });
    await fs.writeFile(path.join(dir, 'metrics.jsonl'), top1.map((v, i) => JSON.stringify({ epoch: i + 1, val_top1: v }) + '\n').join(''));
    return dir;
  };
  const none = [await run('none-0', [0.5, 0.6, 0.55]), await run('none-1', [0.5, 0.62, 0.6]), await run('none-2', [0.4, 0.58, 0.5])];
  const snap = [await run('snap-0', [0.5, 0.7, 0.7]), await run('snap-1', [0.6, 0.7, 0.65]), await run('snap-2', [0.5, 0.66, 0.66])];
  const r = cli(['summarize', `none=${none.join(',')}`, `snapmix=${snap.join(',')}`, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout);
  assert.deepEqual(s.groups.map((g: { name: string }) => g.name), ['none', 'snapmix']);
  assert.ok(Math.abs(s.groups[0].best.mean - 0.6) < 1e-12, 'best of each run: 0.6, 0.62, 0.58');
  assert.ok(Math.abs(s.groups[1].last.mean - (0.7 + 0.65 + 0.66) / 3) < 1e-12);
  assert.ok(Math.abs(s.comparisons[0].best.mean - 0.08666666666666667) < 1e-9, 'paired: 0.1, 0.08, 0.08');
  const text = cli(['summarize', `none=${none.join(',')}`, `snapmix=${snap.join(',')}`]).stdout;
  assert.match(text, /\| none \| 3 \| 60\.0 ± 2\.0 \|/);
  assert.match(text, /snapmix − none: best \+8\.7 \[\d+\.\d, \d+\.\d\], last .*: snapmix is above none \(best top-1\)/);
  const bad = cli(['summarize', 'none', `x=${snap[0]}`]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /"none" is not NAME=DIR\[,DIR…\]/);
  const unpaired = cli(['summarize', `none=${none.join(',')}`, `snapmix=${snap[0]}`]);
  assert.match(unpaired.stderr, /group snapmix has 1 runs, none 3: paired differences need one run per seed/);
});

test('--val-fraction: validation carved from the training images (their shard rows skipped), the test split scored once; --val-every', async () => {
  const { carveValidation } = await import('../src/train/holdout.js');
  const ds = await openDataset(data);
  const train = ds.records.filter((r) => r.split === 'train');
  const a = carveValidation(train, 0.2, 7);
  assert.deepEqual(a, carveValidation(train, 0.2, 7), 'seeded');
  assert.notDeepEqual(a.val.map((r) => r.id), carveValidation(train, 0.2, 8).val.map((r) => r.id));
  assert.deepEqual([0, 1, 2].map((c) => a.val.filter((r) => r.label === c).length), [2, 2, 2], 'per class');
  const student = path.join(base, 'student-holdout');
  const r = cli(['train', '--shards', out.cutmix, '--val', data, '--out', student, '--epochs', '3', '--val-fraction', '0.2', '--val-every', '2', '--width', '8', '--stages', '2', '--batch-size', '8', '--seed', '7']);
  assert.equal(r.code, 0, r.stderr);
  const m = /validation: 6 of --val's training images held out \(--val-fraction 0\.2, seed 7\); (\d+) of (\d+) shard rows mix one in and are skipped/.exec(r.stdout);
  assert.ok(m && Number(m[1]) > 0 && Number(m[1]) < Number(m[2]), r.stdout);
  assert.match(r.stdout, /test: top-1 \d+\.\d\d% on 3 test images, the model chosen on the validation split/);
  const metrics = (await fs.readFile(path.join(student, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(metrics.map((x) => x.val_top1 === null), [true, false, false], 'validated at epoch 2 and after the last');
  assert.equal(JSON.parse(await fs.readFile(path.join(student, 'test.json'), 'utf8')).images, 3);
  // Carving from a dataset that is not the shards' sources would hold nothing out: refused.
  const other = path.join(base, 'other-data');
  await writeSynth({ ...SYNTH_DEFAULTS, out: other, classes: 3, perClass: 4, testPerClass: 1, size: 32, seed: 5 });
  // Same class names, other file names: no id in common with the shards' sources.
  for (const c of await fs.readdir(path.join(other, 'train'))) for (const f of await fs.readdir(path.join(other, 'train', c))) await fs.rename(path.join(other, 'train', c, f), path.join(other, 'train', c, `x-${f}`));
  const bad = cli(['train', '--shards', out.cutmix, '--val', other, '--out', path.join(base, 'student-bad'), '--epochs', '1', '--val-fraction', '0.2']);
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /none of the \d+ carved images appears in the shards/);
});

test('refusals of the new flags: --val-fraction with --refresh-every or for a teacher, summarize --against an unknown group', () => {
  const both = cli(['train', '--shards', out.snapmix, '--val', data, '--out', path.join(base, 'vr'), '--epochs', '2', '--val-fraction', '0.2', '--refresh-every', '1']);
  assert.equal(both.code, 2);
  assert.match(both.stderr, /--val-fraction with --refresh-every/);
  assert.equal(fsSync.existsSync(path.join(base, 'vr', 'model.json')), false, 'nothing trained');
  const teacher = cli(['train', '--data', data, '--out', path.join(base, 'vt'), '--epochs', '1', '--val-every', '2']);
  assert.equal(teacher.code, 2);
  assert.match(teacher.stderr, /--val-fraction and --val-every apply to a student/);
  assert.equal(fsSync.existsSync(path.join(base, 'vt')), false, 'nothing written');
  const against = cli(['summarize', `a=${path.join(base, 'runs', 'none-0')}`, '--against', 'zzz']);
  assert.equal(against.code, 2);
  assert.match(against.stderr, /--against zzz: no such group \(groups: a\)/);
});
