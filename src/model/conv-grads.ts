// Conv2D gradient kernels for the wasm backend. wasm has no Conv2DBackpropFilter (every Conv2D
// gradient, plain or fused as tfjs-layers uses, needs it), and its Conv2DBackpropInput is a slow
// scalar loop. Both are rebuilt here as forward convolutions, which wasm runs fast (XNNPACK):
//   filter: dW = conv(xpadᵀ [Cin,H,W,N], dyᵀ [Ho,Wo,N,Cout], dilation = stride) → [Cin,kh,kw,Cout]ᵀ
//   input:  dx = conv(pad(zero-upsample(dy, stride)), flip(W)ᵀ, stride 1, valid); for a strided conv
//           whose every output phase has a tap, by phases instead (see stridedInputGradient)
// Verified against the CPU backend in test/conv-grad.test.ts.
import * as tf from '@tensorflow/tfjs';

type TensorInfo = tf.TensorInfo;
type Backend = {
  disposeData(id: object): void;
  readSync(id: object): ArrayLike<number>;
  makeOutput(shape: number[], dtype: 'float32', memoryOffset?: number, values?: Float32Array): TensorInfo;
};
type KernelFn = (args: { inputs: Record<string, TensorInfo> | TensorInfo[]; backend: Backend; attrs?: tf.NamedAttrMap }) => TensorInfo;

interface ConvAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}
interface FilterAttrs extends ConvAttrs { filterShape: [number, number, number, number] }
interface InputAttrs extends ConvAttrs { inputShape: [number, number, number, number] }

function kernels(backendName: string) {
  const get = (name: string): KernelFn => {
    const k = tf.getKernel(name, backendName);
    if (!k) throw new Error(`backend ${backendName} lacks kernel ${name} needed for Conv2D gradients`);
    return k.kernelFunc as unknown as KernelFn;
  };
  return {
    pad: get('PadV2'), slice: get('Slice'), reshape: get('Reshape'), transpose: get('Transpose'),
    reverse: get('Reverse'), conv: get('Conv2D'), concat: get('Concat'),
  };
}

/** Runs kernel calls, disposing every intermediate once the output is made. */
class Scope {
  private temps: TensorInfo[] = [];
  constructor(private backend: Backend, private k: ReturnType<typeof kernels>) {}
  private keep(t: TensorInfo): TensorInfo { this.temps.push(t); return t; }
  pad(x: TensorInfo, paddings: [number, number][]) {
    return paddings.every(([a, b]) => a === 0 && b === 0) ? x : this.keep(this.k.pad({ inputs: { x }, backend: this.backend, attrs: { paddings, constantValue: 0 } as unknown as tf.NamedAttrMap }));
  }
  slice(x: TensorInfo, begin: number[], size: number[]) {
    return begin.every((b) => b === 0) && size.every((s, i) => s === x.shape[i]) ? x : this.keep(this.k.slice({ inputs: { x }, backend: this.backend, attrs: { begin, size } }));
  }
  reshape(x: TensorInfo, shape: number[]) { return this.keep(this.k.reshape({ inputs: { x }, backend: this.backend, attrs: { shape } })); }
  transpose(x: TensorInfo, perm: number[]) { return this.keep(this.k.transpose({ inputs: { x }, backend: this.backend, attrs: { perm } })); }
  reverse(x: TensorInfo, dims: number[]) { return this.keep(this.k.reverse({ inputs: { x }, backend: this.backend, attrs: { dims } })); }
  conv(x: TensorInfo, filter: TensorInfo, dilations: [number, number]) {
    return this.keep(this.k.conv({ inputs: { x, filter }, backend: this.backend, attrs: { strides: 1, pad: 'valid', dataFormat: 'NHWC', dilations } as unknown as tf.NamedAttrMap }));
  }
  concat(xs: TensorInfo[], axis: number) { return this.keep(this.k.concat({ inputs: xs, backend: this.backend, attrs: { axis } })); }
  values(shape: number[], v: Float32Array) { return this.keep(this.backend.makeOutput(shape, 'float32', undefined, v)); }
  /** The output: a fresh tensor owned by the caller; intermediates are released. */
  finish(make: () => TensorInfo): TensorInfo {
    const out = make();
    for (const t of this.temps) if (t !== out) this.backend.disposeData(t.dataId);
    return out;
  }
}

