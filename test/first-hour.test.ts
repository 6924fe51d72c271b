// A PyTorch user's first hour (issue "A PyTorch user's first hour works"): a teacher whose classes do not
// line up with the dataset's is caught by its agreement with the labels; the manifest and card record the
// agreement and what made the output; shards declare their columns as HF's writer does (format 4) while
// format-3 outputs still verify and reproduce; HF cache files in a release are named as such; a Parquet
// export carries its class names as a table; an array-job task without a split is refused.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { RecordBatchReader, type Field } from 'apache-arrow';
import { initBackend } from '../src/model/backend.js';
import { openDataset, splitRecords } from '../src/data/index.js';
import { trainTeacher } from '../src/train/teacher.js';
import { DEFAULT_RECIPE } from '../src/train/recipe.js';
import { generate } from '../src/pipeline/generate.js';
import { verifyDirectory } from '../src/shards/verify.js';
import { hfFeatures } from '../src/shards/schema.js';
import { availableCpus } from '../src/util/cpus.js';
import { tmpDir } from './helpers/fixtures.js';
import { makeTeacher } from './helpers/teacher.js';
import { cli } from './helpers/cli.js';

let base = '';
let data = '';
let rotated = '';
let teacher = '';
const COLOURS: Record<string, [number, number, number]> = { blue: [30, 60, 220], green: [40, 200, 60], red: [220, 40, 40] };

/** Solid-colour images with a little noise: classes any teacher separates after a few epochs. */
async function colours(root: string, names: Record<string, string>): Promise<void> {
  for (const [colour, folder] of Object.entries(names)) {
    for (const split of ['train', 'test']) {
      await fs.mkdir(path.join(root, split, folder), { recursive: true });
      for (let i = 0; i < (split === 'train' ? 8 : 2); i++) {
        const [r, g, b] = COLOURS[colour].map((v) => Math.max(0, Math.min(255, v + ((i * 37) % 21) - 10)));
        await sharp({ create: { width: 32, height: 32, channels: 3, background: { r, g, b } } }).png().toFile(path.join(root, split, folder, `${i}.png`));
      }
    }
  }
}

before(async () => {
  base = await tmpDir('snapmix-first-hour-');
  data = path.join(base, 'data');
  rotated = path.join(base, 'rotated');
  await colours(data, { blue: 'a_blue', green: 'b_green', red: 'c_red' });
  // The same images under names that sort in another order: class k of the data is not the teacher's k
  // (as CUB's classes.txt ids against a teacher trained with another order).
  await colours(rotated, { blue: 'b_blue', green: 'c_green', red: 'a_red' });
  await initBackend('wasm');
  teacher = path.join(base, 'teacher');
  await trainTeacher({ dataset: await openDataset(data), out: teacher, size: 32, recipe: { ...DEFAULT_RECIPE, epochs: 6, batchSize: 8, warmup: 0, seed: 1 }, width: 8, stages: 2, quiet: true });
  // Forget the class names, as an ONNX export without a sidecar's class_names would: only the agreement can tell.
  const modelJson = path.join(teacher, 'model.json');
  const json = JSON.parse(await fs.readFile(modelJson, 'utf8'));
  delete json.userDefinedMetadata.snapmix.classNames;
  await fs.writeFile(modelJson, JSON.stringify(json));
});

