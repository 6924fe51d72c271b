import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { openDataset, splitRecords } from '../src/data/index.js';
import { compareCodePoints } from '../src/data/types.js';
import { cub, imageFolder, png, tmpDir } from './helpers/fixtures.js';

const rejects = (p: Promise<unknown>, re: RegExp) => assert.rejects(p, (e: Error) => (assert.match(e.message, re), e.name === 'UserError'));

test('ImageFolder: classes sorted like torchvision (code points), ids relative to the root', async () => {
  const root = await tmpDir();
  await imageFolder(root, { b: ['2.png', '1.jpg'], B: ['x.png'], a: ['z.PNG', 'notes.txt'], 'é': ['e.png'] });
  await fs.writeFile(path.join(root, 'a', 'notes.txt'), 'not an image');
  const ds = await openDataset(root);
  assert.equal(ds.format, 'imagefolder');
  assert.deepEqual(ds.classNames, ['B', 'a', 'b', 'é']);
  assert.deepEqual(ds.records.map((r) => [r.id, r.label, r.split]), [
    ['B/x.png', 0, 'all'], ['a/z.PNG', 1, 'all'], ['b/1.jpg', 2, 'all'], ['b/2.png', 2, 'all'], ['é/e.png', 3, 'all'],
  ]);
  assert.ok(ds.records.every((r) => path.isAbsolute(r.path)));
  assert.equal(splitRecords(ds, 'train').length, 5);
  assert.equal(splitRecords(ds, 'test').length, 0);
  assert.ok(compareCodePoints('Z', 'a') < 0 && compareCodePoints('a', 'aa') < 0);
});

test('ImageFolder with train/ and test/ splits (other top-level dirs ignored)', async () => {
  const root = await tmpDir();
  await imageFolder(path.join(root, 'train'), { cat: ['1.png', '2.png'], dog: ['1.png'] });
  await imageFolder(path.join(root, 'test'), { cat: ['9.png'], dog: ['8.png'] });
  await imageFolder(path.join(root, 'masks'), { whatever: ['m.png'] });
  const ds = await openDataset(root);
  assert.deepEqual(ds.classNames, ['cat', 'dog']);
  assert.deepEqual(splitRecords(ds, 'train').map((r) => r.id), ['train/cat/1.png', 'train/cat/2.png', 'train/dog/1.png']);
  assert.deepEqual(splitRecords(ds, 'test').map((r) => [r.id, r.label]), [['test/cat/9.png', 0], ['test/dog/8.png', 1]]);
});

test('CUB-200-2011 layout: labels from classes.txt, splits from train_test_split.txt', async () => {
  const root = await tmpDir();
  const classes = ['001.Albatross', '002.Auklet'];
  await cub(root, [
    { cls: '002.Auklet', file: 'a.jpg', train: true },
    { cls: '001.Albatross', file: 'b.jpg', train: false },
    { cls: '001.Albatross', file: 'c.jpg', train: true },
  ], classes);
  const ds = await openDataset(root);
  assert.equal(ds.format, 'cub');
  assert.deepEqual(ds.classNames, classes);
  assert.deepEqual(ds.records.map((r) => [r.id, r.label, r.split]), [
    ['images/002.Auklet/a.jpg', 1, 'train'], ['images/001.Albatross/b.jpg', 0, 'test'], ['images/001.Albatross/c.jpg', 0, 'train'],
  ]);
});

test('CSV and JSONL manifests: path,label[,split]', async () => {
  const root = await tmpDir();
  await png(path.join(root, 'img', 'x.png'));
  await png(path.join(root, 'img', 'y, z.png'));
  await fs.writeFile(path.join(root, 'm.csv'), 'path,label,split\nimg/x.png,wren,train\n"img/y, z.png",finch,test\n');
  const csv = await openDataset(path.join(root, 'm.csv'));
  assert.deepEqual(csv.classNames, ['finch', 'wren']);
  assert.deepEqual(csv.records.map((r) => [r.id, r.label, r.split]), [['img/x.png', 1, 'train'], ['img/y, z.png', 0, 'test']]);
  await fs.writeFile(path.join(root, 'm.jsonl'), '{"path":"img/x.png","label":"wren"}\n{"path":"img/y, z.png","label":"finch","split":"val"}\n');
  const jl = await openDataset(path.join(root, 'm.jsonl'));
  assert.deepEqual(jl.records.map((r) => [r.label, r.split]), [[1, 'all'], [0, 'test']]);
});

test('bad input: missing root, empty class, unknown label, duplicate id, escaping paths', async () => {
  const root = await tmpDir();
  await rejects(openDataset(path.join(root, 'nope')), /does not exist/);

  const empty = path.join(root, 'empty');
  await imageFolder(empty, { a: ['1.png'] });
  await fs.mkdir(path.join(empty, 'b'));
  await rejects(openDataset(empty), /empty class: .*b holds no image files/);

  const unk = path.join(root, 'unk');
  await imageFolder(path.join(unk, 'train'), { a: ['1.png'] });
  await imageFolder(path.join(unk, 'test'), { zebra: ['1.png'] });
  await rejects(openDataset(unk), /unknown label: class directory 'test\/zebra'/);

  const cubRoot = path.join(root, 'cub');
  await cub(cubRoot, [{ cls: '001.A', file: 'a.jpg', train: true }], ['001.A']);
  await fs.writeFile(path.join(cubRoot, 'image_class_labels.txt'), '1 7\n');
  await rejects(openDataset(cubRoot), /image_class_labels.txt line 1: unknown label 7/);

  await png(path.join(root, 'm', 'x.png'));
  await fs.writeFile(path.join(root, 'm', 'dup.csv'), 'path,label\nx.png,a\n./x.png,a\n');
  await rejects(openDataset(path.join(root, 'm', 'dup.csv')), /dup.csv row 3: duplicate id 'x.png'/);

  await fs.writeFile(path.join(root, 'm', 'up.csv'), 'path,label\n../empty/a/1.png,a\n');
  await rejects(openDataset(path.join(root, 'm', 'up.csv')), /up.csv row 2: path '..\/empty\/a\/1.png' escapes the dataset root/);

  await fs.writeFile(path.join(root, 'm', 'abs.jsonl'), JSON.stringify({ path: path.join(root, 'm', 'x.png'), label: 'a' }) + '\n');
  await rejects(openDataset(path.join(root, 'm', 'abs.jsonl')), /abs.jsonl line 1: path '.*' is absolute/);

  await fs.symlink(path.join(root, 'empty', 'a', '1.png'), path.join(root, 'm', 'link.png'));
  await fs.writeFile(path.join(root, 'm', 'link.csv'), 'path,label\nlink.png,a\n');
  await rejects(openDataset(path.join(root, 'm', 'link.csv')), /link.csv row 2: 'link.png' is a symlink pointing outside/);

  const lf = path.join(root, 'linkfolder');
  await imageFolder(lf, { a: ['1.png'] });
  await fs.symlink(path.join(root, 'm', 'x.png'), path.join(lf, 'a', 'out.png'));
  await rejects(openDataset(lf), /'a\/out.png' is a symlink pointing outside the dataset root/);

  await fs.writeFile(path.join(root, 'm', 'nolabel.csv'), 'path,label\nx.png,\n');
  await rejects(openDataset(path.join(root, 'm', 'nolabel.csv')), /row 2: empty label/);
  await fs.writeFile(path.join(root, 'm', 'missing.csv'), 'path,label\ngone.png,a\n');
  await rejects(openDataset(path.join(root, 'm', 'missing.csv')), /row 2: file 'gone.png' does not exist/);
});
