// Train + eval end to end through the CLI on a tiny synthetic set.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { cli } from './helpers/cli.js';
import { tmpDir } from './helpers/fixtures.js';

test('snapmix synth → train → eval reaches accuracy clearly above chance', async () => {
  const base = await tmpDir();
  const data = path.join(base, 'data');
  const model = path.join(base, 'model');
  // An easy variant (no noise or clutter, larger part) so a few epochs suffice; 4 classes → chance 25%.
  const s = cli(['synth', '--out', data, '--classes', '4', '--per-class', '100', '--test-per-class', '15', '--size', '32', '--noise', '0', '--clutter', '0', '--color-jitter', '0', '--part-scale', '0.28', '0.31', '--quiet']);
  assert.equal(s.code, 0, s.stderr);
  const t = cli(['train', '--data', data, '--out', model, '--size', '32', '--epochs', '14', '--batch-size', '16', '--width', '8', '--optimizer', 'adam', '--lr', '0.005', '--weight-decay', '0', '--backend', 'wasm']);
  assert.equal(t.code, 0, t.stderr);
  assert.match(t.stderr, /backend: wasm/);
  assert.match(t.stdout, /epoch 14\/14/);
  const metrics = (await fs.readFile(path.join(model, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(metrics.length, 14);
  const best = Math.max(...metrics.map((m) => m.val_top1));
  const e = cli(['eval', '--model', model, '--data', data, '--json', '--backend', 'wasm']);
  assert.equal(e.code, 0, e.stderr);
  const ev = JSON.parse(e.stdout.trim().split('\n').pop()!);
  assert.equal(ev.n, 60);
  assert.equal(ev.top1, best, 'the saved model is the best epoch');
  assert.ok(ev.top1 >= 0.5, `top-1 ${ev.top1} should be clearly above chance (0.25)`);
  assert.ok(ev.cam_in_part >= 0 && ev.cam_in_part <= 1);
});

test('train: bad data gives a clear error, exit 2, and writes nothing', async () => {
  const base = await tmpDir();
  const out = path.join(base, 'model');
  const r = cli(['train', '--data', path.join(base, 'missing'), '--out', out, '--backend', 'wasm']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /snapmix: error: --data .*missing does not exist/);
  assert.equal(await fs.stat(out).then(() => true, () => false), false);
  const bad = cli(['train', '--data', base, '--out', out, '--epochs', '0', '--backend', 'wasm']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--epochs must be in \[1, 10000\], got 0/);
  assert.equal(await fs.stat(out).then(() => true, () => false), false);
  const u = cli(['train', '--out', out, '--bogus']);
  assert.equal(u.code, 2);
  assert.match(u.stderr, /Unknown argument: bogus/);
});
