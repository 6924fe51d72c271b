// generate end to end: determinism (reruns, worker counts), resume, contracts (ajv), interop, bad input.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { tableFromIPC } from 'apache-arrow';
import { tableFromIPC as flechetteFromIPC } from '@uwdata/flechette';
import { initBackend } from '../src/model/backend.js';
import { writeSynth, SYNTH_DEFAULTS } from '../src/data/synth.js';
import { openDataset, splitRecords } from '../src/data/index.js';
import { generate, type GenerateConfig } from '../src/pipeline/generate.js';
import { verifyDirectory, describeSchema } from '../src/shards/verify.js';
import { check } from '../src/util/schemas.js';
import { readManifest, readSamples } from '../src/shards/reader.js';
import { makeTeacher, wasmTeacher } from './helpers/teacher.js';
import { corruptCopy, tmpDir } from './helpers/fixtures.js';
import { cli } from './helpers/cli.js';

let base = '';
let data = '';
let teacher = '';
const cfg: GenerateConfig = { method: 'snapmix', rounds: 2, size: 32, resize: 36, crop: 'random', flip: true, beta: 5, prob: 0.8, seed: 3, shardSize: 20, format: 'jpeg', quality: 90 };

before(async () => {
  base = await tmpDir();
  data = path.join(base, 'data');
  teacher = path.join(base, 'teacher');
  await writeSynth({ ...SYNTH_DEFAULTS, out: data, classes: 4, perClass: 6, testPerClass: 1, size: 32 });
  await initBackend('wasm');
  const ds = await openDataset(data);
  await makeTeacher(teacher, ds.classNames, 32);
});

async function run(out: string, workers: number, extra: Partial<Parameters<typeof generate>[0]> = {}, config = cfg) {
  const dataset = await openDataset(data);
  return generate({ config, dataset, records: splitRecords(dataset, 'train'), teacher: await wasmTeacher(teacher), allowWeakTeacher: true, out, workers, camBatch: 8, strict: false, overwrite: false, ...extra });
}

async function files(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of (await fs.readdir(dir)).sort()) {
    const st = await fs.stat(path.join(dir, f));
    if (st.isFile()) out[f] = createHash('sha256').update(await fs.readFile(path.join(dir, f))).digest('hex');
  }
  return out;
}

test('same request → byte-identical shards and manifest, with 1 or 2 workers; contracts hold', async () => {
  const a = path.join(base, 'g1');
  const b = path.join(base, 'g2');
  const c = path.join(base, 'g3');
  const ra = await run(a, 1);
  await run(b, 2);
  await run(c, 2);
  const [fa, fb, fc] = await Promise.all([files(a), files(b), files(c)]);
  assert.deepEqual(fa, fb, 'workers 1 and 2 give the same bytes');
  assert.deepEqual(fb, fc, 'a rerun gives the same bytes');
  assert.deepEqual(Object.keys(fa), ['README.md', 'data-00000-of-00003.arrow', 'data-00001-of-00003.arrow', 'data-00002-of-00003.arrow', 'dataset_info.json', 'manifest.json', 'rejects.jsonl', 'sources.jsonl', 'state.json']);
  const m = ra.manifest;
  assert.equal(m.counts.planned, 48);
  assert.equal(m.counts.written, 48);
  assert.ok(m.counts.by_method.snapmix > 20 && m.counts.by_method.none > 0, JSON.stringify(m.counts.by_method));
  assert.deepEqual(check('manifest', m), []);
  assert.deepEqual(await verifyDirectory(a), { shards: 3, rows: 48, manifestSha256: createHash('sha256').update(await fs.readFile(path.join(a, 'manifest.json'))).digest('hex') });
  const state = JSON.parse(await fs.readFile(path.join(a, 'state.json'), 'utf8'));
  for (const k of ['_data_files', '_fingerprint', '_format_columns', '_format_kwargs', '_format_type', '_output_all_columns', '_split']) assert.ok(k in state, k);
  const info = JSON.parse(await fs.readFile(path.join(a, 'dataset_info.json'), 'utf8'));
  assert.deepEqual(info.features.label_a, { names: ['class_00', 'class_01', 'class_02', 'class_03'], _type: 'ClassLabel' });
  const t = tableFromIPC(await fs.readFile(path.join(a, 'data-00000-of-00003.arrow')));
  const d = describeSchema(t.schema);
  assert.deepEqual(check('shard', d), []);
  assert.equal((d.metadata.huggingface as { info: { features: { image: unknown } } }).info.features.image && 'ok', 'ok');
  // Breaking the contract is caught: a renamed column fails the shard schema.
  assert.notDeepEqual(check('shard', { ...d, fields: d.fields.map((f) => (f.name === 'weight_a' ? { ...f, name: 'wa' } : f)) }), []);

  // Row semantics: indices in order, soft label = rho_a e_a + rho_b e_b, unmixed rows are (1, 0).
  let expect = 0;
  for await (const s of readSamples(a, await readManifest(a))) {
    assert.equal(s.index, expect++);
    const soft = new Float32Array(4);
    soft[s.labelA] += s.weightA;
    soft[s.labelB] += s.weightB;
    assert.deepEqual(Array.from(s.softLabel), Array.from(soft));
    if (s.method === 'none') assert.deepEqual([s.weightA, s.weightB, s.sourceA], [1, 0, s.sourceB]);
    else assert.notEqual(s.sourceA, s.sourceB);
    assert.deepEqual([...s.image.subarray(0, 2)], [0xff, 0xd8], 'JPEG bytes');
  }
});

