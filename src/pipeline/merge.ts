// `snapmix merge PART... --out OUT`: join the parts of a split generate (each wrote shards k ≡ i mod K of
// one request) into the output a single machine would have written: the same shard bytes, and a manifest
// built by the same function from the same shard stats, so every file is byte-identical.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { readPart, readRequest, releaseOf, shardName, writeOutputFiles, writeRequest, writeShardStats, type Manifest, type PartFile, type ReleaseInfo, type ShardStats } from '../shards/manifest.js';
import { writeFileAtomic, exists, fileSha256 } from '../util/fs.js';
import { STATE_DIR, withOutput } from '../util/outdir.js';
import { UserError } from '../util/errors.js';
import { agreementOf, checkCamCoverage, readCamCache, readCamMeta, writeCamCache, type CamMeta, type CamSet } from '../shards/cam-cache.js';
import { recordedFit } from '../image/decode.js';
import { requestDifferences } from '../util/differences.js';
import { fingerprintLine } from '../data/fingerprint.js';
import type { DatasetRecord } from '../data/types.js';
import type { Reject } from '../pool/tasks.js';

export interface MergeResult { manifest: Manifest; manifestSha256: string; parts: number }

/** Read and cross-check the parts: one request, every index 0..K−1 once, every shard present and intact. */
async function checkParts(dirs: string[]): Promise<{ parts: PartFile[]; stats: ShardStats[] }> {
  if (!dirs.length) throw new UserError('merge needs the part directories: snapmix merge PART... --out OUT');
  const parts = await Promise.all(dirs.map((d) => readPart(d)));
  const first = parts[0];
  parts.forEach((p, i) => {
    if (p.info.request !== first.info.request) {
      throw new UserError(`${dirs[i]} belongs to another request than ${dirs[0]} (${p.info.request.slice(0, 12)} ≠ ${first.info.request.slice(0, 12)}: other options, data or teacher); merge only parts of one generate command`);
    }
    if (p.part.of !== first.part.of) throw new UserError(`${dirs[i]} is part ${p.part.index} of ${p.part.of}, ${dirs[0]} part ${first.part.index} of ${first.part.of}`);
    // Same request, yet anything else recorded (card license or title, source list, rejects, shard count) must agree too.
    const diff = requestDifferences({ info: first.info, num_shards: first.num_shards } as never, { info: p.info, num_shards: p.num_shards } as never);
    if (diff.length) throw new UserError(`${dirs[i]} and ${dirs[0]} disagree on what they recorded (${diff.slice(0, 3).join('; ')}); rerun the parts with one command line`);
  });
  parts.forEach((p, i) => {
    if (!p.info.sources || p.info.formatVersion === undefined || p.shards.some((st) => !st.weights)) throw new UserError(`${dirs[i]} was written by an older snapmix (no source list or weight sums); rerun that part with this version`);
  });
  const K = first.part.of;
  partOrder(dirs, parts, 'generate');
  const byShard = new Map<string, { st: ShardStats; dir: string }>();
  parts.forEach((p, i) => p.shards.forEach((st) => byShard.set(st.filename, { st, dir: dirs[i] })));
  const stats: ShardStats[] = [];
  for (let k = 0; k < first.num_shards; k++) {
    const name = shardName(k, first.num_shards);
    const e = byShard.get(name);
    if (!e) throw new UserError(`no part holds ${name} (part ${k % K} of ${K} is incomplete): rerun that part`);
    const sha = await fileSha256(path.join(e.dir, name));
    if (!sha) throw new UserError(`${path.join(e.dir, name)} is missing: rerun part ${k % K}`);
    if (sha !== e.st.sha256) throw new UserError(`${path.join(e.dir, name)}: sha256 ${sha.slice(0, 12)}… does not match its part's record ${e.st.sha256.slice(0, 12)}…; the shard was changed or damaged: rerun part ${k % K}`);
    stats.push(e.st);
  }
  return { parts, stats };
}

const definedOnly = <T extends object>(o: T | undefined): Partial<T> => Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;

