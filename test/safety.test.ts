// Issue 7, each fault reproduced first: --out may never destroy or mix data, runs lock their output,
// verify checks claims against bytes, environment failures are `snapmix: error:` (exit 2), and the
// smaller faults (strict rerun, compose rejects, --size for HF dirs, valueless flags, workers, metrics, eval).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { initBackend } from '../src/model/backend.js';
import { writeSynth, SYNTH_DEFAULTS } from '../src/data/synth.js';
import { openDataset, splitRecords } from '../src/data/index.js';
import { verifyDirectory } from '../src/shards/verify.js';
import { poolThreads } from '../src/pool/pools.js';
import { acquireLock } from '../src/util/lock.js';
import { trainStudent } from '../src/train/student.js';
import { DEFAULT_RECIPE } from '../src/train/recipe.js';
import { makeTeacher } from './helpers/teacher.js';
import { corruptCopy, tmpDir, tree } from './helpers/fixtures.js';
import { cli } from './helpers/cli.js';

let base = '';
let data = '';
let teacher = '';
let cams = '';
let ref = ''; // a finished reference output (cams-based, seed 3)
/** The reference request's command line; `--flag value` pairs in extra replace the defaults, bare flags are added. */
function genArgs(out: string, ...extra: string[]): string[] {
  const opts: Record<string, string | undefined> = { '--data': data, '--cams': cams, '--out': out, '--size': '32', '--resize': '36', '--rounds': '2', '--prob': '0.8', '--seed': '3', '--shard-size': '20', '--backend': 'wasm', '--workers': '1', '--quiet': undefined };
  for (let i = 0; i < extra.length; i++) {
    if (extra[i + 1] !== undefined && !extra[i + 1].startsWith('--')) opts[extra[i]] = extra[++i];
    else opts[extra[i]] = undefined;
  }
  return ['generate', '--allow-weak-teacher', ...Object.entries(opts).flatMap(([k, v]) => (v === undefined ? [k] : [k, v]))];
}
const mounts: string[] = [];

const shardFiles = async (dir: string) => Object.fromEntries(Object.entries(await tree(dir)).filter(([k]) => !k.includes('/')));
const noStack = (r: { stderr: string }) => assert.doesNotMatch(r.stderr, /\n\s+at /, `a stack trace: ${r.stderr}`);

before(async () => {
  base = await tmpDir();
  data = path.join(base, 'data');
  teacher = path.join(base, 'teacher');
  cams = path.join(base, 'cams');
  ref = path.join(base, 'ref');
  await writeSynth({ ...SYNTH_DEFAULTS, out: data, classes: 4, perClass: 6, testPerClass: 2, size: 32 });
  await initBackend('wasm');
  const ds = await openDataset(data);
  await makeTeacher(teacher, ds.classNames, 32);
  assert.equal(cli(['cams', '--allow-weak-teacher', '--data', data, '--teacher', teacher, '--out', cams, '--backend', 'wasm', '--quiet']).code, 0);
  const r = cli(genArgs(ref));
  assert.equal(r.code, 0, r.stderr);
});

after(async () => {
  for (const m of mounts) spawnSync('umount', [m]);
});

/** A tmpfs at dir (root with CAP_SYS_ADMIN, as here and in CI); undefined when mounting is not allowed. */
function tmpfs(dir: string, opts: string): string | undefined {
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', opts, 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) return `cannot mount a tmpfs here (${(r.stderr || r.error?.message || '').trim()}); needs root with CAP_SYS_ADMIN`;
  mounts.push(dir);
  return undefined;
}

