// `snapmix generate`: plan (main, seeded) → compose (piscina pool) → shard writer (main, in index
// order) → manifest + HF files. Each finished shard leaves a stats file (the commit marker), so a
// rerun of the same request resumes where the last one stopped.
import path from 'node:path';
import type { Dataset, DatasetRecord } from '../data/types.js';
import { datasetFingerprint } from '../data/fingerprint.js';
import { initBackend, type BackendInfo } from '../model/backend.js';
import { describeTeacher, teacherFit } from '../model/teacher.js';
import type { OrtProvider } from '../model/onnx-teacher.js';
import { checkCamCoverage, camOf, checkCamFit, readCamCache, readCamMeta, writeCamCache, type CamMeta, type CamSet } from '../shards/cam-cache.js';
import { extractCams } from './cams.js';
import { planner, type SamplePlan } from '../mix/plan.js';
import { GENERATE_DEFAULTS, planConfigOf, requestHash, resolveGenerateConfig, type GenerateConfig, type GenerateConfigInput } from '../shards/config.js';
import { makePool } from '../pool/pools.js';
import type { ComposedRow, ComposeSource, ComposeTask, DecodeSourcesResult, DecodeSourcesTask, Reject } from '../pool/tasks.js';
import type { Piscina } from 'piscina';
import { createSourceCache, defaultCacheMem, disposeSourceCache, slotBytes, type SourceCacheRef } from '../image/source-cache.js';
import { recordedFit, type Fit } from '../image/decode.js';
import { hfFeatures, SHARD_FORMAT_VERSION, shardColumns, type ShardRow } from '../shards/schema.js';
import { buildManifest, readRequest, releaseOf, readShardStats, shardName, writeOutputFiles, writePart, writeRequest, writeShardStats, type Manifest, type ReleaseInfo, type RunInfo, type ShardStats } from '../shards/manifest.js';
import { addRow, type WeightSums } from '../shards/summary.js';
import { recordBatch, streamBytes } from '../shards/ipc.js';
import { exists, fileSha256, writeFileAtomic } from '../util/fs.js';
import { collectEvery } from '../util/gc.js';
import { StrictError, UserError } from '../util/errors.js';
import { STATE_DIR, withOutput, type Output } from '../util/outdir.js';
import { rejectRecord, rejectText } from '../data/reject.js';

export type { GenerateConfig } from '../shards/config.js';

export interface GenerateOptions {
  /** Resolved by resolveGenerateConfig: defaults, schema check, canonical key order. */
  config: GenerateConfigInput;
  dataset: Dataset;
  records: DatasetRecord[];
  teacher?: string;
  cams?: string;
  out: string;
  /** The compute for a teacher pass (--teacher without --cams); started by the caller, wasm when absent. */
  backend?: BackendInfo;
  /** Worker threads of the compose pool (default 2) and of the CAM pass (default by teacher kind, see extractCams). */
  workers?: number;
  camBatch: number;
  strict: boolean;
  overwrite: boolean;
  /** Bytes of decoded sources kept in memory; past it they spill to a file in OUT (default: defaultCacheMem()). */
  cacheMem?: number;
  /** Write only shards k ≡ index (mod of), and a part file instead of the manifest (merge joins parts). */
  part?: { index: number; of: number };
  /** License and title for the dataset card (OUT/README.md); not part of the request. */
  release?: Partial<ReleaseInfo>;
  /** Accept an output with 0 written rows (otherwise an error once the manifest is written). */
  allowEmpty?: boolean;
  featureLayer?: string;
  classifierLayer?: string;
  /** ONNX teachers: head overrides, sidecar, execution provider. */
  featureTensor?: string;
  classifierNode?: string;
  teacherConfig?: string;
  provider?: OrtProvider;
  log?: (line: string) => void;
  onProgress?: (stage: string, done: number, total: number) => void;
  /** Further inputs the output may not equal, contain or sit inside (reproduce: the release). */
  alsoReads?: { flag: string; path: string }[];
}

export type { Manifest, ShardEntry, SkippedSample } from '../shards/manifest.js';

export { shardName } from '../shards/manifest.js';

interface ResolvedCams { set: CamSet; teacherFp: string; rejects: Reject[]; meta?: CamMeta }

