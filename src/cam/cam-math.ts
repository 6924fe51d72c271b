// CAM from a feature map and classifier weights, for runtimes that hand back raw features (ONNX):
// cam[n, p] = Σ_k ReLU(f[n, k, p]) · W[label_n, k] + b[label_n]   (docs/SHARDS.md "SnapMix semantics"; hand-written: it is the product).
export interface FeatureBatch {
  data: Float32Array;
  /** [n, K, h, w] (PyTorch) or [n, h, w, K] (Keras/tf2onnx). */
  layout: 'nchw' | 'nhwc';
  n: number;
  channels: number;
  h: number;
  w: number;
}

/** Raw CAMs [n, h·w] of class labels[n]; weight is [classes, K] row-major. */
export function camsFromFeatures(f: FeatureBatch, weight: Float32Array, bias: Float32Array, labels: Int32Array): Float32Array {
  const { n, channels: K, h, w } = f;
  const hw = h * w;
  const out = new Float32Array(n * hw);
  for (let i = 0; i < n; i++) {
    const wc = weight.subarray(labels[i] * K, (labels[i] + 1) * K);
    const o = out.subarray(i * hw, (i + 1) * hw);
    o.fill(bias[labels[i]]);
    const base = i * K * hw;
    if (f.layout === 'nchw') {
      for (let k = 0; k < K; k++) {
        const wk = wc[k];
        if (wk === 0) continue;
        const plane = base + k * hw;
        for (let p = 0; p < hw; p++) {
          const v = f.data[plane + p];
          if (v > 0) o[p] += v * wk;
        }
      }
    } else {
      for (let p = 0; p < hw; p++) {
        const px = base + p * K;
        let s = 0;
        for (let k = 0; k < K; k++) {
          const v = f.data[px + k];
          if (v > 0) s += v * wc[k];
        }
        o[p] += s;
      }
    }
  }
  return out;
}

/** Softmax over each row of [n, C] scores. */
export function softmaxRows(x: Float32Array, n: number, C: number): Float32Array {
  const out = new Float32Array(n * C);
  for (let i = 0; i < n; i++) {
    let m = -Infinity;
    for (let c = 0; c < C; c++) m = Math.max(m, x[i * C + c]);
    let s = 0;
    for (let c = 0; c < C; c++) s += out[i * C + c] = Math.exp(x[i * C + c] - m);
    for (let c = 0; c < C; c++) out[i * C + c] /= s;
  }
  return out;
}
