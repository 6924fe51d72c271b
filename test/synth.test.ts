import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { writeSynth, SYNTH_DEFAULTS, readParts } from '../src/data/synth.js';
import { openDataset, splitRecords } from '../src/data/index.js';
import { tmpDir } from './helpers/fixtures.js';

async function treeHash(root: string): Promise<string> {
  const h = createHash('sha256');
  const walk = async (d: string): Promise<void> => {
    for (const e of (await fs.readdir(d, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else h.update(path.relative(root, p)).update(await fs.readFile(p));
    }
  };
  await walk(root);
  return h.digest('hex');
}

test('synth: same seed → same bytes; another seed → different; ImageFolder + masks + index', async () => {
  const base = await tmpDir();
  const opts = { ...SYNTH_DEFAULTS, classes: 4, perClass: 3, testPerClass: 2, size: 32 };
  await writeSynth({ ...opts, out: path.join(base, 'a') });
  await writeSynth({ ...opts, out: path.join(base, 'b') });
  await writeSynth({ ...opts, seed: 1, out: path.join(base, 'c') });
  const [ha, hb, hc] = await Promise.all(['a', 'b', 'c'].map((d) => treeHash(path.join(base, d))));
  assert.equal(ha, hb);
  assert.notEqual(ha, hc);

  const ds = await openDataset(path.join(base, 'a'));
  assert.deepEqual(ds.classNames, ['class_00', 'class_01', 'class_02', 'class_03']);
  assert.equal(splitRecords(ds, 'train').length, 12);
  assert.equal(splitRecords(ds, 'test').length, 8);
  const parts = await readParts(path.join(base, 'a'));
  assert.equal(parts.size, 20);
  for (const r of ds.records) {
    const e = parts.get(r.id)!;
    assert.equal(e.label, r.label);
    const { data, info } = await sharp(path.join(base, 'a', e.mask)).raw().toBuffer({ resolveWithObject: true });
    assert.equal(info.width, 32);
    let on = 0;
    for (let i = 0; i < data.length; i += info.channels) if (data[i] > 127) on++;
    const [x1, y1, x2, y2] = e.part_box;
    assert.equal(on, (x2 - x1) * (y2 - y1), 'mask is the part box');
    assert.ok(on / (32 * 32) <= 0.1, `part covers ${on / 1024} of the image (≤ 10%)`);
    assert.ok(on > 0);
  }
  await assert.rejects(writeSynth({ ...opts, out: path.join(base, 'a') }), /already holds a synthetic dataset; pass --overwrite/);
  // --overwrite never replaces a directory of someone else's files.
  const mine = path.join(base, 'mine');
  await fs.mkdir(mine);
  await fs.writeFile(path.join(mine, 'notes.txt'), 'keep');
  await assert.rejects(writeSynth({ ...opts, out: mine, overwrite: true }), /holds no snapmix synthetic dataset/);
  assert.equal(await fs.readFile(path.join(mine, 'notes.txt'), 'utf8'), 'keep');
});
