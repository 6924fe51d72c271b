// The 'birds' design of the synthetic benchmark, closer to real fine-grained data: a bird-like object at a
// varied position, scale and heading over a textured background, whose class is a combination of three
// parts, as species differ in head, wing and tail at once. Classes differ in one, two or three parts; the
// part mask marks every discriminative part (head, wing patch, tail), so label fidelity keeps a ground truth.
import type { Rng } from '../util/rng.js';
import type { Rendered, SynthParams } from './synth-render.js';

/** Head colours, wing patterns and tail shapes: a class is one of each (3 × 3 × 2 = 18 classes). */
export const HEADS: { name: string; rgb: [number, number, number] }[] = [
  { name: 'red-head', rgb: [210, 45, 45] },
  { name: 'yellow-head', rgb: [230, 200, 40] },
  { name: 'blue-head', rgb: [50, 90, 210] },
];
export const WINGS = ['plain-wing', 'barred-wing', 'spotted-wing'] as const;
export const TAILS = ['fan-tail', 'forked-tail'] as const;
export const BIRD_CLASSES = HEADS.length * WINGS.length * TAILS.length;

/** Class k → its parts; heads vary fastest, so a few classes already differ in every part somewhere. */
export function birdDesign(k: number): { head: number; wing: number; tail: number } {
  return { head: k % HEADS.length, wing: Math.floor(k / HEADS.length) % WINGS.length, tail: Math.floor(k / (HEADS.length * WINGS.length)) };
}

const clamp255 = (v: number) => (v < 0 ? 0 : v > 255 ? 255 : Math.round(v));

export function renderBird(rng: Rng, label: number, p: SynthParams): Rendered {
  const S = p.size;
  const img = new Float32Array(S * S * 3);
  const mask = new Uint8Array(S * S);
  const each = (f: (x: number, y: number, u: number, v: number) => void) => {
    for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) f(x, y, (x + 0.5) / S, (y + 0.5) / S);
  };
  const put = (x: number, y: number, c: number[], part: boolean) => {
    const o = (y * S + x) * 3;
    for (let k = 0; k < 3; k++) img[o + k] = c[k];
    mask[y * S + x] = part ? 255 : 0;
  };

  // Textured background: two colours modulated by crossed waves (foliage-like), plus clutter blobs.
  const c0 = [rng.uniform(40, 200), rng.uniform(60, 200), rng.uniform(40, 180)];
  const c1 = [rng.uniform(40, 200), rng.uniform(60, 200), rng.uniform(40, 180)];
  const [f1, f2, ph] = [rng.uniform(8, 20), rng.uniform(8, 20), rng.uniform(0, 6.28)];
  each((x, y, u, v) => {
    const t = 0.5 + 0.25 * Math.sin(f1 * u + ph) + 0.25 * Math.sin(f2 * v + 2 * Math.sin(6 * u));
    put(x, y, c0.map((c, k) => c * (1 - t) + c1[k] * t), false);
  });
  for (let i = 0; i < p.clutter; i++) {
    const col = [rng.uniform(30, 225), rng.uniform(30, 225), rng.uniform(30, 225)];
    const [cx, cy, r] = [rng.next(), rng.next(), rng.uniform(0.03, 0.12)];
    each((x, y, u, v) => {
      if ((u - cx) ** 2 + (v - cy) ** 2 < r * r) put(x, y, col, false);
    });
  }

  // The bird: a body ellipse at a varied place, size and heading; head at the front, tail at the back.
  const scale = rng.uniform(0.7, 1.15);
  const [ba, bb] = [0.2 * scale, 0.11 * scale];
  const heading = rng.uniform(-0.6, 0.6) + (rng.next() < 0.5 ? 0 : Math.PI); // facing left or right
  const [cosH, sinH] = [Math.cos(heading), Math.sin(heading)];
  const margin = ba + 0.16 * scale;
  const [bx, by] = [rng.uniform(margin, 1 - margin), rng.uniform(margin, 1 - margin)];
  /** Bird-local coordinates: s along the heading (front +), t across. */
  const local = (u: number, v: number): [number, number] => [(u - bx) * cosH + (v - by) * sinH, -(u - bx) * sinH + (v - by) * cosH];
  const d = birdDesign(label);
  const jit = (c: number[]) => c.map((x) => x + rng.uniform(-p.colorJitter, p.colorJitter));
  const bodyCol = jit([rng.uniform(110, 170), rng.uniform(95, 150), rng.uniform(70, 120)]);
  const wingCol = jit([bodyCol[0] * 0.55, bodyCol[1] * 0.55, bodyCol[2] * 0.55]);
  const headCol = jit(HEADS[d.head].rgb);
  const headR = 0.075 * scale;
  const tailLen = 0.15 * scale;
  const stripe = rng.uniform(0, 6.28);
  each((x, y, u, v) => {
    const [s, t] = local(u, v);
    const inBody = (s / ba) ** 2 + (t / bb) ** 2 < 1;
    // Tail behind the body: a fan (wide, rounded) or a fork (two prongs).
    const ts = -s - ba * 0.8;
    const inTail = ts > 0 && ts < tailLen && (TAILS[d.tail] === 'fan-tail' ? Math.abs(t) < 0.03 * scale + ts * 0.7 : Math.abs(Math.abs(t) - ts * 0.45) < 0.022 * scale);
    const inHead = (s - ba * 0.95) ** 2 + t * t < headR * headR;
    // Wing: an inner ellipse on the body, its pattern the class's.
    const [ws, wt] = [(s + ba * 0.1) / (ba * 0.62), (t - bb * 0.05) / (bb * 0.62)];
    const inWing = ws * ws + wt * wt < 1;
    if (inTail) put(x, y, bodyCol.map((c) => c * 0.7), true);
    if (inBody && !inWing) put(x, y, bodyCol, false);
    if (inWing) {
      const w = WINGS[d.wing];
      const mark = w === 'barred-wing' ? Math.sin(ws * 11 + stripe) > 0.3 : w === 'spotted-wing' ? Math.sin(ws * 9 + stripe) * Math.sin(wt * 9) > 0.45 : false;
      put(x, y, mark ? [235, 235, 225] : wingCol, true);
    }
    if (inHead) put(x, y, headCol, true);
  });

  const rgb = new Uint8Array(S * S * 3);
  for (let i = 0; i < rgb.length; i++) rgb[i] = clamp255(img[i] + p.noise * rng.normal());
  let [x1, y1, x2, y2] = [S, S, 0, 0];
  for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) if (mask[y * S + x]) [x1, y1, x2, y2] = [Math.min(x1, x), Math.min(y1, y), Math.max(x2, x + 1), Math.max(y2, y + 1)];
  return { rgb, mask, partBox: x2 > x1 ? [x1, y1, x2, y2] : [0, 0, 0, 0] };
}
