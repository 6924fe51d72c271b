// Box sampling as the official SnapMix/CutMix rand_bbox (docs/SHARDS.md "SnapMix semantics"), on a seeded Rng.
import type { Rng } from '../util/rng.js';
import type { Box } from '../cam/spm.js';

const clip = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);

/** cut = floor(W·sqrt(1−lam)); centre uniform integer; half-width floor(cut/2) each side, clipped. */
export function boxFromLam(lam: number, W: number, H: number, cx: number, cy: number): Box {
  const r = Math.sqrt(1 - lam);
  const cutW = Math.floor(W * r);
  const cutH = Math.floor(H * r);
  return [
    clip(cx - Math.floor(cutW / 2), 0, W),
    clip(cy - Math.floor(cutH / 2), 0, H),
    clip(cx + Math.floor(cutW / 2), 0, W),
    clip(cy + Math.floor(cutH / 2), 0, H),
  ];
}

export function randBox(rng: Rng, lam: number, W: number, H: number): Box {
  const cx = rng.int(0, W - 1);
  const cy = rng.int(0, H - 1);
  return boxFromLam(lam, W, H, cx, cy);
}