/** Part index → position in dirs; every index 0..K−1 exactly once, or an error naming what to run. */
function partOrder(dirs: string[], parts: { part: { index: number; of: number } }[], command: string): Map<number, number> {
  const K = parts[0].part.of;
  const order = new Map<number, number>();
  parts.forEach((p, i) => {
    if (order.has(p.part.index)) throw new UserError(`${dirs[i]} and ${dirs[order.get(p.part.index)!]} are both part ${p.part.index} of ${K}`);
    order.set(p.part.index, i);
  });
  const missing = Array.from({ length: K }, (_, i) => i).filter((i) => !order.has(i));
  if (missing.length) throw new UserError(`missing part(s) ${missing.join(', ')} of ${K}: run '${command} … --num-shards ${K} --shard-index ${missing[0]}' and pass its output too`);
  return order;
}

export async function merge(o: { parts: string[]; out: string; overwrite: boolean; release?: Partial<ReleaseInfo>; log?: (l: string) => void }): Promise<MergeResult> {
  const reads = o.parts.map((p) => ({ flag: 'PART', path: p }));
  return withOutput({ out: o.out, kind: 'shards', command: 'merge', reads, overwrite: o.overwrite }, async (out) => {
    const { parts, stats } = await checkParts(o.parts);
    // The card's license and title: from merge's flags, else as the parts recorded them.
    const info = { ...parts[0].info, release: releaseOf({ ...parts[0].info.release, ...definedOnly(o.release) }) };
    if (out.state === 'ours') {
      const prev = await readRequest(o.out);
      // No request recorded and no manifest: a merge killed before it wrote anything; redo it.
      const unfinished = prev === undefined && !(await exists(path.join(o.out, 'manifest.json')));
      if (prev !== info.request && !unfinished && !o.overwrite) throw new UserError(`--out ${o.out} holds another run; pass --overwrite to replace it or choose another directory`);
      await out.clear();
    }
    const dirOf = new Map<string, string>();
    parts.forEach((p, i) => p.shards.forEach((st) => dirOf.set(st.filename, o.parts[i])));
    await writeRequest(o.out, info.request, info.config);
    // CAMs a --teacher run computed are the same in every part: keep one copy, as a single run would.
    if (await exists(path.join(o.parts[0], 'cams', 'cams.json'))) await fs.cp(path.join(o.parts[0], 'cams'), path.join(o.out, 'cams'), { recursive: true });
    // Where the sources live: as the parts recorded it, but a CAM cache copied here is this output's own
    // (the parts may be deleted after the merge).
    const sources = await fs.readFile(path.join(o.parts[0], STATE_DIR, 'sources.json'), 'utf8').then((t) => JSON.parse(t) as { cams: string | null }, () => undefined);
    if (sources) {
      if (sources.cams && path.resolve(sources.cams) === path.resolve(o.parts[0], 'cams')) sources.cams = path.resolve(o.out, 'cams');
      await writeFileAtomic(path.join(o.out, STATE_DIR, 'sources.json'), JSON.stringify(sources, null, 2) + '\n');
    }
    for (const st of stats) {
      await fs.copyFile(path.join(dirOf.get(st.filename)!, st.filename), path.join(o.out, `${st.filename}.tmp-${process.pid}`));
      await fs.rename(path.join(o.out, `${st.filename}.tmp-${process.pid}`), path.join(o.out, st.filename));
      await writeShardStats(o.out, st);
      o.log?.(`merge: ${st.filename} from ${dirOf.get(st.filename)}`);
    }
    const { manifest, manifestSha256 } = await writeOutputFiles(o.out, info, stats);
    return { manifest, manifestSha256, parts: parts.length };
  });
}

export { shardIndexFrom } from '../util/array-job.js';

// ---- CAM caches: `cams --num-shards K --shard-index I` computes a contiguous slice of the records;
// merge concatenates the slices in order into the cache one machine would have written.

const CAMS_PART_FILE = 'cams-part.json';

interface CamsPartFile {
  format: 'snapmix-cams-part';
  version: 1;
  part: { index: number; of: number };
  /** Records of the whole split (every part must agree). */
  total_records: number;
  /** This slice's fingerprint lines (id, label, split, sha256), in record order. */
  lines: string[];
  /** What every part must agree on: the cache's metadata less what depends on the slice. */
  meta: Omit<CamMeta, 'dataset_fingerprint' | 'count' | 'rejected' | 'teacher_agreement'>;
}

