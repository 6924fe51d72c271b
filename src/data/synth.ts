// `snapmix synth`: write the synthetic benchmark as an ImageFolder with train/test splits, a part mask
// per image under masks/, and parts.jsonl indexing them. Same options + seed → same bytes.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { Rng } from '../util/rng.js';
import { UserError } from '../util/errors.js';
import { checkOptions } from '../util/schemas.js';
import { inspectOutput, markOutput, ownedName } from '../util/outdir.js';
import { encodePng } from '../image/decode.js';
import { classDesign, GLYPHS, maxClasses as glyphClasses, PALETTES, renderSample, type SynthDesign, type SynthParams } from './synth-render.js';
import { BIRD_CLASSES, birdDesign, HEADS, renderBird, TAILS, WINGS } from './synth-birds.js';

/** Classes a design can draw. */
export const maxClasses = (design: SynthDesign = 'target'): number => (design === 'birds' ? BIRD_CLASSES : glyphClasses(design));

export interface SynthOptions {
  out: string;
  classes: number;
  perClass: number;
  testPerClass: number;
  size: number;
  seed: number;
  noise: number;
  clutter: number;
  partScale: [number, number];
  colorJitter: number;
  /** 'target' (the benchmark's classes, default) or 'pretrain' (disjoint classes for pretraining a backbone). */
  design?: SynthDesign;
  overwrite?: boolean;
  onProgress?: (done: number, total: number) => void;
}

export { SYNTH_DEFAULTS } from './synth-defaults.js';

const SYNTH_VERSION = 1;

export interface PartEntry {
  id: string;
  mask: string;
  label: number;
  split: 'train' | 'test';
  part_box: [number, number, number, number];
}

export function className(k: number): string {
  return `class_${String(k).padStart(2, '0')}`;
}

export async function writeSynth(o: SynthOptions): Promise<{ images: number; dir: string }> {
  const design = o.design ?? 'target';
  if (o.classes < 2 || o.classes > maxClasses(design)) throw new UserError(`--classes must be in [2, ${maxClasses(design)}] for --design ${design}, got ${o.classes}`);
  // Each value's range is checked from schemas/options.schema.json; what relates two values, here.
  const problems = checkOptions('synth', { 'per-class': o.perClass, 'test-per-class': o.testPerClass, size: o.size, seed: o.seed, noise: o.noise, clutter: o.clutter, 'color-jitter': o.colorJitter, 'part-scale': o.partScale });
  if (o.partScale[0] > o.partScale[1]) problems.push(`--part-scale takes min ≤ max, got ${o.partScale.join(' ')}`);
  if (problems.length) throw new UserError(problems.join('; '));
  // Written whole into a temporary sibling and renamed, so no lock is needed; --overwrite replaces only
  // an earlier synthetic dataset (its synth.json), never a directory of other files.
  const state = await inspectOutput(o.out, 'synth', [], !!o.overwrite);
  if (state === 'ours' && !o.overwrite) throw new UserError(`--out ${o.out} already holds a synthetic dataset; pass --overwrite to replace it`);
  const parent = path.dirname(path.resolve(o.out));
  await fs.mkdir(parent, { recursive: true });
  const tmp = await fs.mkdtemp(path.join(parent, `.${path.basename(o.out)}.tmp-`));
  const p: SynthParams = { size: o.size, numClasses: o.classes, noise: o.noise, clutter: o.clutter, partScale: o.partScale, colorJitter: o.colorJitter, design };
  const entries: PartEntry[] = [];
  const total = o.classes * (o.perClass + o.testPerClass);
  let done = 0;
  try {
    for (const [si, split] of (['train', 'test'] as const).entries()) {
      const n = split === 'train' ? o.perClass : o.testPerClass;
      if (n === 0) continue; // no empty class directories: readers reject them
      for (let k = 0; k < o.classes; k++) {
        const cdir = path.join(tmp, split, className(k));
        const mdir = path.join(tmp, 'masks', split, className(k));
        await fs.mkdir(cdir, { recursive: true });
        await fs.mkdir(mdir, { recursive: true });
        for (let i = 0; i < n; i++) {
          const r = (design === 'birds' ? renderBird : renderSample)(new Rng(o.seed, 'synth', si, k, i), k, p);
          const name = `${String(i).padStart(5, '0')}.png`;
          await fs.writeFile(path.join(cdir, name), await encodePng(r.rgb, o.size, o.size, 3));
          await fs.writeFile(path.join(mdir, name), await encodePng(r.mask, o.size, o.size, 1));
          entries.push({ id: `${split}/${className(k)}/${name}`, mask: `masks/${split}/${className(k)}/${name}`, label: k, split, part_box: r.partBox });
          o.onProgress?.(++done, total);
        }
      }
    }
    await fs.writeFile(path.join(tmp, 'parts.jsonl'), entries.map((e) => JSON.stringify(e)).join('\n') + '\n');
    const classes = Array.from({ length: o.classes }, (_, k) => {
      if (design === 'birds') {
        const b = birdDesign(k);
        return { name: className(k), head: HEADS[b.head].name, wing: WINGS[b.wing], tail: TAILS[b.tail] };
      }
      const d = classDesign(k, o.classes, design);
      return { name: className(k), glyph: GLYPHS[d.glyph].name, palette: PALETTES[d.palette].name };
    });
    // The default design is left out, so target datasets keep the bytes of earlier versions.
    const { onProgress: _p, overwrite: _o, out: _out, design: _d, ...rest } = o;
    const opts = design === 'target' ? rest : { ...rest, design };
    await fs.writeFile(path.join(tmp, 'synth.json'), JSON.stringify({ generator: 'snapmix-synth', version: SYNTH_VERSION, options: opts, classes }, null, 2) + '\n');
    await markOutput(tmp, 'synth');
    await fs.chmod(tmp, 0o755); // mkdtemp makes 0700; the result is an ordinary directory
    if (state === 'ours') {
      // Replace only what synth writes; a file the user added beside the dataset stays.
      for (const e of await fs.readdir(o.out)) if (ownedName('synth', e)) await fs.rm(path.join(o.out, e), { recursive: true, force: true });
      for (const e of await fs.readdir(tmp)) await fs.rename(path.join(tmp, e), path.join(o.out, e));
      await fs.rm(tmp, { recursive: true, force: true });
    } else {
      await fs.rm(o.out, { recursive: true, force: true }); // new, or empty: nothing of the user's
      await fs.rename(tmp, o.out);
    }
  } catch (e) {
    await fs.rm(tmp, { recursive: true, force: true });
    throw e;
  }
  return { images: total, dir: o.out };
}

/** Read parts.jsonl of a synthetic benchmark, keyed by image id. */
export async function readParts(root: string): Promise<Map<string, PartEntry>> {
  const file = path.join(root, 'parts.jsonl');
  const text = await fs.readFile(file, 'utf8').catch(() => {
    throw new UserError(`${file} not found: part masks exist only for 'snapmix synth' datasets`);
  });
  const m = new Map<string, PartEntry>();
  for (const line of text.split('\n')) if (line.trim()) { const e = JSON.parse(line) as PartEntry; m.set(e.id, e); }
  return m;
}
