// ONNX teachers: head discovery (PyTorch export, GAP as ReduceMean, Gemm vs MatMul+Add, NHWC, opset 18),
// CAMs equal to PyTorch's own and to a tfjs model with the same weights, the pool, and bad input.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/model/backend.js';
import { saveModel } from '../src/model/io.js';
import { openTeacher, teacherHandle } from '../src/model/teacher.js';
import { decodeModel, findOnnxCamHead } from '../src/model/onnx-graph.js';
import { writeSynth, SYNTH_DEFAULTS } from '../src/data/synth.js';
import { constant, fixtureInput, floatTensor, int64Tensor, model, node, oihwFromHwio } from './helpers/onnx-build.js';
import { tmpDir } from './helpers/fixtures.js';
import { cli } from './helpers/cli.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
const tiny = path.join(fixtures, 'tiny-resnet.onnx');
let base = '';

before(async () => {
  base = await tmpDir('snapmix-onnx-');
  await initBackend('wasm');
});

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};

test('a PyTorch export (torch.onnx.export): the head is found and the CAMs equal PyTorch\'s own to 1e-4', async () => {
  const m = decodeModel(await fs.readFile(tiny), tiny);
  const head = findOnnxCamHead(m, tiny);
  assert.equal(head.featureTensor, '/layer2/Relu_1_output_0');
  assert.equal(head.classifierNode, '/fc/Gemm');
  assert.equal(head.layout, 'nchw');
  assert.deepEqual([head.numClasses, head.channels], [3, 16]);
  const expected = JSON.parse(await fs.readFile(path.join(fixtures, 'tiny-resnet.expected.json'), 'utf8'));
  const img = fixtureInput();
  const t = await openTeacher(tiny, { provider: 'cpu', threads: 1 });
  try {
    assert.equal(t.inputSize, 32);
    for (let c = 0; c < 3; c++) {
      const r = await t.run([img], Int32Array.of(c));
      assert.deepEqual([r.h, r.w], [expected.h, expected.w]);
      const d = maxDiff(r.cams, expected.cams[String(c)]);
      assert.ok(d <= 1e-4, `class ${c}: max |ours − torch| = ${d}`);
      const z = expected.logits as number[];
      const e = z.map((v) => Math.exp(v - Math.max(...z)));
      assert.ok(maxDiff(r.probs, e.map((v) => v / e.reduce((a, b) => a + b))) < 1e-5);
    }
  } finally {
    await t.dispose();
  }
});

