// torchvision ImageFolder: root/<class>/**/<image>, or root/train/<class>/… + root/test/<class>/…
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { UserError } from '../util/errors.js';
import { compareCodePoints, isImageFile, type Dataset, type DatasetRecord, type Split } from './types.js';
import { realRoot, safeResolve } from './paths.js';

const SPLIT_DIRS: Record<string, Split> = { train: 'train', test: 'test', val: 'test' };

async function subdirs(dir: string): Promise<string[]> {
  const ents = await fs.readdir(dir, { withFileTypes: true });
  const out: string[] = [];
  for (const e of ents) {
    if (e.name.startsWith('.')) continue;
    if (e.isDirectory()) out.push(e.name);
    else if (e.isSymbolicLink()) {
      const st = await fs.stat(path.join(dir, e.name)).catch(() => undefined);
      if (st?.isDirectory()) out.push(e.name);
    }
  }
  return out.sort(compareCodePoints);
}

/** Image files under dir, recursively, sorted as os.walk + sorted() would give them. */
async function imageFiles(dir: string, rel: string): Promise<string[]> {
  const ents = (await fs.readdir(dir, { withFileTypes: true })).sort((a, b) => compareCodePoints(a.name, b.name));
  const out: string[] = [];
  for (const e of ents) {
    if (e.name.startsWith('.')) continue;
    const r = rel ? `${rel}/${e.name}` : e.name;
    const full = path.join(dir, e.name);
    const st = e.isSymbolicLink() ? await fs.stat(full).catch(() => undefined) : e;
    if (!st) throw new UserError(`${full} is a broken symlink; remove it or point it at a file inside the dataset`);
    if (st.isDirectory()) out.push(...(await imageFiles(full, r)));
    else if (isImageFile(e.name)) out.push(r);
  }
  return out;
}

export async function readImageFolder(rootArg: string): Promise<Dataset> {
  const root = await realRoot(rootArg);
  const top = await subdirs(root);
  // A root with train/ is a split layout; other top-level directories (e.g. the synthetic
  // benchmark's masks/) are not classes then.
  const splitLayout = top.includes('train');
  const parts: { dir: string; prefix: string; split: Split }[] = splitLayout
    ? ['train', ...top.filter((d) => d in SPLIT_DIRS && d !== 'train')].map((d) => ({ dir: path.join(root, d), prefix: d, split: SPLIT_DIRS[d] }))
    : [{ dir: root, prefix: '', split: 'all' }];

  const classNames = await subdirs(parts[0].dir);
  if (classNames.length === 0) {
    throw new UserError(`no class directories in ${parts[0].dir}: expected ${parts[0].dir}/<class>/<image>`);
  }
  const index = new Map(classNames.map((c, i) => [c, i]));
  const records: DatasetRecord[] = [];
  for (const part of parts) {
    const classes = await subdirs(part.dir);
    for (const c of classes) {
      const label = index.get(c);
      if (label === undefined) {
        throw new UserError(
          `unknown label: class directory '${part.prefix}/${c}' is not among the ${parts[0].prefix || 'root'} classes (${classNames.slice(0, 5).join(', ')}…); ` +
            `every split must use the same class directories`,
        );
      }
      const rels = await imageFiles(path.join(part.dir, c), '');
      if (rels.length === 0) {
        throw new UserError(`empty class: ${path.join(part.dir, c)} holds no image files (${['.jpg', '.png', '.webp', '…'].join(' ')}); add images or remove the directory`);
      }
      for (const r of rels) {
        const id = [part.prefix, c, r].filter(Boolean).join('/');
        records.push({ id, path: await safeResolve(root, id, `ImageFolder ${root}`), label, split: part.split });
      }
    }
  }
  return { root, format: 'imagefolder', classNames, records };
}
