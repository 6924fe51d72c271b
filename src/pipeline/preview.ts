// `snapmix preview`: a contact sheet, one sample a row: A's view, B's view, both SPMs as heat with
// their boxes, the mixed image, and rho_a / rho_b beside the area lam.
import sharp from 'sharp';
import type { Manifest } from './generate.js';
import { readSamples } from '../shards/reader.js';
import { openReplay } from './replay.js';
import { cropFlip } from '../image/crop.js';
import { upsampleBilinear } from '../cam/upsample.js';
import { normaliseInPlace } from '../cam/spm.js';
import { drawBox, overlayHeat, upscale } from '../image/sheet.js';
import { decodeRgb } from '../image/decode.js';
import { checkPngTarget, writePng, type PngTarget } from '../image/png-out.js';

/** out.reads holds the shards; the dataset and CAM cache the replay resolves are added before anything is read. */
export async function previewSheet(dir: string, m: Manifest, n: number, out: Exclude<PngTarget, string>, overrides: { data?: string; cams?: string } = {}): Promise<number> {
  const replay = await openReplay(dir, m, overrides);
  const target = { ...out, reads: [...out.reads, { flag: '--data', path: replay.dataRoot }, ...(replay.camDir ? [{ flag: '--cams', path: replay.camDir }] : [])] };
  await checkPngTarget(target);
  const S = m.config.size;
  const R = m.config.resize;
  const z = Math.max(1, Math.floor(128 / S));
  const T = S * z;
  const gap = 6;
  // The caption column fits its longest line (the weights first, so a long class name never hides them).
  let textChars = 24;
  const tiles: { input: Buffer; left: number; top: number; raw?: { width: number; height: number; channels: 3 } }[] = [];
  const texts: string[] = [];
  const want = Math.min(n, m.counts.written);
  const stride = Math.max(1, Math.floor(m.counts.written / want));
  let row = 0;
  let seen = 0;
  const raw = (data: Uint8Array) => ({ input: Buffer.from(data), raw: { width: T, height: T, channels: 3 as const } });
  for await (const s of readSamples(dir, m)) {
    if (row >= want) break; // every row it needs is drawn: read no further shard
    if (seen++ % stride !== 0) continue;
    const p = replay.planOf(s.index);
    const va = cropFlip(await replay.rgb(p.a), R, 3, p.viewA, (k) => new Uint8Array(k));
    const vb = cropFlip(await replay.rgb(p.b), R, 3, p.viewB, (k) => new Uint8Array(k));
    const spm = (j: number, view: typeof p.viewA) => {
      const cam = replay.cam(j);
      if (!cam) return new Float64Array(S * S);
      return normaliseInPlace(cropFlip(upsampleBilinear(cam.data, cam.h, cam.w, R, R), R, 1, view, (k) => new Float64Array(k)));
    };
    const ha = upscale(overlayHeat(va, spm(p.a, p.viewA)), S, z);
    const hb = upscale(overlayHeat(vb, spm(p.b, p.viewB)), S, z);
    drawBox(ha, T, z, s.boxA, [255, 255, 255]);
    drawBox(hb, T, z, s.boxB, [255, 255, 255]);
    const mixed = upscale((await decodeRgb(Buffer.from(s.image), S, 'fill')).data, S, z);
    drawBox(mixed, T, z, s.boxA, [255, 0, 0]);
    const top = row * (T + gap) + gap;
    [upscale(va, S, z), upscale(vb, S, z), ha, hb, mixed].forEach((img, c) => tiles.push({ ...raw(img), left: gap + c * (T + gap), top }));
    const x = gap + 5 * (T + gap) + 4;
    const lines = [
      `#${s.index} ${s.method}`,
      `ρa ${s.weightA.toFixed(3)}  A ${m.class_names[s.labelA]}`,
      `ρb ${s.weightB.toFixed(3)}  B ${m.class_names[s.labelB]}`,
      `area λ ${s.areaWeight.toFixed(3)} / ${(1 - s.areaWeight).toFixed(3)}`,
    ];
    textChars = Math.max(textChars, ...lines.map((l) => l.length));
    lines.forEach((l, i) => texts.push(`<text x="${x}" y="${top + 18 + i * 18}">${l.replace(/&/g, '&amp;').replace(/</g, '&lt;')}</text>`));
    row++;
  }
  const width = gap + 5 * (T + gap) + 8 + Math.ceil(textChars * 8.2); // DejaVu Sans at 13 px: at most ~8 px a character
  const height = gap + row * (T + gap) + 22;
  const headers = ['A view', 'B view', 'SPM A + box A', 'SPM B + box B', 'mixed (box A red)'];
  headers.forEach((h, c) => texts.push(`<text x="${gap + c * (T + gap)}" y="${height - 6}">${h}</text>`));
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><style>text{font-family:DejaVu Sans,sans-serif;font-size:13px;fill:#222}</style>${texts.join('')}</svg>`;
  tiles.push({ input: Buffer.from(svg), left: 0, top: 0 });
  await writePng(target, await sharp({ create: { width, height, channels: 3, background: { r: 250, g: 250, b: 250 } } }).composite(tiles).png().toBuffer());
  return row;
}
