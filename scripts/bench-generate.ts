// generate throughput on photo-sized JPEG sources against sharp's plain transcode of the same files (the
// floor), for 1 and 2 workers, and generate's peak RSS at 2,000 and 50,000 samples, in one run.
// Usage: npx tsx scripts/bench-generate.ts [--sources 300] [--repeats 3] [--rss-small 2000] [--rss-large 50000] [--skip-rss]
// Build first (npm run build): the RSS runs use the compiled CLI in a child process.
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { backendLine, initBackend } from '../src/model/backend.js';
import { writeSynth, SYNTH_DEFAULTS } from '../src/data/synth.js';
import { openDataset, splitRecords } from '../src/data/index.js';
import { buildResNet } from '../src/model/zoo.js';
import { saveModel, DEFAULT_PREPROCESS } from '../src/model/io.js';
import { extractCams } from '../src/pipeline/cams.js';
import { teacherHandle } from '../src/model/teacher.js';
import { writeCamCache } from '../src/shards/cam-cache.js';
import { mapLimit } from '../src/util/limit.js';
import { Rng } from '../src/util/rng.js';
import { machineLine, median } from './bench-common.js';

const { values } = parseArgs({
  options: {
    sources: { type: 'string', default: '300' },
    repeats: { type: 'string', default: '3' },
    'rss-small': { type: 'string', default: '2000' },
    'rss-large': { type: 'string', default: '50000' },
    'skip-rss': { type: 'boolean', default: false },
  },
});
const nSources = Number(values.sources);
const repeats = Number(values.repeats);
const SIZE = 224;
const RESIZE = 256;
const ROUNDS = 2;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-gen-'));
// generate as the CLI runs it: the compiled dist/ (workers load plain JS), else the TypeScript sources.
const dist = path.join(root, 'dist', 'pipeline', 'generate.js');
const compiled = await fs.stat(dist).then(() => true, () => false);
const { generate } = (await import(compiled ? dist : '../src/pipeline/generate.js')) as typeof import('../src/pipeline/generate.js');
sharp.concurrency(1);

console.log(machineLine());
const backend = await initBackend('wasm');
console.log(backendLine(backend));