test('an independent Arrow reader (flechette) sees the same values as apache-arrow', async () => {
  const dir = path.join(base, 'g1');
  const bytes = await fs.readFile(path.join(dir, 'data-00001-of-00003.arrow'));
  const ours = tableFromIPC(bytes);
  const theirs = flechetteFromIPC(bytes, { useBigInt: false });
  assert.equal(theirs.numRows, ours.numRows);
  assert.deepEqual(theirs.names, ours.schema.fields.map((f) => f.name));
  for (let i = 0; i < ours.numRows; i++) {
    const a = ours.get(i)!;
    const b = theirs.get(i) as Record<string, unknown>;
    for (const k of ['label_a', 'label_b', 'round', 'index']) assert.equal(Number(b[k]), Number(a[k as keyof typeof a]), `${k} row ${i}`);
    for (const k of ['weight_a', 'weight_b', 'area_weight', 'method', 'source_a', 'source_b']) assert.equal(b[k], a[k as keyof typeof a], `${k} row ${i}`);
    assert.deepEqual(Array.from(b.soft_label as ArrayLike<number>), Array.from((a.soft_label as { toArray(): Float32Array }).toArray()));
    assert.deepEqual(Array.from(b.box_a as ArrayLike<number>), Array.from((a.box_a as { toArray(): Int32Array }).toArray()));
    const img = b.image as { bytes: Uint8Array; path: string };
    assert.deepEqual(Buffer.from(img.bytes), Buffer.from((a.image as { bytes: Uint8Array }).bytes));
    assert.equal(img.path, (a.image as { path: string }).path);
  }
});

test('resume: a rerun after an interruption keeps finished shards and ends byte-identical', async () => {
  const ref = await files(path.join(base, 'g1'));
  const out = path.join(base, 'resume');
  await run(out, 2);
  // Simulate a crash while shard 2 was being written: no manifest, a stale temporary file.
  await fs.rm(path.join(out, 'manifest.json'));
  await fs.rm(path.join(out, 'data-00002-of-00003.arrow'));
  await fs.writeFile(path.join(out, 'data-00002-of-00003.arrow.tmp-1'), 'partial');
  const r = await run(out, 2);
  assert.equal(r.resumedShards, 2);
  // Our own temporary leftover was removed by the rerun (nothing else in the directory was touched).
  assert.deepEqual(await files(out), ref);
  // Another request into the same directory is refused, and nothing is changed.
  await assert.rejects(run(out, 1, {}, { ...cfg, seed: 4 }), /holds a run with other options/);
  assert.deepEqual(await files(out), ref);
});

