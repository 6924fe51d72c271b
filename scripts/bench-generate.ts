// generate throughput with cached CAMs: samples/s at 64 and 224 px, 1 and 2 workers, median of N runs.
// Usage: npx tsx scripts/bench-generate.ts [--sources 200] [--repeats 3] [--sizes 64,224] [--workers 1,2]
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { backendLine, initBackend } from '../src/model/backend.js';
import { writeSynth, SYNTH_DEFAULTS } from '../src/data/synth.js';
import { openDataset, splitRecords } from '../src/data/index.js';
import { buildResNet } from '../src/model/zoo.js';
import { saveModel, DEFAULT_PREPROCESS } from '../src/model/io.js';
import { extractCams } from '../src/pipeline/cams.js';
import { writeCamCache } from '../src/cam/cache.js';
import { generate } from '../src/pipeline/generate.js';
import { machineLine, median } from './bench-common.js';

const { values } = parseArgs({
  options: {
    sources: { type: 'string', default: '200' },
    repeats: { type: 'string', default: '3' },
    sizes: { type: 'string', default: '64,224' },
    workers: { type: 'string', default: '1,2' },
    format: { type: 'string', default: 'jpeg' },
  },
});
const sources = Number(values.sources);
const repeats = Number(values.repeats);
const backend = await initBackend('wasm');
console.log(machineLine());
console.log(backendLine(backend));
console.log(`method: snapmix, 1 round over ${sources} synthetic sources (10 classes), cached CAMs, ${values.format} q90; samples/s = samples / wall time of generate (decode + compose + encode + write); median of ${repeats}`);
const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'bench-gen-'));
for (const size of values.sizes!.split(',').map(Number)) {
  const data = path.join(tmp, `data${size}`);
  await writeSynth({ ...SYNTH_DEFAULTS, out: data, size, perClass: Math.ceil(sources / 10), testPerClass: 0 });
  const ds = await openDataset(data);
  const records = splitRecords(ds, 'train');
  const teacherDir = path.join(tmp, `teacher${size}`);
  const model = buildResNet({ inputSize: size, numClasses: 10, width: 16, depth: 1, stages: 3, seed: 0 });
  await saveModel(model, teacherDir, { classNames: ds.classNames, inputSize: size, preprocess: DEFAULT_PREPROCESS });
  const camsDir = path.join(tmp, `cams${size}`);
  const c = await extractCams({ dataset: ds, records, split: 'train', teacher: teacherDir, backend, workers: 2, batchSize: 32, strict: false });
  await writeCamCache(camsDir, c.set, c.meta, c.rejects);
  for (const workers of values.workers!.split(',').map(Number)) {
    const rates: number[] = [];
    for (let r = 0; r < repeats; r++) {
      const out = path.join(tmp, `out-${size}-${workers}-${r}`);
      const res = await generate({
        config: { method: 'snapmix', rounds: 1, size, resize: size, crop: 'center', flip: true, beta: 5, prob: 1, seed: r, shardSize: 1000, format: values.format as 'jpeg', quality: 90 },
        dataset: ds, records, cams: camsDir, out, backend, workers, camBatch: 32, strict: false, overwrite: true,
      });
      rates.push(res.manifest.counts.planned / res.seconds);
      await fs.rm(out, { recursive: true, force: true });
    }
    console.log(`size ${size}px, workers ${workers}: ${median(rates).toFixed(1)} samples/s (runs: ${rates.map((v) => v.toFixed(1)).join(', ')})`);
  }
}
await fs.rm(tmp, { recursive: true, force: true });
