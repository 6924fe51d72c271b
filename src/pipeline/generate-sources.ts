// generate's sources: each record read, hashed and decoded once into the source cache (in the pool), the
// CAMs resolved (a --cams cache, OUT/cams of an interrupted run, or a teacher pass), and every check on
// them made, before anything in OUT is touched.
import path from 'node:path';
import type { Piscina } from 'piscina';
import { datasetFingerprint } from '../data/fingerprint.js';
import type { DatasetRecord } from '../data/types.js';
import { rejectText, type Reject } from '../data/reject.js';
import { agreementText, checkAgreement, checkCamCoverage, checkCamFit, readCamCache, readCamMeta, type CamMeta, type CamSet } from '../shards/cam-cache.js';
import type { TeacherAgreement } from '../shards/manifest-types.js';
import { GENERATE_DEFAULTS, requestHash } from '../shards/config.js';
import type { DecodeSourcesResult, DecodeSourcesTask } from '../pool/tasks.js';
import type { SourceCacheRef } from '../image/source-cache.js';
import type { Fit } from '../image/decode.js';
import { exists } from '../util/fs.js';
import { StrictError, UserError } from '../util/errors.js';
import { extractCams } from './cams.js';
import type { GenerateOptions, Resolved } from './generate-options.js';

interface ResolvedCams {
  set: CamSet; teacherFp: string; rejects: Reject[];
  /** Set when the CAMs were computed by this run (to be written into OUT/cams). */
  meta?: CamMeta;
  /** What the CAM pass recorded (absent for caches of earlier versions): for the manifest. */
  agreement?: TeacherAgreement; camBackend?: string;
}

/** CAMs for snapmix: from --cams (checked), from OUT/cams of an interrupted run, or computed now (meta set: to be written). */
async function resolveCams(o: Resolved, allSha: string[], reuseOut: boolean): Promise<ResolvedCams | undefined> {
  if (o.config.method !== 'snapmix') return undefined;
  const dsFp = datasetFingerprint(o.dataset.classNames, o.records, allSha);
  if (o.cams) {
    const { set, meta, rejects } = await readCamCache(o.cams);
    if (meta.dataset_fingerprint !== dsFp) {
      throw new UserError(`--cams ${o.cams} was computed for another dataset (or the images changed since): fingerprint ${meta.dataset_fingerprint.slice(0, 12)} ≠ ${dsFp.slice(0, 12)}; recompute it with 'snapmix cams'`);
    }
    checkCamCoverage(`--cams ${o.cams}`, set, rejects, o.records);
    checkCamFit(`--cams ${o.cams}`, meta, o.config.fit);
    if (meta.teacher_agreement) o.log?.(`generate: the CAMs' teacher against the labels: ${agreementText(meta.teacher_agreement)}`);
    checkAgreement(`the teacher of --cams ${o.cams}`, meta.teacher_agreement, meta.count, !!o.allowWeakTeacher);
    if (o.teacher) {
      const { fingerprint } = o.teacher;
      if (fingerprint !== meta.teacher_fingerprint) {
        throw new UserError(`--cams ${o.cams} was computed by another teacher than ${o.teacher.path} (fingerprint ${meta.teacher_fingerprint.slice(0, 12)} ≠ ${fingerprint.slice(0, 12)}); drop --cams to recompute`);
      }
    }
    return { set, teacherFp: meta.teacher_fingerprint, rejects, agreement: meta.teacher_agreement, camBackend: meta.cam_backend };
  }
  if (!o.teacher) throw new UserError('snapmix needs CAMs: pass --teacher MODEL_DIR or --cams CAMS_DIR');
  // Reuse OUT/cams from an interrupted run of the same teacher and data.
  const cached = path.join(o.out, 'cams');
  if (reuseOut && (await exists(path.join(cached, 'cams.json')))) {
    const c = await readCamCache(cached);
    const { fingerprint } = o.teacher;
    checkCamCoverage(cached, c.set, c.rejects, o.records);
    if (c.meta.dataset_fingerprint === dsFp && c.meta.teacher_fingerprint === fingerprint && c.meta.fit === o.config.fit) {
      o.log?.(`generate: reusing CAMs in ${cached}`);
      return { set: c.set, teacherFp: fingerprint, rejects: c.rejects, agreement: c.meta.teacher_agreement, camBackend: c.meta.cam_backend };
    }
  }
  o.log?.('generate: computing CAMs with the teacher');
  const r = await extractCams({
    dataset: o.dataset, records: o.records, split: 'train', teacher: o.teacher, workers: o.workers,
    batchSize: o.camBatch, strict: o.strict, fit: o.config.fit, allowWeakTeacher: o.allowWeakTeacher,
    onProgress: (d, t) => o.onProgress?.('cams', d, t),
  });
  if (r.meta.teacher_agreement) o.log?.(`generate: the teacher against the labels: ${agreementText(r.meta.teacher_agreement)}`);
  return { set: r.set, teacherFp: r.meta.teacher_fingerprint, rejects: r.rejects, meta: r.meta, agreement: r.meta.teacher_agreement, camBackend: r.meta.cam_backend };
}

