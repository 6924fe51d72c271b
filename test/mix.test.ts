// The hand-written numerics, pinned on hand-computed cases (README "SnapMix semantics") and properties (fast-check).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { upsampleBilinear } from '../src/cam/upsample.js';
import { boxSum, integralImage, spmFromCam, type Box } from '../src/cam/spm.js';
import { boxFromLam } from '../src/mix/boxes.js';
import { blend, pasteResized, pasteSameBox } from '../src/mix/pixels.js';
import { cutmixWeights, mixupWeights, snapmixWeights, softLabel, statsFromMap } from '../src/mix/labels.js';
import { planSample, type PlanConfig } from '../src/mix/plan.js';
import { composeSample } from '../src/mix/compose.js';

const close = (a: number, b: number, eps = 1e-9) => assert.ok(Math.abs(a - b) <= eps, `${a} ≠ ${b}`);

test('upsample: bilinear with align_corners=False matches PyTorch on a 2×2 → 4×4 case', () => {
  const out = Array.from(upsampleBilinear([0, 1, 2, 3], 2, 2, 4, 4));
  // torch.nn.functional.interpolate(tensor([[[[0.,1],[2,3]]]]), size=(4,4), mode='bilinear', align_corners=False)
  const expected = [0, 0.25, 0.75, 1, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3];
  out.forEach((v, i) => close(v, expected[i]));
});

test('SPM: min-subtracted, sums to 1; a constant CAM gives NaN (0/0) as the official code does', () => {
  const s = spmFromCam([1, 3, -1, 5], 2, 2, 6, 6);
  const total = s.map.reduce((a, b) => a + b, 0);
  close(total, 1, 1e-12);
  close(Math.min(...s.map), 0);
  const c = spmFromCam([2, 2, 2, 2], 2, 2, 4, 4);
  assert.ok(c.map.every(Number.isNaN));
});

test('box sums from the integral image equal brute-force sums (property)', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 81, maxLength: 81 }),
      fc.tuple(fc.nat(9), fc.nat(9), fc.nat(9), fc.nat(9)),
      (W, H, vals, [a, b, c, d]) => {
        const map = vals.slice(0, W * H);
        const I = integralImage(map, H, W);
        const box: Box = [Math.min(a, c, W), Math.min(b, d, H), Math.min(Math.max(a, c), W), Math.min(Math.max(b, d), H)];
        let brute = 0;
        for (let y = box[1]; y < box[3]; y++) for (let x = box[0]; x < box[2]; x++) brute += map[y * W + x];
        return Math.abs(boxSum(I, W, box) - brute) < 1e-9;
      }),
  );
});

test('rand_bbox: cut = floor(W·sqrt(1−lam)), half-width floor(cut/2), clipped to the image', () => {
  assert.deepEqual(boxFromLam(0.75, 10, 10, 1, 9), [0, 7, 3, 10]);
  assert.deepEqual(boxFromLam(0.75, 10, 10, 5, 5), [3, 3, 7, 7]);
  assert.deepEqual(boxFromLam(0.96, 10, 10, 5, 5), [4, 4, 6, 6]); // cut 2 → [cx−1, cx+1)
  assert.deepEqual(boxFromLam(0.995, 10, 10, 5, 5), [5, 5, 5, 5]); // cut 0 → empty box
  assert.deepEqual(boxFromLam(0.36, 20, 10, 19, 0), [11, 0, 20, 4]); // W 20: cut 16 → [19−8, 19+8] clipped; H 10: cut 8
});

