import os from 'node:os';
import { readFileSync } from 'node:fs';
import type { Argv } from 'yargs';
import { createRequire } from 'node:module';
import { GENERATE_DEFAULTS, resolveGenerateConfig, type GenerateConfig, type GenerateConfigInput } from '../shards/config.js';
import { METHODS, PARTNERS, type Partner } from '../mix/plan.js';
import { check } from '../util/schemas.js';
import { UserError } from '../util/errors.js';
import { headFrom, partFrom, startTeacher, withBackend, withDataFormat, withFit, withQuiet, withSplit, stageBars, withExamples } from './common.js';
import type { Fit } from '../image/decode.js';
import { withCamOptions } from './cams.js';

export const command = 'generate';
export const describe = 'pre-generate SnapMix (or CutMix/Mixup/none) samples and soft labels into Arrow shards';

/** A --config file: JSON or YAML, checked against schemas/config.schema.json before flags merge in. */
export function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new UserError(`--config ${file} cannot be read`);
  }
  let obj: unknown;
  try {
    // yaml is loaded only for a YAML file (yargs calls this synchronously, so no dynamic import).
    obj = /\.ya?ml$/i.test(file) ? (createRequire(import.meta.url)('yaml') as typeof import('yaml')).parse(text) : JSON.parse(text);
  } catch (e) {
    throw new UserError(`--config ${file} is not valid ${/\.ya?ml$/i.test(file) ? 'YAML' : 'JSON'}: ${(e as Error).message}`);
  }
  const problems = check('config', obj, '', `${file}: `);
  if (problems.length) throw new UserError(`--config ${file} does not match schemas/config.schema.json:\n  ${problems.join('\n  ')}`);
  return obj as Record<string, unknown>;
}

export function builder(y: Argv) {
  return withExamples(withFit(withSplit(withCamOptions(withQuiet(withDataFormat(withBackend(y))))), "the --cams cache's fit, else the teacher's recorded fit, else fill (new runs; outputs made before --fit used cover)")
    .config('config', 'JSON or YAML file of options (keys = long flag names; see schemas/config.schema.json); flags override it', readConfigFile)
    .option('data', { type: 'string', describe: 'dataset (ImageFolder, CUB-200-2011, or manifest); its train split is mixed' })
    .option('teacher', { type: 'string', describe: 'teacher (tfjs model directory or MODEL.onnx): CAMs are computed in the pool and cached in OUT/cams' })
    .option('cams', { type: 'string', describe: "CAM cache from 'snapmix cams' (checked against the data and, if given, the teacher)" })
    .option('out', { type: 'string', describe: 'output shard directory (empty, the same run to resume, or --overwrite)' })
    .option('method', { choices: METHODS, default: GENERATE_DEFAULTS.method, describe: 'snapmix: semantic labels; cutmix/mixup: area/blend labels; none: views only' })
    .option('rounds', { type: 'number', default: GENERATE_DEFAULTS.rounds, describe: 'samples per source image (round r re-draws partners, boxes and views)' })
    .option('size', { type: 'number', default: GENERATE_DEFAULTS.size, describe: 'output image side' })
    .option('resize', { type: 'number', describe: 'resize the source to this side before cropping (default: --size / 0.875, the standard view policy: 64 → 73, 224 → 256; --resize = --size gives flip-only views)' })
    .option('crop', { choices: ['random', 'center'] as const, describe: 'view crop (default: random when --resize > --size)' })
    .option('flip', { type: 'boolean', default: GENERATE_DEFAULTS.flip, describe: 'random horizontal flip of each view (--no-flip to disable)' })
    .option('beta', { type: 'number', describe: 'Beta(beta, beta) parameter (default: snapmix 5, cutmix 3, mixup 1)' })
    .option('partner', { choices: PARTNERS, default: 'any' as Partner, describe: "any: mix with any other source (official; with C classes about 1/C of pairs share a label and get both weights); other-class: only with a source of another class" })
    .option('prob', { type: 'number', default: GENERATE_DEFAULTS.prob, describe: 'probability a sample is mixed; otherwise written unmixed (method none)' })
    .option('seed', { type: 'number', default: GENERATE_DEFAULTS.seed, describe: 'every draw derives from (seed, round, index)' })
    .option('shard-size', { type: 'number', default: GENERATE_DEFAULTS.shardSize, describe: 'samples per Arrow shard' })
    .option('format', { choices: ['jpeg', 'png', 'webp'] as const, default: GENERATE_DEFAULTS.format, describe: 'image encoding' })
    .option('quality', { type: 'number', default: GENERATE_DEFAULTS.quality, describe: 'JPEG/WebP quality (1–100)' })
    .option('overwrite', { type: 'boolean', default: false, describe: 'replace an earlier snapmix output in --out (never a directory snapmix did not write)' })
    .option('cache-mem', { type: 'number', describe: 'MiB of decoded sources kept in memory (each source once, R×R×3 bytes at --resize); past it they spill to a file in --out (default: a quarter of RAM, at most 8 GiB)' })
    .option('license', { type: 'string', describe: 'license of the dataset card OUT/README.md (a Hugging Face license id: cc-by-4.0, mit, other, …; default unknown): say what the source images allow' })
    .option('card-title', { type: 'string', describe: 'title of the dataset card (default: from the dataset format, method, rounds and size)' })
    .option('allow-empty', { type: 'boolean', default: false, describe: 'accept an output with 0 written rows (otherwise exit 2)' }), [
    ['SnapMix shards, CAMs computed on the fly', '$0 generate --data data/synth --teacher runs/teacher --out runs/shards'],
    ['options from a file, seed from the flag', '$0 generate --config gen.yaml --seed 3'],
  ]);
}