/** CAMs for snapmix: from --cams (checked), from OUT/cams of an interrupted run, or computed now (meta set: to be written). */
async function resolveCams(o: GenerateOptions, allSha: string[], reuseOut: boolean): Promise<ResolvedCams | undefined> {
  if (o.config.method !== 'snapmix') return undefined;
  const dsFp = datasetFingerprint(o.dataset.classNames, o.records, allSha);
  if (o.cams) {
    const { set, meta, rejects } = await readCamCache(o.cams);
    if (meta.dataset_fingerprint !== dsFp) {
      throw new UserError(`--cams ${o.cams} was computed for another dataset (or the images changed since): fingerprint ${meta.dataset_fingerprint.slice(0, 12)} ≠ ${dsFp.slice(0, 12)}; recompute it with 'snapmix cams'`);
    }
    checkCamCoverage(`--cams ${o.cams}`, set, rejects, o.records);
    checkCamFit(`--cams ${o.cams}`, meta, o.config.fit);
    if (o.teacher) {
      const { fingerprint } = await describeTeacher(o.teacher, o);
      if (fingerprint !== meta.teacher_fingerprint) {
        throw new UserError(`--cams ${o.cams} was computed by another teacher than ${o.teacher} (fingerprint ${meta.teacher_fingerprint.slice(0, 12)} ≠ ${fingerprint.slice(0, 12)}); drop --cams to recompute`);
      }
    }
    return { set, teacherFp: meta.teacher_fingerprint, rejects };
  }
  if (!o.teacher) throw new UserError('snapmix needs CAMs: pass --teacher MODEL_DIR or --cams CAMS_DIR');
  // Reuse OUT/cams from an interrupted run of the same teacher and data.
  const cached = path.join(o.out, 'cams');
  if (reuseOut && (await exists(path.join(cached, 'cams.json')))) {
    const c = await readCamCache(cached);
    const { fingerprint } = await describeTeacher(o.teacher, o);
    checkCamCoverage(cached, c.set, c.rejects, o.records);
    if (c.meta.dataset_fingerprint === dsFp && c.meta.teacher_fingerprint === fingerprint && recordedFit(c.meta.fit) === recordedFit(o.config.fit)) {
      o.log?.(`generate: reusing CAMs in ${cached}`);
      return { set: c.set, teacherFp: fingerprint, rejects: c.rejects };
    }
  }
  o.log?.('generate: computing CAMs with the teacher');
  const r = await extractCams({
    dataset: o.dataset, records: o.records, split: 'train', teacher: o.teacher, backend: o.backend ?? (await initBackend('wasm')), workers: o.workers,
    batchSize: o.camBatch, strict: o.strict, featureLayer: o.featureLayer, classifierLayer: o.classifierLayer,
    featureTensor: o.featureTensor, classifierNode: o.classifierNode, teacherConfig: o.teacherConfig, provider: o.provider, fit: recordedFit(o.config.fit),
    onProgress: (d, t) => o.onProgress?.('cams', d, t),
  });
  return { set: r.set, teacherFp: r.meta.teacher_fingerprint, rejects: r.rejects, meta: r.meta };
}

/**
 * --fit absent: follow the CAMs snapmix will use (the --cams cache's, else the teacher's recorded fit), so
 * views and CAMs agree; undefined leaves the resolver's default.
 */
async function camsFit(o: GenerateOptions): Promise<Fit | undefined> {
  if ((o.config.method ?? GENERATE_DEFAULTS.method) !== 'snapmix') return undefined;
  if (o.cams) return recordedFit((await readCamMeta(o.cams)).fit);
  return o.teacher ? teacherFit(o.teacher, o) : undefined;
}

export { planConfigOf } from '../shards/config.js';


export interface GenerateResult {
  manifest: Manifest;
  manifestSha256: string;
  seconds: number;
  resumedShards: number;
  /** Set for one part of a split run (no manifest was written; the counts are the part's). */
  part?: { index: number; of: number };
}

