// eval's per-class top-1 and confusion matrix (pure), and the heat map renders.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { confusion, confusionText } from '../src/train/confusion.js';
import { confusionSvg } from '../src/image/plot.js';
import { pct } from '../src/train/progress.js';

test('confusion: counts by (true, predicted), per-class top-1, overall top-1; text and PNG forms', async () => {
  const labels = [0, 0, 0, 1, 1, 2, 2, 2, 2];
  const preds = [0, 1, 0, 1, 1, 2, 0, 2, 2];
  const c = confusion(labels, preds, ['sparrow', 'wren', 'finch']);
  assert.deepEqual(c.matrix, [[2, 1, 0], [0, 2, 0], [1, 0, 3]]);
  assert.deepEqual(c.perClass.map((p) => [p.name, p.n, p.top1]), [['sparrow', 3, 2 / 3], ['wren', 2, 1], ['finch', 4, 0.75]]);
  assert.equal(c.top1, 7 / 9);
  assert.equal(pct(c.top1), '77.78%');
  const text = confusionText(c).split('\n');
  assert.match(text[3], /^ 2 finch\s+1\s+0\s+3$/);
  // A class with no images has no top-1 (not 0).
  assert.ok(Number.isNaN(confusion([0], [0], ['a', 'b']).perClass[1].top1));
  const png = await sharp(Buffer.from(confusionSvg(c.matrix, ['sparrow', 'wren', 'finch'], 'test'))).png().toBuffer();
  const meta = await sharp(png).metadata();
  assert.ok(meta.width! > 100 && meta.height! > 100);
});
