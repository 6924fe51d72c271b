// The demo's table and its one-line reading: Wilson intervals over the test images, the ordering stated
// as the run shows it (told apart only beyond the intervals).
import test from 'node:test';
import assert from 'node:assert/strict';
import { demoReading, demoTable, wilson, type DemoResult } from '../src/pipeline/demo.js';

const row = (method: string, finalTop1: number, labelError: number | null) => ({ method, labelError, areaError: labelError === null ? null : 0.3, top1: finalTop1, finalTop1, finalTrainAcc: 1, curve: [finalTop1], seconds: 1 });

test('Wilson 95% interval: inside [0, 1], around p, narrowing with n', () => {
  const [lo, hi] = wilson(0.7, 400);
  assert.ok(lo < 0.7 && hi > 0.7 && lo > 0.64 && hi < 0.75, `${lo} ${hi}`);
  assert.ok(wilson(0.7, 4000)[1] - wilson(0.7, 4000)[0] < hi - lo);
  assert.deepEqual(wilson(1, 10).map((v) => v <= 1 && v >= 0), [true, true]);
  assert.ok(Math.abs(wilson(0.5, 100)[0] - 0.4038) < 1e-3, 'the textbook value for 50/100');
});

test('the reading states label errors and the accuracy ordering, separating methods only beyond their intervals', () => {
  const base = { teacherTop1: 0.8, camInPart: 0.9, seconds: 1, plot: 'p', preview: 'v', testImages: 400 };
  const close: DemoResult = { ...base, rows: [row('none', 0.76, 0), row('mixup', 0.58, null), row('cutmix', 0.66, 0.34), row('snapmix', 0.7, 0.19)] };
  const r1 = demoReading(close);
  assert.match(r1, /SnapMix's labels are 0\.190 from the part-mask truth, CutMix's 0\.340 \(SnapMix labels closer to the truth\)/);
  assert.match(r1, /none > snapmix > cutmix > mixup; SnapMix and CutMix not told apart by this run/);
  const far: DemoResult = { ...base, rows: [row('none', 0.6, 0), row('cutmix', 0.5, 0.34), row('snapmix', 0.8, 0.19)] };
  assert.match(demoReading(far), /snapmix > none > cutmix; SnapMix above CutMix beyond the intervals/);
  const table = demoTable(far);
  assert.match(table, /\| snapmix \| +0\.190 \| +0\.300 \| 80\.0% \[\d+\.\d, \d+\.\d\] \|/);
  assert.match(table, /student top-1, last epoch \[95% interval, 400 test images\]/);
});