test('bad input: clear errors and nothing written', async () => {
  const empty = async (p: string) => !(await fs.readdir(p).catch(() => [])).length;
  // Teacher with another class count.
  const t3 = path.join(base, 't3');
  await makeTeacher(t3, ['a', 'b', 'c'], 32);
  const o1 = path.join(base, 'bad1');
  await assert.rejects(run(o1, 1, { teacher: await wasmTeacher(t3) }), /predicts 3 classes but the dataset has 4/);
  assert.ok(await empty(o1));
  // CAM cache of another dataset: fingerprint mismatch.
  const other = path.join(base, 'other');
  await writeSynth({ ...SYNTH_DEFAULTS, out: other, classes: 4, perClass: 6, testPerClass: 1, size: 32, seed: 9 });
  const camsOther = path.join(base, 'cams-other');
  const c = cli(['cams', '--allow-weak-teacher', '--data', other, '--teacher', teacher, '--out', camsOther, '--backend', 'wasm', '--quiet']);
  assert.equal(c.code, 0, c.stderr);
  const o2 = path.join(base, 'bad2');
  const r2 = cli(['generate', '--allow-weak-teacher', '--data', data, '--cams', camsOther, '--out', o2, '--size', '32', '--backend', 'wasm', '--quiet']);
  assert.equal(r2.code, 2);
  assert.match(r2.stderr, /was computed for another dataset/);
  assert.ok(await empty(o2));
  // Another teacher than the cache's.
  const camsOwn = path.join(base, 'cams-own');
  assert.equal(cli(['cams', '--allow-weak-teacher', '--data', data, '--teacher', teacher, '--out', camsOwn, '--backend', 'wasm', '--quiet']).code, 0);
  const t4 = path.join(base, 't4');
  await makeTeacher(t4, ['class_00', 'class_01', 'class_02', 'class_03'], 32, 7);
  const r3 = cli(['generate', '--allow-weak-teacher', '--data', data, '--cams', camsOwn, '--teacher', t4, '--out', o2, '--size', '32', '--backend', 'wasm', '--quiet']);
  assert.match(r3.stderr, /computed by another teacher/);
  // A model without a CAM head.
  const flat = path.join(base, 'flat');
  const tf = await import('@tensorflow/tfjs');
  const { saveModel } = await import('../src/model/io.js');
  const m = tf.sequential({ layers: [tf.layers.flatten({ inputShape: [32, 32, 3] }), tf.layers.dense({ units: 4 })] });
  await saveModel(m, flat, { inputSize: 32 });
  const r4 = cli(['generate', '--allow-weak-teacher', '--data', data, '--teacher', flat, '--out', o2, '--size', '32', '--backend', 'wasm', '--quiet']);
  assert.equal(r4.code, 2);
  assert.match(r4.stderr, /model has no CAM head/);
  assert.ok(await empty(o2));
  // Non-empty output without --overwrite; unknown option; out-of-range values name the range.
  const r5 = cli(['generate', '--allow-weak-teacher', '--data', data, '--cams', camsOwn, '--out', path.join(base, 'g1'), '--size', '32', '--backend', 'wasm']);
  assert.match(r5.stderr, /holds a run with other options|is not empty/);
  assert.match(cli(['generate', '--allow-weak-teacher', '--frobnicate', '1']).stderr, /Unknown argument: frobnicate/);
  const r6 = cli(['generate', '--allow-weak-teacher', '--data', data, '--cams', camsOwn, '--out', o2, '--prob', '1.5']);
  assert.equal(r6.code, 2);
  assert.match(r6.stderr, /--prob must be in \[0, 1\], got 1.5/);
  assert.match(cli(['generate', '--allow-weak-teacher', '--data', data, '--cams', camsOwn, '--out', o2, '--quality', '0']).stderr, /--quality must be in \[1, 100\], got 0/);
  // Config files are validated against schemas/config.schema.json.
  const yml = path.join(base, 'gen.yaml');
  await fs.writeFile(yml, 'method: snapmix\nrounds: 2\nsizee: 32\n');
  const r7 = cli(['generate', '--allow-weak-teacher', '--config', yml, '--data', data, '--cams', camsOwn, '--out', o2]);
  assert.equal(r7.code, 2);
  assert.match(r7.stderr, /gen.yaml: unknown key 'sizee'/);
  assert.ok(await empty(o2));
});

test('corrupt source images are skipped, counted by reason and listed; --strict stops naming the file', async () => {
  const d2 = path.join(base, 'data-corrupt');
  await corruptCopy(data, d2, 'train/class_01/00002.png');
  const out = path.join(base, 'corrupt-out');
  const r = cli(['generate', '--allow-weak-teacher', '--data', d2, '--teacher', teacher, '--out', out, '--size', '32', '--backend', 'wasm', '--quiet', '--workers', '1']);
  assert.equal(r.code, 0, r.stderr);
  const m = JSON.parse(await fs.readFile(path.join(out, 'manifest.json'), 'utf8'));
  assert.equal(m.counts.rejected_sources, 1);
  assert.deepEqual(m.counts.rejected_by_reason, { corrupt: 1 });
  assert.equal(m.dataset.sources, 23);
  const rejects = (await fs.readFile(path.join(out, 'rejects.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(rejects.length, 1);
  assert.equal(rejects[0].id, 'train/class_01/00002.png');
  const strictOut = path.join(base, 'strict-out');
  const s = cli(['generate', '--allow-weak-teacher', '--data', d2, '--teacher', teacher, '--out', strictOut, '--size', '32', '--backend', 'wasm', '--quiet', '--strict']);
  assert.equal(s.code, 2);
  assert.match(s.stderr, /--strict: .*class_01\/00002.png is corrupt/);
  assert.equal(await fs.stat(path.join(strictOut, 'manifest.json')).then(() => true, () => false), false);
});
