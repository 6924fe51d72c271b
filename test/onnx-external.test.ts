// ONNX teachers whose weights live in an external data file, as torch ≥ 2.9's exporter writes them
// (MODEL.onnx beside MODEL.onnx.data): they load, give PyTorch's CAMs, and their fingerprint covers the data
// file. The fixture is onnx's own external-data writer applied to the PyTorch export
// (scripts/make-onnx-external-fixture.py).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { openTeacher, teacherHandle } from '../src/model/teacher.js';
import { ortReason } from '../src/model/onnx-teacher.js';
import { readCamCache } from '../src/shards/cam-cache.js';
import { writeSynth, SYNTH_DEFAULTS } from '../src/data/synth.js';
import { fixtureInput, floatTensor, model, node } from './helpers/onnx-build.js';
import { tmpDir } from './helpers/fixtures.js';
import { cli } from './helpers/cli.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
const tiny = path.join(fixtures, 'tiny-resnet.onnx');
const ext = path.join(fixtures, 'tiny-resnet-ext.onnx');
let base = '';
let data = '';

before(async () => {
  base = await tmpDir('snapmix-onnx-ext-');
  data = path.join(base, 'data');
  await writeSynth({ ...SYNTH_DEFAULTS, out: data, classes: 3, perClass: 4, testPerClass: 1, size: 32 });
});

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

/** A copy of the external-data fixture in its own directory, optionally with its data file changed. */
async function copyExt(name: string, data?: (b: Buffer) => Buffer | undefined): Promise<string> {
  const dir = path.join(base, name);
  await fs.mkdir(dir);
  await fs.copyFile(ext, path.join(dir, 'tiny-resnet-ext.onnx'));
  await fs.copyFile(ext.replace(/\.onnx$/, '.json'), path.join(dir, 'tiny-resnet-ext.json'));
  const bytes = await fs.readFile(`${ext}.data`);
  const changed = data ? data(bytes) : bytes;
  if (changed) await fs.writeFile(path.join(dir, 'tiny-resnet-ext.onnx.data'), changed);
  return path.join(dir, 'tiny-resnet-ext.onnx');
}

test('an external-data export loads and gives the CAMs PyTorch computed for it', async () => {
  assert.ok((await fs.stat(`${ext}.data`)).size > 10_000 && (await fs.stat(ext)).size < 5_000, 'the weights are in the data file');
  const expected = JSON.parse(await fs.readFile(path.join(fixtures, 'tiny-resnet.expected.json'), 'utf8'));
  const img = fixtureInput();
  const t = await openTeacher(ext, { provider: 'cpu', threads: 1 });
  try {
    for (let c = 0; c < 3; c++) {
      const r = await t.run([img], Int32Array.of(c));
      assert.ok(maxDiff(r.cams, expected.cams[String(c)]) <= 1e-4, `class ${c}`);
    }
  } finally {
    await t.dispose();
  }
});

test('cams with an external-data teacher: the same CAMs as the one-file export; the fingerprint covers the data file', async () => {
  const one = path.join(base, 'cams-one');
  const two = path.join(base, 'cams-ext');
  for (const [teacher, out] of [[tiny, one], [ext, two]]) {
    const r = cli(['cams', '--data', data, '--teacher', teacher, '--out', out, '--backend', 'cpu', '--allow-weak-teacher', '--quiet']);
    assert.equal(r.code, 0, r.stderr);
  }
  // The same CAM values, bit for bit (the files differ only in the teacher fingerprint their metadata names).
  const [a, b] = await Promise.all([readCamCache(one), readCamCache(two)]);
  assert.deepEqual(b.set.cams, a.set.cams);
  assert.deepEqual([b.set.prob, b.set.pred], [a.set.prob, a.set.pred]);
  assert.notEqual(b.meta.teacher_fingerprint, a.meta.teacher_fingerprint);
  const fp = async (p: string) => (await teacherHandle(p, {}, { backend: 'wasm' })).fingerprint;
  const same = await copyExt('same');
  const flipped = await copyExt('flipped', (b) => {
    const c = Buffer.from(b);
    c[c.length - 1] ^= 1; // the last byte of the last weight
    return c;
  });
  assert.equal(await fp(same), await fp(ext), 'where the files lie does not matter');
  assert.notEqual(await fp(flipped), await fp(ext), 'a changed weight in the data file is another teacher');
});

