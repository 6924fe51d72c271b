import { availableCpus } from '../util/cpus.js';
import type { Argv } from 'yargs';
import { DEFAULT_RESNET } from '../model/zoo-defaults.js';
import { UserError } from '../util/errors.js';
import { validateRecipe } from '../train/recipe.js';
import { pct } from '../train/progress.js';
import { log, recipeFrom, startBackend, withBackend, withDataFormat, withFit, withQuiet, withRecipe, withExamples } from './common.js';
import type { Fit } from '../image/decode.js';

export const command = 'train';
export const describe = 'train a teacher on clean images (--data) or a student on shards (--shards … --val); keeps the best epoch';

export function builder(y: Argv) {
  return withExamples(withFit(withRecipe(withQuiet(withDataFormat(withBackend(y)))), "teacher: fill (recorded in the model; cams and eval follow it); student: the shards' --fit, for the validation images")
    .option('data', { type: 'string', describe: 'teacher mode: dataset (ImageFolder, CUB-200-2011, or .csv/.jsonl manifest) with train/test splits' })
    .option('shards', { type: 'string', array: true, describe: "student mode: one or more 'snapmix generate' (or HF save_to_disk) directories" })
    .option('val', { type: 'string', describe: 'student mode: dataset whose test split is the validation set (same classes as the shards)' })
    .option('midlevel', { type: 'boolean', default: false, describe: "student: add the paper's Baseline+ mid-level head (stopped gradient, 1×1 conv, max pool, own classifier)" })
    .option('mid-layer', { type: 'string', describe: 'student: layer feeding the mid-level head (default: output of the second-to-last stage)' })
    .option('workers', { type: 'number', default: 2, describe: 'student: image-decoding worker threads' })
    .option('train-workers', { type: 'number', default: 2, describe: 'data-parallel training replicas in worker threads (wasm backend): each batch is split into N micro-batches, gradients summed in a fixed order, BatchNorm over the whole batch; the same seed and N give the same weights. 1: train in process. Native backends always train in process' })
    .option('init', { type: 'string', describe: "fine-tune (teacher or student): start the backbone from this trained zoo model (e.g. one pretrained on 'snapmix synth --design pretrain'), with a new classifier for the target classes; its architecture replaces --width/--depth/--stages" })
    .option('freeze-stem', { type: 'boolean', describe: 'with --init: keep the stem convolution and its BatchNorm fixed' })
    .option('backbone-lr', { type: 'number', describe: "with --init: the backbone's learning rate as a multiple of --lr (the new classifier trains at --lr); default 0.1 (at 1 a fine-tuned teacher's accuracy collapsed for epochs before recovering; docs/TRAINING.md)" })
    .option('epoch-rounds', { type: 'boolean', default: false, describe: 'student: epoch e reads only round e mod R of the shards (R = generate --rounds): with R ≥ epochs every sample is seen once, a fresh mix per epoch as the online method has' })
    .option('buffer-size', { type: 'number', default: 2048, describe: 'student: shuffle buffer (samples) across shards' })
    .option('resume', { type: 'boolean', default: false, describe: 'student: continue the run this same command started in --out (its checkpoint, written every epoch); a model of another request, a teacher or an --init backbone is never continued' })
    .option('val-fraction', { type: 'number', describe: "student: validate on this share of --val's training images (per class, seeded by --seed; the shard rows that mix one in are skipped) instead of its test split, and score the chosen model on the test split once at the end (OUT/test.json)" })
    .option('val-every', { type: 'number', describe: 'validate every N epochs and after the last (default 1); the epochs between record val_top1 null' })
    .option('refresh-every', { type: 'number', describe: 'student: every K epochs regenerate the SnapMix shards with the current student as teacher (needs --val = the source data)' })
    .option('out', { type: 'string', demandOption: true, describe: 'model directory to write (model.json, weights, metrics.jsonl)' })
    .option('size', { type: 'number', describe: 'working image size in pixels (teacher default 64; student default: the shards\' manifest)' })
    .option('width', { type: 'number', default: DEFAULT_RESNET.width, describe: 'ResNet channels of the first stage' })
    .option('depth', { type: 'number', default: DEFAULT_RESNET.depth, describe: 'ResNet basic blocks per stage' })
    .option('stages', { type: 'number', default: DEFAULT_RESNET.stages, describe: 'ResNet stages (each halves resolution)' }), [
    ['the teacher, default recipe', '$0 train --data data/synth --out runs/teacher'],
    ['a student on SnapMix shards', '$0 train --shards runs/shards --val data/synth --out runs/student'],
  ]);
}

