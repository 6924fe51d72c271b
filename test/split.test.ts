// Many machines: generate split K ways (--num-shards/--shard-index or the array-job variable) and merged
// is byte-identical to one run; merge refuses mixed requests, missing parts and tampered shards.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { initBackend } from '../src/model/backend.js';
import { writeSynth, SYNTH_DEFAULTS } from '../src/data/synth.js';
import { openDataset, splitRecords } from '../src/data/index.js';
import { generate } from '../src/pipeline/generate.js';
import { merge, shardIndexFrom } from '../src/pipeline/merge.js';
import { verifyDirectory } from '../src/shards/verify.js';
import type { GenerateConfig } from '../src/shards/config.js';
import { makeTeacher, wasmTeacher } from './helpers/teacher.js';
import { tmpDir, tree } from './helpers/fixtures.js';

/** Files of an output, less the machine-specific sources.json and the ownership marker. */
const treeOf = (dir: string) => tree(dir, (n) => n === 'sources.json' || n === 'output.json');
import { cli } from './helpers/cli.js';

let base = '';
let data = '';
let teacher = '';
const cfg: GenerateConfig = { method: 'snapmix', rounds: 2, size: 32, resize: 36, crop: 'random', flip: true, beta: 5, prob: 0.8, seed: 3, shardSize: 7, format: 'jpeg', quality: 90 };

before(async () => {
  base = await tmpDir('snapmix-split-');
  data = path.join(base, 'data');
  teacher = path.join(base, 'teacher');
  await writeSynth({ ...SYNTH_DEFAULTS, out: data, classes: 4, perClass: 6, testPerClass: 1, size: 32 });
  await initBackend('wasm');
  await makeTeacher(teacher, (await openDataset(data)).classNames, 32);
});

async function run(out: string, part?: { index: number; of: number }, config = cfg) {
  const dataset = await openDataset(data);
  return generate({ config, dataset, records: splitRecords(dataset, 'train'), teacher: await wasmTeacher(teacher), allowWeakTeacher: true, out, workers: 2, camBatch: 8, strict: false, overwrite: false, part });
}


test('split 3 ways and merged: every file byte-identical to one run (shards, manifest, HF files, rejects, CAMs, markers)', async () => {
  const single = path.join(base, 'single');
  await run(single);
  const parts = [0, 1, 2].map((i) => path.join(base, `part${i}`));
  for (const [i, p] of parts.entries()) {
    const r = await run(p, { index: i, of: 3 });
    assert.deepEqual(r.part, { index: i, of: 3 });
    assert.equal(await fs.stat(path.join(p, 'manifest.json')).then(() => true, () => false), false, 'a part has no manifest');
  }
  // Part 1 of 3 with 7 shards holds shards 1 and 4.
  assert.deepEqual((await fs.readdir(parts[1])).filter((f) => f.endsWith('.arrow')).sort(), ['data-00001-of-00007.arrow', 'data-00004-of-00007.arrow']);
  const merged = path.join(base, 'merged');
  const m = await merge({ parts: [parts[2], parts[0], parts[1]], out: merged, overwrite: false });
  assert.equal(m.parts, 3);
  assert.deepEqual(await treeOf(merged), await treeOf(single));
  await verifyDirectory(merged);
});

test('merge refuses parts of another request, a missing part, a duplicate, and a tampered shard; nothing is written', async () => {
  const parts = [0, 1, 2].map((i) => path.join(base, `part${i}`));
  const other = path.join(base, 'other-seed');
  await run(other, { index: 1, of: 3 }, { ...cfg, seed: 4 });
  const gone = async (p: string) => !(await fs.stat(p).then(() => true, () => false));
  const o1 = path.join(base, 'm1');
  await assert.rejects(merge({ parts: [parts[0], other, parts[2]], out: o1, overwrite: false }), /other-seed belongs to another request than .*part0/);
  assert.ok(await gone(o1));
  await assert.rejects(merge({ parts: [parts[0], parts[2]], out: o1, overwrite: false }), /missing part\(s\) 1 of 3: run 'generate … --num-shards 3 --shard-index 1'/);
  await assert.rejects(merge({ parts: [parts[0], parts[0], parts[1], parts[2]], out: o1, overwrite: false }), /are both part 0 of 3/);
  await assert.rejects(merge({ parts: [path.join(base, 'data'), parts[1]], out: o1, overwrite: false }), /is not a finished part of a split generate/);
  const bad = path.join(base, 'part1-bad');
  await fs.cp(parts[1], bad, { recursive: true });
  const f = path.join(bad, 'data-00004-of-00007.arrow');
  const b = await fs.readFile(f);
  b[b.length >> 1] ^= 0xff;
  await fs.writeFile(f, b);
  await assert.rejects(merge({ parts: [parts[0], bad, parts[2]], out: o1, overwrite: false }), /data-00004-of-00007.arrow: sha256 .* does not match its part's record .* rerun part 1/);
  assert.ok(await gone(o1));
  // The CLI says the same, exit 2.
  const r = cli(['merge', parts[0], parts[2], '--out', o1]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /snapmix: error: missing part\(s\) 1 of 3/);
});

test('the part index comes from the array-job engine when --shard-index is absent', async () => {
  assert.deepEqual(shardIndexFrom(undefined, { JOB_COMPLETION_INDEX: '2' }), { index: 2, from: 'JOB_COMPLETION_INDEX' });
  assert.deepEqual(shardIndexFrom(undefined, { SLURM_ARRAY_TASK_ID: '1' }), { index: 1, from: 'SLURM_ARRAY_TASK_ID' });
  assert.deepEqual(shardIndexFrom(undefined, { AWS_BATCH_JOB_ARRAY_INDEX: '0' }), { index: 0, from: 'AWS_BATCH_JOB_ARRAY_INDEX' });
  assert.deepEqual(shardIndexFrom(3, { SLURM_ARRAY_TASK_ID: '1' }), { index: 3, from: '--shard-index' });
  assert.equal(shardIndexFrom(undefined, {}), undefined);
  assert.throws(() => shardIndexFrom(undefined, { SLURM_ARRAY_TASK_ID: 'x' }), /SLURM_ARRAY_TASK_ID=x is not a shard index/);
  const out = path.join(base, 'k8s-part');
  const r = cli(['generate', '--allow-weak-teacher', '--data', data, '--teacher', teacher, '--out', out, '--size', '32', '--resize', '36', '--rounds', '2', '--prob', '0.8', '--seed', '3', '--shard-size', '7', '--num-shards', '3', '--backend', 'wasm', '--quiet'], { env: { JOB_COMPLETION_INDEX: '1' } });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /part 1 of 3 \(from \$JOB_COMPLETION_INDEX\)/);
  assert.deepEqual(await treeOf(out), await treeOf(path.join(base, 'part1')), 'the same bytes as --shard-index 1');
  const bad = cli(['generate', '--allow-weak-teacher', '--data', data, '--teacher', teacher, '--out', path.join(base, 'k8s-bad'), '--size', '32', '--num-shards', '3', '--backend', 'wasm', '--quiet'], { env: { SLURM_ARRAY_TASK_ID: '3' } });
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /SLURM_ARRAY_TASK_ID must be an integer in \[0, 2\] for --num-shards 3, got 3/);
});

