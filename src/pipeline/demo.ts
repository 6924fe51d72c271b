// `snapmix demo`: the embedded benchmark end to end. synth → teacher → CAMs → shards for none, cutmix
// and snapmix → three students on identical budgets → table, accuracy plot, preview sheet. Every stage
// that finished in OUT is reused, so an interrupted demo resumes.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { SynthDesign } from '../data/synth-render.js';
import { fileURLToPath } from 'node:url';
import { SYNTH_DEFAULTS, writeSynth } from '../data/synth.js';
import { openDataset, splitRecords } from '../data/index.js';
import type { Dataset } from '../data/types.js';
import type { BackendChoice } from '../model/backend-choices.js';
import { teacherHandle } from '../model/teacher.js';
import { trainTeacher } from '../train/teacher.js';
import { trainStudent } from '../train/student.js';
import { DEFAULT_RECIPE } from '../train/recipe.js';
import { extractCams } from './cams.js';
import { writeCamCache } from '../shards/cam-cache.js';
import { generate } from './generate.js';
import { DEFAULT_BETA, type Method, type Partner } from '../mix/plan.js';
import { readManifest } from '../shards/reader.js';
import { inspectShards } from './inspect.js';
import { previewSheet } from './preview.js';
import { writeLineChart } from '../image/plot.js';
import { STATE_DIR, withOutput } from '../util/outdir.js';
import { requestDifferences, type Json } from '../util/differences.js';
import { modelIdentity } from '../train/request.js';
import { UserError } from '../util/errors.js';
import { loadModel, DEFAULT_PREPROCESS } from '../model/io.js';
import { findCamHead } from '../model/cam-head.js';
import { loadImageSet } from '../train/images.js';
import { evaluate } from '../train/evaluate.js';
import { camInPartShare, tfjsCamsOf } from '../train/localisation.js';
import { exists, writeFileAtomic } from '../util/fs.js';

export interface DemoPreset {
  classes: number;
  perClass: number;
  testPerClass: number;
  size: number;
  teacherEpochs: number;
  rounds: number;
  studentEpochs: number;
  batchSize: number;
  /** The synthetic design (default target; 'birds': classes differing in three parts). */
  design?: SynthDesign;
}

/**
 * The demo runs in the regime SnapMix is for (README "Demo"): teacher and students fine-tuned from a
 * pretrained backbone (assets/demo-backbone), a small target set, fresh mixes every epoch (rounds =
 * student epochs, --epoch-rounds). The default fits ≤ 10 minutes on 2 cores with wasm.
 * 'scratch' is the earlier demo: from scratch, 2 rounds, 6 epochs (a regime where mixing costs accuracy).
 */
export const DEMO_PRESETS: Record<'default' | 'full' | 'scratch', DemoPreset> = {
  default: { classes: 5, perClass: 30, testPerClass: 80, size: 64, teacherEpochs: 15, rounds: 40, studentEpochs: 40, batchSize: 16 },
  full: { classes: 10, perClass: 30, testPerClass: 60, size: 64, teacherEpochs: 15, rounds: 40, studentEpochs: 40, batchSize: 16 },
  scratch: { classes: 5, perClass: 100, testPerClass: 40, size: 64, teacherEpochs: 12, rounds: 2, studentEpochs: 6, batchSize: 16 },
};

/** How assets/demo-backbone is made (scripts/make-demo-backbone.ts): the 'pretrain' design, disjoint from the demo's classes. */
export const DEMO_BACKBONE_RECIPE = { classes: 20, perClass: 60, testPerClass: 10, size: 64, seed: 1000, epochs: 20 };
/** The committed backbone (resolved from this module: src/pipeline or dist/pipeline). */
export const DEMO_BACKBONE = fileURLToPath(new URL('../../assets/demo-backbone', import.meta.url));

const DEMO_METHODS: Method[] = ['none', 'cutmix', 'snapmix'];

/** A student of the experiment: a method and, optionally, the partner rule and the mid-level head. */
export interface Variant { name: string; method: Method; partner?: Partner; midlevel?: boolean }

