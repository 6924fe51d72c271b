// The CAM cache (docs/ARCHITECTURE.md): one raw CAM per source image per teacher, reused by every round.
// cams.arrow (Arrow IPC stream) + cams.json (fingerprints, shape) + rejects.jsonl.
import type { TeacherAgreement } from './manifest-types.js';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { Field } from 'apache-arrow';
import { fieldOf, fixedListData, float32Data, int32Data, int64Data, utf8Data } from './arrow-build.js';
import { readTable, recordBatch, streamBytes } from './ipc.js';
import { UserError } from '../util/errors.js';
import { writeFileAtomic } from '../util/fs.js';
import { rejectRecord, type Reject } from '../data/reject.js';
import { recordedFit, type Fit } from '../image/decode.js';
import type { DatasetRecord } from '../data/types.js';
import { partNotice } from './manifest.js';

export const CAM_CACHE_VERSION = 1;

export interface CamSet {
  ids: string[];
  labels: Int32Array;
  /** n × h·w raw CAMs of the true class, row-major. */
  cams: Float32Array;
  h: number;
  w: number;
  prob: Float32Array;
  pred: Int32Array;
  sha256: string[];
}

export interface CamMeta {
  format: 'snapmix-cams';
  version: number;
  teacher_fingerprint: string;
  dataset_fingerprint: string;
  class_names: string[];
  split: string;
  teacher_input_size: number;
  /** How sources were fitted to the teacher's input; absent in caches made before --fit ('cover'). */
  fit?: Fit;
  h: number;
  w: number;
  count: number;
  rejected: Record<string, number>;
  /** How often the teacher's top-1 is the dataset's label on these images (absent in caches of earlier versions). */
  teacher_agreement?: TeacherAgreement;
  /** What computed the CAM values, which decide the shards' bytes: 'tfjs-wasm', 'onnxruntime-cpu', … (absent in earlier caches). */
  cam_backend?: string;
}

/** Agreement of a pass's predictions with the labels (over the images that have a CAM, in cache order). */
export function agreementOf(set: Pick<CamSet, 'labels' | 'pred' | 'prob'>, numClasses: number): TeacherAgreement {
  const n = set.labels.length;
  let hits = 0;
  let p = 0;
  for (let i = 0; i < n; i++) {
    if (set.pred[i] === set.labels[i]) hits++;
    p += set.prob[i];
  }
  return { top1: n ? hits / n : 0, mean_p_true: n ? p / n : 0, chance: 1 / numClasses };
}

const pct = (v: number) => `${(v * 100).toFixed(1)}%`;

/** One line for the console and the card. */
export const agreementText = (a: TeacherAgreement) => `top-1 ${pct(a.top1)} (chance ${pct(a.chance)}), mean p(label) ${a.mean_p_true.toFixed(3)}`;

/** Near chance: less than 10 points above what guessing scores. Such CAMs are of the wrong classes, or of nothing. */
const isWeak = (a: TeacherAgreement) => a.top1 < a.chance + 0.1;

/**
 * Refuse CAMs of a teacher that does not agree with the dataset's labels (exit 2, nothing written) unless
 * the user says so: every CAM would be of the wrong class, and the shards' labels with it.
 */
export function checkAgreement(what: string, a: TeacherAgreement | undefined, n: number, allowWeak: boolean): void {
  if (!a || !n || allowWeak || !isWeak(a)) return;
  throw new UserError(
    `${what} agrees with the dataset's labels on ${pct(a.top1)} of ${n} images (chance ${pct(a.chance)}; mean p(label) ${a.mean_p_true.toFixed(3)}): ` +
      "its CAMs would be of the wrong classes. Likely causes: the class order (the teacher's output k must be the dataset's class k: " +
      'ImageFolder sorts folder names, CUB numbers them by classes.txt), the preprocessing (input size, mean/std, channel order: see the teacher line above), or --fit. ' +
      'Nothing was written; fix the cause, or pass --allow-weak-teacher to use this teacher anyway',
  );
}

