// The synthetic fine-grained benchmark's renderer: pure functions from a seeded Rng to RGB + mask.
// Each image: cluttered background, a large class-agnostic body, and a small class-discriminative
// part (a badge with a glyph) on the body. Classes differ only in the part's glyph and palette.
import type { Rng } from '../util/rng.js';

export interface SynthParams {
  size: number;
  numClasses: number;
  /** Pixel noise standard deviation (0–255 scale). */
  noise: number;
  /** Background clutter shapes per image. */
  clutter: number;
  /** Badge side as a fraction of the image side, [min, max]. */
  partScale: [number, number];
  /** Per-channel colour jitter of the part (0–255 scale). */
  colorJitter: number;
  design?: SynthDesign;
}

export interface Rendered {
  rgb: Uint8Array;
  mask: Uint8Array;
  /** x1, y1, x2, y2 (exclusive), pixels. */
  partBox: [number, number, number, number];
}

type Shape = (s: number, t: number) => boolean;

/** Glyphs in badge-local coordinates s, t ∈ [−1, 1]. */
export const GLYPHS: { name: string; inside: Shape }[] = [
  { name: 'disc', inside: (s, t) => s * s + t * t < 0.36 },
  { name: 'square', inside: (s, t) => Math.max(Math.abs(s), Math.abs(t)) < 0.52 },
  { name: 'triangle', inside: (s, t) => t < 0.55 && t > -0.65 && Math.abs(s) < (t + 0.65) * 0.55 },
  { name: 'cross', inside: (s, t) => (Math.abs(s) < 0.2 && Math.abs(t) < 0.7) || (Math.abs(t) < 0.2 && Math.abs(s) < 0.7) },
  { name: 'ring', inside: (s, t) => { const r = Math.hypot(s, t); return r > 0.32 && r < 0.66; } },
  { name: 'diamond', inside: (s, t) => Math.abs(s) + Math.abs(t) < 0.7 },
  { name: 'bar', inside: (s, t) => Math.abs(t) < 0.22 && Math.abs(s) < 0.72 },
  { name: 'dots', inside: (s, t) => Math.hypot(s - 0.35, t) < 0.26 || Math.hypot(s + 0.35, t) < 0.26 },
  // Glyphs 8+ only appear in the pretraining design (classes disjoint from the target task's).
  { name: 'hexagon', inside: (s, t) => Math.abs(t) < 0.6 && Math.abs(s) * 0.866 + Math.abs(t) * 0.5 < 0.62 },
  { name: 'chevron', inside: (s, t) => Math.abs(s) < 0.7 && Math.abs(t - (-0.45 + Math.abs(s))) < 0.22 },
  { name: 'hourglass', inside: (s, t) => Math.abs(t) < 0.65 && Math.abs(s) < Math.abs(t) * 0.85 },
  { name: 'frame', inside: (s, t) => { const r = Math.max(Math.abs(s), Math.abs(t)); return r < 0.64 && r > 0.38; } },
];

/** Glyphs and palettes of the target task (the benchmark's classes); the rest serve pretraining only. */
const TARGET_GLYPHS = 8;
const TARGET_PALETTES = 4;

/** Badge background / glyph colour pairs; palettes differ subtly, as species' markings do. */
export const PALETTES: { name: string; bg: [number, number, number]; fg: [number, number, number] }[] = [
  { name: 'gold', bg: [235, 205, 60], fg: [40, 40, 150] },
  { name: 'amber', bg: [235, 140, 50], fg: [40, 40, 150] },
  { name: 'lime', bg: [170, 225, 70], fg: [40, 40, 150] },
  { name: 'rose', bg: [235, 150, 170], fg: [40, 40, 150] },
  { name: 'cyan', bg: [90, 200, 225], fg: [40, 40, 150] },
  { name: 'violet', bg: [175, 130, 225], fg: [40, 40, 150] },
  { name: 'teal', bg: [70, 175, 145], fg: [40, 40, 150] },
];

/**
 * 'target': the benchmark's classes (the first 8 glyphs × 4 palettes). 'pretrain': every (glyph, palette)
 * pair with a new glyph or a new palette, so its classes never coincide with a target class: the
 * stand-in for ImageNet, a large generic task to pretrain a backbone on before fine-tuning.
 */
export type SynthDesign = 'target' | 'pretrain' | 'birds';
/** 'birds' (src/data/synth-birds.ts): classes differ in head, wing and tail at once, objects at varied place and scale. */
export const SYNTH_DESIGNS: readonly SynthDesign[] = ['target', 'pretrain', 'birds'];

const PRETRAIN_PAIRS: { glyph: number; palette: number }[] = [];
for (let palette = 0; palette < PALETTES.length; palette++) {
  for (let glyph = 0; glyph < GLYPHS.length; glyph++) {
    if (glyph >= TARGET_GLYPHS || palette >= TARGET_PALETTES) PRETRAIN_PAIRS.push({ glyph, palette });
  }
}

/** Class k → (glyph, palette). Glyphs vary fastest so 10 classes use 5 glyphs × 2 palettes. */
export function classDesign(k: number, numClasses: number, design: SynthDesign = 'target'): { glyph: number; palette: number } {
  if (design === 'pretrain') return PRETRAIN_PAIRS[k];
  const nPal = Math.ceil(numClasses / TARGET_GLYPHS);
  const nGlyph = Math.ceil(numClasses / nPal);
  return { glyph: k % nGlyph, palette: Math.floor(k / nGlyph) };
}

export function maxClasses(design: SynthDesign = 'target'): number {
  return design === 'pretrain' ? PRETRAIN_PAIRS.length : TARGET_GLYPHS * TARGET_PALETTES;
}

