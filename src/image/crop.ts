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
  const S = v.size;
  const out = make(S * S * channels);
  for (let y = 0; y < S; y++) {
    const sy = y + v.y0;
    for (let x = 0; x < S; x++) {
      const sx = v.flip ? v.x0 + S - 1 - x : v.x0 + x;
      const i = (sy * srcSize + sx) * channels;
      const o = (y * S + x) * channels;
      for (let c = 0; c < channels; c++) out[o + c] = src[i + c];
    }
  }
  return out;
}