test('patch resize: bilinear align_corners=True (end pixels map to end pixels)', () => {
  const S = 4;
  const a = new Uint8Array(S * S * 3);
  const b = new Uint8Array(S * S * 3);
  // B row 0: pixel (0,0) = 0, pixel (1,0) = 100 in every channel.
  b.set([100, 100, 100], 3);
  const out = pasteResized(a, b, S, [0, 1, 3, 2], [0, 0, 2, 1]);
  const row1 = Array.from(out.subarray(S * 3, S * 3 + 12)).filter((_, i) => i % 3 === 0);
  assert.deepEqual(row1, [0, 50, 100, 0]);
  assert.deepEqual(Array.from(out.subarray(0, 12)), new Array(12).fill(0), 'outside the box A is untouched');
  const same = pasteSameBox(a, b, S, [1, 0, 2, 1]);
  assert.deepEqual(Array.from(same.subarray(3, 6)), [100, 100, 100]);
  assert.deepEqual(Array.from(blend(Uint8Array.from([0, 255]), Uint8Array.from([100, 0]), 0.25)), [75, 64]);
});

test('SnapMix weights: semantic share, same-label rule, NaN fallback, empty-box rule', () => {
  const W = 4;
  const uniform = statsFromMap(new Float64Array(16).fill(1 / 16), W, W);
  const peak = new Float64Array(16);
  peak[0] = 1;
  const peaked = statsFromMap(peak, W, W);
  const boxA: Box = [2, 2, 4, 4];
  const boxB: Box = [0, 0, 1, 1];
  let w = snapmixWeights(uniform, boxA, peaked, boxB, false);
  close(w.weightA, 1 - 4 / 16 / (1 + 1e-8), 1e-12);
  close(w.weightB, 1 / (1 + 1e-8), 1e-12);
  close(w.areaWeight, 0.75);
  // A's part is untouched by the paste → rho_a stays 1 even though a quarter of the pixels changed.
  w = snapmixWeights(peaked, boxA, uniform, [0, 0, 2, 2], false);
  close(w.weightA, 1);
  close(w.weightB, 0.25, 1e-8);
  w = snapmixWeights(uniform, boxA, peaked, boxB, true);
  close(w.weightA, 0.75 + 1, 1e-7);
  close(w.weightB, 0.75 + 1, 1e-7);
  const constant = statsFromMap(new Float64Array(16).fill(NaN), W, W);
  w = snapmixWeights(constant, boxA, constant, [0, 0, 3, 3], false);
  assert.deepEqual([w.weightA, w.weightB], [0.75, 0.25]);
  w = snapmixWeights(uniform, [1, 1, 1, 3], peaked, boxB, false);
  assert.deepEqual([w.weightA, w.weightB], [1, 0]);
  w = snapmixWeights(uniform, boxA, peaked, [2, 2, 2, 2], false);
  assert.deepEqual([w.weightA, w.weightB], [1, 0]);
  const c = cutmixWeights([0, 0, 2, 4], 4, 4);
  assert.deepEqual([c.weightA, c.weightB], [0.5, 0.5]);
  assert.deepEqual(mixupWeights(0.3).weightB, 0.7);
  assert.deepEqual(Array.from(softLabel(3, 2, 0, { weightA: 0.5, weightB: 0.75 })), [0.75, 0, 0.5]);
  assert.deepEqual(Array.from(softLabel(3, 1, 1, { weightA: 0.5, weightB: 0.5 })), [0, 1, 0]);
});

const cfg: PlanConfig = { method: 'snapmix', beta: 5, prob: 1, seed: 7, size: 16, resize: 18, crop: 'random', flip: true };

test('plan: counter-based (same (seed, r, i) → same plan), partner ≠ self, prob gates mixing', () => {
  const n = 20;
  for (let i = 0; i < n; i++) {
    const p = planSample(cfg, 2, i, n);
    assert.deepEqual(planSample(cfg, 2, i, n), p);
    assert.equal(p.index, 2 * n + i);
    assert.notEqual(p.b, p.a);
    assert.equal(p.method, 'snapmix');
    for (const box of [p.boxA, p.boxB]) assert.ok(box[0] >= 0 && box[2] <= 16 && box[0] <= box[2] && box[1] <= box[3]);
    assert.ok(p.viewA.x0 >= 0 && p.viewA.x0 <= 2);
  }
  assert.notDeepEqual(planSample({ ...cfg, seed: 8 }, 2, 0, n), planSample(cfg, 2, 0, n));
  assert.ok(Array.from({ length: n }, (_, i) => planSample({ ...cfg, prob: 0 }, 0, i, n)).every((p) => p.method === 'none' && p.b === p.a));
  const half = Array.from({ length: 400 }, (_, i) => planSample({ ...cfg, prob: 0.5 }, 0, i, 400)).filter((p) => p.method === 'snapmix').length;
  assert.ok(half > 150 && half < 250, `prob 0.5 mixed ${half}/400`);
  const cut = planSample({ ...cfg, method: 'cutmix', beta: 3 }, 0, 3, n);
  assert.deepEqual(cut.boxA, cut.boxB);
});

