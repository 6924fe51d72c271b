// The wasm Conv2D gradient kernels (filter and input) against the stock CPU backend on random shapes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/model/backend.js';
import { Rng } from '../src/util/rng.js';

// Strides per axis: square ones, a stride the kernel size equals (3) and unequal ones, since the strided input
// gradient runs by output phases (one per row phase, the column phases side by side).
interface Case { n: number; h: number; w: number; cin: number; cout: number; k: number; s: [number, number]; pad: 'same' | 'valid' }

function cases(): Case[] {
  const rng = new Rng(7, 'conv-grad-cases');
  const out: Case[] = [];
  for (const s of [[1, 1], [2, 2], [3, 3], [2, 1], [1, 3]] as [number, number][])
    for (const pad of ['same', 'valid'] as const)
      for (let r = 0; r < 4; r++)
        out.push({ n: rng.int(1, 3), h: rng.int(5, 11), w: rng.int(5, 11), cin: rng.int(1, 5), cout: rng.int(1, 6), k: [1, 3, 5][rng.int(0, 2)], s, pad });
  return out;
}

function randArr(rng: Rng, size: number): Float32Array {
  const a = new Float32Array(size);
  for (let i = 0; i < size; i++) a[i] = rng.normal();
  return a;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

test('wasm Conv2D gradients (plain and fused, as layers use) match the CPU backend: max abs diff ≤ 1e-4', async () => {
  await initBackend('wasm');
  const rng = new Rng(11, 'conv-grad-data');
  for (const c of cases()) {
    const xs: [number, number, number, number] = [c.n, c.h, c.w, c.cin];
    const fs: [number, number, number, number] = [c.k, c.k, c.cin, c.cout];
    const xv = randArr(rng, xs.reduce((a, b) => a * b));
    const fv = randArr(rng, fs.reduce((a, b) => a * b));
    let up: Float32Array | undefined;
    const grads = async (backend: string, fused: boolean) => {
      await tf.setBackend(backend);
      const x = tf.tensor4d(xv, xs);
      const f = tf.tensor4d(fv, fs);
      const loss = (...args: tf.Tensor[]) => {
        const [a, b] = args as [tf.Tensor4D, tf.Tensor4D];
        const y = fused ? tf.fused.conv2d({ x: a, filter: b, strides: c.s, pad: c.pad }) : tf.conv2d(a, b, c.s, c.pad);
        up ??= randArr(rng, y.size); // a fixed, non-uniform upstream gradient
        return y.mul(tf.tensor(up, y.shape)).sum() as tf.Scalar;
      };
      const [gx, gf] = tf.grads(loss)([x, f]);
      const out = [await gx.data(), await gf.data()];
      tf.dispose([x, f, gx, gf]);
      return out;
    };
    for (const fused of [false, true]) {
      const [cx, cf] = await grads('cpu', fused);
      const [wx, wf] = await grads('wasm', fused);
      const df = maxAbsDiff(cf, wf);
      const dx = maxAbsDiff(cx, wx);
      assert.ok(df <= 1e-4, `filter grad differs by ${df} for ${JSON.stringify(c)} fused=${fused}`);
      assert.ok(dx <= 1e-4, `input grad differs by ${dx} for ${JSON.stringify(c)} fused=${fused}`);
    }
  }
  await tf.setBackend('wasm');
});

test('the wasm Conv2DBackpropFilter and Conv2DBackpropInput kernels equal the CPU kernels directly', async () => {
  await initBackend('wasm');
  const rng = new Rng(3, 'conv-grad-direct');
  for (const c of cases()) {
    const xv = randArr(rng, c.n * c.h * c.w * c.cin);
    const fshape: [number, number, number, number] = [c.k, c.k, c.cin, c.cout];
    const outH = c.pad === 'same' ? Math.ceil(c.h / c.s[0]) : Math.ceil((c.h - c.k + 1) / c.s[0]);
    const outW = c.pad === 'same' ? Math.ceil(c.w / c.s[1]) : Math.ceil((c.w - c.k + 1) / c.s[1]);
    const dyv = randArr(rng, c.n * outH * outW * c.cout);
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      const x = tf.tensor4d(xv, [c.n, c.h, c.w, c.cin]);
      const dy = tf.tensor4d(dyv, [c.n, outH, outW, c.cout]);
      const g = tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: c.s, pad: c.pad, dataFormat: 'NHWC', filterShape: fshape }) as tf.Tensor;
      assert.deepEqual(g.shape, fshape);
      const v = await g.data();
      tf.dispose([x, dy, g]);
      return v;
    };
    const m = maxAbsDiff(await run('cpu'), await run('wasm'));
    assert.ok(m <= 1e-4, `filter: max abs diff ${m} for ${JSON.stringify(c)}`);
    const fv = randArr(rng, fshape.reduce((a, b) => a * b));
    const runInput = async (backend: string) => {
      await tf.setBackend(backend);
      const dy = tf.tensor4d(dyv, [c.n, outH, outW, c.cout]);
      const f = tf.tensor4d(fv, fshape);
      const g = tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: f }, { strides: c.s, pad: c.pad, dataFormat: 'NHWC', inputShape: [c.n, c.h, c.w, c.cin] }) as tf.Tensor;
      assert.deepEqual(g.shape, [c.n, c.h, c.w, c.cin]);
      const v = await g.data();
      tf.dispose([dy, f, g]);
      return v;
    };
    const mi = maxAbsDiff(await runInput('cpu'), await runInput('wasm'));
    assert.ok(mi <= 1e-4, `input: max abs diff ${mi} for ${JSON.stringify(c)}`);
  }
  await tf.setBackend('wasm');
  assert.equal(tf.memory().numTensors, 0, 'the fallback kernel leaks no tensors');
});

test('the tile-free FusedBatchNorm gradient equals the stock tfjs gradient', async () => {
  await initBackend('wasm');
  const { fusedBatchNormGradConfig } = await import('@tensorflow/tfjs-core/dist/gradients/FusedBatchNorm_grad.js');
  const ours = tf.getGradient('FusedBatchNorm')!;
  assert.notEqual(ours.gradFunc, fusedBatchNormGradConfig.gradFunc, 'our gradient is the registered one');
  const rng = new Rng(5, 'bn-grad');
  const shape: [number, number, number, number] = [3, 5, 4, 6];
  const size = shape.reduce((a, b) => a * b);
  const x = tf.tensor4d(randArr(rng, size), shape);
  const dy = tf.tensor4d(randArr(rng, size), shape);
  const mean = tf.tensor1d(randArr(rng, 6));
  const variance = tf.tensor1d(randArr(rng, 6).map((v) => v * v + 0.1));
  const scale = tf.tensor1d(randArr(rng, 6));
  const attrs = { varianceEpsilon: 1e-3 };
  const a = ours.gradFunc(dy, [x, mean, variance, scale], attrs);
  const b = fusedBatchNormGradConfig.gradFunc(dy, [x, mean, variance, scale], attrs);
  for (const k of ['x', 'mean', 'variance', 'scale', 'offset']) {
    const m = maxAbsDiff(await a[k]().data(), await b[k]().data());
    assert.ok(m <= 1e-5, `${k}: max abs diff ${m}`);
  }
});
