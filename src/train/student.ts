// `snapmix train --shards`: train a student on pre-generated shards with the SnapMix loss, validate on
// clean images, keep the best model, checkpoint every epoch for --resume.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import type { Dataset, DatasetRecord } from '../data/types.js';
import { splitRecords } from '../data/index.js';
import { buildResNet, DEFAULT_RESNET } from '../model/zoo.js';
import { DEFAULT_PREPROCESS, loadModel, saveModel } from '../model/io.js';
import { withMidlevelHead, MIDLEVEL_CLASSIFIER } from '../model/midlevel.js';
import { ZOO_CLASSIFIER_LAYER } from '../model/zoo.js';
import { makePool } from '../pool/pools.js';
import { loadImageSet } from './images.js';
import { chosenFit, recordedFit, type Fit } from '../image/decode.js';
import { evaluate } from './evaluate.js';
import { trainLoop, type BatchSource, type EpochMetrics } from './loop.js';
import { pct } from './progress.js';
import { backboneLrOf, checkFineTuneFlags, validateRecipe, type Recipe } from './recipe.js';
import { openShardSets, type ShardSet } from './shard-set.js';
import { keptRows, shardSource, type KeptRows } from './shard-source.js';
import { carveValidation } from './holdout.js';
import { loadCheckpoint, saveCheckpoint } from './checkpoint.js';
import { UserError } from '../util/errors.js';
import { gradientScales, modelFromBackbone } from './init.js';
import { withOutput, type OutState } from '../util/outdir.js';
import { checkTrainOutput, modelIdentity, recordsIdentity, shardSetIdentity, writeTrainRequest, type TrainRequest } from './request.js';
import { exists, writeFileAtomic } from '../util/fs.js';

export interface StudentOptions {
  shards: string[];
  val: Dataset;
  valName: string;
  out: string;
  size?: number;
  /** How validation photos become the square (default: the shards' --fit, so they look like the training views). */
  fit?: Fit;
  recipe: Recipe;
  /**
   * Validate on this share of --val's training images (per class, seeded by the recipe's seed) instead of its
   * test split, skip the shard rows that mix one of them in, and score the chosen model on the test split once.
   */
  valFraction?: number;
  /** Validate every N epochs (and after the last). */
  valEvery?: number;
  width?: number;
  depth?: number;
  stages?: number;
  midlevel?: boolean;
  midLayer?: string;
  workers: number;
  bufferSize: number;
  resume?: boolean;
  /** Stop after this many epochs (simulates an interruption in tests). */
  stopAfterEpoch?: number;
  quiet?: boolean;
  log?: (line: string) => void;
  /** Data-parallel replicas (wasm; see trainLoop). Default 1: in process. */
  trainWorkers?: number;
  /** Epoch e reads only round e mod R of the shards: fresh mixes every epoch, as the online method has. */
  epochRounds?: boolean;
  /** Fine-tuning: start the backbone from this trained zoo model (a new classifier for the target classes). */
  init?: string;
  /** With init: keep the stem's weights fixed. */
  freezeStem?: boolean;
  /** With init: the backbone's learning rate as a multiple of --lr (the new classifier's is --lr). */
  backboneLr?: number;
  /** --refresh-every, recorded in the request (afterEpoch does the work). */
  refreshEvery?: number;
  /** Called after each epoch; may return new shard directories to train on from the next epoch (teacher refresh). */
  afterEpoch?: (epoch: number, deploy: tf.LayersModel, dir: string) => Promise<string[] | undefined>;
}

export interface StudentResult {
  bestTop1: number | null;
  history: EpochMetrics[];
  seconds: number;
}

export async function trainStudent(o: StudentOptions): Promise<StudentResult> {
  validateRecipe(o.recipe);
  if (o.valFraction && o.refreshEvery) throw new UserError('--val-fraction with --refresh-every: the refreshed shards would mix the held-out images in again; use one or the other');
  const reads = [...o.shards.map((d) => ({ flag: '--shards', path: d })), { flag: '--val', path: o.val.root }, ...(o.init ? [{ flag: '--init', path: o.init }] : [])];
  return withOutput({ out: o.out, kind: 'model', command: 'train', reads, overwrite: false }, (out) => train(o, out.state));
}

