// Releases: the dataset card, `snapmix reproduce` (identical on an untouched release; a changed source
// image, another teacher, an edited config and a flipped byte each caught and named), and exports to
// Parquet (read back by DuckDB and by hyparquet) and WebDataset (tars listed and parsed).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import sharp from 'sharp';
import tar from 'tar-stream';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { DuckDBInstance } from '@duckdb/node-api';
import { writeSynth, SYNTH_DEFAULTS } from '../src/data/synth.js';
import { openDataset } from '../src/data/index.js';
import { initBackend } from '../src/model/backend.js';
import { readManifest, readSamples, type ShardSample } from '../src/shards/reader.js';
import { makeTeacher } from './helpers/teacher.js';
import { tmpDir, tree } from './helpers/fixtures.js';
import { cli } from './helpers/cli.js';

let base = '';
let data = '';
let teacher = '';
let cams = '';
let release = '';
const GEN = ['--method', 'snapmix', '--rounds', '2', '--size', '32', '--resize', '36', '--seed', '3', '--shard-size', '10', '--backend', 'wasm', '--quiet', '--workers', '2'];

const ok = (r: { code: number; stdout: string; stderr: string }) => assert.equal(r.code, 0, r.stderr + r.stdout);

before(async () => {
  base = await tmpDir('snapmix-release-');
  data = path.join(base, 'data');
  teacher = path.join(base, 'teacher');
  cams = path.join(base, 'cams');
  release = path.join(base, 'release');
  await writeSynth({ ...SYNTH_DEFAULTS, out: data, classes: 3, perClass: 5, testPerClass: 1, size: 32 });
  await initBackend('wasm');
  await makeTeacher(teacher, (await openDataset(data)).classNames, 32);
  ok(cli(['cams', '--allow-weak-teacher', '--data', data, '--teacher', teacher, '--out', cams, '--backend', 'wasm', '--quiet']));
  ok(cli(['generate', '--allow-weak-teacher', '--data', data, '--cams', cams, '--out', release, '--license', 'cc-by-4.0', '--card-title', 'Synthetic birds, SnapMix', ...GEN]));
});

async function rows(dir: string): Promise<ShardSample[]> {
  const out: ShardSample[] = [];
  for await (const s of readSamples(dir, await readManifest(dir))) out.push(s);
  return out;
}