/** A tfjs model conv(3×3, same) → ReLU → GAP → dense and ONNX graphs with the same weights in several export styles. */
async function twins() {
  const S = 12;
  const K = 5;
  const C = 4;
  const tfModel = tf.sequential({
    layers: [
      tf.layers.conv2d({ inputShape: [S, S, 3], filters: K, kernelSize: 3, padding: 'same', useBias: true, kernelInitializer: tf.initializers.randomNormal({ seed: 3 }), biasInitializer: tf.initializers.randomNormal({ seed: 4 }) }),
      tf.layers.reLU(),
      tf.layers.globalAveragePooling2d({}),
      tf.layers.dense({ units: C, kernelInitializer: tf.initializers.randomNormal({ seed: 5 }), biasInitializer: tf.initializers.randomNormal({ seed: 6 }) }),
    ],
  });
  const [kc, bc, kd, bd] = tfModel.getWeights().map((w) => w.dataSync() as Float32Array);
  const pre = { mean: [0.5, 0.4, 0.3], std: [0.25, 0.2, 0.3] };
  const tfDir = path.join(base, 'tf-twin');
  await saveModel(tfModel, tfDir, { inputSize: S, preprocess: pre });
  const W = oihwFromHwio(kc, 3, 3, 3, K);
  const conv = (x: string, y: string) => node('Conv', [x, 'W', 'B'], [y], { kernel_shape: [3, 3], pads: [1, 1, 1, 1], strides: [1, 1] });
  const inits = [floatTensor('W', [K, 3, 3, 3], W), floatTensor('B', [K], bc)];
  const Wt = new Float32Array(C * K);
  for (let k = 0; k < K; k++) for (let c = 0; c < C; c++) Wt[c * K + k] = kd[k * C + c];
  const graphs: Record<string, Uint8Array> = {
    'nchw GlobalAveragePool + Flatten + Gemm(transB)': model({
      nodes: [conv('x', 'f0'), node('Relu', ['f0'], ['f']), node('GlobalAveragePool', ['f'], ['p']), node('Flatten', ['p'], ['q']), node('Gemm', ['q', 'Wd', 'bd'], ['logits'], { transB: 1 })],
      inits: [...inits, floatTensor('Wd', [C, K], Wt), floatTensor('bd', [C], bd)], input: 'x', inputDims: [0, 3, S, S], output: 'logits',
    }),
    'nchw fixed batch 2 (torch export without dynamic_axes), 3 images run as 2 + 1 padded': model({
      nodes: [conv('x', 'f0'), node('Relu', ['f0'], ['f']), node('GlobalAveragePool', ['f'], ['p']), node('Flatten', ['p'], ['q']), node('Gemm', ['q', 'Wd', 'bd'], ['logits'], { transB: 1 })],
      inits: [...inits, floatTensor('Wd', [C, K], Wt), floatTensor('bd', [C], bd)], input: 'x', inputDims: [2, 3, S, S], output: 'logits',
    }),
    'nchw mean((2, 3)) at opset 18, axes from a Constant node + MatMul + Add': model({
      opset: 18,
      nodes: [conv('x', 'f0'), node('Relu', ['f0'], ['f']), constant('axes', int64Tensor('axes_value', [2, 3])), node('ReduceMean', ['f', 'axes'], ['p'], { keepdims: 0 }), node('MatMul', ['p', 'Wd'], ['z']), node('Add', ['z', 'bd'], ['logits'])],
      inits: [...inits, floatTensor('Wd', [K, C], kd), floatTensor('bd', [C], bd)], input: 'x', inputDims: [0, 3, S, S], output: 'logits',
    }),
    'nchw ReduceMean(axes attr) + MatMul + Add': model({
      nodes: [conv('x', 'f0'), node('Relu', ['f0'], ['f']), node('ReduceMean', ['f'], ['p'], { axes: [2, 3], keepdims: 0 }), node('MatMul', ['p', 'Wd'], ['z']), node('Add', ['z', 'bd'], ['logits'])],
      inits: [...inits, floatTensor('Wd', [K, C], kd), floatTensor('bd', [C], bd)], input: 'x', inputDims: [0, 3, S, S], output: 'logits',
    }),
    'nhwc (tf2onnx style) ReduceMean over 1,2 as an opset-18 input + MatMul + Add + Softmax': model({
      opset: 18,
      nodes: [
        node('Transpose', ['x'], ['xc'], { perm: [0, 3, 1, 2] }), conv('xc', 'f0'), node('Transpose', ['f0'], ['f1'], { perm: [0, 2, 3, 1] }), node('Relu', ['f1'], ['f']),
        node('ReduceMean', ['f', 'axes'], ['p'], { keepdims: 0 }), node('MatMul', ['p', 'Wd'], ['z']), node('Add', ['z', 'bd'], ['zz']), node('Softmax', ['zz'], ['probs'], { axis: 1 }),
      ],
      inits: [...inits, int64Tensor('axes', [1, 2]), floatTensor('Wd', [K, C], kd), floatTensor('bd', [C], bd)], input: 'x', inputDims: [0, S, S, 3], output: 'probs',
    }),
  };
  return { S, C, tfDir, pre, graphs };
}

test('the same weights as a tfjs model and as ONNX graphs (Gemm, MatMul+Add, GAP as ReduceMean, NHWC): CAMs agree to 1e-4', async () => {
  const { S, C, tfDir, pre, graphs } = await twins();
  const rng = (i: number) => (Math.imul(i + 1, 2654435761) >>> 24) & 255;
  const images = Array.from({ length: 3 }, (_, n) => Uint8Array.from({ length: S * S * 3 }, (_, i) => rng(i * 3 + n)));
  const labels = Int32Array.of(0, 2, 3);
  const ref = await openTeacher(tfDir);
  const want = await ref.run(images, labels);
  for (const [name, bytes] of Object.entries(graphs)) {
    const file = path.join(base, `${name.split(' ')[0]}-${createHash('sha1').update(name).digest('hex').slice(0, 6)}.onnx`);
    await fs.writeFile(file, bytes);
    await fs.writeFile(file.replace(/\.onnx$/, '.json'), JSON.stringify({ input_size: S, mean: pre.mean, std: pre.std }));
    const t = await openTeacher(file, { provider: 'cpu', threads: 1 });
    const got = await t.run(images, labels);
    assert.deepEqual([got.h, got.w], [want.h, want.w], name);
    const d = maxDiff(got.cams, want.cams);
    assert.ok(d <= 1e-4, `${name}: max |onnx − tfjs| CAM difference ${d}`);
    assert.ok(maxDiff(got.probs, want.probs) <= 1e-5, name);
    assert.equal(t.numClasses, C);
    await t.dispose();
  }
});