/** What the student validates on: the test split, or (--val-fraction) a split carved from train, tested once at the end. */
function validationRecords(o: StudentOptions, seed: number): { testRecords: DatasetRecord[]; carved?: DatasetRecord[]; valRecords: DatasetRecord[] } {
  const testRecords = splitRecords(o.val, 'test');
  const carved = o.valFraction ? carveValidation(splitRecords(o.val, 'train'), o.valFraction, seed).val : undefined;
  const valRecords = carved ?? testRecords;
  if (!valRecords.length) throw new UserError(`--val ${o.valName} has no ${carved ? 'training images to carve a validation split from' : 'test split to validate on'}`);
  return { testRecords, carved, valRecords };
}

function epochRoundsLine(sets: ShardSet[], epochs: number): string {
  const R = Math.max(...sets.map((s) => s.rounds?.count ?? 1));
  const repeat = epochs > R ? `; ${epochs} epochs over ${R} round(s) show each mix ${Math.ceil(epochs / R)} times: generate --rounds ${epochs} for one pass each` : '';
  return `epoch-rounds: epoch e reads round e mod R of each shard set (R = ${sets.map((s) => s.rounds?.count ?? '?').join(', ')})${repeat}`;
}

function epochLine(m: EpochMetrics, epochs: number, isBest: boolean): string {
  return `epoch ${m.epoch}/${epochs} loss ${m.train_loss.toFixed(4)} train_acc (heavier label) ${pct(m.train_acc)} ` +
    `val_top1 ${m.val_top1 === null ? 'n/a' : pct(m.val_top1)} lr ${m.lr.toExponential(2)} ${m.images_per_s.toFixed(1)} img/s${isBest ? ' *best, saved' : ''}`;
}

async function train(o: StudentOptions, outState: OutState): Promise<StudentResult> {
  // The shards hold the views: no crop or flip is applied here, and the model records exactly that.
  const recipe: Recipe = { ...validateRecipe(o.recipe), cropPad: 0, flip: false };
  const log = o.log ?? (() => {});
  const t0 = Date.now();
  let sets: ShardSet[] = await openShardSets(o.shards, o.val.classNames, o.valName);
  const made = await shardView(sets[0]);
  const size = o.size ?? made?.size;
  if (size === undefined) throw new UserError(`${sets[0].dir} has no manifest.json recording the image size; pass --size`);
  const fit = chosenFit(o.fit, made?.fit);
  const { testRecords, carved, valRecords } = validationRecords(o, recipe.seed);
  const ckptDir = path.join(o.out, 'checkpoint');
  const request = await studentRequest(o, { size, fit, recipe, valRecords });
  const exclude = carved ? await holdOut(sets, carved, o, log) : undefined;
  const decision = await checkTrainOutput(o.out, outState, request, !!o.resume);
  const valSet = await loadImageSet(valRecords, size, { fit });
  const C = o.val.classNames.length;
  const pre = DEFAULT_PREPROCESS;

  // --resume with no finished checkpoint (a run killed in its first epoch) starts from the beginning,
  // so the same command can be rerun after a crash at any point.
  const resume = decision === 'continue' && (await exists(path.join(ckptDir, 'state.json')));
  if (o.resume && !resume) log(`resume: no finished checkpoint in ${ckptDir}; starting from epoch 0`);
  const { deploy, train, startEpoch, optimizer, fineTune, best: bestSoFar } = await startingPoint(o, { resume, ckptDir, request, size, numClasses: C, recipe, log });
  let best = bestSoFar;
  const rows = sets.reduce((a, s) => a + s.rows, 0);
  log(`data: ${rows} samples from ${sets.length} shard dir(s) (${[...new Set(sets.map((s) => s.method))].join(', ')}), ${valRecords.length} validation images, ${C} classes, ${size}px`);
  const meta = { classNames: o.val.classNames, inputSize: size, preprocess: pre, fit, recipe, student: { shards: request.shards, midlevel: !!o.midlevel, fineTune } };
  const pool = makePool('decode-worker', o.workers, Math.ceil(rows / recipe.batchSize));
  const make = () => shardSource({ sets, numClasses: C, size, batchSize: recipe.batchSize, seed: recipe.seed, bufferSize: o.bufferSize, pre, pool, epochRounds: o.epochRounds, exclude });
  if (o.epochRounds) log(epochRoundsLine(sets, recipe.epochs));
  let current = make();
  const source: BatchSource = { size, numClasses: C, get batchesPerEpoch() { return current.batchesPerEpoch; }, epoch: (e) => current.epoch(e) };
  try {
    const r = await trainLoop({
      model: train,
      source,
      recipe,
      optimizer,
      startEpoch,
      stopAfterEpoch: o.stopAfterEpoch,
      bestSoFar: best,
      metricsFile: path.join(o.out, 'metrics.jsonl'),
      quiet: o.quiet,
      trainWorkers: o.trainWorkers,
      gradScales: fineTune.backboneLr !== 1 ? gradientScales(train, fineTune.backboneLr) : undefined,
      evaluate: async () => (await evaluate(deploy, valSet, pre)).top1,
      evalEvery: o.valEvery,
      onEpoch: async (m, isBest, opt) => {
        log(epochLine(m, recipe.epochs, isBest));
        if (isBest) {
          best = m.val_top1 ?? undefined;
          await saveModel(deploy, o.out, { ...meta, epoch: m.epoch, valTop1: m.val_top1 });
        }
        await saveCheckpoint(ckptDir, deploy, meta, opt, { epoch: m.epoch, best: best ?? null, recipe });
        const next = await o.afterEpoch?.(m.epoch, deploy, o.out);
        if (next) {
          sets = await openShardSets(next, o.val.classNames, o.valName);
          current = make();
          log(`refresh: training on ${next.join(', ')} from epoch ${m.epoch + 1}`);
        }
      },
    });
    if (carved && testRecords.length) await finalTest(o, testRecords, size, fit, pre, log);
    return { bestTop1: r.best, history: r.history, seconds: (Date.now() - t0) / 1000 };
  } finally {
    await pool.destroy();
    // The best model is on disk; free the weights (a demo trains several students in one process). The
    // training view of a --midlevel model shares every layer with the deployed one: disposing that frees all.
    deploy.dispose();
    optimizer?.dispose();
  }
}

