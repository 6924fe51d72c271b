// The wasm Conv2D filter gradient against the stock CPU backend gradient on random shapes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { initBackend } from '../src/model/backend.js';
import { conv2dFilterGrad } from '../src/model/conv-filter-grad.js';
import { Rng } from '../src/util/rng.js';

interface Case { n: number; h: number; w: number; cin: number; cout: number; k: number; s: 1 | 2; pad: 'same' | 'valid' }

function cases(): Case[] {
  const rng = new Rng(7, 'conv-grad-cases');
  const out: Case[] = [];
  for (const s of [1, 2] as const)
    for (const pad of ['same', 'valid'] as const)
      for (let r = 0; r < 3; r++)
        out.push({ n: rng.int(1, 3), h: rng.int(5, 11), w: rng.int(5, 11), cin: rng.int(1, 5), cout: rng.int(1, 6), k: [1, 3, 5][rng.int(0, 2)], s, pad });
  return out;
}

function randArr(rng: Rng, size: number): Float32Array {
  const a = new Float32Array(size);
  for (let i = 0; i < size; i++) a[i] = rng.normal();
  return a;
}

test('wasm Conv2D gradients (filter and input) match the CPU backend to 1e-4', async () => {
  await initBackend('wasm');
  const rng = new Rng(11, 'conv-grad-data');
  for (const c of cases()) {
    const xs: [number, number, number, number] = [c.n, c.h, c.w, c.cin];
    const fs: [number, number, number, number] = [c.k, c.k, c.cin, c.cout];
    const xv = randArr(rng, xs.reduce((a, b) => a * b));
    const fv = randArr(rng, fs.reduce((a, b) => a * b));
    const seen = new Map<number, Float32Array>();
    const upstream = (size: number) => {
      if (!seen.has(size)) seen.set(size, randArr(rng, size));
      return seen.get(size)!;
    };
    const grads = async (backend: string) => {
      await tf.setBackend(backend);
      const x = tf.tensor4d(xv, xs);
      const f = tf.tensor4d(fv, fs);
      // A non-uniform upstream gradient: weight the outputs by fixed random numbers.
      const loss = (a: tf.Tensor4D, b: tf.Tensor4D) => {
        const y = tf.conv2d(a, b, c.s, c.pad);
        return y.mul(tf.tensor(upstream(y.size), y.shape)).sum() as tf.Scalar;
      };
      const [gx, gf] = tf.grads(loss)([x, f]);
      const out = [await gx.data(), await gf.data()];
      tf.dispose([x, f, gx, gf]);
      return out;
    };
    const [cx, cf] = await grads('cpu');
    const [wx, wf] = await grads('wasm');
    const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
      assert.equal(a.length, b.length);
      let m = 0;
      for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
      return m;
    };
    const df = maxDiff(cf, wf);
    const dx = maxDiff(cx, wx);
    assert.ok(df <= 1e-4, `filter grad differs by ${df} for ${JSON.stringify(c)}`);
    assert.ok(dx <= 1e-4, `input grad differs by ${dx} for ${JSON.stringify(c)}`);
  }
  await tf.setBackend('wasm');
});

test('conv2dFilterGrad equals the CPU backend Conv2DBackpropFilter kernel, absolute error', async () => {
  await initBackend('wasm');
  await tf.setBackend('cpu');
  const rng = new Rng(3, 'conv-grad-direct');
  for (const c of cases()) {
    const x = tf.tensor4d(randArr(rng, c.n * c.h * c.w * c.cin), [c.n, c.h, c.w, c.cin]);
    const fshape: [number, number, number, number] = [c.k, c.k, c.cin, c.cout];
    const y = tf.conv2d(x, tf.zeros(fshape) as tf.Tensor4D, c.s, c.pad);
    const dy = tf.tensor4d(randArr(rng, y.size), y.shape as [number, number, number, number]);
    const ref = await (tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, {
      strides: c.s, pad: c.pad, dataFormat: 'NHWC', filterShape: fshape,
    }) as tf.Tensor).data();
    const got = await conv2dFilterGrad(x, dy, fshape, { strides: c.s, pad: c.pad, dataFormat: 'NHWC', dilations: 1 }).data();
    let m = 0;
    for (let i = 0; i < ref.length; i++) m = Math.max(m, Math.abs(ref[i] - got[i]));
    assert.ok(m <= 1e-4, `max abs diff ${m} for ${JSON.stringify(c)}`);
    tf.dispose([x, y, dy]);
  }
  await tf.setBackend('wasm');
});
