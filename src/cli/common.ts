// Options shared by several commands, defined once so their help and validation agree.
// Static imports here are light (names, defaults, choices): every command's builder uses this file, and
// `snapmix --help` should not load tfjs, sharp or onnxruntime. What runs a command is imported in it.
import { FITS } from '../image/fit.js';
import type { Argv } from 'yargs';
import { BACKEND_CHOICES, type BackendChoice } from '../model/backend-choices.js';
import type { BackendInfo } from '../model/backend.js';
import { DEFAULT_RECIPE, OPTIMIZERS, type Recipe } from '../train/recipe.js';
import { SCHEDULES } from '../train/schedule.js';
import { DATASET_FORMATS } from '../data/index.js';
import { UserError } from '../util/errors.js';
import type { OrtProvider } from '../model/teacher-types.js';
import type { Teacher, TeacherHeadOptions } from '../model/teacher.js';
import { arrayTaskVariable, shardIndexFrom } from '../util/array-job.js';
import type { Progress } from '../train/progress.js';
import { createProgress } from '../train/progress.js';

export function withBackend<T>(y: Argv<T>) {
  return y.option('backend', {
    choices: BACKEND_CHOICES,
    default: 'auto' as BackendChoice,
    describe: 'compute backend: auto tries gpu (tfjs-node-gpu) → native (tfjs-node) → wasm; for an ONNX teacher CUDA → WebGPU → CPU (gpu: CUDA or WebGPU only)',
  });
}

export function withQuiet<T>(y: Argv<T>) {
  return y.option('quiet', { type: 'boolean', default: false, describe: 'no progress bars or per-epoch lines' });
}

export function withDataFormat<T>(y: Argv<T>) {
  return y.option('data-format', {
    choices: DATASET_FORMATS,
    default: 'auto' as (typeof DATASET_FORMATS)[number],
    describe: 'how to read --data: ImageFolder dir, CUB-200-2011 dir (has images.txt), or a .csv/.jsonl manifest',
  });
}

export async function startBackend(choice: BackendChoice): Promise<BackendInfo> {
  const { initBackend, backendLine } = await import('../model/backend.js');
  const info = await initBackend(choice);
  console.error(backendLine(info));
  return info;
}

/** wasm, quietly: a tfjs teacher that is only described (tfjs reads it) needs a backend, whatever --backend says. */
async function startWasm(): Promise<BackendInfo> {
  const { initBackend } = await import('../model/backend.js');
  return initBackend('wasm');
}

/**
 * An ONNX teacher's execution provider (auto: CUDA → WebGPU → CPU), tried on the model's bytes and
 * printed like the tfjs backend line. tfjs is neither loaded nor started for an ONNX teacher.
 */
export async function startOnnxProvider(choice: BackendChoice, bytes: Uint8Array, file: string): Promise<OrtProvider> {
  const { chooseProvider, providerLine } = await import('../model/onnx-teacher.js');
  const c = await chooseProvider(choice, bytes, file);
  console.error(providerLine(c));
  return c.provider;
}

/**
 * A run's teacher, described once: every weight read and hashed once, what it is taken to be printed once,
 * and its compute started. A teacher pass gets --backend (tfjs) or an execution provider chosen on the
 * bytes just read (ONNX); describing only (generate/reproduce with --cams) needs wasm for a tfjs teacher,
 * which tfjs reads, and nothing for ONNX. The file is parsed before any provider is tried: a file that is
 * no ONNX model, or whose data file is missing, is named as such, not as "no provider could load it".
 */
export async function startTeacher(choice: BackendChoice, p: string, head: TeacherHeadOptions, pass: boolean, log = (l: string) => console.error(l)): Promise<Teacher> {
  const { teacherHandle, onnxTeacherHandle } = await import('../model/teacher.js');
  const { isOnnx } = await import('../model/onnx-teacher.js');
  const t = isOnnx(p)
    ? await onnxTeacherHandle(p, head, async (bytes) => (pass ? startOnnxProvider(choice, bytes, p) : undefined))
    : await teacherHandle(p, head, { backend: (pass ? await startBackend(choice) : await startWasm()).kind });
  log(`teacher: ${p}: ${t.takenAs}`);
  return t;
}

/** The teacher-head flags as one object. */
export const headFrom = (a: { featureLayer?: string; classifierLayer?: string; featureTensor?: string; classifierNode?: string; teacherConfig?: string }): TeacherHeadOptions => ({
  featureLayer: a.featureLayer, classifierLayer: a.classifierLayer, featureTensor: a.featureTensor, classifierNode: a.classifierNode, teacherConfig: a.teacherConfig,
});

export function withOnnxHead<T>(y: Argv<T>) {
  return y
    .option('feature-tensor', { type: 'string', describe: 'ONNX teacher: the 4-D feature tensor of the CAM (default: the input of the last global average pool before the classifier)' })
    .option('classifier-node', { type: 'string', describe: 'ONNX teacher: the Gemm/MatMul classifier node (default: found after that pool)' })
    .option('teacher-config', { type: 'string', describe: 'ONNX teacher: preprocessing sidecar (default MODEL.json beside MODEL.onnx, else teacher.json there; schemas/teacher.schema.json)' });
}