/**
 * Keep only the epochs the checkpoint holds: a kill between an epoch's metrics line and its
 * checkpoint would otherwise leave that epoch twice in metrics.jsonl after --resume.
 */
async function trimMetrics(file: string, epochs: number): Promise<void> {
  const text = await fs.readFile(file, 'utf8').catch(() => '');
  const keep = text.split('\n').filter((l) => {
    try {
      return l.trim() !== '' && (JSON.parse(l) as { epoch: number }).epoch <= epochs;
    } catch {
      return false; // a torn last line
    }
  });
  await writeFileAtomic(file, keep.map((l) => l + '\n').join(''));
}

/** The view the shards were made with: image size and --fit (validation images are decoded the same way). */
async function shardView(set: ShardSet): Promise<{ size: number; fit: Fit } | undefined> {
  const m = await fs.readFile(path.join(set.dir, 'manifest.json'), 'utf8').then((t) => JSON.parse(t) as { config: { size: number; fit?: Fit } }, () => undefined);
  return m && { size: m.config.size, fit: recordedFit(m.config.fit) };
}

/** The carved validation images' ids, and the shard rows left once those mixing one in are dropped. */
async function holdOut(sets: ShardSet[], carved: DatasetRecord[], o: StudentOptions, log: (l: string) => void): Promise<{ ids: Set<string>; kept: KeptRows }> {
  const ids = new Set(carved.map((r) => r.id));
  const kept = await keptRows(sets, ids);
  const all = sets.reduce((a, s) => a + s.rows, 0);
  const left = [...kept.values()].reduce((a, k) => a + k.all, 0);
  if (left === all) throw new UserError(`--val-fraction carves validation images from --val ${o.valName}'s training split, which must be the shards' sources: none of the ${ids.size} carved images appears in the shards. Pass the dataset the shards were generated from`);
  log(`validation: ${ids.size} of --val's training images held out (--val-fraction ${o.valFraction}, seed ${o.recipe.seed}); ${all - left} of ${all} shard rows mix one in and are skipped`);
  return { ids, kept };
}

/** The chosen model (the best validation epoch, on disk) scored once on the test split: OUT/test.json. */
async function finalTest(o: StudentOptions, records: DatasetRecord[], size: number, fit: Fit, pre: { mean: number[]; std: number[] }, log: (l: string) => void): Promise<void> {
  const { model, meta } = await loadModel(o.out);
  try {
    const r = await evaluate(model, await loadImageSet(records, size, { fit }), meta.preprocess ?? pre);
    await writeFileAtomic(path.join(o.out, 'test.json'), JSON.stringify({ test_top1: r.top1, images: records.length, chosen_on: 'validation carved from the training images (--val-fraction)' }, null, 2) + '\n');
    log(`test: top-1 ${(r.top1 * 100).toFixed(2)}% on ${records.length} test images, the model chosen on the validation split (OUT/test.json)`);
  } finally {
    model.dispose();
  }
}