function convInfo(xShape: [number, number, number, number], filterShape: [number, number, number, number], a: ConvAttrs) {
  if (a.dataFormat !== 'NHWC') throw new Error('wasm Conv2D gradient kernels support NHWC only');
  return tf.backend_util.computeConv2DInfo(xShape, filterShape, a.strides, 1, a.pad, a.dimRoundingMode, false, 'channelsLast');
}

function conv2dBackpropFilterKernel(backendName: string) {
  const k = kernels(backendName);
  return ({ inputs, backend, attrs }: { inputs: { x: TensorInfo; dy: TensorInfo }; backend: Backend; attrs: FilterAttrs }) => {
    const { x, dy } = inputs;
    const info = convInfo(x.shape as [number, number, number, number], attrs.filterShape, attrs);
    const [kh, kw, cin, cout] = attrs.filterShape;
    const { top, bottom, left, right } = info.padInfo;
    const s = new Scope(backend, k);
    const xp = s.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]]);
    const xt = s.transpose(xp, [3, 1, 2, 0]); // [Cin, Hp, Wp, N]: images become channels
    const dyt = s.transpose(dy, [1, 2, 0, 3]); // [Ho, Wo, N, Cout]: the gradient becomes the filter
    const g = s.conv(xt, dyt, [info.strideHeight, info.strideWidth]); // [Cin, ≥kh, ≥kw, Cout]
    const gk = s.slice(g, [0, 0, 0, 0], [cin, kh, kw, cout]);
    return s.finish(() => k.transpose({ inputs: { x: gk }, backend, attrs: { perm: [1, 2, 0, 3] } }));
  };
}

/** Taps t (dy row m − t feeds dx row s·m + φ through W row s·t + φ + pad) of output phase φ, as [lo, hi]. */
function tapRange(k: number, s: number, pad: number, phase: number): [number, number] {
  return [Math.ceil((-phase - pad) / s), Math.floor((k - 1 - phase - pad) / s)];
}

/**
 * The input gradient of a strided convolution by output phases: dx row s·m + φ only ever meets W rows
 * φ + pad + s·t, so each row phase φ is one stride-1 convolution of dy with those rows (the column
 * phases side by side as output channels), and the phases are interleaved by a concat and reshapes.
 * The zero-upsampling route convolves s² times as many positions, most of them zeros (a 3×3 stride-2
 * layer: 6.0 → 2.4 ms at batch 16, the same bits). Null where a phase has no tap (a 1×1 stride-2 conv):
 * the caller then upsamples.
 */
function stridedInputGradient(s: Scope, backend: Backend, dy: TensorInfo, filter: TensorInfo, xShape: number[], info: tf.backend_util.Conv2DInfo): (() => TensorInfo) | null {
  const [n, h, w, cin] = xShape;
  const [kh, kw, , cout] = filter.shape;
  const { strideHeight: sh, strideWidth: sw, outHeight: ho, outWidth: wo } = info;
  const { top, left } = info.padInfo;
  const rows = Array.from({ length: sh }, (_, f) => tapRange(kh, sh, top, f));
  const cols = Array.from({ length: sw }, (_, f) => tapRange(kw, sw, left, f));
  if ([...rows, ...cols].some(([lo, hi]) => hi < lo)) return null;
  const cLo = Math.min(...cols.map((c) => c[0]));
  const cHi = Math.max(...cols.map((c) => c[1]));
  const lw = cHi - cLo + 1;
  const mh = Math.ceil(h / sh);
  const mw = Math.ceil(w / sw);
  const wv = backend.readSync(filter.dataId); // [kh, kw, Cin, Cout], small
  const parts = rows.map(([lo, hi], fh) => {
    const lh = hi - lo + 1;
    // F[u, v, co, φw·Cin + ci] = W[sh·(hi − u) + φh + top, sw·(cHi − v) + φw + left, ci, co] (0 off the kernel)
    const f = new Float32Array(lh * lw * cout * sw * cin);
    for (let u = 0; u < lh; u++) {
      const a = sh * (hi - u) + fh + top;
      for (let v = 0; v < lw; v++) {
        for (let fw = 0; fw < sw; fw++) {
          const b = sw * (cHi - v) + fw + left;
          if (b < 0 || b >= kw) continue;
          for (let co = 0; co < cout; co++) {
            const at = (((u * lw + v) * cout + co) * sw + fw) * cin;
            const from = (a * kw + b) * cin * cout + co;
            for (let ci = 0; ci < cin; ci++) f[at + ci] = wv[from + ci * cout];
          }
        }
      }
    }
    const padded = s.pad(dy, [[0, 0], [hi, Math.max(0, mh - 1 + lh - hi - ho)], [cHi, Math.max(0, mw - 1 + lw - cHi - wo)], [0, 0]]);
    const out = s.slice(s.conv(padded, s.values([lh, lw, cout, sw * cin], f), [1, 1]), [0, 0, 0, 0], [n, mh, mw, sw * cin]);
    return s.reshape(out, [n, mh, 1, mw * sw, cin]); // column phases interleave by this reshape alone
  });
  const all = s.reshape(parts.length > 1 ? s.concat(parts, 2) : parts[0], [n, mh * sh, mw * sw, cin]);
  return () => s.slice(all, [0, 0, 0, 0], [n, h, w, cin]);
}

