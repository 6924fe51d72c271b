// Contact-sheet drawing helpers: heat overlays, box outlines, nearest upscaling. Pure array code;
// sharp composes the tiles and renders the text.
export type Rgb = [number, number, number];

/** A jet-like colour for v ∈ [0, 1]. */
function heat(v: number): Rgb {
  const t = Math.min(1, Math.max(0, v));
  const r = Math.min(1, Math.max(0, 1.5 - Math.abs(4 * t - 3)));
  const g = Math.min(1, Math.max(0, 1.5 - Math.abs(4 * t - 2)));
  const b = Math.min(1, Math.max(0, 1.5 - Math.abs(4 * t - 1)));
  return [Math.round(255 * r), Math.round(255 * g), Math.round(255 * b)];
}

/** Blend a heat map of `map` (S×S, scaled by its max) over an RGB image. */
export function overlayHeat(rgb: Uint8Array, map: ArrayLike<number>, alpha = 0.5): Uint8Array {
  const out = new Uint8Array(rgb.length);
  let max = 0;
  for (let i = 0; i < map.length; i++) if (map[i] > max) max = map[i];
  for (let i = 0; i < map.length; i++) {
    const c = heat(max > 0 && Number.isFinite(map[i]) ? map[i] / max : 0);
    for (let k = 0; k < 3; k++) out[i * 3 + k] = Math.round(rgb[i * 3 + k] * (1 - alpha) + c[k] * alpha);
  }
  return out;
}

export function upscale(rgb: Uint8Array, S: number, z: number): Uint8Array {
  const T = S * z;
  const out = new Uint8Array(T * T * 3);
  for (let y = 0; y < T; y++) for (let x = 0; x < T; x++) {
    const i = ((Math.floor(y / z) * S) + Math.floor(x / z)) * 3;
    out.set(rgb.subarray(i, i + 3), (y * T + x) * 3);
  }
  return out;
}

/** Outline box (in unscaled pixels; x2, y2 exclusive) on a z-times upscaled T×T image, in place. */
export function drawBox(img: Uint8Array, T: number, z: number, box: [number, number, number, number], color: Rgb): void {
  const [x1, y1, x2, y2] = box.map((v) => v * z);
  if (x2 <= x1 || y2 <= y1) return;
  const set = (x: number, y: number) => {
    if (x >= 0 && x < T && y >= 0 && y < T) img.set(color, (y * T + x) * 3);
  };
  for (let x = x1; x < x2; x++) { set(x, y1); set(x, y2 - 1); }
  for (let y = y1; y < y2; y++) { set(x1, y); set(x2 - 1, y); }
}