test('compose: snapmix pastes B[boxB] into A[boxA] and labels by the views\' SPMs', () => {
  const R = 18;
  const p = { ...planSample(cfg, 0, 0, 2), boxA: [0, 0, 8, 8] as Box, boxB: [8, 8, 16, 16] as Box };
  const A = { rgb: new Uint8Array(R * R * 3).fill(10), label: 0, cam: { data: [1, 0, 0, 0], h: 2, w: 2 } };
  const B = { rgb: new Uint8Array(R * R * 3).fill(200), label: 1, cam: { data: [0, 0, 0, 0], h: 2, w: 2 } };
  const out = composeSample(p, R, A, B);
  assert.equal(out.pixels[0], 200, 'pasted region comes from B');
  assert.equal(out.pixels[(15 * 16 + 15) * 3], 10, 'outside stays A');
  assert.ok(Number.isFinite(out.weights.weightA) && out.weights.weightA < 1);
  // B's CAM is constant → NaN → area fallback rho_b = 1 − area lam.
  close(out.weights.weightB, 1 - out.weights.areaWeight, 1e-12);
  close(out.weights.areaWeight, 1 - 64 / 256);
});

test('pasting straight from the source through B\'s view equals cropping the view first, flipped or not', async () => {
  const { cropFlip } = await import('../src/image/crop.js');
  const { pasteResizedInto } = await import('../src/mix/pixels.js');
  fc.assert(
    fc.property(fc.integer({ min: 4, max: 20 }), fc.integer({ min: 0, max: 6 }), fc.boolean(), fc.array(fc.nat(), { minLength: 10, maxLength: 10 }), (S, extra, flip, r) => {
      const R = S + extra;
      const src = Uint8Array.from({ length: R * R * 3 }, (_, i) => (i * 31 + r[0]) & 255);
      const a = Uint8Array.from({ length: S * S * 3 }, (_, i) => (i * 7) & 255);
      const view = { x0: r[1] % (extra + 1), y0: r[2] % (extra + 1), size: S, flip };
      const box = (p: number, q: number, u: number, v: number): Box => { const x1 = p % S; const y1 = q % S; return [x1, y1, x1 + 1 + (u % (S - x1)), y1 + 1 + (v % (S - y1))]; };
      const boxA = box(r[3], r[4], r[5], r[6]);
      const boxB = box(r[7], r[8], r[9], r[3] + 1);
      const viaCrop = pasteResized(a, cropFlip(src, R, 3, view, (n) => new Uint8Array(n)), S, boxA, boxB);
      const direct = pasteResizedInto(a.slice(), src, S, boxA, boxB, { width: R, x0: view.x0, y0: view.y0, flip });
      return Buffer.from(viaCrop).equals(Buffer.from(direct));
    }),
    { numRuns: 200, seed: 5 },
  );
});