export async function handler(a: Awaited<ReturnType<typeof builder>['argv']>): Promise<void> {
  const { openDataset } = await import('../data/index.js');
  const { trainTeacher } = await import('../train/teacher.js');
  if (a.shards?.length) return studentHandler(a);
  if (!a.data) throw new UserError('pass --data DATASET (teacher on clean images) or --shards DIR… --val DATASET (student)');
  if (a.epochRounds) throw new UserError('--epoch-rounds reads shard rounds: it trains a student (--shards DIR… --val DATASET)');
  if (a.valFraction !== undefined || a.valEvery !== undefined) throw new UserError('--val-fraction and --val-every apply to a student (--shards DIR… --val DATASET); a teacher validates on its dataset\'s test split every epoch');
  const recipe = validateRecipe(recipeFrom(a));
  const backend = await startBackend(a.backend);
  const trainWorkers = trainWorkersFor(a.trainWorkers, backend.kind);
  const dataset = await openDataset(a.data, a.dataFormat);
  const r = await trainTeacher({
    dataset,
    out: a.out,
    size: a.size ?? 64,
    fit: a.fit as Fit | undefined,
    recipe,
    width: a.width,
    depth: a.depth,
    stages: a.stages,
    quiet: a.quiet,
    log,
    trainWorkers,
    init: a.init, freezeStem: a.freezeStem, backboneLr: a.backboneLr,
  });
  log(`train: best val_top1 ${r.bestTop1 === null ? 'n/a (no test split)' : pct(r.bestTop1)} (test split); model in ${a.out}; ${r.seconds.toFixed(1)}s`);
}

/** --train-workers (its range checked by the schema) within the cores; native backends (multi-threaded themselves) train in process. */
function trainWorkersFor(n: number, backend: string): number {
  // More replicas than cores only add barrier waits and memory (64 replicas measured 18× slower an epoch than 2).
  const cores = availableCpus();
  if (n > cores) {
    log(`train: --train-workers ${n} is more than this machine's ${cores} cores; using ${cores}`);
    n = cores;
  }
  if (n > 1 && backend !== 'wasm') {
    log(`train: --train-workers ${n} applies to the wasm backend; ${backend} trains in process`);
    return 1;
  }
  return n;
}

async function studentHandler(a: Awaited<ReturnType<typeof builder>['argv']>): Promise<void> {
  const { openDataset } = await import('../data/index.js');
  const { trainStudent } = await import('../train/student.js');
  const { makeRefresher } = await import('../pipeline/refresh.js');
  if (!a.val) throw new UserError('--shards needs --val DATASET: the clean images (test split) to validate on');
  if (a.data) throw new UserError('pass either --data (teacher) or --shards (student), not both');
  if (a.cropPad !== undefined || a.flip !== undefined) throw new UserError("--crop-pad and --flip augment a teacher's clean images; a student trains on the shards' views as generate made them (its --crop and --flip), so they would do nothing: drop them");
  const recipe = validateRecipe(recipeFrom(a));
  if (a.refreshEvery !== undefined && a.refreshEvery >= recipe.epochs) throw new UserError(`--refresh-every must be below --epochs (${recipe.epochs}), got ${a.refreshEvery}`);
  const backend = await startBackend(a.backend);
  const trainWorkers = trainWorkersFor(a.trainWorkers, backend.kind);
  const val = await openDataset(a.val, a.dataFormat);
  const afterEpoch = a.refreshEvery
    ? await makeRefresher({ every: a.refreshEvery, epochs: recipe.epochs, shards: a.shards![0], data: val, backend: backend.kind, workers: a.workers, log })
    : undefined;
  const r = await trainStudent({
    shards: a.shards!, val, valName: a.val, out: a.out, size: a.size, fit: a.fit as Fit | undefined, recipe, width: a.width, depth: a.depth, stages: a.stages,
    midlevel: a.midlevel, midLayer: a.midLayer, workers: a.workers, bufferSize: a.bufferSize, resume: a.resume, quiet: a.quiet, log, afterEpoch, trainWorkers, epochRounds: a.epochRounds,
    init: a.init, freezeStem: a.freezeStem, backboneLr: a.backboneLr, refreshEvery: a.refreshEvery, valFraction: a.valFraction, valEvery: a.valEvery,
  });
  log(`train: best val_top1 ${r.bestTop1 === null ? 'n/a' : pct(r.bestTop1)}; student in ${a.out}; ${r.seconds.toFixed(1)}s`);
}
