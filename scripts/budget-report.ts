// The report of `experiment.ts --protocol budget`: per design, each student's last- and best-epoch test
// top-1 over the seeds (mean ± sd), label error, whether the unmixed student overfits (train accuracy at
// the end, validation below its best), and paired differences with 95% t intervals; each ordering stated
// as it holds or not. The training accuracy the trainer logs is over the epoch's augmented (cropped,
// flipped, mixed) samples; the clean one is the last epoch's model (the student's checkpoint) scored on the
// training images at the training view without its randomness (decoded at the shards' --resize, centre
// --size²),
// the measure of how far a model has memorised its training set. The test curve the trainer logs is of
// the whole image at size, a smaller object than training showed; the same models are also scored on the
// test images at the training view (the paper's test transform, resize then centre crop), reported
// separately as post hoc.
// Usage: npx tsx scripts/budget-report.ts runs/b60-target [runs/b60-birds …]
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { mean, pairedDifference, sd } from '../src/util/stats.js';
import type { DemoResult } from '../src/pipeline/demo.js';
import { initBackend } from '../src/model/backend.js';
import { DEFAULT_PREPROCESS, loadModel } from '../src/model/io.js';
import { openDataset, splitRecords } from '../src/data/index.js';
import { loadImageSet, type ImageSet } from '../src/train/images.js';
import { readManifest } from '../src/shards/reader.js';
import { cropFlip } from '../src/image/crop.js';
import { recordedFit } from '../src/image/decode.js';
import { evaluate } from '../src/train/evaluate.js';
import { writeLineChart } from '../src/image/plot.js';

await initBackend('wasm');

/**
 * The training images and the test images at the shards' view without its randomness: decoded at the
 * generate config's --resize with its fit, then the centre --size² window (the offset generate's
 * `--crop center` takes), each seed's own config read from its shards.
 */
async function centreViews(seedDir: string): Promise<Record<'train' | 'test', ImageSet>> {
  const dataset = await openDataset(path.join(seedDir, 'data'));
  const { size, resize, fit } = (await readManifest(path.join(seedDir, 'shards-none'))).config;
  const o = (resize - size) >> 1;
  const view = async (split: 'train' | 'test'): Promise<ImageSet> => {
    const big = await loadImageSet(splitRecords(dataset, split), resize, { fit: recordedFit(fit) });
    return { ...big, size, images: big.images.map((img) => cropFlip(img, resize, 3, { x0: o, y0: o, size, flip: false }, (n) => new Uint8Array(n))) };
  };
  return { train: await view('train'), test: await view('test') };
}

/** Top-1 of the last epoch's model (the checkpoint) of each student of a seed, on both splits at that view. */
async function lastEpochTop1(seedDir: string, students: string[]): Promise<Map<string, Record<'train' | 'test', number>>> {
  const sets = await centreViews(seedDir);
  const out = new Map<string, Record<'train' | 'test', number>>();
  for (const m of students) {
    const { model, meta } = await loadModel(path.join(seedDir, `student-${m}`, 'checkpoint'));
    const pre = meta.preprocess ?? DEFAULT_PREPROCESS;
    out.set(m, { train: (await evaluate(model, sets.train, pre)).top1, test: (await evaluate(model, sets.test, pre)).top1 });
    model.dispose();
  }
  return out;
}