test('1. --out never equals, contains or sits inside the data or teacher; --overwrite only replaces snapmix outputs', async () => {
  const before = await tree(data);
  for (const [out, why] of [[data, /is --data/], [base, /contains --data/], [path.join(data, 'train'), /is inside --data/], [path.join(data, 'train', 'new_class'), /is inside --data/]] as const) {
    const r = cli(genArgs(out, '--overwrite'));
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, why);
    noStack(r);
  }
  const c = cli(['cams', '--allow-weak-teacher', '--data', data, '--teacher', teacher, '--out', data, '--overwrite', '--backend', 'wasm', '--quiet']);
  assert.equal(c.code, 2);
  assert.match(c.stderr, /is --data/);
  const t = cli(['cams', '--allow-weak-teacher', '--data', data, '--teacher', teacher, '--out', path.join(teacher, 'cams'), '--backend', 'wasm', '--quiet']);
  assert.match(t.stderr, /is inside --teacher/);
  assert.deepEqual(await tree(data), before, 'the dataset is untouched');
  assert.equal(await fs.stat(path.join(data, 'train', 'new_class')).then(() => true, () => false), false, 'no class directory was created');

  // An existing regular file is never deleted, with or without --overwrite.
  const file = path.join(base, 'notes.txt');
  await fs.writeFile(file, 'mine');
  for (const extra of [[], ['--overwrite']]) {
    const r = cli(['cams', '--allow-weak-teacher', '--data', data, '--teacher', teacher, '--out', file, '--backend', 'wasm', '--quiet', ...extra]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /is a file, not a directory/);
  }
  assert.equal(await fs.readFile(file, 'utf8'), 'mine');

  // A directory of the user's files: --overwrite refuses it.
  const userDir = path.join(base, 'user-dir');
  await fs.mkdir(userDir);
  await fs.writeFile(path.join(userDir, 'thesis.tex'), 'x');
  const u = cli(genArgs(userDir, '--overwrite'));
  assert.equal(u.code, 2);
  assert.match(u.stderr, /holds no snapmix shard output.*--overwrite only ever replaces a snapmix output/);
  assert.deepEqual(Object.keys(await tree(userDir)), ['thesis.tex']);
  // A CAM cache is not a shard output: not replaced either.
  const cams2 = path.join(base, 'cams2');
  await fs.cp(cams, cams2, { recursive: true });
  assert.match(cli(genArgs(cams2, '--overwrite')).stderr, /holds a snapmix CAM cache, not a shard output/);
  assert.match(cli(genArgs(cams, '--overwrite')).stderr, /is --cams/);
  // Our own earlier output is replaced by --overwrite.
  const own = path.join(base, 'own');
  await fs.cp(ref, own, { recursive: true });
  const o = cli(genArgs(own, '--overwrite', '--seed', '4'));
  assert.equal(o.code, 0, o.stderr);
  assert.equal(JSON.parse(await fs.readFile(path.join(own, 'manifest.json'), 'utf8')).config.seed, 4);
  // Rerunning a finished cams is a no-op for the same request, refused for another teacher.
  const again = cli(['cams', '--allow-weak-teacher', '--data', data, '--teacher', teacher, '--out', cams, '--backend', 'wasm', '--quiet']);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /already holds these CAMs/);
  const t2 = path.join(base, 'teacher-2');
  await makeTeacher(t2, (await openDataset(data)).classNames, 32, 2);
  const other = cli(['cams', '--allow-weak-teacher', '--data', data, '--teacher', t2, '--out', cams, '--backend', 'wasm', '--quiet']);
  assert.equal(other.code, 2);
  assert.match(other.stderr, /already holds a CAM cache of other data, another teacher or another --fit; pass --overwrite/);
  // A model output may not sit in the data either.
  const tr = cli(['train', '--data', data, '--out', path.join(data, 'model'), '--epochs', '1', '--backend', 'wasm', '--quiet']);
  assert.equal(tr.code, 2);
  assert.match(tr.stderr, /is inside --data/);
});