test('a teacher whose class order is not the data\'s is refused by its agreement with the labels; --allow-weak-teacher keeps it', async () => {
  const good = cli(['cams', '--data', data, '--teacher', teacher, '--out', path.join(base, 'cams'), '--quiet']);
  assert.equal(good.code, 0, good.stderr);
  assert.match(good.stderr, /^teacher: .*teacher: tfjs, input 32×32, mean \[0\.5, 0\.5, 0\.5\], std \[0\.25, 0\.25, 0\.25\], fit fill \(the model's metadata\)$/m);
  assert.match(good.stderr, /cams: the teacher against the labels: top-1 \d+\.\d% \(chance 33\.3%\), mean p\(label\) 0\.\d{3}/);
  const meta = JSON.parse(await fs.readFile(path.join(base, 'cams', 'cams.json'), 'utf8'));
  assert.ok(meta.teacher_agreement.top1 >= 0.9, `a teacher trained on these images agrees: ${JSON.stringify(meta.teacher_agreement)}`);
  assert.equal(meta.cam_backend, 'tfjs-wasm');

  const out = path.join(base, 'cams-rotated');
  const bad = cli(['cams', '--data', rotated, '--teacher', teacher, '--out', out, '--quiet']);
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /agrees with the dataset's labels on \d+\.\d% of 24 images \(chance 33\.3%.*Likely causes: the class order .*the preprocessing .*--fit\. Nothing was written.*--allow-weak-teacher/);
  assert.equal(await fs.stat(out).then(() => true, () => false), false, 'nothing written');
  const allowed = cli(['cams', '--data', rotated, '--teacher', teacher, '--out', out, '--allow-weak-teacher', '--quiet']);
  assert.equal(allowed.code, 0, allowed.stderr);
  const weak = JSON.parse(await fs.readFile(path.join(out, 'cams.json'), 'utf8')).teacher_agreement;
  assert.ok(weak.top1 < weak.chance + 0.1, JSON.stringify(weak));
  // generate with that cache refuses it too, unless told.
  const g = cli(['generate', '--data', rotated, '--cams', out, '--out', path.join(base, 'gen-rotated'), '--size', '32', '--quiet']);
  assert.equal(g.code, 2, g.stderr);
  assert.match(g.stderr, /the teacher of --cams .* agrees with the dataset's labels on/);
});

test('format 4: the manifest and card record the agreement and what made the output; every column is declared as HF declares it', async () => {
  const out = path.join(base, 'shards');
  const r = cli(['generate', '--data', data, '--cams', path.join(base, 'cams'), '--out', out, '--size', '32', '--rounds', '2', '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  const m = JSON.parse(await fs.readFile(path.join(out, 'manifest.json'), 'utf8'));
  const cams = JSON.parse(await fs.readFile(path.join(base, 'cams', 'cams.json'), 'utf8'));
  assert.equal(m.format_version, 4);
  assert.deepEqual(m.teacher.agreement, cams.teacher_agreement);
  const pkg = JSON.parse(await fs.readFile(path.join(process.cwd(), 'package.json'), 'utf8'));
  assert.deepEqual(m.generator, { snapmix: pkg.version, cam_backend: 'tfjs-wasm' });
  const card = await fs.readFile(path.join(out, 'README.md'), 'utf8');
  assert.match(card, /\| teacher against the labels \(CAM pass\) \| top-1 \d+\.\d% of the images \(chance 33\.3%\)/);
  assert.match(card, new RegExp(`\\| made with \\| snapmix ${pkg.version.replace(/\./g, '\\.')}, CAMs computed by tfjs-wasm \\|`));
  assert.match(card, /bisect_left\(rounds, epoch % 2\)/, 'the card selects a round without writing into the release');

  // HF's writer declares every top-level field nullable, lists as fixed_size_list with a nullable child
  // 'item', the Image struct as {bytes: binary, path: string}. Features.from_arrow_schema keeps a feature
  // (ClassLabel names included) only where the file's field equals that: so every field must.
  const features = hfFeatures(m.class_names) as Record<string, { _type: string; dtype?: string; length?: number; feature?: { dtype: string } }>;
  const arrowType: Record<string, string> = { float32: 'Float32', int32: 'Int32', int64: 'Int64', string: 'Utf8' };
  const expected = (f: (typeof features)[string]) =>
    f._type === 'Image' ? 'Struct<{bytes:Binary, path:Utf8}>' : f._type === 'ClassLabel' ? 'Int64' : f._type === 'Sequence' ? `FixedSizeList[${f.length}]<${arrowType[f.feature!.dtype]}>` : arrowType[f.dtype!];
  const schema = RecordBatchReader.from(await fs.readFile(path.join(out, m.shards[0].filename))).open().schema;
  for (const f of schema.fields as Field[]) {
    assert.equal(String(f.type), expected(features[f.name]), f.name);
    assert.equal(f.nullable, true, `${f.name} is nullable, as HF declares it`);
    for (const child of (f.type as { children?: Field[] }).children ?? []) assert.equal(child.nullable, true, `${f.name}.${child.name}`);
    if (String(f.type).startsWith('FixedSizeList')) assert.equal((f.type as { children: Field[] }).children[0].name, 'item');
  }
  assert.deepEqual(schema.fields.map((f) => f.name), Object.keys(features));
  assert.equal((await verifyDirectory(out)).rows, 48);
});

test('a format-3 output (before nullable columns) still verifies, and reproduces byte for byte', async () => {
  const dataset = await openDataset(data);
  const v3 = path.join(base, 'v3');
  await generate({ config: { method: 'cutmix', size: 32, seed: 2, shardSize: 10 }, dataset, records: splitRecords(dataset, 'train'), out: v3, workers: 1, camBatch: 8, strict: false, overwrite: false, formatVersion: 3 });
  const m = JSON.parse(await fs.readFile(path.join(v3, 'manifest.json'), 'utf8'));
  assert.equal(m.format_version, 3);
  assert.equal(m.generator, undefined, 'format 3 records no generator');
  const schema = RecordBatchReader.from(await fs.readFile(path.join(v3, m.shards[0].filename))).open().schema;
  assert.deepEqual(schema.fields.filter((f) => f.nullable).map((f) => f.name), ['image']);
  assert.equal((await verifyDirectory(v3)).rows, 24);
  const r = cli(['reproduce', v3, '--data', data, '--quiet']);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /reproduces: 3 shard\(s\) identical/);
  assert.match(r.stdout, /manifest\.json: identical/);
  const t = cli(['train', '--shards', v3, '--val', data, '--out', path.join(base, 'student-v3'), '--epochs', '1', '--width', '8', '--stages', '2', '--batch-size', '8', '--quiet']);
  assert.equal(t.code, 0, t.stderr);
});

test('Hugging Face cache files in a release are named as such, with how to remove them and keep them out', async () => {
  const out = path.join(base, 'shards');
  await fs.writeFile(path.join(out, 'cache-0123456789abcdef.arrow'), 'written by ds.filter');
  for (const args of [['verify', out], ['train', '--shards', out, '--val', data, '--out', path.join(base, 'student'), '--epochs', '1']]) {
    const r = cli(args);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /1 Hugging Face datasets cache file\(s\) \(cache-0123456789abcdef\.arrow\): ds\.map or ds\.filter on load_from_disk\(.*\) wrote them into the release; they are not part of it\. Remove them \(rm .*cache-\*\.arrow\), and select rounds with ds\.select\(range\(\.\.\.\)\) or pass keep_in_memory=True/);
    assert.doesNotMatch(r.stderr, /stray file/);
  }
  await fs.rm(path.join(out, 'cache-0123456789abcdef.arrow'));
  assert.equal(cli(['verify', out]).code, 0);
});

test('a Parquet export carries classes.csv for SQL readers; verify on an export points at sha256sum -c', async () => {
  const out = path.join(base, 'parquet');
  const r = cli(['export', path.join(base, 'shards'), '--to', 'parquet', '--out', out, '--quiet']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await fs.readFile(path.join(out, 'classes.csv'), 'utf8'), 'id,name\n0,a_blue\n1,b_green\n2,c_red\n');
  assert.match(await fs.readFile(path.join(out, 'SHA256SUMS'), 'utf8'), /^[0-9a-f]{64} {2}classes\.csv$/m);
  const v = cli(['verify', out]);
  assert.equal(v.code, 2);
  assert.match(v.stderr, /is a 'snapmix export' \(export\.json\), not a release: check its files with 'cd .* && sha256sum -c SHA256SUMS'/);
});

test('an array-job task without --num-shards is refused (it would write the whole output); workers follow the CPUs the job got', () => {
  const r = cli(['generate', '--data', data, '--cams', path.join(base, 'cams'), '--out', path.join(base, 'slurm'), '--size', '32', '--quiet'], { env: { SLURM_ARRAY_TASK_ID: '3' } });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /\$SLURM_ARRAY_TASK_ID=3 says this is one task of an array job, but no --num-shards was given: every task would compute the whole output\. Pass --num-shards K/);
  assert.equal(availableCpus({ SLURM_CPUS_PER_TASK: '1' }), 1);
  assert.equal(availableCpus({}), availableCpus({ SLURM_CPUS_PER_TASK: '100000' }), 'never more than the affinity mask allows');
});

test('a model trained on the same classes in another order is named as such, at the first differing class, without a stray "…"', async () => {
  const t = path.join(base, 'named-teacher');
  await makeTeacher(t, ['b_green', 'a_blue', 'c_red'], 32);
  const r = cli(['eval', '--model', t, '--data', data]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /was trained on other classes than .*: class 0 is "b_green" for the model, "a_blue" for the data \(the same names in another order\); the model's classes are \[b_green, a_blue, c_red\], the data's \[a_blue, b_green, c_red\]/);
  assert.doesNotMatch(r.stderr, /…/);
});