test('the dataset card: YAML front matter parses, its counts and features match the manifest, it is deterministic and verify checks it', async () => {
  const card = await fs.readFile(path.join(release, 'README.md'), 'utf8');
  const m = await readManifest(release);
  const [, front] = card.split(/^---$/m);
  const y = parseYaml(front) as Record<string, any>;
  assert.equal(y.license, 'cc-by-4.0');
  assert.equal(y.pretty_name, 'Synthetic birds, SnapMix');
  assert.deepEqual(y.task_categories, ['image-classification']);
  assert.equal(y.dataset_info.splits[0].num_examples, m.counts.written);
  assert.equal(y.dataset_info.splits[0].num_bytes, m.shards.reduce((a, s) => a + s.bytes, 0));
  assert.deepEqual(y.dataset_info.features.map((f: { name: string }) => f.name), ['image', 'label_a', 'label_b', 'weight_a', 'weight_b', 'soft_label', 'area_weight', 'method', 'source_a', 'source_b', 'box_a', 'box_b', 'round', 'index']);
  assert.deepEqual(Object.values(y.dataset_info.features[1].dtype.class_label.names), m.class_names);
  assert.deepEqual(y.configs[0].data_files[0], { split: 'train', path: 'data-*.arrow' });
  // Body: fingerprints, counts by method, the weight table, the reproducing command, the citation; no machine path.
  assert.ok(card.includes(m.dataset.fingerprint) && card.includes(m.teacher!.fingerprint));
  for (const [k, v] of Object.entries(m.counts.by_method)) assert.ok(card.includes(`${k} ${v}`), `by_method ${k}`);
  assert.match(card, /\| snapmix \| \d+ \| 0\.\d{3} \[/);
  assert.match(card, /snapmix generate --data DATA --teacher TEACHER --method snapmix --rounds 2 --size 32 --resize 36 --fit fill --crop random --flip --beta 5 --prob 1 --seed 3 --shard-size 10/);
  assert.match(card, /@inproceedings\{huang2021snapmix/);
  assert.ok(!card.includes(base), 'no machine path in the card');
  const sha = (await fs.readFile(path.join(release, 'manifest.json'))).toString();
  assert.ok(sha.length > 0);
  // The same request elsewhere writes the same card; an edited card fails verify.
  const again = path.join(base, 'again');
  ok(cli(['generate', '--allow-weak-teacher', '--data', data, '--cams', cams, '--out', again, '--license', 'cc-by-4.0', '--card-title', 'Synthetic birds, SnapMix', ...GEN]));
  assert.equal(await fs.readFile(path.join(again, 'README.md'), 'utf8'), card);
  await fs.appendFile(path.join(again, 'README.md'), 'edited\n');
  const v = cli(['verify', again]);
  assert.equal(v.code, 2);
  assert.match(v.stderr, /README\.md: the dataset card differs/);
});

test('reproduce: an untouched release is identical shard by shard; a part of it spot-checks only its shards', async () => {
  const r = cli(['reproduce', release, '--data', data, '--cams', cams, '--backend', 'wasm', '--quiet']);
  ok(r);
  const m = await readManifest(release);
  for (const s of m.shards) assert.match(r.stdout, new RegExp(`${s.filename}: identical`));
  assert.match(r.stdout, /manifest\.json: identical/);
  assert.match(r.stdout, /reproduces: \d+ shard\(s\) identical/);
  const p = cli(['reproduce', release, '--data', data, '--cams', cams, '--backend', 'wasm', '--quiet', '--num-shards', '2', '--shard-index', '1']);
  ok(p);
  const listed = p.stdout.split('\n').filter((l) => /\.arrow: identical/.test(l));
  assert.deepEqual(listed.map((l) => l.match(/data-(\d+)/)![1]).map(Number), m.shards.map((_, k) => k).filter((k) => k % 2 === 1));
});

test('reproduce names the cause: a changed source image (by file), another teacher, an edited config, a flipped byte', async () => {
  // A changed source image: named by its id, and the first differing row and column.
  const changed = path.join(base, 'data-changed');
  await fs.cp(data, changed, { recursive: true });
  const victim = (await rows(release))[0].sourceA;
  const file = path.join(changed, victim);
  await fs.writeFile(file, await sharp(await fs.readFile(path.join(data, victim))).negate().png().toBuffer());
  const c = cli(['reproduce', release, '--data', changed, '--teacher', teacher, '--backend', 'wasm', '--quiet']);
  assert.equal(c.code, 2, c.stderr);
  assert.ok(c.stderr.includes(`source image(s) changed since the release (sha256 differs from sources.jsonl): ${victim}`), c.stderr);
  assert.match(c.stdout, /DIFFERENT \(the regenerated shard differs from the manifest; first difference at row \d+ \(index \d+\), column \w+/);

  // Another teacher.
  const other = path.join(base, 'teacher-2');
  await makeTeacher(other, (await openDataset(data)).classNames, 32, 7);
  const t = cli(['reproduce', release, '--data', data, '--teacher', other, '--backend', 'wasm', '--quiet']);
  assert.equal(t.code, 2);
  assert.match(t.stderr, /--teacher .*teacher-2 is not the release's teacher/);

  // A release made with seed 4 whose manifest claims seed 3.
  const seed4 = path.join(base, 'seed4');
  ok(cli(['generate', '--allow-weak-teacher', '--data', data, '--cams', cams, '--out', seed4, ...GEN.map((a) => (a === '3' ? '4' : a))]));
  const m4 = JSON.parse(await fs.readFile(path.join(seed4, 'manifest.json'), 'utf8'));
  m4.config.seed = 3;
  await fs.writeFile(path.join(seed4, 'manifest.json'), JSON.stringify(m4, null, 2) + '\n');
  const s = cli(['reproduce', seed4, '--data', data, '--cams', cams, '--backend', 'wasm', '--quiet']);
  assert.equal(s.code, 2);
  assert.match(s.stderr, /manifest\.json's config or fingerprints were edited after generation/);
  assert.match(s.stderr, /seed 4 in the shards, 3 in the manifest/);
  assert.match(s.stdout, /data-00000-of-\d+\.arrow: DIFFERENT .*first difference at row 0/);

  // One flipped byte inside an image of a shard.
  const flipped = path.join(base, 'flipped');
  await fs.cp(release, flipped, { recursive: true });
  const m = await readManifest(flipped);
  const shard = path.join(flipped, m.shards[1].filename);
  const buf = await fs.readFile(shard);
  const img = (await rows(release)).find((r) => r.index === m.shards[1].first_index + 2)!.image;
  const at = buf.indexOf(Buffer.from(img.subarray(200, 264))) + 10;
  assert.ok(at > 10, 'the image bytes are found in the shard');
  buf[at] ^= 0xff;
  await fs.writeFile(shard, buf);
  const f = cli(['reproduce', flipped, '--data', data, '--cams', cams, '--backend', 'wasm', '--quiet']);
  assert.equal(f.code, 2);
  assert.match(f.stderr, /the release fails 'snapmix verify': .*sha256 .* does not match the manifest/);
  assert.match(f.stdout, new RegExp(`${m.shards[1].filename}: DIFFERENT \\(the release's file differs from the manifest; first difference at row 2 \\(index ${m.shards[1].first_index + 2}\\), column image`));
  assert.match(f.stdout, new RegExp(`${m.shards[0].filename}: identical`));
});

test('export --to parquet: DuckDB and hyparquet read back every value of the Arrow shards; row groups bounded; same bytes every run', async () => {
  const out = path.join(base, 'parquet');
  ok(cli(['export', release, '--to', 'parquet', '--out', out, '--row-group-mb', '0.004', '--quiet']));
  const m = await readManifest(release);
  const files = m.shards.map((s) => s.filename.replace('.arrow', '.parquet'));
  assert.deepEqual((await fs.readdir(out)).filter((f) => f.endsWith('.parquet')).sort(), files);
  const want = await rows(release);

  // hyparquet, an independent pure-JS reader.
  const got: Record<string, any>[] = [];
  for (const f of files) {
    const b = await fs.readFile(path.join(out, f));
    const ab = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
    const meta = parquetMetadata(ab);
    assert.ok(meta.row_groups.length > 1, `${f}: several row groups under a 4 KiB bound`);
    const kv = new Map((meta.key_value_metadata ?? []).map((e) => [e.key, e.value]));
    assert.deepEqual(JSON.parse(kv.get('huggingface')!).info.features.label_a.names, m.class_names);
    got.push(...(await parquetReadObjects({ file: ab, utf8: false }))); // binary stays bytes; STRING columns still decode
  }
  assert.equal(got.length, want.length);
  got.forEach((g, i) => {
    const w = want[i];
    assert.deepEqual(new Uint8Array(g.image.bytes), w.image, `row ${i} image`);
    assert.equal(Number(g.index), w.index);
    assert.deepEqual([Number(g.label_a), Number(g.label_b), g.weight_a, g.weight_b, g.area_weight, g.method, g.source_a, g.source_b, g.round],
      [w.labelA, w.labelB, w.weightA, w.weightB, w.areaWeight, w.method, w.sourceA, w.sourceB, w.round], `row ${i}`);
    assert.deepEqual(g.soft_label, Array.from(w.softLabel));
    assert.deepEqual([g.box_a, g.box_b], [w.boxA, w.boxB]);
  });

  // DuckDB over the glob, as a reader of the release would query it.
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  const r = await con.runAndReadAll(`select index, label_a, label_b, weight_a, weight_b, area_weight, method, source_a, source_b, round, soft_label, box_a, box_b, md5(image.bytes) as md5 from '${out}/*.parquet' order by index`);
  const d = r.getRowObjectsJS();
  assert.equal(d.length, want.length);
  const { createHash } = await import('node:crypto');
  d.forEach((x, i) => {
    const w = want[i];
    assert.deepEqual([Number(x.index), Number(x.label_a), Number(x.label_b), x.weight_a, x.weight_b, x.area_weight, x.method, x.source_a, x.source_b, x.round],
      [w.index, w.labelA, w.labelB, w.weightA, w.weightB, w.areaWeight, w.method, w.sourceA, w.sourceB, w.round], `duckdb row ${i}`);
    assert.deepEqual(x.soft_label, Array.from(w.softLabel));
    assert.deepEqual([x.box_a, x.box_b], [w.boxA, w.boxB]);
    assert.equal(x.md5, createHash('md5').update(w.image).digest('hex'));
  });
  con.closeSync();

  // Deterministic: a second export elsewhere has the same bytes; the card points at the Parquet files.
  const again = path.join(base, 'parquet-2');
  ok(cli(['export', release, '--to', 'parquet', '--out', again, '--row-group-mb', '0.004', '--quiet']));
  assert.deepEqual(await tree(again, (n) => n === 'output.json'), await tree(out, (n) => n === 'output.json'));
  const card = await fs.readFile(path.join(out, 'README.md'), 'utf8');
  assert.match(card, /path: data-\*\.parquet/);
  const sums = (await fs.readFile(path.join(out, 'SHA256SUMS'), 'utf8')).trim().split('\n');
  assert.equal(sums.length, files.length + 1, 'every Parquet file and classes.csv');
});

test('export --to webdataset: tars list KEY.jpg + KEY.json per sample, parse back to the shard rows, fixed headers', async () => {
  const out = path.join(base, 'wds');
  ok(cli(['export', release, '--to', 'webdataset', '--out', out, '--quiet']));
  const m = await readManifest(release);
  const tars = (await fs.readdir(out)).filter((f) => f.endsWith('.tar')).sort();
  assert.deepEqual(tars, m.shards.map((_, k) => `shard-${String(k).padStart(6, '0')}.tar`));
  const want = await rows(release);
  const entries: { name: string; mtime: number; data: Buffer }[] = [];
  for (const t of tars) {
    const ex = tar.extract();
    const done = (async () => {
      for await (const e of ex) {
        const chunks: Buffer[] = [];
        for await (const c of e) chunks.push(c as Buffer);
        entries.push({ name: e.header.name, mtime: e.header.mtime!.getTime(), data: Buffer.concat(chunks) });
      }
    })();
    ex.end(await fs.readFile(path.join(out, t)));
    await done;
  }
  assert.equal(entries.length, want.length * 2);
  want.forEach((w, i) => {
    const key = String(w.index).padStart(9, '0');
    const [img, meta] = [entries[2 * i], entries[2 * i + 1]];
    assert.equal(img.name, `${key}.jpg`);
    assert.equal(meta.name, `${key}.json`);
    assert.deepEqual(new Uint8Array(img.data), w.image);
    const j = JSON.parse(meta.data.toString());
    assert.deepEqual([j.index, j.round, j.method, j.label_a, j.label_b, j.class_a, j.weight_a, j.weight_b, j.source_a, j.source_b, j.box_a, j.box_b],
      [w.index, w.round, w.method, w.labelA, w.labelB, m.class_names[w.labelA], w.weightA, w.weightB, w.sourceA, w.sourceB, w.boxA, w.boxB]);
    assert.deepEqual(j.soft_label, Array.from(w.softLabel));
    assert.equal(img.mtime, 0);
  });
  // An export directory is ours to redo; a foreign directory is refused, nothing written.
  ok(cli(['export', release, '--to', 'webdataset', '--out', out, '--quiet']));
  const foreign = path.join(base, 'foreign');
  await fs.mkdir(foreign);
  await fs.writeFile(path.join(foreign, 'notes.txt'), 'mine');
  const r = cli(['export', release, '--to', 'parquet', '--out', foreign, '--overwrite', '--quiet']);
  assert.equal(r.code, 2);
  assert.deepEqual(await fs.readdir(foreign), ['notes.txt']);
});

test('bad release input is refused by name and leaves nothing behind: a non-release, a bad row-group bound, a corrupt sources.jsonl', async () => {
  const notRelease = path.join(base, 'not-release');
  await fs.mkdir(notRelease);
  const r = cli(['reproduce', notRelease, '--data', data, '--cams', cams, '--backend', 'wasm', '--quiet']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /has no manifest\.json/);
  const out = path.join(base, 'rg');
  const e = cli(['export', release, '--to', 'parquet', '--out', out, '--row-group-mb', '0', '--quiet']);
  assert.equal(e.code, 2);
  assert.match(e.stderr, /--row-group-mb must be in \(0, 65536\], got 0/);
  assert.equal(await fs.stat(out).then(() => true, () => false), false, 'nothing written');
  const broken = path.join(base, 'broken-sources');
  await fs.cp(release, broken, { recursive: true });
  await fs.appendFile(path.join(broken, 'sources.jsonl'), '{not json\n');
  const v = cli(['verify', broken]);
  assert.equal(v.code, 2);
  assert.match(v.stderr, /sources\.jsonl line \d+ is not JSON/);
  // --license and --card-title are config-file keys too.
  const cfg = path.join(base, 'gen.yaml');
  await fs.writeFile(cfg, 'license: mit\ncard-title: From a config file\n');
  const g = cli(['generate', '--allow-weak-teacher', '--config', cfg, '--data', data, '--cams', cams, '--out', path.join(base, 'from-config'), ...GEN]);
  assert.equal(g.code, 0, g.stderr);
  assert.match(await fs.readFile(path.join(base, 'from-config', 'README.md'), 'utf8'), /^license: mit$[\s\S]*^pretty_name: From a config file$/m);
});