test('cams and generate with an ONNX teacher through the pool: same bytes for 1 and 2 workers; the sidecar is part of the fingerprint', async () => {
  const data = path.join(base, 'data');
  await writeSynth({ ...SYNTH_DEFAULTS, out: data, classes: 3, perClass: 5, testPerClass: 2, size: 32 });
  const outs = [1, 2].map((w) => path.join(base, `cams-w${w}`));
  for (const [i, out] of outs.entries()) {
    const r = cli(['cams', '--allow-weak-teacher', '--data', data, '--teacher', tiny, '--out', out, '--workers', String(i + 1), '--cam-batch', '4', '--quiet']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /backend: onnxruntime-node .* \[cpu\]/);
  }
  for (const f of ['cams.arrow', 'cams.json']) assert.deepEqual(await fs.readFile(path.join(outs[0], f)), await fs.readFile(path.join(outs[1], f)), f);
  // An ONNX run loads no tfjs in the main thread (its CAM worker cannot: a dependency-cruiser rule) and
  // prints no tfjs backend line; what the teacher was taken to be is printed once.
  const trace = path.join(base, 'onnx-cams-trace.txt');
  const traced = cli(['cams', '--allow-weak-teacher', '--data', data, '--teacher', tiny, '--out', path.join(base, 'cams-traced'), '--workers', '2', '--cam-batch', '4', '--quiet'], {
    nodeArgs: ['--import', path.join(path.dirname(fileURLToPath(import.meta.url)), 'helpers', 'trace-imports.mjs')], env: { TRACE_IMPORTS: trace },
  });
  assert.equal(traced.code, 0, traced.stderr);
  const loaded = (await fs.readFile(trace, 'utf8')).split('\n');
  assert.ok(loaded.some((u) => /\/pipeline\/cams\.(js|ts)$/.test(u)), 'the trace sees the CAM pass');
  assert.deepEqual(loaded.filter((u) => u.includes('@tensorflow')).slice(0, 3), []);
  assert.doesNotMatch(traced.stderr, /backend: (wasm|native|gpu|cpu)/);
  assert.equal(traced.stderr.match(/^teacher: /gm)?.length, 1, traced.stderr);
  assert.match(traced.stderr, /teacher: .*tiny-resnet\.onnx: ONNX, input 32×32 nchw rgb, mean \[0\.485, 0\.456, 0\.406\]/);
  // With --cams no teacher pass runs, so no compute backend is started: --backend gpu works on a CPU machine.
  const g = cli(['generate', '--allow-weak-teacher', '--data', data, '--cams', outs[0], '--teacher', tiny, '--out', path.join(base, 'gen'), '--size', '32', '--backend', 'gpu', '--quiet']);
  assert.equal(g.code, 0, g.stderr);
  assert.doesNotMatch(g.stderr, /backend:/);
  // Another preprocessing is another teacher: the cache no longer matches.
  const moved = path.join(base, 'moved');
  await fs.mkdir(moved);
  await fs.copyFile(tiny, path.join(moved, 'tiny-resnet.onnx'));
  await fs.writeFile(path.join(moved, 'teacher.json'), JSON.stringify({ input_size: 32, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] }));
  const before = (await teacherHandle(tiny, {}, { backend: 'wasm' })).fingerprint;
  assert.notEqual((await teacherHandle(path.join(moved, 'tiny-resnet.onnx'), {}, { backend: 'wasm' })).fingerprint, before);
  const g2 = cli(['generate', '--allow-weak-teacher', '--data', data, '--cams', outs[0], '--teacher', path.join(moved, 'tiny-resnet.onnx'), '--out', path.join(base, 'gen2'), '--size', '32', '--quiet']);
  assert.equal(g2.code, 2);
  assert.match(g2.stderr, /computed by another teacher/);
  const e = cli(['eval', '--model', tiny, '--data', data, '--json']);
  assert.equal(e.code, 0, e.stderr);
  const j = JSON.parse(e.stdout.trim().split('\n').pop()!);
  assert.equal(j.n, 6);
  assert.ok(j.top1 >= 0 && j.cam_in_part >= 0);
});

