// The 'birds' design: classes that differ in head, wing and tail at once, every discriminative part in the
// mask, objects at varied place and scale; deterministic like every synth design.
import test from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { writeSynth, SYNTH_DEFAULTS, maxClasses } from '../src/data/synth.js';
import { BIRD_CLASSES, birdDesign } from '../src/data/synth-birds.js';
import { tmpDir, tree } from './helpers/fixtures.js';

test('birds: 18 classes, each a distinct (head, wing, tail), differing from others in one to three parts', () => {
  assert.equal(maxClasses('birds'), 18);
  const designs = Array.from({ length: BIRD_CLASSES }, (_, k) => birdDesign(k));
  assert.equal(new Set(designs.map((d) => JSON.stringify(d))).size, 18);
  const diffs = new Set(designs.flatMap((a, i) => designs.slice(i + 1).map((b) => Number(a.head !== b.head) + Number(a.wing !== b.wing) + Number(a.tail !== b.tail))));
  assert.deepEqual([...diffs].sort(), [1, 2, 3]);
});

test('birds: masks cover the head, wing and tail (a few percent of the image, at varied places); same seed, same bytes', async () => {
  const base = await tmpDir('snapmix-birds-');
  const opts = { ...SYNTH_DEFAULTS, classes: 6, perClass: 4, testPerClass: 1, size: 64, design: 'birds' as const };
  await writeSynth({ ...opts, out: path.join(base, 'a') });
  await writeSynth({ ...opts, out: path.join(base, 'b') });
  assert.deepEqual(await tree(path.join(base, 'b')), await tree(path.join(base, 'a')));
  const parts = (await fs.readFile(path.join(base, 'a', 'parts.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  const centres: number[] = [];
  for (const e of parts) {
    const { data } = await sharp(path.join(base, 'a', e.mask)).raw().toBuffer({ resolveWithObject: true });
    const share = data.filter((v) => v > 0).length / data.length;
    assert.ok(share > 0.01 && share < 0.2, `${e.id}: part share ${share}`);
    centres.push((e.part_box[0] + e.part_box[2]) / 2);
  }
  assert.ok(Math.max(...centres) - Math.min(...centres) > 10, 'the birds are not all in one place');
  const meta = JSON.parse(await fs.readFile(path.join(base, 'a', 'synth.json'), 'utf8'));
  assert.deepEqual(Object.keys(meta.classes[0]), ['name', 'head', 'wing', 'tail']);
  assert.equal(meta.options.design, 'birds');
});