test('roundNonNeg is Math.round on [0, 256], bit for bit: near every integer and half-integer, and anywhere (property)', async () => {
  const { roundNonNeg } = await import('../src/mix/pixels.js');
  const dv = new DataView(new ArrayBuffer(8));
  const ulps = (x: number, d: number) => {
    dv.setFloat64(0, x);
    dv.setBigUint64(0, dv.getBigUint64(0) + BigInt(d));
    return dv.getFloat64(0);
  };
  let mismatches = 0;
  for (let k = 0; k <= 256; k++) {
    for (const base of [k, k + 0.5]) {
      for (let d = -300; d <= 300; d++) {
        if (base === 0 && d < 0) continue;
        const v = ulps(base, d);
        if (v <= 256 && roundNonNeg(v) !== Math.round(v)) mismatches++;
      }
    }
  }
  assert.equal(mismatches, 0);
  assert.equal(roundNonNeg(0.49999999999999994), 0, 'where (v + 0.5) | 0 gives 1');
  fc.assert(fc.property(fc.double({ min: 0, max: 256, noNaN: true }), (v) => roundNonNeg(v) === Math.round(v)), { numRuns: 20000, seed: 9 });
});

test('the bilinear paste equals the reference formula with Math.round, on random boxes and views (property)', async () => {
  const { pasteResizedInto } = await import('../src/mix/pixels.js');
  // The textbook loop: weights (1 − l) recomputed per channel, Math.round, clamped.
  const reference = (a: Uint8Array, b: Uint8Array, S: number, R: number, boxA: Box, boxB: Box, v: { x0: number; y0: number; flip: boolean }) => {
    const out = a.slice();
    const [ax1, ay1, ax2, ay2] = boxA;
    const [bx1, by1, bx2, by2] = boxB;
    const ow = ax2 - ax1, oh = ay2 - ay1, iw = bx2 - bx1, ih = by2 - by1;
    const sx = ow > 1 ? (iw - 1) / (ow - 1) : 0;
    const sy = oh > 1 ? (ih - 1) / (oh - 1) : 0;
    const at = (x: number, y: number, c: number) => b[((v.y0 + by1 + y) * R + (v.flip ? v.x0 + S - 1 - (bx1 + x) : v.x0 + bx1 + x)) * 3 + c];
    for (let y = 0; y < oh; y++) {
      const y0 = Math.floor(y * sy), y1 = Math.min(y0 + 1, ih - 1), ly = y * sy - y0;
      for (let x = 0; x < ow; x++) {
        const x0 = Math.floor(x * sx), x1 = Math.min(x0 + 1, iw - 1), lx = x * sx - x0;
        for (let c = 0; c < 3; c++) {
          const top = at(x0, y0, c) * (1 - lx) + at(x1, y0, c) * lx;
          const bot = at(x0, y1, c) * (1 - lx) + at(x1, y1, c) * lx;
          out[((ay1 + y) * S + ax1 + x) * 3 + c] = Math.min(255, Math.max(0, Math.round(top * (1 - ly) + bot * ly)));
        }
      }
    }
    return out;
  };
  fc.assert(
    fc.property(fc.integer({ min: 4, max: 40 }), fc.integer({ min: 0, max: 8 }), fc.boolean(), fc.array(fc.nat(), { minLength: 10, maxLength: 10 }), (S, extra, flip, r) => {
      const R = S + extra;
      const src = Uint8Array.from({ length: R * R * 3 }, (_, i) => ((i * 2654435761) >>> 24) ^ r[0]);
      const a = Uint8Array.from({ length: S * S * 3 }, (_, i) => (i * 7) & 255);
      const view = { x0: r[1] % (extra + 1), y0: r[2] % (extra + 1), flip };
      const box = (p: number, q: number, u: number, v: number): Box => { const x1 = p % S; const y1 = q % S; return [x1, y1, x1 + 1 + (u % (S - x1)), y1 + 1 + (v % (S - y1))]; };
      const boxA = box(r[3], r[4], r[5], r[6]);
      const boxB = box(r[7], r[8], r[9], r[3] + 1);
      const fast = pasteResizedInto(a.slice(), src, S, boxA, boxB, { width: R, ...view });
      return Buffer.from(fast).equals(Buffer.from(reference(a, src, S, R, boxA, boxB, view)));
    }),
    { numRuns: 300, seed: 11 },
  );
});