export function camOf(set: CamSet, row: number): { data: Float32Array; h: number; w: number } {
  const n = set.h * set.w;
  return { data: set.cams.subarray(row * n, (row + 1) * n), h: set.h, w: set.w };
}

/**
 * Write the cache into dir (created if needed; the caller owns and locks it): each file atomically,
 * cams.json last as the commit marker, so a killed write is never read as a finished cache.
 */
export async function writeCamCache(dir: string, set: CamSet, meta: CamMeta, rejects: Reject[]): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  await fs.rm(path.join(dir, 'cams.json'), { force: true });
  const cols = {
    id: utf8Data(set.ids),
    label: int64Data(set.labels),
    h: int32Data(new Int32Array(set.ids.length).fill(set.h)),
    w: int32Data(new Int32Array(set.ids.length).fill(set.w)),
    cam: fixedListData(float32Data(set.cams), set.h * set.w),
    sha256: utf8Data(set.sha256),
    teacher_prob: float32Data(set.prob),
    teacher_pred: int64Data(set.pred),
  };
  const fields: Field[] = Object.entries(cols).map(([k, d]) => fieldOf(k, d));
  const batch = recordBatch(fields, Object.values(cols), new Map([['snapmix_cams', JSON.stringify(meta)]]));
  await writeFileAtomic(path.join(dir, 'cams.arrow'), streamBytes([batch]));
  await writeFileAtomic(path.join(dir, 'rejects.jsonl'), rejects.map((r) => JSON.stringify(rejectRecord(r)) + '\n').join(''));
  await writeFileAtomic(path.join(dir, 'cams.json'), JSON.stringify(meta, null, 2) + '\n');
}

/** A cams.json as read: the fit is always set (a cache made before --fit was made with 'cover'). */
export type ReadCamMeta = CamMeta & { fit: Fit };

/** cams.json alone (the commit marker), checked for format and version; the fit normalised here, once. */
export async function readCamMeta(dir: string): Promise<ReadCamMeta> {
  let meta: CamMeta;
  try {
    meta = JSON.parse(await fs.readFile(path.join(dir, 'cams.json'), 'utf8'));
  } catch {
    throw new UserError(`--cams ${dir} is not a CAM cache (no readable cams.json); make one with 'snapmix cams'`);
  }
  if (meta.format !== 'snapmix-cams' || meta.version !== CAM_CACHE_VERSION) {
    throw new UserError(`--cams ${dir}: format ${meta.format} v${meta.version} is not snapmix-cams v${CAM_CACHE_VERSION}; recompute it with 'snapmix cams'`);
  }
  return { ...meta, fit: recordedFit(meta.fit) };
}