type Args = Awaited<ReturnType<typeof builder>['argv']>;

function cacheMemBytes(mib: number): number {
  // A SharedArrayBuffer beyond physical memory cannot be mapped: clamp to half of it and say so.
  const most = Math.floor(os.totalmem() / 2);
  if (mib * 2 ** 20 > most) {
    console.error(`generate: --cache-mem ${mib} MiB is more than this machine can hold; using ${Math.floor(most / 2 ** 20)} MiB (half of its ${Math.round(os.totalmem() / 2 ** 30)} GiB); the rest spills to a file in --out`);
    return most;
  }
  return Math.floor(mib * 2 ** 20);
}


/** The request as the flags give it; --fit absent is left for generate to take from the CAMs. */
function configInput(a: Args): GenerateConfigInput {
  return { fit: a.fit as Fit | undefined, method: a.method, partner: a.partner as Partner, rounds: a.rounds, size: a.size, resize: a.resize, crop: a.crop, flip: a.flip, beta: a.beta, prob: a.prob, seed: a.seed, shardSize: a.shardSize, format: a.format, quality: a.quality };
}

/** Defaults filled in and checked: bad flags fail here, before any teacher or data is read. */
export function resolveConfig(a: Args): GenerateConfig {
  return resolveGenerateConfig(configInput(a));
}

export async function handler(a: Args): Promise<void> {
  const { openDataset, splitRecords } = await import('../data/index.js');
  const { generate } = await import('../pipeline/generate.js');
  if (!a.data) throw new UserError('--data is required (flag or config file)');
  if (!a.out) throw new UserError('--out is required (flag or config file)');
  const config = resolveConfig(a);
  const part = partFrom(a.numShards, a.shardIndex, 'generate');
  if (config.method === 'snapmix' && !a.teacher && !a.cams) throw new UserError('--method snapmix needs --teacher MODEL_DIR or --cams CAMS_DIR');
  // Only a teacher pass computes: with --cams, or a method that needs no CAMs, no backend is started
  // (--backend gpu with --cams once failed for want of tfjs-node-gpu it would never use).
  const teacher = config.method === 'snapmix' && a.teacher ? await startTeacher(a.backend, a.teacher, headFrom(a), !a.cams) : undefined;
  const dataset = await openDataset(a.data, a.dataFormat);
  const records = splitRecords(dataset, 'train');
  if (!records.length) throw new UserError(`${a.data} has no training images`);
  const r = await generate({
    config: configInput(a), dataset, records, teacher, cams: a.cams, out: a.out, workers: a.workers, camBatch: a.camBatch,
    strict: a.strict, overwrite: a.overwrite, allowEmpty: a.allowEmpty, allowWeakTeacher: a.allowWeakTeacher, release: { license: a.license, title: a.cardTitle }, part, cacheMem: a.cacheMem === undefined ? undefined : cacheMemBytes(a.cacheMem),
    // A --teacher that this method does not use is still an input the output may not touch.
    alsoReads: a.teacher && !teacher ? [{ flag: '--teacher', path: a.teacher }] : [],
    log: (l) => console.error(l),
    onProgress: stageBars(a.quiet),
  });
  const m = r.manifest;
  const c = m.counts;
  console.log(`generate: ${c.written} samples in ${m.shards.length} shard(s)${r.part ? ` (part ${r.part.index} of ${r.part.of})` : ''} at ${a.out} (${Object.entries(c.by_method).map(([k, v]) => `${k} ${v}`).join(', ')})`);
  console.log(`generate: skipped ${c.skipped} sample(s), rejected ${c.rejected_sources} source(s)${r.resumedShards ? `, resumed ${r.resumedShards} finished shard(s)` : ''}; ${r.seconds.toFixed(1)}s, ${(c.planned / r.seconds).toFixed(1)} samples/s`);
  if (r.part) {
    console.log(`generate: part ${r.part.index} of ${r.part.of} done; when every part is done: snapmix merge PART_DIRS... --out OUT`);
    return;
  }
  console.log(`generate: manifest sha256 ${r.manifestSha256} (publish it; 'snapmix verify ${a.out} --manifest-sha256 …' proves a copy unedited)`);
}