/** Photo-like sources: the synthetic benchmark drawn at 512 px, squashed to 500×375 JPEG q90, ImageFolder layout. */
async function photos(dir: string, n: number): Promise<void> {
  const square = path.join(tmp, 'square');
  await writeSynth({ ...SYNTH_DEFAULTS, out: square, size: 512, classes: 10, perClass: Math.ceil(n / 10), testPerClass: 0 });
  const ds = await openDataset(square);
  await mapLimit(splitRecords(ds, 'train').slice(0, n), 2, async (r) => {
    const out = path.join(dir, path.dirname(r.id).replace(/^train\//, ''), path.basename(r.id).replace(/\.png$/, '.jpg'));
    await fs.mkdir(path.dirname(out), { recursive: true });
    await sharp(r.path).resize(500, 375, { fit: 'fill' }).jpeg({ quality: 90 }).toFile(out);
  });
}

const data = path.join(tmp, 'photos');
await photos(data, nSources);
const ds = await openDataset(data);
const records = splitRecords(ds, 'train');
const teacherDir = path.join(tmp, 'teacher');
await saveModel(buildResNet({ inputSize: SIZE, numClasses: ds.classNames.length, width: 8, depth: 1, stages: 3, seed: 0 }), teacherDir, { classNames: ds.classNames, inputSize: SIZE, preprocess: DEFAULT_PREPROCESS });
const camsDir = path.join(tmp, 'cams');
const c = await extractCams({ dataset: ds, records, split: 'train', teacher: await teacherHandle(teacherDir, {}, { backend: backend.kind }), workers: 2, batchSize: 32, strict: false, allowWeakTeacher: true }); // an untrained benchmark teacher: speed, not labels
await writeCamCache(camsDir, c.set, c.meta, c.rejects);
const samples = records.length * ROUNDS;
console.log(`generate from ${compiled ? 'dist/ (npm run build)' : 'src/ through tsx (run npm run build first for the CLI\'s figures)'}`);
console.log(`sources: ${records.length} JPEG 500×375 q90; generate --method snapmix --size ${SIZE} --resize ${RESIZE} --rounds ${ROUNDS} (${samples} samples), cached CAMs, jpeg q90; ` +
  `floor: sharp decode + resize ${RESIZE}×${RESIZE} (fill, as generate's default --fit) + random crop ${SIZE} + JPEG q90, one source per sample, libvips 1 thread per image; images/s = samples / wall time; median of ${repeats}`);

async function floor(inFlight: number): Promise<number> {
  const rng = new Rng(1, 'floor');
  const jobs = Array.from({ length: samples }, (_, i) => ({ file: records[i % records.length].path, x: rng.int(0, RESIZE - SIZE), y: rng.int(0, RESIZE - SIZE) }));
  const t0 = Date.now();
  await mapLimit(jobs, inFlight, async (j) => sharp(j.file).resize(RESIZE, RESIZE, { fit: 'fill' }).extract({ left: j.x, top: j.y, width: SIZE, height: SIZE }).jpeg({ quality: 90 }).toBuffer());
  return samples / ((Date.now() - t0) / 1000);
}

/** Cores a run kept busy: process CPU time (every thread: JS, workers, libuv's sharp threads) / wall time. */
const busy: Record<number, number[]> = {};
async function gen(workers: number, r: number): Promise<number> {
  const out = path.join(tmp, `out-${workers}-${r}`);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const res = await generate({
    config: { method: 'snapmix', rounds: ROUNDS, size: SIZE, resize: RESIZE, seed: r, shardSize: 1000, format: 'jpeg', quality: 90 },
    dataset: ds, records, cams: camsDir, out, workers, camBatch: 32, strict: false, overwrite: false, allowWeakTeacher: true,
  });
  const cpu = process.cpuUsage(cpu0);
  (busy[workers] ??= []).push((cpu.user + cpu.system) / 1000 / (performance.now() - t0));
  await fs.rm(out, { recursive: true, force: true });
  return res.manifest.counts.planned / res.seconds;
}

const rows: string[] = [];
const ours: Record<number, number> = {};
for (const w of [1, 2]) {
  const fl: number[] = [];
  const g: number[] = [];
  for (let r = 0; r < repeats; r++) {
    fl.push(await floor(w));
    g.push(await gen(w, r));
  }
  ours[w] = median(g);
  rows.push(`| ${w} worker(s) / ${w} in flight | ${median(fl).toFixed(1)} | ${median(g).toFixed(1)} | ${(median(g) / median(fl)).toFixed(2)}× | floor ${fl.map((v) => v.toFixed(1)).join(', ')}; generate ${g.map((v) => v.toFixed(1)).join(', ')} |`);
}
console.log('| | sharp transcode floor (img/s) | snapmix generate (samples/s) | ratio | runs |');
console.log('|---|---:|---:|---:|---|');
for (const r of rows) console.log(r);
console.log(`2 workers / 1 worker: ${(ours[2] / ours[1]).toFixed(2)}× (goal ≥ 1.7×); cores kept busy (CPU time / wall time): ` +
  `1 worker ${median(busy[1]).toFixed(2)}, 2 workers ${median(busy[2]).toFixed(2)} of ${os.availableParallelism()}, ` +
  `so 2 workers can add at most ${(os.availableParallelism() / median(busy[1])).toFixed(2)}× here`);
// The machine's transcode ceiling: a worker keeps more than one core busy (its decodes and encodes run in
// libuv's threads while its JS composes), so the 1-in-flight floor is not what one worker competes with.
const ceiling: number[] = [];
for (let r = 0; r < repeats; r++) ceiling.push(await floor(4));
console.log(`sharp transcode floor, 4 in flight (every core busy): ${median(ceiling).toFixed(1)} img/s (runs ${ceiling.map((v) => v.toFixed(1)).join(', ')}); generate with 2 workers is ${(ours[2] / median(ceiling)).toFixed(2)}× it`);

if (!values['skip-rss']) {
  // Peak RSS of a whole generate process (the compiled CLI), small and large outputs of the same sources at 64 px.
  const cli = path.join(root, 'dist', 'cli', 'main.js');
  const synth = path.join(tmp, 'synth64');
  await writeSynth({ ...SYNTH_DEFAULTS, out: synth, size: 64, classes: 10, perClass: 50, testPerClass: 0 });
  const sds = await openDataset(synth);
  const n64 = splitRecords(sds, 'train').length;
  const t64 = path.join(tmp, 'teacher64');
  await saveModel(buildResNet({ inputSize: 64, numClasses: 10, width: 8, depth: 1, stages: 3, seed: 0 }), t64, { classNames: sds.classNames, inputSize: 64, preprocess: DEFAULT_PREPROCESS });
  const cams64 = path.join(tmp, 'cams64');
  const c64 = await extractCams({ dataset: sds, records: splitRecords(sds, 'train'), split: 'train', teacher: await teacherHandle(t64, {}, { backend: backend.kind }), workers: 2, batchSize: 64, strict: false, allowWeakTeacher: true }); // an untrained benchmark teacher: speed, not labels
  await writeCamCache(cams64, c64.set, c64.meta, c64.rejects);
  const rss: Record<string, { kb: number; s: number }> = {};
  for (const target of [Number(values['rss-small']), Number(values['rss-large'])]) {
    const rounds = Math.ceil(target / n64);
    const out = path.join(tmp, `rss-${target}`);
    const t0 = Date.now();
    const r = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, cli, 'generate', '--allow-weak-teacher', '--data', synth, '--cams', cams64, '--out', out, '--size', '64', '--resize', '72', '--rounds', String(rounds), '--backend', 'wasm', '--quiet', '--workers', '2'], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`generate for the RSS run failed: ${r.stderr.slice(-600)}`);
    rss[target] = { kb: Number(r.stderr.trim().split('\n').pop()), s: (Date.now() - t0) / 1000 };
    await fs.rm(out, { recursive: true, force: true });
  }
  const [a, b] = Object.entries(rss);
  console.log(`peak RSS (main process, /usr/bin/time %M; worker threads share it): ${a[0]} samples ${(a[1].kb / 1024).toFixed(0)} MiB in ${a[1].s.toFixed(0)} s; ` +
    `${b[0]} samples ${(b[1].kb / 1024).toFixed(0)} MiB in ${b[1].s.toFixed(0)} s; ratio ${(b[1].kb / a[1].kb).toFixed(2)}× (goal ≤ 1.2×)`);
}
await fs.rm(tmp, { recursive: true, force: true });
