// Photo-scale generate: analytic SPM view masses equal the dense map's; the source cache (in memory or
// spilled to disk) gives the bytes a direct decode of each source gives; the spill file does not outlive the run.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { upsampled, viewSpmStats } from '../src/cam/view-spm.js';
import { viewSpm, composeSample } from '../src/mix/compose.js';
import { snapmixWeights } from '../src/mix/labels.js';
import type { Box } from '../src/cam/spm.js';
import { initBackend } from '../src/model/backend.js';
import { writeSynth, SYNTH_DEFAULTS } from '../src/data/synth.js';
import { openDataset, splitRecords } from '../src/data/index.js';
import { generate } from '../src/pipeline/generate.js';
import { openReplay } from '../src/pipeline/replay.js';
import { readManifest, readSamples } from '../src/shards/reader.js';
import { encodeRgb } from '../src/image/decode.js';
import { makeTeacher, wasmTeacher } from './helpers/teacher.js';
import { tmpDir } from './helpers/fixtures.js';

test('analytic view masses (O(h·w) per box) equal the dense upsample → crop/flip → normalise map to 1e-9', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 8, max: 72 }), fc.nat(), fc.boolean(),
      fc.array(fc.float({ min: -5, max: 5, noNaN: true }), { minLength: 81, maxLength: 81 }), fc.array(fc.nat(), { minLength: 8, maxLength: 8 }),
      (h, w, R, seed, flip, vals, r) => {
        const cam = Float64Array.from(vals.slice(0, h * w));
        const S = 4 + (seed % (R - 3));
        const view = { x0: r[0] % (R - S + 1), y0: r[1] % (R - S + 1), size: S, flip };
        const dense = viewSpm({ data: cam, h, w }, R, view);
        const fast = viewSpmStats(upsampled(cam, h, w, R), view);
        const x1 = r[2] % S;
        const y1 = r[3] % S;
        const box: Box = [x1, y1, x1 + (r[4] % (S - x1 + 1)), y1 + (r[5] % (S - y1 + 1))];
        const a = dense.boxMass(box) / (dense.total + 1e-8);
        const b = fast.boxMass(box) / (fast.total + 1e-8);
        if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) === Number.isNaN(b) || Math.abs(a) < 1e-9 || Math.abs(b) < 1e-9;
        return Math.abs(a - b) <= 1e-9;
      },
    ),
    { numRuns: 300, seed: 11 },
  );
  // A constant CAM has no SPM: NaN masses, so the area fallback of the official code applies.
  const c = viewSpmStats(upsampled(new Float64Array(16).fill(0.3), 4, 4, 32), { x0: 2, y0: 3, size: 24, flip: false });
  const wts = snapmixWeights(c, [0, 0, 12, 12], c, [0, 0, 6, 6], false);
  assert.equal(wts.weightA, 1 - 144 / 576);
  assert.equal(wts.weightB, 144 / 576);
});

let base = '';
let data = '';
let teacher = '';

before(async () => {
  base = await tmpDir('snapmix-cache-');
  data = path.join(base, 'data');
  teacher = path.join(base, 'teacher');
  await writeSynth({ ...SYNTH_DEFAULTS, out: data, classes: 3, perClass: 6, testPerClass: 1, size: 40 });
  await initBackend('wasm');
  await makeTeacher(teacher, (await openDataset(data)).classNames, 40);
});

async function run(out: string, cacheMem?: number) {
  const dataset = await openDataset(data);
  return generate({
    config: { method: 'snapmix', rounds: 2, size: 32, resize: 44, seed: 5, shardSize: 10, format: 'png' },
    dataset, records: splitRecords(dataset, 'train'), teacher: await wasmTeacher(teacher), allowWeakTeacher: true, out, workers: 2, camBatch: 8, strict: false, overwrite: false, cacheMem,
  });
}

test('source cache in memory and spilled to disk: identical shards, equal to decoding each source directly; the spill file is removed', async () => {
  const mem = path.join(base, 'mem');
  const spill = path.join(base, 'spill');
  const logs: string[] = [];
  await run(mem);
  const dataset = await openDataset(data);
  await generate({
    config: { method: 'snapmix', rounds: 2, size: 32, resize: 44, seed: 5, shardSize: 10, format: 'png' },
    dataset, records: splitRecords(dataset, 'train'), teacher: await wasmTeacher(teacher), allowWeakTeacher: true, out: spill, workers: 2, camBatch: 8, strict: false, overwrite: false, cacheMem: 0, log: (l) => logs.push(l),
  });
  assert.ok(logs.some((l) => /exceed --cache-mem; spilled to/.test(l)), logs.join('\n'));
  const shards = (await fs.readdir(mem)).filter((f) => f.endsWith('.arrow'));
  assert.equal(shards.length, 4);
  for (const f of shards) assert.deepEqual(await fs.readFile(path.join(spill, f)), await fs.readFile(path.join(mem, f)), f);
  assert.deepEqual((await fs.readdir(spill)).filter((f) => /snapmix-sources/.test(f)), [], 'no spill file left');
  // Every row against the sources decoded straight from their files (the replay path), composed and encoded.
  const m = await readManifest(mem);
  const rp = await openReplay(mem, m);
  let n = 0;
  for await (const s of readSamples(mem, m)) {
    const p = rp.planOf(s.index);
    const [A, B] = await Promise.all([p.a, p.b].map(async (j) => ({ rgb: await rp.rgb(j), cam: rp.cam(j), label: rp.sources[j].label })));
    const c = composeSample(p, m.config.resize, A, B);
    const png = await encodeRgb(c.pixels, 32, 32, 'png', 90);
    assert.deepEqual(Buffer.from(s.image), png, `row ${s.index}: image`);
    // The weights equal the dense official formula (SPM of the view's crop of the upsampled CAM) to 1e-6.
    if (p.method === 'snapmix') {
      const dense = snapmixWeights(viewSpm(A.cam!, m.config.resize, p.viewA), p.boxA, viewSpm(B.cam!, m.config.resize, p.viewB), p.boxB, A.label === B.label);
      assert.ok(Math.abs(dense.weightA - s.weightA) <= 1e-6 && Math.abs(dense.weightB - s.weightB) <= 1e-6, `row ${s.index}: ${JSON.stringify(dense)} vs ${s.weightA}, ${s.weightB}`);
    }
    n++;
  }
  assert.equal(n, 36);
});