/** The output guard and lock (src/util/outdir.ts) around one run; see README "Safety". */
export async function generate(opts: GenerateOptions): Promise<GenerateResult> {
  // canonical keys: the hash and metadata must not depend on the caller's spelling
  const o: Resolved = { ...opts, config: resolveGenerateConfig({ ...opts.config, fit: opts.config.fit ?? (await camsFit(opts)) }) };
  if (o.part && !(Number.isInteger(o.part.of) && o.part.of >= 1 && Number.isInteger(o.part.index) && o.part.index >= 0 && o.part.index < o.part.of)) {
    throw new UserError(`--shard-index must be an integer in [0, ${o.part.of - 1}] for --num-shards ${o.part.of}, got ${o.part.index}`);
  }
  const reads = [
    { flag: '--data', path: o.dataset.root },
    ...(o.teacher ? [{ flag: '--teacher', path: o.teacher }] : []),
    ...(o.cams ? [{ flag: '--cams', path: o.cams }] : []),
    ...(o.alsoReads ?? []),
  ];
  return withOutput({ out: o.out, kind: 'shards', command: 'generate', reads, overwrite: o.overwrite }, async (out) => {
    try {
      return await run(o, out);
    } catch (e) {
      // A --strict stop: once the bad file is fixed the request (data fingerprint) changes, so
      // nothing here could be resumed; leave the directory as it was found instead of blocking the rerun.
      if (e instanceof StrictError) {
        await out.clear();
        throw new StrictError(`${e.message}; nothing was kept in ${o.out}: rerun the same command once it is fixed`);
      }
      throw e;
    }
  });
}

type Resolved = GenerateOptions & { config: GenerateConfig };