/** What this run is (src/train/request.ts): recorded before anything is written, compared on --resume. */
async function studentRequest(o: StudentOptions, r: { size: number; fit: Fit; recipe: Recipe; valRecords: DatasetRecord[] }): Promise<TrainRequest> {
  return {
    mode: 'student',
    shards: await Promise.all(o.shards.map(shardSetIdentity)),
    val: recordsIdentity(o.val.classNames, r.valRecords),
    size: r.size, fit: r.fit, recipe: { ...r.recipe },
    arch: o.init ? null : { width: o.width ?? DEFAULT_RESNET.width, depth: o.depth ?? DEFAULT_RESNET.depth, stages: o.stages ?? DEFAULT_RESNET.stages },
    init: o.init ? { model: await modelIdentity(o.init), freezeStem: !!o.freezeStem, backboneLr: backboneLrOf(o) } : null,
    midlevel: !!o.midlevel, midLayer: o.midLayer ?? null, bufferSize: o.bufferSize, epochRounds: !!o.epochRounds,
    trainWorkers: o.trainWorkers ?? 1, refreshEvery: o.refreshEvery ?? null,
    // Present only when asked for, so requests recorded by earlier versions still compare equal.
    ...(o.valFraction ? { valFraction: o.valFraction } : {}), ...(o.valEvery && o.valEvery > 1 ? { valEvery: o.valEvery } : {}),
  };
}

type FineTune = { init: string | null; freezeStem: boolean; backboneLr: number };

/**
 * Where training starts: the finished checkpoint (--resume), or a new model (a zoo ResNet, or --init's
 * backbone with a new classifier; the mid-level head when asked) whose request is recorded first.
 */
async function startingPoint(o: StudentOptions, r: { resume: boolean; ckptDir: string; request: TrainRequest; size: number; numClasses: number; recipe: Recipe; log: (l: string) => void }): Promise<{
  deploy: tf.LayersModel; train: tf.LayersModel; startEpoch: number; best?: number; optimizer?: tf.Optimizer; fineTune: FineTune;
}> {
  const { recipe, log } = r;
  const C = r.numClasses;
  // Identities, not machine paths: the model records what it was trained from, not where it lay.
  let fineTune: FineTune = { init: (r.request.init as { model: string } | null)?.model ?? null, freezeStem: !!o.freezeStem, backboneLr: backboneLrOf(o) };
  checkFineTuneFlags(o);
  if (r.resume) {
    const ck = await loadCheckpoint(r.ckptDir);
    const deploy = ck.model;
    const train = o.midlevel ? (await import('@tensorflow/tfjs')).model({ inputs: deploy.inputs, outputs: [deploy.getLayer(ZOO_CLASSIFIER_LAYER).output as tf.SymbolicTensor, deploy.getLayer(MIDLEVEL_CLASSIFIER).output as tf.SymbolicTensor] }) : deploy;
    const startEpoch = ck.state.epoch;
    await trimMetrics(path.join(o.out, 'metrics.jsonl'), startEpoch);
    const best = ck.state.best ?? undefined;
    // A resumed fine-tuning run keeps the settings it started with (its frozen stem is in the model).
    const saved = (ck.meta as { student?: { fineTune?: FineTune } }).student?.fineTune;
    if (saved) fineTune = saved;
    log(`resume: from epoch ${startEpoch} of ${recipe.epochs} (best so far ${best === undefined ? 'n/a' : best.toFixed(4)})`);
    return { deploy, train, startEpoch, best, optimizer: ck.optimizer, fineTune };
  }
  let base: tf.LayersModel;
  if (o.init) {
    const m = await modelFromBackbone(o.init, { inputSize: r.size, numClasses: C, seed: recipe.seed, freezeStem: !!o.freezeStem });
    base = m.model;
    log(`init: backbone of ${o.init} (width ${m.arch.width}, depth ${m.arch.depth}, stages ${m.arch.stages}; ${m.copied} layers), a new classifier for ${C} classes${o.freezeStem ? ', stem frozen' : ''}${fineTune.backboneLr !== 1 ? `, backbone learning rate ${fineTune.backboneLr}× --lr` : ''}`);
  } else {
    base = buildResNet({
      inputSize: r.size, numClasses: C, width: o.width ?? DEFAULT_RESNET.width, depth: o.depth ?? DEFAULT_RESNET.depth,
      stages: o.stages ?? DEFAULT_RESNET.stages, seed: recipe.seed,
    });
  }
  const { train, deploy } = o.midlevel ? withMidlevelHead(base, o.midLayer, C, recipe.seed) : { train: base, deploy: base };
  await writeTrainRequest(o.out, r.request);
  await fs.writeFile(path.join(o.out, 'metrics.jsonl'), '');
  return { deploy, train, startEpoch: 0, fineTune };
}
