// The built CLI (dist/, what `npm start` and users run) with its compiled worker pools.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { tmpDir } from './helpers/fixtures.js';
import { makeTeacher } from './helpers/teacher.js';
import { initBackend } from '../src/model/backend.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = path.join(root, 'dist', 'cli', 'main.js');
const run = (args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 300_000, env: { ...process.env, NODE_OPTIONS: '' } });

test('--help loads no compute or image library (tfjs, onnxruntime, sharp, Arrow): it answers in about 0.3 s', async () => {
  const dir = await tmpDir();
  for (const args of [['--help'], ['generate', '--allow-weak-teacher', '--help'], ['train', '--help'], ['eval', '--help']]) {
    const trace = path.join(dir, `${args.join('-')}.txt`);
    const r = spawnSync(process.execPath, ['--import', path.join(root, 'test', 'helpers', 'trace-imports.mjs'), bin, ...args], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '', TRACE_IMPORTS: trace } });
    assert.equal(r.status, 0, r.stderr);
    const loaded = (await fs.readFile(trace, 'utf8')).split('\n').filter(Boolean);
    assert.ok(loaded.some((u) => u.includes('/dist/cli/')), 'the trace sees our modules');
    const heavy = loaded.filter((u) => /@tensorflow|onnxruntime|\/sharp\/|apache-arrow|onnx-proto|parquet-wasm|piscina/.test(u));
    assert.deepEqual(heavy, [], `${args.join(' ')} loaded ${heavy.slice(0, 3).join(', ')}`);
  }
});

test('dist CLI: --help on every command; synth → cams → generate → verify → inspect with compiled workers', async () => {
  const help = run(['--help']);
  assert.equal(help.status, 0, help.stderr);
  const commands = ['synth', 'train', 'eval', 'cams', 'generate', 'inspect', 'preview', 'verify', 'demo'];
  for (const c of commands) {
    assert.match(help.stdout, new RegExp(`snapmix ${c}`));
    const h = run([c, '--help']);
    assert.equal(h.status, 0, `${c} --help: ${h.stderr}`);
    assert.match(h.stdout, /Options:/);
  }
  const base = await tmpDir();
  const data = path.join(base, 'data');
  assert.equal(run(['synth', '--out', data, '--classes', '3', '--per-class', '5', '--test-per-class', '1', '--size', '32', '--quiet']).status, 0);
  await initBackend('wasm');
  await makeTeacher(path.join(base, 'teacher'), ['class_00', 'class_01', 'class_02'], 32);
  const cams = path.join(base, 'cams');
  const c = run(['cams', '--allow-weak-teacher', '--data', data, '--teacher', path.join(base, 'teacher'), '--out', cams, '--workers', '2', '--backend', 'wasm', '--quiet']);
  assert.equal(c.status, 0, c.stderr);
  assert.match(c.stdout, /cams: 15 CAMs \(16×16, --fit fill\)/);
  const out = path.join(base, 'out');
  const g = run(['generate', '--allow-weak-teacher', '--data', data, '--cams', cams, '--out', out, '--size', '32', '--rounds', '2', '--shard-size', '8', '--workers', '2', '--backend', 'wasm', '--quiet']);
  assert.equal(g.status, 0, g.stderr);
  assert.match(g.stdout, /generate: 30 samples in 4 shard\(s\)/);
  const v = run(['verify', out]);
  assert.equal(v.status, 0, v.stderr);
  assert.match(v.stdout, /OK \(4 shard\(s\), 30 rows; manifest sha256 [0-9a-f]{64}\)/);
  const i = run(['inspect', out, '--json', '--masks', data]);
  assert.equal(i.status, 0, i.stderr);
  const report = JSON.parse(i.stdout);
  assert.equal(report.rows, 30);
  assert.equal(report.fidelity.samples, 30);
  assert.ok(report.fidelity.label_error >= 0 && report.fidelity.area_error > 0);
  const p = run(['preview', '--shards', out, '--n', '4', '--out', path.join(base, 'sheet.png')]);
  assert.equal(p.status, 0, p.stderr);
  const png = await fs.readFile(path.join(base, 'sheet.png'));
  assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]);
});
