// CUB-200-2011's own layout: images.txt, image_class_labels.txt, train_test_split.txt, classes.txt,
// images under root/images/.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { UserError } from '../util/errors.js';
import { compareCodePoints, type Dataset, type DatasetRecord } from './types.js';
import { realRoot, safeResolve, toPosixId } from './paths.js';

async function readPairs(file: string): Promise<{ key: string; value: string; line: number }[]> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch {
    throw new UserError(`CUB layout: ${file} is missing; a CUB-200-2011 root holds images.txt, image_class_labels.txt, train_test_split.txt and classes.txt`);
  }
  const out: { key: string; value: string; line: number }[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (!line) return;
    const sp = line.indexOf(' ');
    if (sp < 0) throw new UserError(`${file} line ${i + 1}: expected '<id> <value>', got '${line}'`);
    out.push({ key: line.slice(0, sp), value: line.slice(sp + 1).trim(), line: i + 1 });
  });
  return out;
}

export async function isCubRoot(root: string): Promise<boolean> {
  return fs.stat(path.join(root, 'images.txt')).then(() => true, () => false);
}

export async function readCub(rootArg: string): Promise<Dataset> {
  const root = await realRoot(rootArg);
  const f = (n: string) => path.join(root, n);
  const [images, labels, splits, classes] = await Promise.all([
    readPairs(f('images.txt')),
    readPairs(f('image_class_labels.txt')),
    readPairs(f('train_test_split.txt')),
    readPairs(f('classes.txt')),
  ]);
  const classById = new Map(classes.map((c) => [c.key, c.value]));
  // Class ids follow the names' sort order, as ImageFolder over images/<class>/ would give them.
  const classNames = [...new Set(classes.map((c) => c.value))].sort(compareCodePoints);
  const labelIndex = new Map(classNames.map((c, i) => [c, i]));
  const labelOf = new Map(labels.map((l) => [l.key, l]));
  const splitOf = new Map(splits.map((s) => [s.key, s]));
  const seenIds = new Map<string, number>();
  const seenPaths = new Map<string, number>();
  const records: DatasetRecord[] = [];
  for (const img of images) {
    const where = `${f('images.txt')} line ${img.line}`;
    if (seenIds.has(img.key)) throw new UserError(`${where}: duplicate image id ${img.key} (first on line ${seenIds.get(img.key)})`);
    seenIds.set(img.key, img.line);
    const l = labelOf.get(img.key);
    if (!l) throw new UserError(`${where}: image id ${img.key} has no line in image_class_labels.txt`);
    const name = classById.get(l.value);
    if (name === undefined) {
      throw new UserError(`${f('image_class_labels.txt')} line ${l.line}: unknown label ${l.value} (not in classes.txt); fix the class id`);
    }
    const s = splitOf.get(img.key);
    if (!s) throw new UserError(`${where}: image id ${img.key} has no line in train_test_split.txt`);
    if (s.value !== '0' && s.value !== '1') throw new UserError(`${f('train_test_split.txt')} line ${s.line}: expected 1 (train) or 0 (test), got '${s.value}'`);
    const id = toPosixId(`images/${img.value}`);
    if (seenPaths.has(id)) throw new UserError(`${where}: duplicate id: image path ${img.value} also on line ${seenPaths.get(id)}`);
    seenPaths.set(id, img.line);
    const abs = await safeResolve(root, id, where);
    records.push({ id, path: abs, label: labelIndex.get(name)!, split: s.value === '1' ? 'train' : 'test' });
  }
  if (records.length === 0) throw new UserError(`CUB layout: ${f('images.txt')} lists no images`);
  for (let c = 0; c < classNames.length; c++) {
    if (!records.some((r) => r.label === c)) throw new UserError(`empty class: '${classNames[c]}' in classes.txt has no images`);
  }
  return { root, format: 'cub', classNames, records };
}
