// The wasm backend has no Conv2DBackpropFilter kernel. This gradient for Conv2D's filter uses only
// kernels wasm has: pad, strided slices (im2col) and one transposed matmul:
//   dW[a,b,ci,co] = sum_{n,i,j} xpad[n, i*s + a*d, j*s + b*d, ci] * dy[n,i,j,co]
import * as tf from '@tensorflow/tfjs';

export interface Conv2DAttrs {
  strides: number | [number, number];
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dilations: number | [number, number];
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** Filter gradient of conv2d(x, filter) given dy, computed without Conv2DBackpropFilter. */
export function conv2dFilterGrad(
  x: tf.Tensor4D,
  dy: tf.Tensor4D,
  filterShape: [number, number, number, number],
  attrs: Conv2DAttrs,
): tf.Tensor4D {
  if (attrs.dataFormat !== 'NHWC') throw new Error('conv2dFilterGrad supports NHWC only');
  return tf.tidy(() => {
    const info = tf.backend_util.computeConv2DInfo(
      x.shape,
      filterShape,
      attrs.strides,
      attrs.dilations,
      attrs.pad,
      attrs.dimRoundingMode,
      false,
      'channelsLast',
    );
    const [kh, kw, cin, cout] = filterShape;
    const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw } = info;
    const { top, bottom, left, right } = info.padInfo;
    const xp = top || bottom || left || right ? tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]]) : x;
    const n = x.shape[0];
    const ho = info.outHeight;
    const wo = info.outWidth;
    const cols: tf.Tensor4D[] = [];
    for (let a = 0; a < kh; a++) {
      for (let b = 0; b < kw; b++) {
        const y0 = a * dh;
        const x0 = b * dw;
        cols.push(
          tf.stridedSlice(xp, [0, y0, x0, 0], [n, y0 + (ho - 1) * sh + 1, x0 + (wo - 1) * sw + 1, cin], [1, sh, sw, 1]) as tf.Tensor4D,
        );
      }
    }
    // [n*ho*wo, kh*kw*cin]: column index (a*kw + b)*cin + ci matches the filter's [kh, kw, cin] order.
    const patches = (cols.length === 1 ? cols[0] : tf.concat(cols, 3)).reshape([n * ho * wo, kh * kw * cin]);
    const g = tf.matMul(patches, dy.reshape([n * ho * wo, cout]), true, false);
    return g.reshape([kh, kw, cin, cout]);
  });
}

let registered = false;

/**
 * Replace Conv2D's gradient with one whose filter part avoids Conv2DBackpropFilter. The input part
 * still uses conv2DBackpropInput (Conv2DBackpropInput exists on wasm). Called only for wasm.
 */
export function registerWasmConv2DGradient(): void {
  if (registered) return;
  registered = true;
  tf.registerGradient({
    kernelName: 'Conv2D',
    inputsToSave: ['x', 'filter'],
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
      const [x4, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
      const a = attrs as unknown as Conv2DAttrs;
      const g = dy as tf.Tensor4D;
      return {
        // conv2dTranspose is conv2DBackpropInput in NHWC, the same call the stock gradient makes.
        x: () => tf.conv2dTranspose(g, filter, x4.shape, a.strides, a.pad as 'valid', a.dimRoundingMode),
        filter: () => conv2dFilterGrad(x4, g, filter.shape as [number, number, number, number], a),
      };
    },
  });
}