interface DemoRow {
  method: string;
  labelError: number | null;
  areaError: number | null;
  /** Best and last epoch's validation top-1, and the last epoch's training accuracy (overfitting shows as train ≫ val). */
  top1: number;
  finalTop1: number;
  finalTrainAcc: number;
  curve: number[];
  seconds: number;
}

export interface DemoResult { teacherTop1: number; camInPart: number; rows: DemoRow[]; seconds: number; plot: string; preview: string; testImages?: number }


async function once(marker: string, work: () => Promise<void>, log: (l: string) => void, what: string): Promise<void> {
  if (await exists(marker)) {
    log(`demo: reusing ${what}`);
    return;
  }
  await work();
  await writeFileAtomic(marker, new Date().toISOString() + '\n');
}

export async function runDemo(o: {
  out: string; preset: DemoPreset; seed: number; backend: Exclude<BackendChoice, 'auto'>; workers: number; quiet: boolean; log: (l: string) => void; methods?: Method[];
  /** Students to train (default: one per method); variants with a partner rule get their own shards. */
  variants?: Variant[];
  /** Fresh mixes per epoch: shards of studentEpochs rounds, each epoch reading one (--epoch-rounds). */
  epochRounds?: boolean;
  /** Fine-tune teacher and students from this backbone (--init, --freeze-stem, --backbone-lr). */
  init?: { model: string; freezeStem: boolean; backboneLr: number };
}): Promise<DemoResult> {
  const variants: Variant[] = o.variants ?? (o.methods ?? DEMO_METHODS).map((m) => ({ name: m, method: m }));
  const shardKey = (v: Variant) => `${v.method}${v.partner === 'other-class' ? '-other-class' : ''}`;
  const shardSets = [...new Map(variants.map((v) => [shardKey(v), v])).values()];
  const rounds = o.epochRounds ? o.preset.studentEpochs : o.preset.rounds;
  const fineTune = o.init ? { init: o.init.model, freezeStem: o.init.freezeStem, backboneLr: o.init.backboneLr } : {};
  // The run directory is an output like any other: new, empty or an earlier demo of this same request
  // (its finished stages are reused); never a directory of the user's files.
  const request = { preset: o.preset, seed: o.seed, variants, epochRounds: !!o.epochRounds, init: o.init ? { model: await modelIdentity(o.init.model), freezeStem: o.init.freezeStem, backboneLr: o.init.backboneLr } : null };
  const reads = o.init ? [{ flag: '--init', path: o.init.model }] : [];
  return withOutput({ out: o.out, kind: 'demo', command: 'demo', reads, overwrite: false }, async (out) => {
    const file = path.join(o.out, STATE_DIR, 'demo-request.json');
    const prev = out.state === 'ours' ? await fs.readFile(file, 'utf8').then((t) => JSON.parse(t) as Json, () => undefined) : undefined;
    const diff = prev ? requestDifferences(prev, request as unknown as Json) : [];
    if (diff.length) throw new UserError(`${o.out} holds a demo of another request (${diff.slice(0, 4).join('; ')}); nothing was written. Choose another --out, or remove that directory`);
    await writeFileAtomic(file, JSON.stringify(request, null, 2) + '\n');
    return demoStages(o, variants, shardKey, shardSets, rounds, fineTune);
  });
}

