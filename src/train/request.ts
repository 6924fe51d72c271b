// Which training run a model directory belongs to (OUT/.snapmix/train-request.json), so that --resume
// continues only the run this same command started and never turns a teacher, a --init backbone or
// another run's model into this one. The record holds content identities (manifest and weight hashes,
// dataset ids), never machine paths.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { UserError } from '../util/errors.js';
import { requestDifferences, type Json } from '../util/differences.js';
import { writeFileAtomic } from '../util/fs.js';
import { STATE_DIR, type OutState } from '../util/outdir.js';
import type { DatasetRecord } from '../data/types.js';

const TRAIN_REQUEST_FILE = 'train-request.json';
export type TrainRequest = { [k: string]: Json };

const sha = (b: Uint8Array | string) => createHash('sha256').update(b).digest('hex');

/** A shard directory's identity: its manifest (every shard's sha256 is in it), or HF's own state files. */
export async function shardSetIdentity(dir: string): Promise<string> {
  const read = (f: string) => fs.readFile(path.join(dir, f)).catch(() => Buffer.alloc(0));
  const manifest = await read('manifest.json');
  if (manifest.length) return `manifest:${sha(manifest)}`;
  return `hf:${sha(Buffer.concat([await read('state.json'), await read('dataset_info.json')]))}`;
}

/** A model's identity: model.json and every weight file it names (a directory or an .onnx file). */
export async function modelIdentity(p: string): Promise<string> {
  const st = await fs.stat(p).catch(() => undefined);
  if (!st) return 'missing';
  if (!st.isDirectory()) return sha(await fs.readFile(p));
  const json = await fs.readFile(path.join(p, 'model.json')).catch(() => undefined);
  if (!json) return 'missing';
  const h = createHash('sha256').update(json);
  try {
    const m = JSON.parse(json.toString('utf8')) as { weightsManifest?: { paths: string[] }[] };
    for (const g of m.weightsManifest ?? []) for (const f of g.paths) h.update(await fs.readFile(path.join(p, f)).catch(() => Buffer.alloc(0)));
  } catch { /* not JSON: model.json's bytes identify it */ }
  return h.digest('hex');
}

/** Validation data's identity: classes and the ids and labels of its records (not the file bytes: cheap). */
export function recordsIdentity(classNames: string[], records: DatasetRecord[]): string {
  const h = createHash('sha256').update(JSON.stringify(classNames));
  for (const r of records) h.update(`${r.id}\t${r.label}\n`);
  return h.digest('hex');
}

async function readRecorded(out: string): Promise<TrainRequest | undefined> {
  const file = path.join(out, STATE_DIR, TRAIN_REQUEST_FILE);
  const text = await fs.readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as TrainRequest;
  } catch {
    throw new UserError(`${file} is not valid JSON: this model directory's training record is damaged; choose another --out`);
  }
}

/**
 * Decide, reading only, whether this run may write into --out: a new or empty directory starts fresh;
 * one holding a model continues only with --resume and only when its recorded request equals this
 * one. Returns whether to continue (the caller then loads the checkpoint, if one was finished).
 */
export async function checkTrainOutput(out: string, state: OutState, request: TrainRequest, resume: boolean): Promise<'fresh' | 'continue'> {
  if (state !== 'ours') return 'fresh';
  const recorded = await readRecorded(out);
  const entries = await fs.readdir(out).catch(() => [] as string[]);
  const holdsModel = entries.includes('model.json') || entries.includes('checkpoint');
  if (!recorded) {
    if (!holdsModel) return 'fresh'; // only our marker: a run killed before it recorded anything
    throw new UserError(
      `--out ${out} holds a model that this training command did not write (a teacher, a --init backbone, or a model from an older snapmix); ` +
        'training never writes over it, with or without --resume. Nothing was written; choose a new --out directory',
    );
  }
  if (recorded.mode !== request.mode) {
    throw new UserError(
      `--out ${out} holds a ${recorded.mode} model, and this is ${request.mode} training: this command did not write it, and training never writes over it, ` +
        'with or without --resume. Nothing was written; choose a new --out directory',
    );
  }
  const diff = requestDifferences(recorded, request);
  if (diff.length) {
    throw new UserError(
      `--out ${out} holds a model of another training request (${diff.slice(0, 6).join('; ')}${diff.length > 6 ? `; and ${diff.length - 6} more` : ''}); ` +
        `${resume ? '--resume continues only the same command. ' : ''}Nothing was written; rerun the original command, or choose a new --out directory`,
    );
  }
  if (!holdsModel) return resume ? 'continue' : 'fresh'; // killed before its first epoch: start again
  if (!resume) throw new UserError(`--out ${out} already holds a model; pass --resume to continue it (this same request wrote it), or choose a new --out directory`);
  return 'continue';
}

/** Record the request before anything else is written into the model directory. */
export async function writeTrainRequest(out: string, request: TrainRequest): Promise<void> {
  await fs.mkdir(path.join(out, STATE_DIR), { recursive: true });
  await writeFileAtomic(path.join(out, STATE_DIR, TRAIN_REQUEST_FILE), JSON.stringify(request, null, 2) + '\n');
}