/** The records part I of K covers: a contiguous slice, so concatenating parts restores record order. */
export function sliceOf(n: number, part: { index: number; of: number }): [number, number] {
  return [Math.floor((part.index * n) / part.of), Math.floor(((part.index + 1) * n) / part.of)];
}

export async function writeCamsPart(dir: string, part: { index: number; of: number }, totalRecords: number, records: DatasetRecord[], allSha: string[], meta: CamMeta): Promise<void> {
  const { dataset_fingerprint: _d, count: _c, rejected: _r, teacher_agreement: _a, ...rest } = meta;
  const p: CamsPartFile = { format: 'snapmix-cams-part', version: 1, part, total_records: totalRecords, lines: records.map((r, i) => fingerprintLine(r, allSha[i])), meta: rest };
  await fs.mkdir(path.join(dir, STATE_DIR), { recursive: true });
  await writeFileAtomic(path.join(dir, STATE_DIR, CAMS_PART_FILE), JSON.stringify(p) + '\n');
}

/** A part's record, read and checked for shape: a damaged one is named, never a stack trace. */
async function readCamsPart(dir: string): Promise<CamsPartFile> {
  const file = path.join(dir, STATE_DIR, CAMS_PART_FILE);
  const text = await fs.readFile(file, 'utf8').catch(() => undefined);
  if (!text || !(await exists(path.join(dir, 'cams.json')))) throw new UserError(`${dir} is not a finished part of a split 'snapmix cams'; rerun its 'cams … --num-shards K --shard-index I'`);
  let p: CamsPartFile;
  try {
    p = JSON.parse(text) as CamsPartFile;
  } catch (e) {
    throw new UserError(`${file} is not valid JSON (${(e as Error).message}); rerun that part`);
  }
  const ok = p && p.format === 'snapmix-cams-part' && p.version === 1 && Number.isInteger(p.part?.index) && Number.isInteger(p.part?.of) && p.part.of >= 1 &&
    p.part.index >= 0 && p.part.index < p.part.of && Number.isInteger(p.total_records) && Array.isArray(p.lines) && p.lines.every((l) => typeof l === 'string') && p.meta && typeof p.meta === 'object';
  if (!ok) throw new UserError(`${file} is not a valid snapmix CAM part record (format, part, total_records, lines, meta); rerun that part`);
  return p;
}

/** A part's cache holds exactly the records its part file lists (ids, labels, file hashes) and its recorded metadata. */
function checkPartContents(dir: string, p: CamsPartFile, c: { set: CamSet; meta: CamMeta; rejects: Reject[] }): void {
  const { dataset_fingerprint: _d, count: _c, rejected: _r, teacher_agreement: _a, ...meta } = c.meta;
  const diff = requestDifferences({ ...p.meta, fit: recordedFit(p.meta.fit) } as never, meta as never); // cams.json's fit is normalised at read
  if (diff.length) throw new UserError(`${dir}: its cams.json disagrees with its part record (${diff.slice(0, 3).join('; ')}); rerun that part`);
  const records = p.lines.map((l) => {
    const [id, label, split, sha] = l.replace(/\n$/, '').split('\t');
    return { id, label: Number(label), split, sha, path: '' } as DatasetRecord & { sha: string };
  });
  checkCamCoverage(`part ${dir}`, c.set, c.rejects, records);
  const shaOf = new Map(records.map((r) => [r.id, r.sha]));
  const changed = c.set.ids.filter((id, i) => c.set.sha256[i] !== shaOf.get(id));
  if (changed.length) throw new UserError(`part ${dir}: the CAMs of ${changed.length} image(s) (${changed.slice(0, 3).join(', ')}) were computed from other file bytes than its part record lists; rerun that part`);
}

export async function isCamsPart(dir: string): Promise<boolean> {
  return exists(path.join(dir, STATE_DIR, CAMS_PART_FILE));
}

