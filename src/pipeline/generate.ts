// `snapmix generate`: plan (main, seeded) → compose (piscina pool) → shard writer (main, in index
// order) → manifest + HF files. Each finished shard leaves a stats file (the commit marker), so a
// rerun of the same request resumes where the last one stopped. The sources side is
// generate-sources.ts, the writer side shard-writer.ts.
import { SNAPMIX_VERSION } from '../util/version.js';
import { defaultWorkers } from '../util/cpus.js';
import { SHARD_FORMAT_VERSION } from '../shards/format-version.js';
import path from 'node:path';
import { planner } from '../mix/plan.js';
import { planConfigOf, resolveGenerateConfig } from '../shards/config.js';
import { makePool } from '../pool/pools.js';
import { createSourceCache, defaultCacheMem, disposeSourceCache, slotBytes } from '../image/source-cache.js';
import { writeCamCache } from '../shards/cam-cache.js';
import { buildManifest, readRequest, releaseOf, readShardStats, shardName, writeOutputFiles, writePart, writeRequest, type Manifest, type RunInfo, type ShardStats } from '../shards/manifest.js';
import { fileSha256, writeFileAtomic } from '../util/fs.js';
import { StrictError, UserError } from '../util/errors.js';
import { STATE_DIR, withOutput, type Output } from '../util/outdir.js';
import type { GenerateOptions, Resolved } from './generate-options.js';
import { camsFit, prepareSources } from './generate-sources.js';
import { shardWriter, type ShardJob } from './shard-writer.js';

export type { GenerateConfig } from '../shards/config.js';
export type { GenerateOptions } from './generate-options.js';
export type { Manifest } from '../shards/manifest.js';

export { planConfigOf } from '../shards/config.js';


export interface GenerateResult {
  manifest: Manifest;
  manifestSha256: string;
  seconds: number;
  resumedShards: number;
  /** Set for one part of a split run (no manifest was written; the counts are the part's). */
  part?: { index: number; of: number };
}