const pct = (v: number) => (v * 100).toFixed(1);
for (const dir of process.argv.slice(2)) {
  const seeds = (await fs.readdir(dir)).filter((d) => /^seed-\d+$/.test(d)).sort();
  const runs: { seed: string; r: DemoResult }[] = [];
  for (const s of seeds) {
    const r = await fs.readFile(path.join(dir, s, 'results.json'), 'utf8').then((t) => JSON.parse(t) as DemoResult, () => undefined);
    if (r) runs.push({ seed: s, r });
  }
  if (!runs.length) {
    console.log(`${dir}: no finished seed`);
    continue;
  }
  const methods = runs[0].r.rows.map((x) => x.method);
  const last = await Promise.all(runs.map(({ seed }) => lastEpochTop1(path.join(dir, seed), methods)));
  const lastOf = (m: string, k: 'train' | 'test') => last.map((c) => c.get(m)![k]);
  const cleanOf = (m: string) => lastOf(m, 'train');
  const of = (m: string, k: 'finalTop1' | 'top1' | 'finalTrainAcc') => runs.map(({ r }) => r.rows.find((x) => x.method === m)![k]);
  console.log(`### ${path.basename(dir)}: ${runs.length} seed(s) (${runs.map((x) => x.seed).join(', ')})\n`);
  console.log(`teacher test top-1 ${pct(mean(runs.map((x) => x.r.teacherTop1)))} ± ${pct(sd(runs.map((x) => x.r.teacherTop1)))}%; CAM maximum inside the part ${pct(mean(runs.map((x) => x.r.camInPart)))}%\n`);
  console.log('| student | last-epoch test top-1 % | best-epoch test top-1 % (chosen on test: optimistic) | last-epoch test top-1 at the training view % (post hoc) | train acc, last epoch\'s augmented samples % | train top-1, clean images at the training view % | label error vs part masks |');
  console.log('|---|---:|---:|---:|---:|---:|---:|');
  const ms = (v: number[]) => `${pct(mean(v))} ± ${pct(sd(v))}`;
  for (const m of methods) {
    const le = runs.map(({ r }) => r.rows.find((x) => x.method === m)!.labelError).filter((v): v is number => v !== null);
    console.log(`| ${m} | ${ms(of(m, 'finalTop1'))} | ${ms(of(m, 'top1'))} | ${ms(lastOf(m, 'test'))} | ${pct(mean(of(m, 'finalTrainAcc')))} | ${pct(mean(cleanOf(m)))} | ${le.length ? mean(le).toFixed(3) : 'n/a'} |`);
  }
  const none = runs.map(({ r }) => r.rows.find((x) => x.method === 'none')!);
  const drop = none.map((x) => Math.max(...x.curve) - x.curve[x.curve.length - 1]);
  const noneClean = cleanOf('none');
  // The unmixed student's two curves, mean over seeds: memorising (train) while the test top-1 stalls or falls.
  const metrics = await Promise.all(runs.map(async ({ seed }) => (await fs.readFile(path.join(dir, seed, 'student-none', 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { train_acc: number; val_top1: number })));
  const avg = (k: 'train_acc' | 'val_top1') => metrics[0].map((_, e) => mean(metrics.map((ms) => ms[e][k])));
  const curves = path.join(dir, 'test-curves.png');
  await writeLineChart(curves, methods.map((m) => ({ name: m, values: runs[0].r.rows[0].curve.map((_, e) => mean(runs.map(({ r }) => r.rows.find((x) => x.method === m)!.curve[e]))) })), `${path.basename(dir)}: test top-1 per epoch, mean of ${runs.length} seed(s)`, 'top-1');
  const plot = path.join(dir, 'none-train-test.png');
  await writeLineChart(plot, [{ name: 'train (augmented)', values: avg('train_acc') }, { name: 'test', values: avg('val_top1') }], `${path.basename(dir)}: the unmixed student per epoch, mean of ${runs.length} seed(s)`, 'accuracy');
  console.log(`\nunmixed student, seed by seed: train accuracy on the last epoch's augmented samples ${none.map((x) => pct(x.finalTrainAcc)).join(', ')}%; on the clean training images at the training view ${noneClean.map(pct).join(', ')}%; test top-1 ${drop.map((d) => pct(d)).join(', ')} points below its best epoch at the end (overfits, clean train ≥ 99% and test below its best: ${none.every((x, i) => noneClean[i] >= 0.99 && drop[i] > 0) ? 'yes, every seed' : 'not in every seed'}); curves ${plot}, ${curves}\n`);
  const pairs: [string, string][] = [['snapmix', 'none'], ['cutmix', 'none'], ['mixup', 'none'], ['snapmix', 'cutmix'], ['cutmix', 'mixup'], ['snapmix-midlevel', 'snapmix'], ['snapmix-midlevel', 'none'], ['snapmix-midlevel', 'cutmix']];
  const views: [string, (m: string) => number[]][] = [
    ['last-epoch test top-1 (points)', (m) => of(m, 'finalTop1')],
    ['last-epoch test top-1 at the training view (points; post hoc)', (m) => lastOf(m, 'test')],
  ];
  for (const [title, values] of views) {
    console.log(`paired differences of ${title}, mean [95% interval], seed by seed:\n`);
    for (const [a, b] of pairs) {
      if (!methods.includes(a) || !methods.includes(b)) continue;
      const d = pairedDifference(values(b), values(a));
      const verdict = d.low === undefined ? 'one seed: not tested' : d.low > 0 ? `${a} > ${b} holds` : d.high! < 0 ? `${a} < ${b}: the ordering is reversed` : `${a} vs ${b}: not distinguishable at this size`;
      console.log(`- ${a} − ${b}: ${d.mean >= 0 ? '+' : ''}${pct(d.mean)}${d.low === undefined ? '' : ` [${pct(d.low)}, ${pct(d.high!)}]`}: ${verdict}`);
    }
    console.log('');
  }
  console.log('');
}