export async function mergeCams(o: { parts: string[]; out: string; overwrite: boolean }): Promise<{ count: number; parts: number; fingerprint: string }> {
  const reads = o.parts.map((p) => ({ flag: 'PART', path: p }));
  return withOutput({ out: o.out, kind: 'cams', command: 'merge', reads, overwrite: o.overwrite }, async (out) => {
    const parts: CamsPartFile[] = [];
    for (const d of o.parts) parts.push(await readCamsPart(d));
    const f = parts[0];
    // A part whose every image was rejected has no CAM shape (h = w = 0): it agrees on everything else.
    const shapeless = (m: CamsPartFile['meta']) => JSON.stringify({ ...m, h: 0, w: 0 });
    const ref = parts.find((p) => p.meta.h > 0) ?? f;
    parts.forEach((p, i) => {
      const agrees = p.meta.h > 0 ? JSON.stringify(p.meta) === JSON.stringify(ref.meta) : shapeless(p.meta) === shapeless(ref.meta);
      if (!agrees || p.part.of !== f.part.of || p.total_records !== f.total_records) {
        throw new UserError(`${o.parts[i]} belongs to another CAM request than ${o.parts[0]} (teacher, classes, split, --fit or part count differ); merge only parts of one cams command`);
      }
    });
    const order = partOrder(o.parts, parts, 'cams');
    const sets: CamSet[] = [];
    const rejects: Reject[] = [];
    const lines: string[] = [];
    for (let k = 0; k < f.part.of; k++) {
      const i = order.get(k)!;
      const c = await readCamCache(o.parts[i], { part: true });
      checkPartContents(o.parts[i], parts[i], c);
      sets.push(c.set);
      rejects.push(...c.rejects);
      lines.push(...parts[i].lines);
    }
    if (lines.length !== f.total_records) throw new UserError(`the parts cover ${lines.length} of ${f.total_records} records; a part is incomplete`);
    const h = createHash('sha256');
    h.update(JSON.stringify(f.meta.class_names));
    for (const l of lines) h.update(l);
    const set = concatCamSets(sets);
    const rejected: Record<string, number> = {};
    for (const r of rejects) rejected[r.reason] = (rejected[r.reason] ?? 0) + 1;
    const g = ref.meta;
    const meta: CamMeta = { format: g.format, version: g.version, teacher_fingerprint: g.teacher_fingerprint, dataset_fingerprint: h.digest('hex'), class_names: g.class_names, split: g.split, teacher_input_size: g.teacher_input_size, ...(g.fit ? { fit: g.fit } : {}), h: g.h, w: g.w, count: set.ids.length, rejected,
      // Recomputed over the whole set in record order, as one pass computes it: the merged bytes are one pass's.
      ...(g.cam_backend ? { teacher_agreement: agreementOf(set, g.class_names.length), cam_backend: g.cam_backend } : {}) };
    if (out.state === 'ours' && (await exists(path.join(o.out, 'cams.json')))) {
      // A finished cache here: replaced only by the same CAMs, or with --overwrite (hours of teacher time).
      const prev = await readCamMeta(o.out).catch(() => undefined);
      const same = prev && prev.teacher_fingerprint === meta.teacher_fingerprint && prev.dataset_fingerprint === meta.dataset_fingerprint && prev.split === meta.split && prev.fit === recordedFit(meta.fit);
      if (!same && !o.overwrite) {
        throw new UserError(`--out ${o.out} already holds a CAM cache of other data, another teacher or another --fit; nothing was written. Pass --overwrite to replace it, or choose another directory`);
      }
    }
    if (out.state === 'ours') await out.clear();
    await writeCamCache(o.out, set, meta, rejects);
    return { count: set.ids.length, parts: parts.length, fingerprint: meta.dataset_fingerprint };
  });
}

function concatCamSets(sets: CamSet[]): CamSet {
  const h = sets.find((s) => s.ids.length)?.h ?? sets[0].h;
  const w = sets.find((s) => s.ids.length)?.w ?? sets[0].w;
  const n = sets.reduce((a, s) => a + s.ids.length, 0);
  const cams = new Float32Array(n * h * w);
  let off = 0;
  for (const s of sets) {
    cams.set(s.cams, off);
    off += s.cams.length;
  }
  return {
    ids: sets.flatMap((s) => s.ids), labels: Int32Array.from(sets.flatMap((s) => Array.from(s.labels))), cams, h, w,
    prob: Float32Array.from(sets.flatMap((s) => Array.from(s.prob))), pred: Int32Array.from(sets.flatMap((s) => Array.from(s.pred))), sha256: sets.flatMap((s) => s.sha256),
  };
}