export async function readCamCache(dir: string, opts: { part?: boolean } = {}): Promise<{ set: CamSet; meta: ReadCamMeta; rejects: Reject[] }> {
  const meta = await readCamMeta(dir);
  if (!opts.part) {
    const part = await partNotice(dir);
    if (part) throw new UserError(`--cams ${part}`);
  }
  const t = await readTable(path.join(dir, 'cams.arrow')).catch((e: Error) => {
    throw new UserError(`--cams ${dir}/cams.arrow cannot be read (${e.message}); the cache is incomplete or corrupt: recompute it with 'snapmix cams'`);
  });
  const n = t.numRows;
  if (n !== meta.count) throw new UserError(`--cams ${dir}: cams.arrow holds ${n} rows, cams.json says ${meta.count}; recompute it with 'snapmix cams'`);
  const camCol = t.getChild('cam');
  const listSize = (camCol?.type as { listSize?: number } | undefined)?.listSize;
  if (!camCol || listSize !== meta.h * meta.w || !(meta.h >= 0 && meta.w >= 0)) {
    // cams.json's shape decides how every map is read: one that disagrees with the data is refused, not trusted.
    throw new UserError(`--cams ${dir}: cams.json says ${meta.h}×${meta.w} CAMs but cams.arrow holds ${listSize ?? 'no'} values per CAM; the cache is damaged: recompute it with 'snapmix cams'`);
  }
  const cams = new Float32Array(n * meta.h * meta.w);
  let off = 0;
  for (const d of camCol.data) {
    const child = d.children[0].values as Float32Array;
    const start = d.children[0].offset;
    cams.set(child.subarray(start, start + d.length * meta.h * meta.w), off);
    off += d.length * meta.h * meta.w;
  }
  const ids = Array.from(t.getChild('id')!.toArray() as string[]);
  const set: CamSet = {
    ids,
    labels: Int32Array.from(Array.from(t.getChild('label')!.toArray() as BigInt64Array, Number)),
    cams,
    h: meta.h,
    w: meta.w,
    prob: Float32Array.from(t.getChild('teacher_prob')!.toArray() as Float32Array),
    pred: Int32Array.from(Array.from(t.getChild('teacher_pred')!.toArray() as BigInt64Array, Number)),
    sha256: Array.from(t.getChild('sha256')!.toArray() as string[]),
  };
  const rejectsFile = path.join(dir, 'rejects.jsonl');
  const rj = await fs.readFile(rejectsFile, 'utf8').catch(() => {
    throw new UserError(`--cams ${dir} has no rejects.jsonl: the cache is incomplete (it cannot show that every source has a CAM or a reason); recompute it with 'snapmix cams'`);
  });
  const rejects = rj.split('\n').filter(Boolean).map((l, i) => {
    try {
      return JSON.parse(l) as Reject;
    } catch {
      throw new UserError(`${rejectsFile} line ${i + 1} is not JSON: the cache is damaged; recompute it with 'snapmix cams'`);
    }
  });
  return { set, meta, rejects };
}

/** CAMs and views must fit sources to the square the same way, or the maps do not sit on the pixels. */
export function checkCamFit(what: string, meta: ReadCamMeta, views: Fit): void {
  const cams = meta.fit;
  if (cams !== views) {
    throw new UserError(`${what} was computed with --fit ${cams} but this run uses --fit ${views}: CAMs and views must fit the sources the same way. Pass --fit ${cams}, or recompute the CAMs with 'snapmix cams --fit ${views}'`);
  }
}

/**
 * A cache must prove it covers the records it is used for: every record has exactly one CAM (of its
 * own label) or one reject, and nothing else is in it. The fingerprint alone does not prove this: a merge
 * of mismatched parts once dropped a whole class with "0 rejected".
 */
export function checkCamCoverage(what: string, set: CamSet, rejects: Reject[], records: DatasetRecord[]): void {
  const want = new Map(records.map((r) => [r.id, r.label]));
  const seen = new Set<string>();
  const problems: string[] = [];
  set.ids.forEach((id, i) => {
    if (!want.has(id)) problems.push(`a CAM for ${id}, which is not among the records`);
    else if (want.get(id) !== set.labels[i]) problems.push(`${id}'s CAM is of class ${set.labels[i]}, the record's label is ${want.get(id)}`);
    if (seen.has(id)) problems.push(`${id} has two entries`);
    seen.add(id);
  });
  for (const r of rejects) {
    if (!want.has(r.id)) problems.push(`a reject for ${r.id}, which is not among the records`);
    if (seen.has(r.id)) problems.push(`${r.id} is both a CAM and a reject, or rejected twice`);
    seen.add(r.id);
  }
  const missing = records.filter((r) => !seen.has(r.id));
  if (missing.length) problems.unshift(`${missing.length} of ${records.length} records have neither a CAM nor a reject (${missing.slice(0, 3).map((r) => r.id).join(', ')}${missing.length > 3 ? ', …' : ''})`);
  if (problems.length) {
    throw new UserError(`${what} does not cover its dataset: ${problems.slice(0, 4).join('; ')}${problems.length > 4 ? `; and ${problems.length - 4} more` : ''}. It is incomplete or mixed; recompute it with 'snapmix cams' (or merge the parts of one split run)`);
  }
}