/**
 * --fit absent: follow the CAMs snapmix will use (the --cams cache's, else the teacher's recorded fit), so
 * views and CAMs agree; undefined leaves the resolver's default.
 */
export async function camsFit(o: GenerateOptions): Promise<Fit | undefined> {
  if ((o.config.method ?? GENERATE_DEFAULTS.method) !== 'snapmix') return undefined;
  if (o.cams) return (await readCamMeta(o.cams)).fit;
  return o.teacher?.fit;
}

/** The source-cache pass: every record read once, hashed and decoded into its slot, in the pool. */
async function fillSourceCache(pool: Piscina, cache: SourceCacheRef, o: Resolved): Promise<{ sha256: string[]; rejects: (Reject | null)[] }> {
  const sha256: string[] = new Array(o.records.length);
  const rejects: (Reject | null)[] = new Array(o.records.length);
  let done = 0;
  const tasks: Promise<void>[] = [];
  for (let s = 0; s < o.records.length; s += 8) {
    const items = o.records.slice(s, s + 8).map((r, k) => ({ slot: s + k, id: r.id, path: r.path }));
    const task: DecodeSourcesTask = { cache, fit: o.config.fit, items };
    tasks.push(pool.run(task, { name: 'decodeSources' }).then((r: DecodeSourcesResult) => {
      r.sha256.forEach((h, k) => (sha256[s + k] = h));
      r.rejects.forEach((x, k) => (rejects[s + k] = x));
      done += items.length;
      o.onProgress?.('sources', done, o.records.length);
    }));
  }
  await Promise.all(tasks);
  return { sha256, rejects };
}

/** The sources of a run and what identifies it: the mixing order, CAMs, rejects, fingerprint and request. */
export interface Sources {
  /** Every record's sha256 ('' where unreadable), in record order. */
  allSha: string[];
  /** Per record: why its decode failed, or null. */
  decodeRejects: (Reject | null)[];
  cams?: ResolvedCams;
  camRow: Map<string, number>;
  /** Record index (and cache slot) of each source, and the sources themselves (records the CAM pass kept). */
  slots: number[];
  records: DatasetRecord[];
  /** Rejected by the CAM pass (recorded in the manifest). */
  rejects: Reject[];
  datasetFingerprint: string;
  request: string;
}

/** Fill the source cache, resolve the CAMs, and run every check that needs them. Writes nothing. */
export async function prepareSources(o: Resolved, pool: Piscina, cache: SourceCacheRef, reuseOut: boolean): Promise<Sources> {
  const cfg = o.config;
  // One read per source: hash (the dataset fingerprint) and decode into the cache, in the pool.
  const { sha256: allSha, rejects: decodeRejects } = await fillSourceCache(pool, cache, o);
  const cams = await resolveCams(o, allSha, reuseOut);
  // Sources: every training record, less those the CAM pass rejected (snapmix needs their CAMs).
  const camRow = new Map<string, number>();
  cams?.set.ids.forEach((id, i) => camRow.set(id, i));
  const slots = o.records.map((_, i) => i).filter((i) => !cams || camRow.has(o.records[i].id));
  const records = slots.map((i) => o.records[i]);
  if (records.length < 2 && cfg.method !== 'none') throw new UserError(`mixing needs at least 2 readable source images, found ${records.length}`);
  if (o.strict) {
    const bad = slots.map((i) => decodeRejects[i]).find((r) => r);
    if (bad) throw new StrictError(`--strict: ${rejectText(bad)}; fix or remove it, or drop --strict`);
  }
  if (cfg.partner === 'other-class' && new Set(records.map((r) => r.label)).size < 2 && cfg.method !== 'none') {
    throw new UserError('--partner other-class needs sources of at least 2 classes; nothing was written');
  }
  const dsFp = datasetFingerprint(o.dataset.classNames, o.records, allSha);
  return { allSha, decodeRejects, cams, camRow, slots, records, rejects: cams ? cams.rejects : [], datasetFingerprint: dsFp, request: requestHash(cfg, dsFp, cams?.teacherFp ?? null, o.formatVersion) };
}