async function run(o: Resolved, out: Output): Promise<GenerateResult> {
  const t0 = Date.now();
  const cfg = o.config;
  const stateDir = path.join(o.out, STATE_DIR);
  const prevRequest = out.state === 'ours' ? await readRequest(o.out) : undefined;
  const state = out.state !== 'ours' ? 'empty' : o.overwrite ? 'overwrite' : prevRequest ? 'resume-candidate' : 'empty';
  const pool = makePool('compose-worker', o.workers ?? 2, Infinity);
  const spill = path.join(o.out, `${SPILL_NAME}.tmp-${process.pid}`);
  const cache = await createSourceCache(o.records.length, cfg.resize, o.cacheMem ?? defaultCacheMem(), spill);
  if (cache.kind === 'file') o.log?.(`generate: sources (${((o.records.length * slotBytes(cfg.resize)) / 2 ** 30).toFixed(1)} GiB at ${cfg.resize} px) exceed --cache-mem; spilled to ${spill}`);
  try {
    // One read per source: hash (the dataset fingerprint) and decode into the cache, in the pool.
    const { sha256: allSha, rejects: decodeRejects } = await fillSourceCache(pool, cache, o);
    const cams = await resolveCams(o, allSha, state === 'resume-candidate');
    // Sources: every training record, less those the CAM pass rejected (snapmix needs their CAMs).
    const camRow = new Map<string, number>();
    cams?.set.ids.forEach((id, i) => camRow.set(id, i));
    const slots = o.records.map((_, i) => i).filter((i) => !cams || camRow.has(o.records[i].id));
    const sources = slots.map((i) => o.records[i]);
    const sourceRejects: Reject[] = cams ? cams.rejects : [];
    const n = sources.length;
    if (n < 2 && cfg.method !== 'none') throw new UserError(`mixing needs at least 2 readable source images, found ${n}`);
    if (o.strict) {
      const bad = slots.map((i) => decodeRejects[i]).find((r) => r);
      if (bad) throw new StrictError(`--strict: ${rejectText(bad)}; fix or remove it, or drop --strict`);
    }
    const total = n * cfg.rounds;
    const numShards = Math.max(1, Math.ceil(total / cfg.shardSize));
    const dsFp = datasetFingerprint(o.dataset.classNames, o.records, allSha);
    const request = requestHash(cfg, dsFp, cams?.teacherFp ?? null);

    if (state === 'resume-candidate' && prevRequest !== request) {
      throw new UserError(`--out ${o.out} holds a run with other options, data or teacher; pass --overwrite to replace it or choose another directory`);
    }
    if (cfg.partner === 'other-class' && new Set(sources.map((r) => r.label)).size < 2 && cfg.method !== 'none') {
      throw new UserError('--partner other-class needs sources of at least 2 classes; nothing was written');
    }
    const planOf = planner(planConfigOf(cfg), n, sources.map((r) => r.label));
    // Every check has passed: only now is anything in OUT removed or written.
    if (state === 'overwrite' || (out.state === 'ours' && state === 'empty')) await out.clear([path.basename(spill)]);
    if (cams?.meta) await writeCamCache(path.join(o.out, 'cams'), cams.set, cams.meta, cams.rejects);
    await writeRequest(o.out, request, cfg);
    // Where the sources live, for preview/inspect (kept out of the manifest: paths are machine-specific).
    await writeFileAtomic(path.join(stateDir, 'sources.json'), JSON.stringify({
      data: o.dataset.root, data_format: o.dataset.format, cams: cams ? path.resolve(o.cams ?? path.join(o.out, 'cams')) : null,
    }, null, 2) + '\n');

    const C = o.dataset.classNames.length;
    const schemaMeta = new Map([
      ['huggingface', JSON.stringify({ info: { features: hfFeatures(o.dataset.classNames) } })],
      ['snapmix', JSON.stringify({ format_version: SHARD_FORMAT_VERSION, config: cfg, class_names: o.dataset.classNames, teacher_fingerprint: cams?.teacherFp ?? null, dataset_fingerprint: dsFp, seed: cfg.seed })],
    ]);
    const ext = cfg.format === 'jpeg' ? 'jpg' : cfg.format;
    const source = (j: number): ComposeSource => {
      const r = sources[j];
      const row = camRow.get(r.id);
      const c = cams && row !== undefined ? camOf(cams.set, row) : undefined;
      return { id: r.id, label: r.label, slot: slots[j], reject: decodeRejects[slots[j]] ?? undefined, cam: c ? { ...c, data: c.data.slice() } : undefined };
    };
    let done = 0;
    const collectAfter = collectEvery(SHARD_GC_BYTES);
    /** Start composing shard k in the pool; resolves to its rows and skipped samples. */
    const compose = (k: number) => {
      const first = k * cfg.shardSize;
      const last = Math.min(total, first + cfg.shardSize) - 1;
      const plans: SamplePlan[] = [];
      for (let g = first; g <= last; g++) plans.push(planOf(g));
      const tasks: Promise<ComposedRow[]>[] = [];
      for (let s = 0; s < plans.length; s += COMPOSE_CHUNK) {
        const chunk = plans.slice(s, s + COMPOSE_CHUNK);
        const srcs: Record<number, ComposeSource> = {};
        for (const p of chunk) for (const j of [p.a, p.b]) srcs[j] ??= source(j);
        const task: ComposeTask = { plans: chunk, sources: srcs, cache, format: cfg.format, quality: cfg.quality };
        tasks.push(pool.run(task).then((rows: ComposedRow[]) => {
          done += rows.length;
          o.onProgress?.('generate', done, total);
          return rows;
        }));
      }
      const composed = Promise.all(tasks).then((r) => r.flat());
      composed.catch(() => {}); // awaited in write(); a failure elsewhere must not leave it unhandled
      return { k, first, last, plans, composed };
    };
    /** Build, write and commit shard k (the stats marker last). */
    const write = async (job: ReturnType<typeof compose>): Promise<ShardStats> => {
      const composed = await job.composed;
      const filename = shardName(job.k, numShards);
      const rows: ShardRow[] = [];
      const skipped: ShardStats['skipped'] = [];
      const weights: WeightSums = {};
      for (const c of composed) {
        if (c.reject) {
          if (o.strict) throw new StrictError(`--strict: ${rejectText(c.reject)}; fix or remove it, or drop --strict`);
          skipped.push({ index: c.plan.index, ...rejectRecord(c.reject) });
          continue;
        }
        const p = c.plan;
        rows.push({
          image: c.image!, imagePath: `${String(p.index).padStart(9, '0')}.${ext}`,
          labelA: sources[p.a].label, labelB: sources[p.b].label,
          weightA: c.weights!.weightA, weightB: c.weights!.weightB, areaWeight: c.weights!.areaWeight,
          method: p.method, sourceA: sources[p.a].id, sourceB: sources[p.b].id,
          boxA: p.boxA, boxB: p.boxB, round: p.round, index: p.index,
        });
        // Summed as stored (float32), as verify recounts them from the rows.
        addRow(weights, p.method, Math.fround(c.weights!.weightA), Math.fround(c.weights!.weightB), Math.fround(c.weights!.areaWeight));
      }
      const { fields, columns } = shardColumns(rows, C);
      const bytes = streamBytes([recordBatch(fields, columns, schemaMeta)]);
      const written = await writeFileAtomic(path.join(o.out, filename), bytes);
      const byMethod: Record<string, number> = {};
      for (const p of job.plans) byMethod[p.method] = (byMethod[p.method] ?? 0) + 1;
      const st: ShardStats = { filename, first_index: job.first, last_index: job.last, rows: rows.length, ...written, request, skipped, by_method: byMethod, weights };
      await writeShardStats(o.out, st); // the commit marker, written last
      collectAfter(bytes.byteLength); // the shard's buffers are garbage now: collect them before they pile up
      return st;
    };

    const stats: ShardStats[] = [];
    let resumed = 0;
    // Two shards in flight: the pool composes shard k+1 while the main thread builds and writes shard k.
    const inFlight: ReturnType<typeof compose>[] = [];
    for (let k = 0; k < numShards; k++) {
      if (o.part && k % o.part.of !== o.part.index) continue; // another part's shard
      const filename = shardName(k, numShards);
      const prev = await readShardStats(o.out, filename);
      if (prev && prev.request === request && prev.weights && (await fileSha256(path.join(o.out, filename))) === prev.sha256) {
        while (inFlight.length) stats.push(await write(inFlight.shift()!));
        stats.push(prev);
        resumed++;
        done += prev.last_index - prev.first_index + 1;
        o.onProgress?.('generate', done, total);
        continue;
      }
      inFlight.push(compose(k));
      if (inFlight.length >= 2) stats.push(await write(inFlight.shift()!));
    }
    while (inFlight.length) stats.push(await write(inFlight.shift()!));

  const info: RunInfo = {
    request, config: cfg, classNames: o.dataset.classNames, dataset: { fingerprint: dsFp, format: o.dataset.format, sources: n },
    teacher: cams ? cams.teacherFp : null, sourceRejects, release: releaseOf(o.release),
    sources: o.records.map((r, i) => ({ id: r.id, label: r.label, split: r.split, sha256: allSha[i] })),
  };
  if (o.part) {
    // One part of a split run: its shards and accounts; 'snapmix merge' writes the manifest.
    await writePart(o.out, { index: o.part.index, of: o.part.of }, numShards, info, stats);
    const manifest = buildManifest(info, stats);
    return { manifest, manifestSha256: '', seconds: (Date.now() - t0) / 1000, resumedShards: resumed, part: o.part };
  }
  const { manifest, manifestSha256 } = await writeOutputFiles(o.out, info, stats);
  if (manifest.counts.written === 0 && !o.allowEmpty) {
    const why = Object.entries(manifest.counts.skipped_by_reason).map(([k, v]) => `${v} ${k}`).join(', ') || 'no samples planned';
    throw new UserError(`${o.out}: 0 of ${total} samples written (${why}); see ${path.join(o.out, 'rejects.jsonl')}. Fix the sources, or pass --allow-empty to accept an empty output`);
  }
  return { manifest, manifestSha256, seconds: (Date.now() - t0) / 1000, resumedShards: resumed };
  } finally {
    await pool.destroy();
    await disposeSourceCache(cache);
  }
}

const COMPOSE_CHUNK = 16;
/** Shard bytes written between full collections of the main thread (src/util/gc.ts). */
const SHARD_GC_BYTES = 8 * 2 ** 20;
const SPILL_NAME = '.snapmix-sources';

/** The source-cache pass: every record read once, hashed and decoded into its slot, in the pool. */
async function fillSourceCache(pool: Piscina, cache: SourceCacheRef, o: Resolved): Promise<{ sha256: string[]; rejects: (Reject | null)[] }> {
  const sha256: string[] = new Array(o.records.length);
  const rejects: (Reject | null)[] = new Array(o.records.length);
  let done = 0;
  const tasks: Promise<void>[] = [];
  for (let s = 0; s < o.records.length; s += 8) {
    const items = o.records.slice(s, s + 8).map((r, k) => ({ slot: s + k, id: r.id, path: r.path }));
    const task: DecodeSourcesTask = { cache, fit: recordedFit(o.config.fit), items };
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
