// The demo pipeline at toy scale: every stage, the table, the plot, the preview, and reuse on rerun.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { initBackend } from '../src/model/backend.js';
import { runDemo, demoTable, type DemoPreset } from '../src/pipeline/demo.js';
import { tmpDir } from './helpers/fixtures.js';

const tiny: DemoPreset = { classes: 3, perClass: 8, testPerClass: 3, size: 32, teacherEpochs: 1, rounds: 1, studentEpochs: 2, batchSize: 8 };

test('demo: synth → teacher → cams → none/cutmix/snapmix shards → students → table, plot, preview; rerun reuses, another seed is refused', async () => {
  const backend = await initBackend('wasm');
  const out = path.join(await tmpDir(), 'demo');
  const lines: string[] = [];
  const r = await runDemo({ out, preset: tiny, seed: 0, backend: backend.kind, workers: 2, quiet: true, log: (l) => lines.push(l) });
  assert.deepEqual(r.rows.map((x) => x.method), ['none', 'cutmix', 'snapmix']);
  for (const row of r.rows) {
    assert.equal(row.curve.length, 2);
    assert.ok(row.top1 >= 0 && row.top1 <= 1);
  }
  assert.equal(r.rows[0].labelError, 0, 'unmixed views carry exact labels');
  assert.ok(r.rows[2].labelError! >= 0 && r.rows[2].areaError! > 0);
  const table = demoTable(r);
  assert.match(table, /\| snapmix +\|/);
  const plot = await sharp(r.plot).metadata();
  assert.equal(plot.format, 'png');
  assert.ok((plot.width ?? 0) >= 600);
  assert.equal((await sharp(r.preview).metadata()).format, 'png');
  const saved = JSON.parse(await fs.readFile(path.join(out, 'results.json'), 'utf8'));
  assert.equal(saved.rows.length, 3);
  const again: string[] = [];
  const r2 = await runDemo({ out, preset: tiny, seed: 0, backend: backend.kind, workers: 2, quiet: true, log: (l) => again.push(l) });
  assert.ok(again.filter((l) => l.startsWith('demo: reusing')).length >= 9, again.join('\n'));
  assert.deepEqual(r2.rows.map((x) => x.top1), r.rows.map((x) => x.top1));
  // Another seed into the same directory is another request: refused, not mixed with the reused stages.
  await assert.rejects(runDemo({ out, preset: tiny, seed: 1, backend: backend.kind, workers: 2, quiet: true, log: () => {} }), /holds a demo of another request \(seed: 0 → 1\)/);
});
