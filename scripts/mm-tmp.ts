import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/model/backend.js';
await initBackend('wasm');
const time = (f: () => tf.Tensor) => { for (let i = 0; i < 3; i++) f().dispose(); const t0 = performance.now(); for (let i = 0; i < 10; i++) { const r = f(); r.dataSync(); r.dispose(); } return ((performance.now() - t0) / 10).toFixed(2); };
for (const [N, H, C, Co] of [[32, 32, 16, 16], [32, 16, 32, 32], [32, 8, 64, 64]]) {
  const x = tf.randomNormal([N, H + 2, H + 2, C]); const dy = tf.randomNormal([N, H, H, Co]);
  const xt = tf.transpose(x, [3, 1, 2, 0]); const dyt = tf.transpose(dy, [1, 2, 0, 3]);
  console.log(`N${N} H${H} C${C}→${Co}: transpose x ${time(() => tf.transpose(x, [3, 1, 2, 0]))} dy ${time(() => tf.transpose(dy, [1, 2, 0, 3]))} conv ${time(() => tf.conv2d(xt as tf.Tensor4D, dyt as tf.Tensor4D, 1, 'valid'))} fwd ${time(() => tf.conv2d(x as tf.Tensor4D, tf.randomNormal([3, 3, C, Co]) as tf.Tensor4D, 1, 'valid'))} pad ${time(() => tf.pad(dy, [[0, 0], [1, 1], [1, 1], [0, 0]]))}`);
}
