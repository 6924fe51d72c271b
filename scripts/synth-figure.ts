// Render docs/synth-samples.png: per class, two samples and the first one's part mask, 2× nearest.
// Usage: npx tsx scripts/synth-figure.ts [--out docs/synth-samples.png]
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { SYNTH_DEFAULTS, writeSynth, className } from '../src/data/synth.js';

const { values } = parseArgs({ options: { out: { type: 'string', default: 'docs/synth-samples.png' } } });
const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'synth-fig-'));
const S = SYNTH_DEFAULTS.size;
await writeSynth({ ...SYNTH_DEFAULTS, out: path.join(dir, 'd'), perClass: 2, testPerClass: 0, overwrite: true });
const Z = 2;
const cell = S * Z + 4;
const tiles: { input: Buffer; left: number; top: number }[] = [];
for (let k = 0; k < SYNTH_DEFAULTS.classes; k++) {
  const cols = [`train/${className(k)}/00000.png`, `masks/train/${className(k)}/00000.png`, `train/${className(k)}/00001.png`];
  for (const [c, rel] of cols.entries()) {
    const input = await sharp(path.join(dir, 'd', rel)).resize(S * Z, S * Z, { kernel: 'nearest' }).toColourspace('srgb').png().toBuffer();
    tiles.push({ input, left: k * cell + 2, top: c * cell + 2 });
  }
}
await fs.mkdir(path.dirname(values.out!), { recursive: true });
await sharp({ create: { width: cell * SYNTH_DEFAULTS.classes, height: cell * 3, channels: 3, background: { r: 255, g: 255, b: 255 } } })
  .composite(tiles)
  .png({ compressionLevel: 9 })
  .toFile(values.out!);
await fs.rm(dir, { recursive: true, force: true });
console.log(`wrote ${values.out}: columns = classes 0..${SYNTH_DEFAULTS.classes - 1}; rows = sample, its part mask, another sample`);