test('a missing or truncated data file, and a model onnxruntime cannot run, are named with the cause and a fix', async () => {
  const missing = await copyExt('missing', () => undefined);
  const r1 = cli(['cams', '--data', data, '--teacher', missing, '--out', path.join(base, 'o1'), '--backend', 'cpu', '--quiet']);
  assert.equal(r1.code, 2, r1.stderr);
  assert.match(r1.stderr, /keeps its weights in .*missing\/tiny-resnet-ext\.onnx\.data .*cannot be read: copy it beside tiny-resnet-ext\.onnx/);
  const truncated = await copyExt('truncated', (b) => b.subarray(0, 1000));
  const r2 = cli(['cams', '--data', data, '--teacher', truncated, '--out', path.join(base, 'o2'), '--backend', 'cpu', '--quiet']);
  assert.equal(r2.code, 2, r2.stderr);
  assert.match(r2.stderr, /lies at bytes \d+\.\.\d+ of tiny-resnet-ext\.onnx\.data, which holds 1000: the data file is truncated/);
  // A graph with an operator onnxruntime does not know: the model is named as the cause, not the backend.
  const odd = path.join(base, 'odd.onnx');
  await fs.writeFile(odd, model({
    nodes: [node('Conv', ['x', 'W'], ['f'], { kernel_shape: [1, 1] }), node('NoSuchOp', ['f'], ['g']), node('GlobalAveragePool', ['g'], ['p']), node('Flatten', ['p'], ['q']), node('Gemm', ['q', 'Wd'], ['logits'], { transB: 1 })],
    inits: [floatTensor('W', [4, 3, 1, 1], new Float32Array(12).fill(0.1)), floatTensor('Wd', [3, 4], new Float32Array(12).fill(0.01))],
    input: 'x', inputDims: [0, 3, 8, 8], output: 'logits',
  }));
  const r3 = cli(['cams', '--data', data, '--teacher', odd, '--out', path.join(base, 'o3'), '--backend', 'cpu', '--quiet']);
  assert.equal(r3.code, 2, r3.stderr);
  assert.match(r3.stderr, /onnxruntime cannot load .*odd\.onnx: .*NoSuchOp.*The model is the cause, not the compute backend/);
  assert.doesNotMatch(r3.stderr, /use --backend cpu/);
  assert.doesNotMatch(r3.stderr, /\.cc:\d+/, 'no C++ source location');
});

test('ortReason keeps the first line of onnxruntime\'s message, without its C++ source location', () => {
  assert.equal(
    ortReason('External data path validation failed for initializer: fc.weight. Error: escapes working directory. tensorprotoutils.cc:461 ValidateExternalDataPathFromDir something\nmore'),
    'External data path validation failed for initializer: fc.weight. Error: escapes working directory.',
  );
  assert.equal(ortReason('[ONNXRuntimeError] : 10 : INVALID_GRAPH : Load model failed'), 'INVALID_GRAPH : Load model failed');
});

test('a teacher pass reads the model and its data file once: the provider is tried on the bytes the description read', async () => {
  const { startTeacher } = await import('../src/cli/common.js');
  const reads: string[] = [];
  const readFile = fs.readFile;
  // node:fs's promises object is shared by every importer, so wrapping it here sees the teacher's reads.
  fs.readFile = (async (...args: Parameters<typeof readFile>) => {
    if (typeof args[0] === 'string' && args[0].includes('tiny-resnet-ext.onnx')) reads.push(path.basename(args[0]));
    return readFile(...args);
  }) as typeof readFile;
  const stderr = console.error;
  console.error = () => {}; // the provider line
  try {
    const t = await startTeacher('cpu', ext, {}, true, () => {});
    assert.equal(t.compute.provider, 'cpu');
  } finally {
    fs.readFile = readFile;
    console.error = stderr;
  }
  assert.deepEqual(reads.sort(), ['tiny-resnet-ext.onnx', 'tiny-resnet-ext.onnx.data']);
});
