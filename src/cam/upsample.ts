// Hand-written numerics of the product (docs/SHARDS.md "SnapMix semantics"): bilinear upsampling with PyTorch's
// align_corners=False convention, as the official SnapMix code upsamples CAMs.

/** Source coordinate map for one axis: dst i → (i0, i1, λ) with PyTorch align_corners=False. */
export function axisWeights(inSize: number, outSize: number): { i0: Int32Array; i1: Int32Array; lam: Float64Array } {
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const lam = new Float64Array(outSize);
  const scale = inSize / outSize;
  for (let i = 0; i < outSize; i++) {
    const src = Math.max(0, (i + 0.5) * scale - 0.5);
    const f = Math.min(Math.floor(src), inSize - 1);
    i0[i] = f;
    i1[i] = Math.min(f + 1, inSize - 1);
    lam[i] = src - f;
  }
  return { i0, i1, lam };
}

/** Upsample a row-major h×w map to H×W (float64 for stable sums downstream). */
export function upsampleBilinear(src: ArrayLike<number>, h: number, w: number, H: number, W: number): Float64Array {
  const ys = axisWeights(h, H);
  const xs = axisWeights(w, W);
  const out = new Float64Array(H * W);
  for (let y = 0; y < H; y++) {
    const r0 = ys.i0[y] * w;
    const r1 = ys.i1[y] * w;
    const ly = ys.lam[y];
    for (let x = 0; x < W; x++) {
      const c0 = xs.i0[x];
      const c1 = xs.i1[x];
      const lx = xs.lam[x];
      const top = src[r0 + c0] * (1 - lx) + src[r0 + c1] * lx;
      const bot = src[r1 + c0] * (1 - lx) + src[r1 + c1] * lx;
      out[y * W + x] = top * (1 - ly) + bot * ly;
    }
  }
  return out;
}

/** Index of the maximum (first on ties). */
export function argmax(a: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < a.length; i++) if (a[i] > a[best]) best = i;
  return best;
}