test('2. two runs into one --out: the second is refused while the first holds the lock; stale locks are taken over; resume ignores markers of another request', async () => {
  // A lock held by a live process (this one) refuses a run, with or without --overwrite.
  const held = path.join(base, 'held');
  await fs.mkdir(held);
  const lock = await acquireLock(held, 'generate');
  for (const extra of [[], ['--overwrite']]) {
    const r = cli(genArgs(held, ...extra));
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`in use by 'snapmix generate' \\(pid ${process.pid},`));
  }
  await lock.release();
  assert.equal(cli(genArgs(held)).code, 0);

  // Two real processes: the first (a long run) holds the lock; the second, with another seed, is refused.
  const out = path.join(base, 'locked');
  const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
  const first = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'src', 'cli', 'main.ts'), ...genArgs(out, '--rounds', '100', '--shard-size', '1000')], { cwd: root, stdio: 'pipe' });
  const done = new Promise<number>((res) => first.on('exit', (c) => res(c ?? -1)));
  for (let i = 0; i < 400 && !(await fs.stat(path.join(out, '.snapmix.lock')).then(() => true, () => false)); i++) await new Promise((r) => setTimeout(r, 25));
  const second = cli(['generate', '--allow-weak-teacher', '--data', data, '--cams', cams, '--out', out, '--size', '32', '--seed', '9', '--overwrite', '--backend', 'wasm', '--quiet']);
  assert.equal(second.code, 2, second.stderr);
  assert.match(second.stderr, /is in use by 'snapmix generate' \(pid \d+/);
  assert.equal(await done, 0);
  const m = JSON.parse(await fs.readFile(path.join(out, 'manifest.json'), 'utf8'));
  assert.equal(m.config.seed, 3);
  assert.equal(m.config.rounds, 100);
  assert.equal(m.counts.written, 2400);
  await verifyDirectory(out);
  assert.equal(await fs.stat(path.join(out, '.snapmix.lock')).then(() => true, () => false), false, 'the lock is released');

  // A lock left by a killed run on this host is stale and taken over; another host's is refused by name.
  const dead = spawnSync(process.execPath, ['-e', 'process.exit(0)']).pid!;
  const stale = path.join(base, 'stale');
  await fs.cp(ref, stale, { recursive: true });
  await fs.writeFile(path.join(stale, '.snapmix.lock'), JSON.stringify({ pid: dead, host: os.hostname(), command: 'generate', started: 'x' }));
  const s = cli(genArgs(stale));
  assert.equal(s.code, 0, s.stderr);
  await fs.writeFile(path.join(stale, '.snapmix.lock'), JSON.stringify({ pid: 1, host: 'node-17', command: 'generate', started: 'x' }));
  const h = cli(genArgs(stale));
  assert.equal(h.code, 2);
  assert.match(h.stderr, /pid 1 on host node-17.*remove .*\.snapmix\.lock/);

  // A finished shard of another request, planted with its marker, is not resumed: it is remade.
  const mixed = path.join(base, 'mixed');
  const other = path.join(base, 'other-seed');
  assert.equal(cli(genArgs(other, '--seed', '4')).code, 0);
  await fs.cp(ref, mixed, { recursive: true });
  await fs.rm(path.join(mixed, 'manifest.json'));
  for (const f of ['data-00000-of-00003.arrow', '.snapmix/data-00000-of-00003.arrow.json']) await fs.copyFile(path.join(other, f), path.join(mixed, f));
  const r = cli(genArgs(mixed));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /resumed 2 finished shard/);
  assert.deepEqual(await shardFiles(mixed), await shardFiles(ref));
});

async function tampered(name: string, edit: (dir: string, m: Record<string, any>) => Promise<void>): Promise<string> {
  const dir = path.join(base, `t-${name}`);
  await fs.cp(ref, dir, { recursive: true });
  const m = JSON.parse(await fs.readFile(path.join(dir, 'manifest.json'), 'utf8'));
  await edit(dir, m);
  await fs.writeFile(path.join(dir, 'manifest.json'), JSON.stringify(m, null, 2) + '\n');
  return dir;
}