test('cams split 3 ways (contiguous slices) and merged: cams.arrow, cams.json and rejects.jsonl byte-identical to one pass', async () => {
  const single = path.join(base, 'cams-single');
  assert.equal(cli(['cams', '--allow-weak-teacher', '--data', data, '--teacher', teacher, '--out', single, '--backend', 'wasm', '--quiet', '--cam-batch', '4']).code, 0);
  const parts = [0, 1, 2].map((i) => path.join(base, `cams-p${i}`));
  for (const [i, p] of parts.entries()) {
    const r = cli(['cams', '--allow-weak-teacher', '--data', data, '--teacher', teacher, '--out', p, '--backend', 'wasm', '--quiet', '--cam-batch', '4', '--num-shards', '3', '--shard-index', String(i)]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`part ${i} of 3: records ${[0, 8, 16][i]}\\.\\.${[8, 16, 24][i]}`));
  }
  const merged = path.join(base, 'cams-merged');
  const m = cli(['merge', parts[1], parts[0], parts[2], '--out', merged]);
  assert.equal(m.code, 0, m.stderr);
  for (const f of ['cams.arrow', 'cams.json', 'rejects.jsonl']) assert.deepEqual(await fs.readFile(path.join(merged, f)), await fs.readFile(path.join(single, f)), f);
  const miss = cli(['merge', parts[0], parts[2], '--out', path.join(base, 'cams-m2')]);
  assert.equal(miss.code, 2);
  assert.match(miss.stderr, /missing part\(s\) 1 of 3: run 'cams … --num-shards 3 --shard-index 1'/);
  // The merged cache serves generate like a single pass's.
  const g = cli(['generate', '--allow-weak-teacher', '--data', data, '--cams', merged, '--out', path.join(base, 'gen-merged-cams'), '--size', '32', '--backend', 'wasm', '--quiet']);
  assert.equal(g.code, 0, g.stderr);
});

test('bad split and cache flags are refused by name before anything is written', async () => {
  const out = path.join(base, 'bad-flags');
  const gen = (...extra: string[]) => cli(['generate', '--allow-weak-teacher', '--data', data, '--teacher', teacher, '--out', out, '--size', '32', '--backend', 'wasm', '--quiet', ...extra], { env: { SLURM_ARRAY_TASK_ID: '', JOB_COMPLETION_INDEX: '', AWS_BATCH_JOB_ARRAY_INDEX: '' } });
  for (const [extra, why] of [
    [['--shard-index', '1'], /--shard-index needs --num-shards K/],
    [['--num-shards', '0', '--shard-index', '0'], /--num-shards must be in \[1, 100000\], got 0/],
    [['--num-shards', '3'], /--num-shards needs --shard-index I \(or \$JOB_COMPLETION_INDEX/],
    [['--num-shards', '3', '--shard-index', '3'], /--shard-index must be an integer in \[0, 2\] for --num-shards 3, got 3/],
    [['--cache-mem', '-5'], /--cache-mem must be in \[0, 1048576\], got -5/],
  ] as const) {
    const r = gen(...extra);
    assert.equal(r.code, 2, `${extra.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, why);
  }
  assert.equal(await fs.stat(out).then(() => true, () => false), false, 'nothing was written');
  // The split keys are accepted in a --config file too.
  const yml = path.join(base, 'split.yaml');
  await fs.writeFile(yml, `data: ${data}\nteacher: ${teacher}\nsize: 32\nnum-shards: 2\nshard-index: 1\ncache-mem: 64\n`);
  const c = cli(['generate', '--allow-weak-teacher', '--config', yml, '--out', path.join(base, 'cfg-part'), '--backend', 'wasm', '--quiet']);
  assert.equal(c.code, 0, c.stderr);
  assert.match(c.stdout, /part 1 of 2 done/);
});