const clamp255 = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));

function randomColor(rng: Rng, lo = 30, hi = 225): [number, number, number] {
  return [rng.uniform(lo, hi), rng.uniform(lo, hi), rng.uniform(lo, hi)];
}

export function renderSample(rng: Rng, label: number, p: SynthParams): Rendered {
  const S = p.size;
  const img = new Float32Array(S * S * 3);
  const mask = new Uint8Array(S * S);
  const put = (x: number, y: number, c: number[], alpha = 1) => {
    const o = (y * S + x) * 3;
    for (let k = 0; k < 3; k++) img[o + k] = img[o + k] * (1 - alpha) + c[k] * alpha;
  };
  const fill = (inside: (u: number, v: number) => boolean, color: number[] | ((u: number, v: number) => number[]), alpha = 1) => {
    for (let y = 0; y < S; y++) {
      const v = (y + 0.5) / S;
      for (let x = 0; x < S; x++) {
        const u = (x + 0.5) / S;
        if (inside(u, v)) put(x, y, typeof color === 'function' ? color(u, v) : color, alpha);
      }
    }
  };

  // Background: a two-colour gradient plus clutter (ellipses, boxes, stripes) in random colours.
  const c0 = randomColor(rng);
  const c1 = randomColor(rng);
  const ang = rng.uniform(0, Math.PI);
  fill(() => true, (u, v) => {
    const t = 0.5 + 0.5 * Math.sin(3 * ((u - 0.5) * Math.cos(ang) + (v - 0.5) * Math.sin(ang)));
    return [0, 1, 2].map((k) => c0[k] * (1 - t) + c1[k] * t);
  });
  for (let i = 0; i < p.clutter; i++) {
    const col = randomColor(rng);
    const cx = rng.next();
    const cy = rng.next();
    const r = rng.uniform(0.04, 0.2);
    const kind = rng.int(0, 2);
    const a = rng.uniform(0.5, 1);
    if (kind === 0) fill((u, v) => (u - cx) ** 2 + (v - cy) ** 2 < r * r, col, a);
    else if (kind === 1) fill((u, v) => Math.abs(u - cx) < r && Math.abs(v - cy) < r * 0.6, col, a);
    else {
      const th = rng.uniform(0, Math.PI);
      fill((u, v) => Math.abs((u - cx) * Math.sin(th) - (v - cy) * Math.cos(th)) < 0.02 && Math.hypot(u - cx, v - cy) < 2 * r, col, a);
    }
  }

  // Body: a large textured ellipse, class-agnostic.
  const bx = rng.uniform(0.38, 0.62);
  const by = rng.uniform(0.38, 0.62);
  const ba = rng.uniform(0.27, 0.36);
  const bb = rng.uniform(0.2, 0.28);
  const bt = rng.uniform(0, Math.PI);
  const cosB = Math.cos(bt);
  const sinB = Math.sin(bt);
  const bodyCol = randomColor(rng, 60, 200);
  const freq = rng.uniform(10, 25);
  const inBody = (u: number, v: number) => {
    const du = u - bx;
    const dv = v - by;
    const e1 = (du * cosB + dv * sinB) / ba;
    const e2 = (-du * sinB + dv * cosB) / bb;
    return e1 * e1 + e2 * e2 < 1;
  };
  fill(inBody, (u, v) => {
    const m = 0.85 + 0.15 * Math.sin(freq * (u * cosB + v * sinB));
    return bodyCol.map((c) => c * m);
  });

  // Part: a badge inside the body, with the class's glyph in the class's palette.
  const { glyph, palette } = classDesign(label, p.numClasses, p.design);
  const side = rng.uniform(p.partScale[0], p.partScale[1]);
  const half = side / 2;
  let pu = bx;
  let pv = by;
  for (let tries = 0; tries < 50; tries++) {
    const r = Math.sqrt(rng.next()) * 0.6;
    const phi = rng.uniform(0, 2 * Math.PI);
    const e1 = r * Math.cos(phi) * ba;
    const e2 = r * Math.sin(phi) * bb;
    pu = bx + e1 * cosB - e2 * sinB;
    pv = by + e1 * sinB + e2 * cosB;
    if (pu - half > 0 && pu + half < 1 && pv - half > 0 && pv + half < 1) break;
  }
  const x1 = Math.max(0, Math.round((pu - half) * S));
  const y1 = Math.max(0, Math.round((pv - half) * S));
  const x2 = Math.min(S, Math.round((pu + half) * S));
  const y2 = Math.min(S, Math.round((pv + half) * S));
  const jit = (c: number[]) => c.map((v) => v + rng.uniform(-p.colorJitter, p.colorJitter));
  const bg = jit(PALETTES[palette].bg);
  const fg = jit(PALETTES[palette].fg);
  const rot = rng.uniform(-0.35, 0.35);
  const cr = Math.cos(rot);
  const sr = Math.sin(rot);
  const g = GLYPHS[glyph].inside;
  const w = (x2 - x1) / 2;
  const h = (y2 - y1) / 2;
  for (let y = y1; y < y2; y++) {
    for (let x = x1; x < x2; x++) {
      const s0 = (x + 0.5 - x1 - w) / w;
      const t0 = (y + 0.5 - y1 - h) / h;
      const s = s0 * cr + t0 * sr;
      const t = -s0 * sr + t0 * cr;
      put(x, y, g(s, t) ? fg : bg);
      mask[y * S + x] = 255;
    }
  }

  const rgb = new Uint8Array(S * S * 3);
  for (let i = 0; i < rgb.length; i++) rgb[i] = clamp255(img[i] + p.noise * rng.normal());
  return { rgb, mask, partBox: [x1, y1, x2, y2] };
}