test('3. verify checks every claim against the bytes', async () => {
  const ok = await verifyDirectory(ref);
  assert.equal(ok.rows, 48);
  const cases: [string, (d: string, m: Record<string, any>) => Promise<void>, RegExp][] = [
    ['dropped-shard', async (d, m) => {
      const s = m.shards.pop();
      await fs.rm(path.join(d, s.filename));
      m.counts.written -= s.rows;
      m.counts.planned -= s.rows;
      await fs.writeFile(path.join(d, 'state.json'), JSON.stringify({ ...JSON.parse(await fs.readFile(path.join(d, 'state.json'), 'utf8')), _data_files: m.shards.map((x: { filename: string }) => ({ filename: x.filename })) }));
    }, /counts.planned 40 ≠ sources 24 × rounds 2|contiguous split/],
    ['counts', async (_d, m) => { m.counts.written = 60; }, /counts.written 60, the shards hold 48 rows/],
    ['config', async (_d, m) => { m.config.beta = 1; }, /schema metadata .* differs from the manifest's/],
    ['classes', async (_d, m) => { m.class_names[0] = 'sparrow'; }, /differs from the manifest's|features differ/],
    ['overlap', async (_d, m) => { m.shards[1].first_index = 10; }, /claims indices 10\.\.39/],
    ['stray', async (d) => { await fs.writeFile(path.join(d, 'data-00007-of-00009.arrow'), 'x'); }, /a stray file the manifest does not list/],
    ['leftover', async (d) => { await fs.writeFile(path.join(d, 'data-00001-of-00003.arrow.tmp-4242'), 'x'); }, /temporary file left by an interrupted write/],
  ];
  for (const [name, edit, why] of cases) {
    const dir = await tampered(name, edit);
    await assert.rejects(verifyDirectory(dir), why, name);
    const r = cli(['verify', dir]);
    assert.equal(r.code, 2, name);
    noStack(r);
  }
  // The next run removes our own leftover, and the output verifies again.
  const lo = path.join(base, 't-leftover');
  assert.equal(cli(genArgs(lo)).code, 0);
  await verifyDirectory(lo);
  // Training refuses a tampered output instead of trusting its counts.
  const st = cli(['train', '--shards', path.join(base, 't-counts'), '--val', data, '--out', path.join(base, 'st'), '--epochs', '1', '--backend', 'wasm', '--quiet']);
  assert.equal(st.code, 2);
  assert.match(st.stderr, /counts.written 60/);
  // --manifest-sha256: the published hash proves an unedited manifest.
  const sha = createHash('sha256').update(await fs.readFile(path.join(ref, 'manifest.json'))).digest('hex');
  assert.equal(cli(['verify', ref, '--manifest-sha256', sha]).code, 0);
  const ed = await tampered('sha', async (_d, m) => { m.counts.by_method = { ...m.counts.by_method }; });
  await fs.appendFile(path.join(ed, 'manifest.json'), ' ');
  assert.match(cli(['verify', ed, '--manifest-sha256', sha]).stderr, /is not the published/);

  // An all-corrupt dataset: generate writes its accounts but exits 2; verify agrees unless --allow-empty.
  const bad = path.join(base, 'all-corrupt');
  await fs.cp(data, bad, { recursive: true });
  for (const r of splitRecords(await openDataset(bad), 'train')) await fs.writeFile(r.path, 'broken');
  const eo = path.join(base, 'empty-out');
  const g = cli(['generate', '--allow-weak-teacher', '--data', bad, '--method', 'none', '--out', eo, '--size', '32', '--backend', 'wasm', '--quiet']);
  assert.equal(g.code, 2, g.stderr);
  assert.match(g.stderr, /0 of 24 samples written \(24 corrupt\).*--allow-empty/);
  assert.equal(cli(['verify', eo]).code, 2);
  assert.equal(cli(['verify', eo, '--allow-empty']).code, 0);
  assert.equal(cli(['generate', '--allow-weak-teacher', '--data', bad, '--method', 'none', '--out', eo, '--size', '32', '--backend', 'wasm', '--quiet', '--allow-empty']).code, 0);
});

test('4. environment failures are snapmix: error (exit 2) naming the path and remedy, and leave the output resumable', async (t) => {
  // Read-only output (root ignores chmod, so a read-only tmpfs).
  const ro = path.join(base, 'ro');
  await fs.mkdir(ro);
  const skip = tmpfs(ro, 'ro,size=1m');
  if (skip) {
    t.skip(skip);
    return;
  }
  for (const args of [genArgs(path.join(ro, 'out')), ['cams', '--allow-weak-teacher', '--data', data, '--teacher', teacher, '--out', path.join(ro, 'cams'), '--backend', 'wasm', '--quiet']]) {
    const t0 = Date.now();
    const r = cli(args);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /snapmix: error: .*ro\/(out|cams): the file system is read-only \(EROFS/);
    assert.doesNotMatch(r.stdout, /cams: \d+ CAMs/, 'refused before computing');
    noStack(r);
    assert.ok(Date.now() - t0 < 60_000);
  }
  // Disk full mid-run: a clear error, then (space freed) the same command resumes to the same bytes.
  const small = path.join(base, 'small');
  await fs.mkdir(small);
  assert.equal(tmpfs(small, 'size=48k'), undefined);
  const out = path.join(small, 'out');
  const full = cli(genArgs(out));
  assert.equal(full.code, 2, full.stderr);
  assert.match(full.stderr, /snapmix: error: .*no space left on the device \(ENOSPC.*rerun the same command/);
  noStack(full);
  assert.ok(!(await fs.readdir(out)).some((e) => /\.tmp-\d+$/.test(e)), 'no temporary file left behind');
  assert.equal(spawnSync('mount', ['-o', 'remount,size=8m', small]).status, 0);
  const again = cli(genArgs(out));
  assert.equal(again.code, 0, again.stderr);
  assert.deepEqual(await shardFiles(out), await shardFiles(ref));
  // Broken manifest, truncated shard.
  const broken = await tampered('broken', async () => {});
  await fs.writeFile(path.join(broken, 'manifest.json'), '{"format": "snapmix-shards", "shards": [');
  for (const args of [['verify', broken], ['inspect', broken]]) {
    const r = cli(args);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /manifest.json is not valid JSON/);
    noStack(r);
  }
  const trunc = await tampered('trunc', async (d) => {
    const f = path.join(d, 'data-00001-of-00003.arrow');
    const b = await fs.readFile(f);
    await fs.writeFile(f, b.subarray(0, b.length >> 1));
  });
  const v = cli(['verify', trunc]);
  assert.equal(v.code, 2);
  assert.match(v.stderr, /data-00001-of-00003.arrow: sha256 .* does not match/);
  assert.match(v.stderr, /truncated or corrupt/);
  noStack(v);
  const resumed = cli(genArgs(trunc));
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.deepEqual(await shardFiles(trunc), await shardFiles(ref), 'a rerun remakes the truncated shard');
});

test('5. smaller faults: strict rerun, compose rejects, --size for HF dirs, valueless flags, worker clamp, metrics on resume, eval size', async () => {
  // --strict leaves nothing that blocks the advised rerun.
  const d2 = path.join(base, 'data-one-bad');
  const badFile = await corruptCopy(data, d2, 'train/class_01/00002.png');
  const so = path.join(base, 'strict');
  const s = cli(['generate', '--allow-weak-teacher', '--data', d2, '--method', 'cutmix', '--out', so, '--size', '32', '--backend', 'wasm', '--quiet', '--strict']);
  assert.equal(s.code, 2);
  assert.match(s.stderr, /--strict: .*00002.png is corrupt.*nothing was kept/);
  await fs.rm(badFile);
  const s2 = cli(['generate', '--allow-weak-teacher', '--data', d2, '--method', 'cutmix', '--out', so, '--size', '32', '--backend', 'wasm', '--quiet', '--strict']);
  assert.equal(s2.code, 0, s2.stderr);

  // Compose-stage rejects carry the dataset id, reason and a fixed message (no path) and count as rejected sources.
  await fs.writeFile(badFile, 'not a png at all');
  const co = path.join(base, 'cutmix-rejects');
  assert.equal(cli(['generate', '--allow-weak-teacher', '--data', d2, '--method', 'cutmix', '--out', co, '--size', '32', '--backend', 'wasm', '--quiet']).code, 0);
  const m = JSON.parse(await fs.readFile(path.join(co, 'manifest.json'), 'utf8'));
  assert.equal(m.counts.rejected_sources, 1);
  assert.deepEqual(m.counts.rejected_by_reason, { corrupt: 1 });
  const rj = (await fs.readFile(path.join(co, 'rejects.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  assert.ok(rj.length >= 2 && rj.every((r) => r.stage === 'compose' && r.id === path.relative(d2, badFile).split(path.sep).join('/') && r.path === undefined && r.message.length > 0), JSON.stringify(rj[0]));
  await verifyDirectory(co);

  // A numeric flag without a value is an error, not its default.
  const nv = cli(['generate', '--allow-weak-teacher', '--data', data, '--cams', cams, '--seed', '--out', path.join(base, 'nv')]);
  assert.equal(nv.code, 2);
  assert.match(nv.stderr, /Not enough arguments following: seed/);
  assert.match(cli(['generate', '--allow-weak-teacher', '--seed', 'abc']).stderr, /--seed must be a number, got NaN/);

  // --workers 64 starts no more threads than cores and tasks.
  assert.equal(poolThreads(64, 3), Math.min(3, os.availableParallelism()));
  assert.equal(poolThreads(64), os.availableParallelism());
  assert.equal(poolThreads(1, 100), 1);

  // train --shards on an HF save_to_disk directory (no manifest) honours --size.
  const hf = path.join(base, 'hf');
  await fs.mkdir(hf);
  for (const f of ['state.json', 'dataset_info.json', 'data-00000-of-00003.arrow', 'data-00001-of-00003.arrow', 'data-00002-of-00003.arrow']) await fs.copyFile(path.join(ref, f), path.join(hf, f));
  const hfOut = path.join(base, 'hf-student');
  const h = cli(['train', '--shards', hf, '--val', data, '--out', hfOut, '--size', '32', '--epochs', '1', '--width', '8', '--stages', '2', '--batch-size', '16', '--backend', 'wasm', '--quiet']);
  assert.equal(h.code, 0, h.stderr);
  assert.match(h.stdout, /32px/);

  // A kill between an epoch's metrics line and its checkpoint does not duplicate that epoch on --resume.
  const ds = await openDataset(data);
  const so2 = path.join(base, 'student-metrics');
  const recipe = { ...DEFAULT_RECIPE, epochs: 3, batchSize: 16 };
  const opts = { shards: [ref], val: ds, valName: data, out: so2, recipe, width: 8, stages: 2, workers: 1, bufferSize: 16, quiet: true };
  await trainStudent({ ...opts, stopAfterEpoch: 1 });
  const line1 = (await fs.readFile(path.join(so2, 'metrics.jsonl'), 'utf8')).trim();
  await fs.appendFile(path.join(so2, 'metrics.jsonl'), line1.replace('"epoch":1', '"epoch":2') + '\n'); // epoch 2 logged, then killed
  await trainStudent({ ...opts, resume: true });
  const epochs = (await fs.readFile(path.join(so2, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l).epoch);
  assert.deepEqual(epochs, [1, 2, 3]);

  // eval of a model whose input size differs from the synthetic images' (masks are resized with them).
  const t48 = path.join(base, 'teacher48');
  await makeTeacher(t48, ds.classNames, 48);
  const e = cli(['eval', '--model', t48, '--data', data, '--backend', 'wasm', '--json']);
  assert.equal(e.code, 0, e.stderr);
  const j = JSON.parse(e.stdout.trim().split('\n').pop()!);
  assert.ok(j.cam_in_part >= 0 && j.cam_in_part <= 1, e.stdout);
});
