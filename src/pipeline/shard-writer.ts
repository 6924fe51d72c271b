// generate's writer side: compose shard k's planned samples in the pool (chunks of COMPOSE_CHUNK), then
// build its Arrow stream on the main thread, write it atomically and commit it with its stats marker.
// Shards are written in index order, whatever order the pool finishes in.
import path from 'node:path';
import type { Piscina } from 'piscina';
import type { SamplePlan } from '../mix/plan.js';
import type { ComposedRow, ComposeSource, ComposeTask } from '../pool/tasks.js';
import type { SourceCacheRef } from '../image/source-cache.js';
import { camOf } from '../shards/cam-cache.js';
import { hfFeatures, SHARD_FORMAT_VERSION, shardColumns, type ShardRow } from '../shards/schema.js';
import { shardName, writeShardStats, type ShardStats } from '../shards/manifest.js';
import { addRow, type WeightSums } from '../shards/summary.js';
import { recordBatch, streamBytes } from '../shards/ipc.js';
import { rejectRecord, rejectText } from '../data/reject.js';
import { writeFileAtomic } from '../util/fs.js';
import { collectEvery } from '../util/gc.js';
import { StrictError } from '../util/errors.js';
import type { Resolved } from './generate-options.js';
import type { Sources } from './generate-sources.js';

const COMPOSE_CHUNK = 16;
/** Shard bytes written between full collections of the main thread (src/util/gc.ts). */
const SHARD_GC_BYTES = 8 * 2 ** 20;

export interface ShardJob { k: number; first: number; last: number; plans: SamplePlan[]; composed: Promise<ComposedRow[]> }

export function shardWriter(o: Resolved, s: Sources, run: { pool: Piscina; cache: SourceCacheRef; planOf: (index: number) => SamplePlan; total: number; numShards: number; onComposed: (rows: number) => void }) {
  const cfg = o.config;
  const C = o.dataset.classNames.length;
  const version = o.formatVersion ?? SHARD_FORMAT_VERSION;
  const schemaMeta = new Map([
    ['huggingface', JSON.stringify({ info: { features: hfFeatures(o.dataset.classNames) } })],
    ['snapmix', JSON.stringify({ format_version: version, config: cfg, class_names: o.dataset.classNames, teacher_fingerprint: s.cams?.teacherFp ?? null, dataset_fingerprint: s.datasetFingerprint, seed: cfg.seed })],
  ]);
  const ext = cfg.format === 'jpeg' ? 'jpg' : cfg.format;
  const source = (j: number): ComposeSource => {
    const r = s.records[j];
    const row = s.camRow.get(r.id);
    const c = s.cams && row !== undefined ? camOf(s.cams.set, row) : undefined;
    return { id: r.id, label: r.label, slot: s.slots[j], reject: s.decodeRejects[s.slots[j]] ?? undefined, cam: c ? { ...c, data: c.data.slice() } : undefined };
  };
  const collectAfter = collectEvery(SHARD_GC_BYTES);

  /** Start composing shard k in the pool; its rows resolve in plan order. */
  const compose = (k: number): ShardJob => {
    const first = k * cfg.shardSize;
    const last = Math.min(run.total, first + cfg.shardSize) - 1;
    const plans: SamplePlan[] = [];
    for (let g = first; g <= last; g++) plans.push(run.planOf(g));
    const tasks: Promise<ComposedRow[]>[] = [];
    for (let i = 0; i < plans.length; i += COMPOSE_CHUNK) {
      const chunk = plans.slice(i, i + COMPOSE_CHUNK);
      const srcs: Record<number, ComposeSource> = {};
      for (const p of chunk) for (const j of [p.a, p.b]) srcs[j] ??= source(j);
      const task: ComposeTask = { plans: chunk, sources: srcs, cache: run.cache, format: cfg.format, quality: cfg.quality };
      tasks.push(run.pool.run(task).then((rows: ComposedRow[]) => {
        run.onComposed(rows.length);
        return rows;
      }));
    }
    const composed = Promise.all(tasks).then((r) => r.flat());
    composed.catch(() => {}); // awaited in write(); a failure elsewhere must not leave it unhandled
    return { k, first, last, plans, composed };
  };

  /** Build, write and commit shard k (the stats marker last). */
  const write = async (job: ShardJob): Promise<ShardStats> => {
    const composed = await job.composed;
    const filename = shardName(job.k, run.numShards);
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
        labelA: s.records[p.a].label, labelB: s.records[p.b].label,
        weightA: c.weights!.weightA, weightB: c.weights!.weightB, areaWeight: c.weights!.areaWeight,
        method: p.method, sourceA: s.records[p.a].id, sourceB: s.records[p.b].id,
        boxA: p.boxA, boxB: p.boxB, round: p.round, index: p.index,
      });
      // Summed as stored (float32), as verify recounts them from the rows.
      addRow(weights, p.method, Math.fround(c.weights!.weightA), Math.fround(c.weights!.weightB), Math.fround(c.weights!.areaWeight), version >= 4 ? [s.records[p.a].label, s.records[p.b].label] : undefined);
    }
    const { fields, columns } = shardColumns(rows, C, version);
    const bytes = streamBytes([recordBatch(fields, columns, schemaMeta)]);
    const written = await writeFileAtomic(path.join(o.out, filename), bytes);
    const byMethod: Record<string, number> = {};
    for (const p of job.plans) byMethod[p.method] = (byMethod[p.method] ?? 0) + 1;
    const st: ShardStats = { filename, first_index: job.first, last_index: job.last, rows: rows.length, ...written, request: s.request, skipped, by_method: byMethod, weights };
    await writeShardStats(o.out, st); // the commit marker, written last
    collectAfter(bytes.byteLength); // the shard's buffers are garbage now: collect them before they pile up
    return st;
  };
  return { compose, write };
}