/** The output guard and lock (src/util/outdir.ts) around one run; see docs/SAFETY.md. */
export async function generate(opts: GenerateOptions): Promise<GenerateResult> {
  // canonical keys: the hash and metadata must not depend on the caller's spelling
  const o: Resolved = { ...opts, config: resolveGenerateConfig({ ...opts.config, fit: opts.config.fit ?? (await camsFit(opts)) }) };
  if (o.part && !(Number.isInteger(o.part.of) && o.part.of >= 1 && Number.isInteger(o.part.index) && o.part.index >= 0 && o.part.index < o.part.of)) {
    throw new UserError(`--shard-index must be an integer in [0, ${o.part.of - 1}] for --num-shards ${o.part.of}, got ${o.part.index}`);
  }
  const reads = [
    { flag: '--data', path: o.dataset.root },
    ...(o.teacher ? [{ flag: '--teacher', path: o.teacher.path }] : []),
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

const SPILL_NAME = '.snapmix-sources';

async function run(o: Resolved, out: Output): Promise<GenerateResult> {
  const t0 = Date.now();
  const cfg = o.config;
  const version = o.formatVersion ?? SHARD_FORMAT_VERSION;
  const prevRequest = out.state === 'ours' ? await readRequest(o.out) : undefined;
  const state = out.state !== 'ours' ? 'empty' : o.overwrite ? 'overwrite' : prevRequest ? 'resume-candidate' : 'empty';
  const pool = makePool('compose-worker', o.workers ?? defaultWorkers(), Infinity);
  const spill = path.join(o.out, `${SPILL_NAME}.tmp-${process.pid}`);
  const cache = await createSourceCache(o.records.length, cfg.resize, o.cacheMem ?? defaultCacheMem(), spill);
  if (cache.kind === 'file') o.log?.(`generate: sources (${((o.records.length * slotBytes(cfg.resize)) / 2 ** 30).toFixed(1)} GiB at ${cfg.resize} px) exceed --cache-mem; spilled to ${spill}`);
  try {
    // 1. Sources and every check: nothing in OUT is touched before they pass.
    const s = await prepareSources(o, pool, cache, state === 'resume-candidate');
    if (state === 'resume-candidate' && prevRequest !== s.request) {
      throw new UserError(`--out ${o.out} holds a run with other options, data or teacher; pass --overwrite to replace it or choose another directory`);
    }
    const n = s.records.length;
    const total = n * cfg.rounds;
    const numShards = Math.max(1, Math.ceil(total / cfg.shardSize));
    // 2. The plan: a pure function of (config, round, index).
    const planOf = planner(planConfigOf(cfg), n, s.records.map((r) => r.label));
    // 3. Only now: clear what --overwrite replaces, record the request and where the sources live.
    if (state === 'overwrite' || (out.state === 'ours' && state === 'empty')) await out.clear([path.basename(spill)]);
    if (s.cams?.meta) await writeCamCache(path.join(o.out, 'cams'), s.cams.set, s.cams.meta, s.cams.rejects);
    await writeRequest(o.out, s.request, cfg);
    await writeFileAtomic(path.join(o.out, STATE_DIR, 'sources.json'), JSON.stringify({ // machine paths: kept out of the manifest
      data: o.dataset.root, data_format: o.dataset.format, cams: s.cams ? path.resolve(o.cams ?? path.join(o.out, 'cams')) : null,
    }, null, 2) + '\n');
    // 4. Pool → writer, two shards in flight (the pool composes k+1 while the main thread writes k); a
    //    finished shard of this request is kept.
    let done = 0;
    const progress = (rows: number) => o.onProgress?.('generate', (done += rows), total);
    const { compose, write } = shardWriter(o, s, { pool, cache, planOf, total, numShards, onComposed: progress });
    const stats: ShardStats[] = [];
    const inFlight: ShardJob[] = [];
    let resumed = 0;
    for (let k = 0; k < numShards; k++) {
      if (o.part && k % o.part.of !== o.part.index) continue; // another part's shard
      const prev = await readShardStats(o.out, shardName(k, numShards));
      if (prev && prev.request === s.request && prev.weights && (await fileSha256(path.join(o.out, prev.filename))) === prev.sha256) {
        while (inFlight.length) stats.push(await write(inFlight.shift()!));
        stats.push(prev);
        resumed++;
        progress(prev.last_index - prev.first_index + 1);
        continue;
      }
      inFlight.push(compose(k));
      if (inFlight.length >= 2) stats.push(await write(inFlight.shift()!));
    }
    while (inFlight.length) stats.push(await write(inFlight.shift()!));
    // 5. The accounts: a part file for one part of a split run, else the manifest, HF files and card.
    const info: RunInfo = {
      request: s.request, config: cfg, classNames: o.dataset.classNames, dataset: { fingerprint: s.datasetFingerprint, format: o.dataset.format, sources: n },
      teacher: s.cams ? s.cams.teacherFp : null, formatVersion: version, sourceRejects: s.rejects, release: releaseOf(o.release),
      ...(version >= 4 ? { ...(s.cams?.agreement ? { teacherAgreement: s.cams.agreement } : {}), generator: { snapmix: SNAPMIX_VERSION, cam_backend: s.cams?.camBackend ?? null } } : {}),
      sources: o.records.map((r, i) => ({ id: r.id, label: r.label, split: r.split, sha256: s.allSha[i] })),
    };
    const seconds = () => (Date.now() - t0) / 1000;
    if (o.part) {
      await writePart(o.out, { index: o.part.index, of: o.part.of }, numShards, info, stats);
      return { manifest: buildManifest(info, stats), manifestSha256: '', seconds: seconds(), resumedShards: resumed, part: o.part };
    }
    const { manifest, manifestSha256 } = await writeOutputFiles(o.out, info, stats);
    if (manifest.counts.written === 0 && !o.allowEmpty) {
      const why = Object.entries(manifest.counts.skipped_by_reason).map(([k, v]) => `${v} ${k}`).join(', ') || 'no samples planned';
      throw new UserError(`${o.out}: 0 of ${total} samples written (${why}); see ${path.join(o.out, 'rejects.jsonl')}. Fix the sources, or pass --allow-empty to accept an empty output`);
    }
    return { manifest, manifestSha256, seconds: seconds(), resumedShards: resumed };
  } finally {
    await pool.destroy();
    await disposeSourceCache(cache);
  }
}
