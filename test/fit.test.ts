// --fit: 'fill' (the official recipe, default of new runs) keeps a wide photo's sides, 'cover' cuts them;
// CAMs and views must fit the same way; a format-2 config (no key, made before --fit) reads as 'cover'.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { decodeRgb } from '../src/image/decode.js';
import { openDataset, splitRecords } from '../src/data/index.js';
import { initBackend } from '../src/model/backend.js';
import { generate } from '../src/pipeline/generate.js';
import { requestHash, resolveGenerateConfig, storedConfigInput, type GenerateConfigInput } from '../src/shards/config.js';
import { readManifest, readSamples } from '../src/shards/reader.js';
import { verifyDirectory } from '../src/shards/verify.js';
import { makeTeacher } from './helpers/teacher.js';
import { tmpDir } from './helpers/fixtures.js';
import { cli } from './helpers/cli.js';

let data = '';
let base = '';

/** A 60×30 grey photo with a red band down its left edge and a blue one down its right. */
async function widePhoto(file: string, shade: number): Promise<void> {
  const w = 60;
  const h = 30;
  const px = Buffer.alloc(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const o = (y * w + x) * 3;
      const [r, g, b] = x < 6 ? [230, 20, 20] : x >= w - 6 ? [20, 20, 230] : [shade, shade, shade];
      px[o] = r;
      px[o + 1] = g;
      px[o + 2] = b;
    }
  }
  await fs.mkdir(path.dirname(file), { recursive: true });
  await sharp(px, { raw: { width: w, height: h, channels: 3 } }).png().toFile(file);
}

const isRed = (rgb: Uint8Array, i: number) => rgb[i * 3] > 150 && rgb[i * 3 + 1] < 90 && rgb[i * 3 + 2] < 90;

/** Share of the left column's pixels that are red, in an RGB image of side s. */
function leftRed(rgb: Uint8Array, s: number): number {
  let n = 0;
  for (let y = 0; y < s; y++) if (isRed(rgb, y * s)) n++;
  return n / s;
}

before(async () => {
  base = await tmpDir();
  data = path.join(base, 'data');
  for (const [k, cls] of ['a', 'b'].entries()) {
    for (let i = 0; i < 3; i++) await widePhoto(path.join(data, 'train', cls, `${i}.png`), 90 + 40 * k + 10 * i);
    await widePhoto(path.join(data, 'test', cls, '9.png'), 100 + 40 * k);
  }
  await initBackend('wasm');
  await makeTeacher(path.join(base, 'teacher'), ['a', 'b'], 32);
});

test('decode: fill squashes the whole photo (its red left edge stays), cover cuts the centre square (it goes)', async () => {
  const file = path.join(data, 'train', 'a', '0.png');
  assert.equal(leftRed((await decodeRgb(file, 30, 'fill')).data, 30), 1);
  assert.equal(leftRed((await decodeRgb(file, 30, 'cover')).data, 30), 0);
});

test('generate: fill is the default, the fit is recorded, and verify replays each sample with it', async () => {
  const dataset = await openDataset(data);
  await initBackend('wasm');
  // Centre view of the whole square, no flip, lossless: the sample shows exactly the fitted source.
  const config: GenerateConfigInput = { method: 'none', size: 30, resize: 30, crop: 'center', flip: false, format: 'png', shardSize: 10 };
  const firstImage = async (out: string) => {
    for await (const s of readSamples(out, await readManifest(out))) return (await decodeRgb(Buffer.from(s.image), 30, 'fill')).data;
    throw new Error('no samples');
  };
  const fill = path.join(base, 'fill');
  await generate({ config, dataset, records: splitRecords(dataset, 'train'), out: fill, workers: 1, camBatch: 8, strict: false, overwrite: false });
  const mf = await readManifest(fill);
  assert.equal(mf.config.fit, 'fill');
  assert.equal(leftRed(await firstImage(fill), 30), 1);
  assert.match(await fs.readFile(path.join(fill, 'README.md'), 'utf8'), /--fit fill/);
  assert.equal((await verifyDirectory(fill)).rows, 6);

  const cover = path.join(base, 'cover');
  await generate({ config: { ...config, fit: 'cover' }, dataset, records: splitRecords(dataset, 'train'), out: cover, workers: 1, camBatch: 8, strict: false, overwrite: false });
  const mc = await readManifest(cover);
  assert.equal(mc.config.fit, 'cover');
  assert.equal(leftRed(await firstImage(cover), 30), 0);
  assert.notEqual(mc.request, mf.request);
  assert.match(await fs.readFile(path.join(cover, 'README.md'), 'utf8'), /--fit cover/);
  // reproduce regenerates every sample from the sources: it must fit them as the run did.
  const r = cli(['reproduce', cover, '--data', data, '--quiet']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /identical/);
});