/**
 * Examples that stay copy-pasteable: each command on a line of its own (yargs wraps a two-column example
 * mid-command), its purpose as a shell comment above it. Keep commands within 76 characters.
 */
export function withExamples<T>(y: Argv<T>, examples: [purpose: string, command: string][]): Argv<T> {
  for (const [purpose, command] of examples) y = y.example(`# ${purpose}`, '').example(command, '');
  return y;
}

/** --fit: how a photo becomes the square working image; `dflt` says what an absent flag means here. */
export function withFit<T>(y: Argv<T>, dflt: string) {
  return y.option('fit', {
    choices: FITS,
    describe: `how a non-square photo becomes the square: fill = squash the whole photo (the official SnapMix CUB recipe: 512×512, then crop 448), cover = scale the shorter side and cut the centre square (drops the sides of a 500×375 photo). Default: ${dflt}`,
  });
}

export function withSplit<T>(y: Argv<T>) {
  return y
    .option('num-shards', { type: 'number', describe: 'split the run into K parts (one per machine or array task); join them with snapmix merge' })
    .option('shard-index', { type: 'number', describe: 'which part to write, 0..K−1 (default: $JOB_COMPLETION_INDEX, $SLURM_ARRAY_TASK_ID or $AWS_BATCH_JOB_ARRAY_INDEX)' });
}

/** --num-shards K with --shard-index (or the array-job variable): this run's part; neither: the whole run. */
export function partFrom(numShards: number | undefined, shardIndex: number | undefined, command: string): { index: number; of: number } | undefined {
  if (numShards === undefined) {
    if (shardIndex !== undefined) throw new UserError('--shard-index needs --num-shards K');
    // In an array job without a split, every task would write the whole output (and race for it).
    const v = arrayTaskVariable();
    if (v) throw new UserError(`$${v}=${process.env[v]} says this is one task of an array job, but no --num-shards was given: every task would compute the whole output. Pass --num-shards K (the array's size) to write this task's part, or unset ${v} to run the whole ${command} in one task`);
    return undefined;
  }
  const idx = shardIndexFrom(shardIndex);
  if (!idx) throw new UserError('--num-shards needs --shard-index I (or $JOB_COMPLETION_INDEX, $SLURM_ARRAY_TASK_ID, $AWS_BATCH_JOB_ARRAY_INDEX)');
  if (!Number.isInteger(idx.index) || idx.index < 0 || idx.index >= numShards) throw new UserError(`${idx.from} must be an integer in [0, ${numShards - 1}] for --num-shards ${numShards}, got ${idx.index}`);
  if (idx.from !== '--shard-index') console.error(`${command}: part ${idx.index} of ${numShards} (from $${idx.from})`);
  return { index: idx.index, of: numShards };
}

export function withRecipe<T>(y: Argv<T>) {
  const d = DEFAULT_RECIPE;
  return y
    .option('epochs', { type: 'number', default: d.epochs, describe: 'training epochs' })
    .option('batch-size', { type: 'number', default: d.batchSize, describe: 'images per step' })
    .option('lr', { type: 'number', default: d.lr, describe: 'peak learning rate' })
    .option('optimizer', { choices: OPTIMIZERS, default: d.optimizer, describe: 'sgd (with momentum) or adam' })
    .option('momentum', { type: 'number', default: d.momentum, describe: 'SGD momentum' })
    .option('weight-decay', { type: 'number', default: d.weightDecay, describe: 'L2 penalty on conv/dense kernels' })
    .option('schedule', { choices: SCHEDULES, default: d.schedule, describe: 'learning-rate schedule (step: ×0.1 at 50% and 75%)' })
    .option('warmup', { type: 'number', default: d.warmup, describe: 'linear warm-up epochs' })
    .option('seed', { type: 'number', default: d.seed, describe: 'seed for init, order and augmentation' })
    .option('crop-pad', { type: 'number', describe: `teacher: random crop, pad by this many pixels and crop back (0 = off; default ${d.cropPad}); students train on the shards' views as generate made them` })
    .option('flip', { type: 'boolean', describe: `teacher: random horizontal flip (default ${d.flip}; --no-flip to disable); students: see --crop-pad` });
}

export function recipeFrom(a: {
  epochs: number; batchSize: number; lr: number; optimizer: string; momentum: number; weightDecay: number;
  schedule: string; warmup: number; seed: number; cropPad?: number; flip?: boolean;
}): Recipe {
  return {
    epochs: a.epochs,
    batchSize: a.batchSize,
    lr: a.lr,
    optimizer: a.optimizer as Recipe['optimizer'],
    momentum: a.momentum,
    weightDecay: a.weightDecay,
    schedule: a.schedule as Recipe['schedule'],
    warmup: a.warmup,
    seed: a.seed,
    cropPad: a.cropPad ?? DEFAULT_RECIPE.cropPad,
    flip: a.flip ?? DEFAULT_RECIPE.flip,
  };
}

export function log(line: string): void {
  console.log(line);
}

/** One progress bar per stage name, made on first use and stopped when its stage completes. */
export function stageBars(quiet: boolean): (stage: string, done: number, total: number) => void {
  const bars = new Map<string, Progress>();
  return (stage, done, total) => {
    let b = bars.get(stage);
    if (!b) bars.set(stage, (b = createProgress(stage, total, { quiet })));
    b.update(done);
    if (done === total) b.stop();
  };
}