async function demoStages(o: Parameters<typeof runDemo>[0], variants: Variant[], shardKey: (v: Variant) => string, shardSets: Variant[], rounds: number, fineTune: Record<string, unknown>): Promise<DemoResult> {
  const t0 = Date.now();
  const p = o.preset;
  const { log } = o;
  const dir = (n: string) => path.join(o.out, n);
  // Data-parallel training replicas, as 'snapmix train' does on wasm (native backends train in process).
  const trainWorkers = o.backend === 'wasm' ? Math.max(1, Math.min(2, o.workers)) : 1;
  await writeFileAtomic(dir('preset.json'), JSON.stringify({ ...p, seed: o.seed }, null, 2) + '\n');

  await once(dir('.data.done'), async () => {
    log(`demo: [1/6] synth: ${p.classes} classes × ${p.perClass} train + ${p.testPerClass} test images, ${p.size}px`);
    await writeSynth({ ...SYNTH_DEFAULTS, out: dir('data'), classes: p.classes, perClass: p.perClass, testPerClass: p.testPerClass, size: p.size, seed: o.seed, overwrite: true, ...(p.design ? { design: p.design } : {}) });
  }, log, 'data');
  const dataset: Dataset = await openDataset(dir('data'));

  await once(dir('.teacher.done'), async () => {
    log(`demo: [2/6] teacher: ${p.teacherEpochs} epochs on clean images`);
    await fs.rm(dir('teacher'), { recursive: true, force: true });
    await trainTeacher({ dataset, out: dir('teacher'), size: p.size, recipe: { ...DEFAULT_RECIPE, epochs: p.teacherEpochs, batchSize: p.batchSize, seed: o.seed }, quiet: o.quiet, log, trainWorkers, ...fineTune });
  }, log, 'teacher');

  await once(dir('.cams.done'), async () => {
    log('demo: [3/6] CAMs of every training image with the teacher');
    const r = await extractCams({ dataset, records: splitRecords(dataset, 'train'), split: 'train', teacher: await teacherHandle(dir('teacher'), {}, { backend: o.backend }), workers: o.workers, batchSize: 32, strict: false, allowWeakTeacher: true });
    await writeCamCache(dir('cams'), r.set, r.meta, r.rejects);
  }, log, 'CAMs');

  for (const v of shardSets) {
    const key = shardKey(v);
    await once(dir(`.shards-${key}.done`), async () => {
      log(`demo: [4/6] shards: ${key}, ${rounds} rounds`);
      await generate({
        config: { method: v.method, partner: v.partner, rounds, size: p.size, resize: p.size + p.size / 8, crop: 'random', flip: true, beta: DEFAULT_BETA[v.method], prob: 1, seed: o.seed, shardSize: 1000, format: 'jpeg', quality: 90 },
        dataset, records: splitRecords(dataset, 'train'), cams: v.method === 'snapmix' ? dir('cams') : undefined, out: dir(`shards-${key}`),
        workers: o.workers, camBatch: 32, strict: false, overwrite: true, allowWeakTeacher: true, // the table reports the teacher
      });
    }, log, `${key} shards`);
  }

  const rows: DemoRow[] = [];
  for (const v of variants) {
    const out = dir(`student-${v.name}`);
    const shards = dir(`shards-${shardKey(v)}`);
    const ts = Date.now();
    await once(dir(`.student-${v.name}.done`), async () => {
      const resume = await exists(path.join(out, 'checkpoint', 'state.json'));
      if (!resume) await fs.rm(out, { recursive: true, force: true });
      log(`demo: [5/6] student ${v.name}: ${p.studentEpochs} epochs${resume ? ' (resuming)' : ''}`);
      await trainStudent({
        shards: [shards], val: dataset, valName: dir('data'), out, recipe: { ...DEFAULT_RECIPE, epochs: p.studentEpochs, batchSize: p.batchSize, seed: o.seed },
        workers: o.workers, bufferSize: 2048, resume, quiet: o.quiet, log, trainWorkers, epochRounds: o.epochRounds, midlevel: v.midlevel, ...fineTune,
      });
    }, log, `${v.name} student`);
    const metrics = (await fs.readFile(path.join(out, 'metrics.jsonl'), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as { val_top1: number; train_acc: number });
    const curve = metrics.map((m) => m.val_top1);
    // Mixup blends whole images: there is no pasted box to hold against the part masks.
    const rep = await inspectShards(shards, await readManifest(shards), v.method === 'mixup' ? undefined : dir('data'));
    rows.push({
      method: v.name, labelError: rep.fidelity?.label_error ?? null, areaError: rep.fidelity?.area_error ?? null, top1: Math.max(...curve),
      finalTop1: curve[curve.length - 1], finalTrainAcc: metrics[metrics.length - 1].train_acc, curve, seconds: (Date.now() - ts) / 1000,
    });
  }

  log('demo: [6/6] evaluating the teacher, plotting, preview sheet');
  const { model, meta } = await loadModel(dir('teacher'));
  const pre = meta.preprocess ?? DEFAULT_PREPROCESS;
  const testSet = await loadImageSet(splitRecords(dataset, 'test'), p.size);
  const teacherTop1 = (await evaluate(model, testSet, pre)).top1;
  const camInPart = (await camInPartShare(tfjsCamsOf(findCamHead(model), testSet.size, pre), testSet, dataset.root)).share;
  const plot = dir('accuracy.png');
  await writeLineChart(plot, rows.map((r) => ({ name: r.method, values: r.curve })), `student validation top-1 per epoch (${rounds} rounds, ${p.studentEpochs} epochs each)`, 'top-1');
  const preview = dir('preview-snapmix.png');
  if (shardSets.some((v) => shardKey(v) === 'snapmix')) await previewSheet(dir('shards-snapmix'), await readManifest(dir('shards-snapmix')), 8, { file: preview, flag: 'demo', reads: [{ flag: 'demo shards', path: dir('shards-snapmix') }], overwrite: true });
  const result: DemoResult = { teacherTop1, camInPart, rows, seconds: (Date.now() - t0) / 1000, plot, preview, testImages: testSet.labels.length };
  await writeFileAtomic(dir('results.json'), JSON.stringify(result, null, 2) + '\n');
  return result;
}

/** Wilson's 95% interval of a proportion p of n (test images): the spread of one run's accuracy. */
export function wilson(p: number, n: number): [number, number] {
  const z = 1.96;
  const d = 1 + (z * z) / n;
  const c = (p + (z * z) / (2 * n)) / d;
  const h = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / d;
  return [Math.max(0, c - h), Math.min(1, c + h)];
}

export function demoTable(r: DemoResult): string {
  const pct = (v: number | null) => (v === null ? 'n/a' : `${(v * 100).toFixed(1)}%`);
  const f3 = (v: number | null) => (v === null ? 'n/a' : v.toFixed(3));
  const n = r.testImages;
  const ci = (p: number) => (n ? (([lo, hi]) => `${pct(p)} [${(lo * 100).toFixed(1)}, ${(hi * 100).toFixed(1)}]`)(wilson(p, n)) : pct(p));
  return [
    `teacher: test top-1 ${pct(r.teacherTop1)}, CAM maximum inside the part for ${pct(r.camInPart)} of test images`,
    '',
    `| method  | label error vs part masks | area-label error, same boxes | student top-1, last epoch [95% interval${n ? `, ${n} test images` : ''}] |`,
    '|---------|--------------------------:|-----------------------------:|---:|',
    ...r.rows.map((x) => `| ${x.method.padEnd(7)} | ${f3(x.labelError).padStart(25)} | ${f3(x.areaError).padStart(28)} | ${ci(x.finalTop1)} |`),
    '',
    demoReading(r),
  ].join('\n');
}

/** One plain line: what the labels show, and whether the accuracy ordering is told apart by this run. */
export function demoReading(r: DemoResult): string {
  const row = (m: string) => r.rows.find((x) => x.method === m);
  const [snap, cut, none] = [row('snapmix'), row('cutmix'), row('none')];
  const parts: string[] = [];
  if (snap?.labelError != null && cut?.labelError != null) parts.push(`SnapMix's labels are ${snap.labelError.toFixed(3)} from the part-mask truth, CutMix's ${cut.labelError.toFixed(3)} (${snap.labelError < cut.labelError ? 'SnapMix labels closer to the truth' : 'no closer'})`);
  const n = r.testImages;
  const order = [...r.rows].sort((a, b) => b.finalTop1 - a.finalTop1).map((x) => x.method);
  if (n && snap && cut && none) {
    const apart = (a: number, b: number) => wilson(a, n)[0] > wilson(b, n)[1];
    const sep = apart(snap.finalTop1, cut.finalTop1) ? 'SnapMix above CutMix beyond the intervals' : apart(cut.finalTop1, snap.finalTop1) ? 'CutMix above SnapMix beyond the intervals' : 'SnapMix and CutMix not told apart by this run (overlapping intervals)';
    parts.push(`students by last-epoch top-1: ${order.join(' > ')}; ${sep}; one seed, so see docs/EXPERIMENTS.md for seeds`);
  }
  return `reading: ${parts.join('; ') || 'n/a'}.`;
}
