// Fixtures the tests make themselves: tiny PNGs in ImageFolder, CUB and manifest layouts.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';

export async function tmpDir(prefix = 'snapmix-test-'): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), prefix));
}

export async function png(file: string, shade = 128, size = 8): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await sharp({ create: { width: size, height: size, channels: 3, background: { r: shade, g: 255 - shade, b: 40 } } }).png().toFile(file);
}

export async function imageFolder(root: string, layout: Record<string, string[]>): Promise<void> {
  for (const [cls, files] of Object.entries(layout)) {
    await fs.mkdir(path.join(root, cls), { recursive: true });
    for (const f of files) await png(path.join(root, cls, f));
  }
}

/** A CUB-200-2011 layout with the given (class name, split) per image. */
export async function cub(root: string, images: { cls: string; file: string; train: boolean }[], classes: string[]): Promise<void> {
  const lines = { images: [] as string[], labels: [] as string[], split: [] as string[] };
  images.forEach((im, i) => {
    const id = i + 1;
    lines.images.push(`${id} ${im.cls}/${im.file}`);
    lines.labels.push(`${id} ${classes.indexOf(im.cls) + 1}`);
    lines.split.push(`${id} ${im.train ? 1 : 0}`);
  });
  for (const im of images) await png(path.join(root, 'images', im.cls, im.file));
  await fs.writeFile(path.join(root, 'images.txt'), lines.images.join('\n') + '\n');
  await fs.writeFile(path.join(root, 'image_class_labels.txt'), lines.labels.join('\n') + '\n');
  await fs.writeFile(path.join(root, 'train_test_split.txt'), lines.split.join('\n') + '\n');
  await fs.writeFile(path.join(root, 'classes.txt'), classes.map((c, i) => `${i + 1} ${c}`).join('\n') + '\n');
}

/** A copy of dataset src at dest with the image at rel (relative to dest) replaced by bytes no decoder reads; returns its path. */
export async function corruptCopy(src: string, dest: string, rel: string): Promise<string> {
  await fs.cp(src, dest, { recursive: true });
  const bad = path.join(dest, rel);
  await fs.writeFile(bad, 'not a png at all');
  return bad;
}

/** sha256 of every file under dir (relative path → hex), in name order; skip leaves files out by name. */
export async function tree(dir: string, skip: (name: string) => boolean = () => false): Promise<Record<string, string>> {
  const { createHash } = await import('node:crypto');
  const out: Record<string, string> = {};
  const walk = async (d: string) => {
    for (const e of (await fs.readdir(d, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const p = path.join(d, e.name);
      if (skip(e.name)) continue;
      if (e.isDirectory()) await walk(p);
      else out[path.relative(dir, p)] = createHash('sha256').update(await fs.readFile(p)).digest('hex');
    }
  };
  await walk(dir);
  return out;
}
