// Big outputs stream: inspect summarises 150,000 rows in constant memory (it once spread every weight into
// Math.min and threw past ~120k rows).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { shardColumns, type ShardRow } from '../src/shards/schema.js';
import { SHARD_FORMAT_VERSION } from '../src/shards/format-version.js';
import { recordBatch, streamBytes } from '../src/shards/ipc.js';
import { inspectShards } from '../src/pipeline/inspect.js';
import type { Manifest } from '../src/shards/manifest.js';
import { tmpDir } from './helpers/fixtures.js';

test('inspect over 150,000 rows: exact counts and extremes, no spread of a huge array', async () => {
  const dir = await tmpDir('snapmix-big-');
  const N = 150_000;
  const img = new Uint8Array([0xff, 0xd8, 0xff]);
  const rows: ShardRow[] = Array.from({ length: N }, (_, i) => ({
    image: img, imagePath: `${i}.jpg`, labelA: i % 3, labelB: (i + 1) % 3, weightA: (i % 1000) / 1000, weightB: 1 - (i % 1000) / 1000, areaWeight: 0.5,
    method: 'snapmix', sourceA: `a${i}`, sourceB: `b${i}`, boxA: [0, 0, 1, 1], boxB: [0, 0, 1, 1], round: 0, index: i,
  }));
  const { fields, columns } = shardColumns(rows, 3, SHARD_FORMAT_VERSION);
  await fs.writeFile(path.join(dir, 'data-00000-of-00001.arrow'), streamBytes([recordBatch(fields, columns)]));
  const m = {
    format: 'snapmix-shards', class_names: ['x', 'y', 'z'],
    shards: [{ filename: 'data-00000-of-00001.arrow', first_index: 0, last_index: N - 1, rows: N, bytes: 0, sha256: '' }],
    counts: { planned: N, written: N, skipped: 0, skipped_by_reason: {}, rejected_sources: 0, rejected_by_reason: {}, by_method: { snapmix: N } },
  } as unknown as Manifest;
  const r = await inspectShards(dir, m);
  assert.equal(r.rows, N);
  const s = r.methods.snapmix;
  assert.equal(s.n, N);
  assert.equal(s.weight_a.min, 0);
  assert.ok(Math.abs(s.weight_a.max - 0.999) < 1e-6);
  assert.ok(Math.abs(s.weight_a.mean - 0.4995) < 1e-6);
  assert.deepEqual(r.class_balance.map((c) => c.as_a), [50_000, 50_000, 50_000]);
});

test('the shard writer\'s collector frees dropped buffers once the byte threshold is crossed, not before it is asked to', async () => {
  const { collectEvery, collectGarbage } = await import('../src/util/gc.js');
  // A WeakRef's target stays alive until the current job ends: drop it, yield, then collect.
  const probe = (): WeakRef<ArrayBuffer> => new WeakRef(new ArrayBuffer(4 * 2 ** 20));
  const tick = () => new Promise((r) => setImmediate(r));
  const a = probe();
  await tick();
  collectGarbage();
  assert.equal(a.deref(), undefined, 'a full collection frees an unreferenced 4 MiB buffer');
  const after = collectEvery(8 * 2 ** 20);
  const b = probe();
  const kept = new ArrayBuffer(16);
  const c = new WeakRef(kept);
  await tick();
  after(4 * 2 ** 20); // below the threshold: no collection asked for
  after(4 * 2 ** 20); // 8 MiB reached: one full collection
  assert.equal(b.deref(), undefined, 'the threshold crossing collected the dropped buffer');
  assert.equal(c.deref(), kept, 'a buffer still referenced survives');
});