function conv2dBackpropInputKernel(backendName: string) {
  const k = kernels(backendName);
  return ({ inputs, backend, attrs }: { inputs: { dy: TensorInfo; filter: TensorInfo }; backend: Backend; attrs: InputAttrs }) => {
    const { dy, filter } = inputs;
    const xShape = attrs.inputShape;
    const fShape = filter.shape as [number, number, number, number];
    const info = convInfo(xShape, fShape, attrs);
    const [n, h, w] = xShape;
    const [kh, kw, , cout] = fShape;
    const { strideHeight: sh, strideWidth: sw, outHeight: ho, outWidth: wo } = info;
    const { top, left } = info.padInfo;
    const s = new Scope(backend, k);
    if (sh > 1 || sw > 1) {
      const phased = stridedInputGradient(s, backend, dy, filter, xShape, info);
      if (phased) return s.finish(phased);
    }
    // Zero-upsample dy by the stride: [N,Ho,1,Wo,1,C] padded to [N,Ho,sh,Wo,sw,C], so row i lands at i·sh.
    let up = dy;
    if (sh > 1 || sw > 1) {
      const six = s.reshape(dy, [n, ho, 1, wo, 1, cout]);
      up = s.reshape(s.pad(six, [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]]), [n, ho * sh, wo * sw, cout]);
    }
    // dx[p] = Σ_b up[p + top − (k−1) + b]·W[k−1−b]: pad k−1−top before; after, what makes H + k − 1 in all.
    const uh = ho * sh;
    const uw = wo * sw;
    const padT = kh - 1 - top;
    const padL = kw - 1 - left;
    const needH = h + kh - 1 - padT;
    const needW = w + kw - 1 - padL;
    const cropped = s.slice(up, [0, 0, 0, 0], [n, Math.min(uh, needH), Math.min(uw, needW), cout]);
    const padded = s.pad(cropped, [[0, 0], [padT, Math.max(0, needH - uh)], [padL, Math.max(0, needW - uw)], [0, 0]]);
    const wf = s.transpose(s.reverse(filter, [0, 1]), [0, 1, 3, 2]); // [kh, kw, Cout, Cin]
    return s.finish(() => k.conv({ inputs: { x: padded, filter: wf }, backend, attrs: { strides: 1, pad: 'valid', dataFormat: 'NHWC', dilations: 1 } as unknown as tf.NamedAttrMap }));
  };
}

let registered = false;

/** Install both kernels on wasm (idempotent). */
export function registerWasmConvGradients(): void {
  if (registered) return;
  registered = true;
  for (const [name, make] of [
    ['Conv2DBackpropFilter', conv2dBackpropFilterKernel],
    ['Conv2DBackpropInput', conv2dBackpropInputKernel],
  ] as const) {
    if (tf.getKernel(name, 'wasm')) tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({ kernelName: name, backendName: 'wasm', kernelFunc: make('wasm') as unknown as tf.KernelFunc });
  }
}