test('a new request defaults to fill; a stored config without fit (format 2) reads as cover; resolving is idempotent', () => {
  const fresh = resolveGenerateConfig({ method: 'cutmix', size: 32 });
  assert.equal(fresh.fit, 'fill');
  assert.deepEqual(resolveGenerateConfig(fresh), fresh);
  const { fit: _, ...format2 } = resolveGenerateConfig({ method: 'cutmix', size: 32, fit: 'cover' });
  const stored = resolveGenerateConfig(storedConfigInput(format2));
  assert.equal(stored.fit, 'cover');
  assert.notEqual(requestHash(stored, 'd', null), requestHash(fresh, 'd', null));
  assert.throws(() => resolveGenerateConfig({ fit: 'contain' as never }), /fit/);
});

test('cams --fit cover is recorded; generate follows the cache, and refuses a --fit the CAMs were not made with', () => {
  const cams = path.join(base, 'cams-cover');
  const teacher = path.join(base, 'teacher');
  const c = cli(['cams', '--allow-weak-teacher', '--data', data, '--teacher', teacher, '--out', cams, '--fit', 'cover', '--quiet']);
  assert.equal(c.code, 0, c.stderr);
  assert.match(c.stdout, /--fit cover/);
  const out = path.join(base, 'follow');
  const g = cli(['generate', '--allow-weak-teacher', '--data', data, '--cams', cams, '--out', out, '--size', '32', '--shard-size', '10', '--quiet']);
  assert.equal(g.code, 0, g.stderr);
  return fs.readFile(path.join(out, 'manifest.json'), 'utf8').then(async (t) => {
    assert.equal((JSON.parse(t) as { config: { fit: string } }).config.fit, 'cover');
    const bad = path.join(base, 'mismatch');
    const r = cli(['generate', '--allow-weak-teacher', '--data', data, '--cams', cams, '--fit', 'fill', '--out', bad, '--size', '32', '--quiet']);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /computed with --fit cover .* uses --fit fill/);
    assert.match(r.stderr, /snapmix cams --fit fill/);
    const left = await fs.readdir(bad).catch(() => [] as string[]);
    assert.deepEqual(left.filter((f) => f.endsWith('.arrow')), []);
  });
});

test('train records its --fit in the model; cams follows the teacher when --fit is absent', async () => {
  const model = path.join(base, 'teacher-cover');
  const t = cli(['train', '--data', data, '--out', model, '--fit', 'cover', '--size', '32', '--epochs', '1', '--batch-size', '4', '--width', '8', '--stages', '2', '--backend', 'wasm', '--quiet']);
  assert.equal(t.code, 0, t.stderr);
  const meta = JSON.parse(await fs.readFile(path.join(model, 'model.json'), 'utf8')) as { userDefinedMetadata: { snapmix: { fit: string } } };
  assert.equal(meta.userDefinedMetadata.snapmix.fit, 'cover');
  const cams = path.join(base, 'cams-teacher');
  const c = cli(['cams', '--allow-weak-teacher', '--data', data, '--teacher', model, '--out', cams, '--quiet']);
  assert.equal(c.code, 0, c.stderr);
  assert.equal((JSON.parse(await fs.readFile(path.join(cams, 'cams.json'), 'utf8')) as { fit: string }).fit, 'cover');
});

test('a CAM cache of another --fit is refused where it would be reused: cams into it again, preview with it; nothing is overwritten or written', async () => {
  const cover = path.join(base, 'cams-cover'); // made with --fit cover by the test above
  const before = await fs.readFile(path.join(cover, 'cams.json'), 'utf8');
  const again = cli(['cams', '--allow-weak-teacher', '--data', data, '--teacher', path.join(base, 'teacher'), '--out', cover, '--fit', 'fill', '--quiet']);
  assert.equal(again.code, 2, again.stderr);
  assert.match(again.stderr, /already holds a CAM cache of other data, another teacher or another --fit; pass --overwrite/);
  assert.equal(await fs.readFile(path.join(cover, 'cams.json'), 'utf8'), before);
  // The 'follow' shards were made with cover CAMs; preview replaying them with fill CAMs must refuse.
  const fill = path.join(base, 'cams-fill');
  assert.equal(cli(['cams', '--allow-weak-teacher', '--data', data, '--teacher', path.join(base, 'teacher'), '--out', fill, '--quiet']).code, 0);
  const png = path.join(base, 'preview.png');
  const p = cli(['preview', '--shards', path.join(base, 'follow'), '--cams', fill, '--out', png]);
  assert.equal(p.code, 2, p.stderr);
  assert.match(p.stderr, /computed with --fit fill but this run uses --fit cover/);
  await assert.rejects(fs.stat(png));
});
