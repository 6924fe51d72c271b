// Crop + flip of any HWC array (uint8 RGB images, float SPM maps): the same view for pixels and maps.

export interface CropView {
  /** Top-left of the size×size window in the R×R source. */
  x0: number;
  y0: number;
  size: number;
  flip: boolean;
}

export function cropFlip<T extends Uint8Array | Float64Array | Float32Array>(
  src: T,
  srcSize: number,
  channels: number,
  v: CropView,
  make: (n: number) => T,
): T {
  if (channels === 3 && src instanceof Uint8Array) return cropFlipRgb(src, srcSize, v, out3(make)) as T;
  const S = v.size;
  const out = make(S * S * channels);
  const rowLen = S * channels;
  for (let y = 0; y < S; y++) {
    const rowStart = ((y + v.y0) * srcSize + v.x0) * channels;
    const o = y * rowLen;
    if (!v.flip) {
      out.set(src.subarray(rowStart, rowStart + rowLen), o); // a row of the window is contiguous
      continue;
    }
    for (let x = 0; x < S; x++) {
      const i = rowStart + (S - 1 - x) * channels;
      const q = o + x * channels;
      for (let c = 0; c < channels; c++) out[q + c] = src[i + c];
    }
  }
  return out;
}

const out3 = <T>(make: (n: number) => T) => make as unknown as (n: number) => Uint8Array;

/**
 * The hot case, uint8 RGB (every sample's views), in its own monomorphic function: the generic loop above
 * sees three array types and runs ~10× slower on a flipped view.
 */
function cropFlipRgb(src: Uint8Array, srcSize: number, v: CropView, make: (n: number) => Uint8Array): Uint8Array {
  const S = v.size;
  const out = make(S * S * 3);
  const rowLen = S * 3;
  for (let y = 0; y < S; y++) {
    const rowStart = ((y + v.y0) * srcSize + v.x0) * 3;
    let o = y * rowLen;
    if (!v.flip) {
      out.set(src.subarray(rowStart, rowStart + rowLen), o);
      continue;
    }
    for (let i = rowStart + rowLen - 3; i >= rowStart; i -= 3, o += 3) {
      out[o] = src[i];
      out[o + 1] = src[i + 1];
      out[o + 2] = src[i + 2];
    }
  }
  return out;
}