test('bad ONNX input: each a clear error naming the file, nothing written', async () => {
  const data = path.join(base, 'data4');
  await writeSynth({ ...SYNTH_DEFAULTS, out: data, classes: 4, perClass: 3, testPerClass: 1, size: 32 });
  const data3 = path.join(base, 'data');
  const run = (teacher: string, d = data3) => {
    const out = path.join(base, `bad-${Math.random().toString(36).slice(2)}`);
    const r = cli(['cams', '--allow-weak-teacher', '--data', d, '--teacher', teacher, '--out', out, '--quiet']);
    return { ...r, out };
  };
  const gone = async (p: string) => !(await fs.stat(p).then(() => true, () => false));
  const junk = path.join(base, 'junk.onnx');
  await fs.writeFile(junk, 'this is not a protobuf at all, just text');
  const r1 = run(junk);
  assert.equal(r1.code, 2);
  assert.match(r1.stderr, /junk.onnx is not an ONNX model/);
  assert.ok(await gone(r1.out));
  // No global pool before the classifier: refused with the candidates listed.
  const S = 8;
  const noHead = path.join(base, 'nohead.onnx');
  await fs.writeFile(noHead, model({
    nodes: [node('Conv', ['x', 'W'], ['f'], { kernel_shape: [1, 1] }), node('Relu', ['f'], ['g']), node('Flatten', ['g'], ['q']), node('Gemm', ['q', 'Wd'], ['logits'], { transB: 1 })],
    inits: [floatTensor('W', [2, 3, 1, 1], new Float32Array(6).fill(0.1)), floatTensor('Wd', [3, 2 * S * S], new Float32Array(3 * 2 * S * S).fill(0.01))],
    input: 'x', inputDims: [0, 3, S, S], output: 'logits',
  }));
  const r2 = run(noHead);
  assert.equal(r2.code, 2);
  assert.match(r2.stderr, /nohead.onnx: the ONNX model has no CAM head .*Pooling candidates: none; classifier candidates: Gemm_logits \(Gemm\)/);
  assert.ok(await gone(r2.out));
  // A wrong --feature-tensor is refused naming the heads that exist.
  const r2b = cli(['cams', '--allow-weak-teacher', '--data', data3, '--teacher', tiny, '--out', path.join(base, 'ft'), '--feature-tensor', 'nope', '--quiet']);
  assert.match(r2b.stderr, /no CAM head matching --feature-tensor nope .*heads found: --feature-tensor \/layer2\/Relu_1_output_0 --classifier-node \/fc\/Gemm/);
  // Class count differs from the dataset's.
  const r3 = run(tiny, data);
  assert.equal(r3.code, 2);
  assert.match(r3.stderr, /predicts 3 classes but the dataset has 4/);
  assert.ok(await gone(r3.out));
  // Sidecar with bad values.
  const bad = path.join(base, 'badside');
  await fs.mkdir(bad);
  await fs.copyFile(tiny, path.join(bad, 'm.onnx'));
  await fs.writeFile(path.join(bad, 'm.json'), JSON.stringify({ input_size: 32, std: [0.2, -1, 0.2], colour: 'rgb' }));
  const r4 = run(path.join(bad, 'm.onnx'));
  assert.equal(r4.code, 2);
  assert.match(r4.stderr, /m.json \(the sidecar of .*m.onnx\) does not match schemas\/teacher.schema.json/);
  assert.match(r4.stderr, /std\.1/);
  assert.match(r4.stderr, /colour/);
  assert.ok(await gone(r4.out));
  await fs.writeFile(path.join(bad, 'm.json'), JSON.stringify({ input_size: 64 }));
  assert.match(run(path.join(bad, 'm.onnx')).stderr, /input_size 64, but .*m.onnx takes 32×32 images/);
});
