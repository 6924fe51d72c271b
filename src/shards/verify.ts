// `snapmix verify`: check every claim of a shard directory against the bytes, not against the
// manifest's word. Proves: the manifest is well-formed (and, with --manifest-sha256, the one published);
// every shard's sha256/size; its Arrow layout and schema metadata (format, config, class names,
// fingerprints) equal to the manifest's; index ranges contiguous over 0..planned−1 in shard order;
// every row's index, round, method and boxes equal to the seeded plan replayed from the config; the
// missing indices exactly the skipped samples of rejects.jsonl; every count; the HF files; no stray
// or temporary files. Not proved: pixel values and weights (they need the data and teacher).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import { RecordBatchReader, type RecordBatch, type Schema } from 'apache-arrow';
import { check } from '../util/schemas.js';
import { UserError } from '../util/errors.js';
import { isLeftover, STATE_DIR } from '../util/outdir.js';
import { LOCK_FILE } from '../util/lock.js';
import { planConfigOf } from './config.js';
import { planner, type SamplePlan } from '../mix/plan.js';
import { hfFeatures } from './schema.js';
import { nullableColumn, READABLE_FORMAT_VERSIONS } from './format-version.js';
import { parseManifest } from './reader.js';
import type { Manifest } from './manifest-types.js';
import { addRow, combine, type WeightSums } from './summary.js';
import { CARD_FILE, renderCard } from './card.js';
import { partNotice, readSourcesFile, shardName, SOURCES_FILE, type SourceFile } from './manifest.js';
import { datasetFingerprint } from '../data/fingerprint.js';
import type { DatasetRecord } from '../data/types.js';

/** A JSON description of an Arrow schema: what shard.schema.json validates. */
export function describeSchema(schema: Schema): { fields: { name: string; type: string }[]; metadata: Record<string, unknown> } {
  const metadata: Record<string, unknown> = {};
  for (const [k, v] of schema.metadata) {
    try {
      metadata[k] = JSON.parse(v);
    } catch {
      metadata[k] = v;
    }
  }
  return { fields: schema.fields.map((f) => ({ name: f.name, type: String(f.type) })), metadata };
}

export interface VerifyOptions {
  /** Accept an output with 0 written rows. */
  allowEmpty?: boolean;
  /** The manifest's sha256 as published (e.g. in the dataset card): an edited manifest fails. */
  manifestSha256?: string;
}

export interface VerifyResult { shards: number; rows: number; manifestSha256: string }

const MAX_PROBLEMS = 20;
const KNOWN = new Set(['manifest.json', 'state.json', 'dataset_info.json', 'rejects.jsonl', CARD_FILE, SOURCES_FILE, 'cams', STATE_DIR]);

class Problems {
  list: string[] = [];
  add(p: string): void {
    if (this.list.length < MAX_PROBLEMS) this.list.push(p);
    else if (this.list.length === MAX_PROBLEMS) this.list.push('… (more problems not listed)');
  }
}

const sameBox = (a: ArrayLike<number>, b: ArrayLike<number>) => a.length === b.length && Array.from(a).every((v, i) => v === b[i]);
const num = (v: unknown) => (typeof v === 'bigint' ? Number(v) : (v as number));

async function readJson(file: string): Promise<unknown> {
  const text = await fs.readFile(file, 'utf8').catch(() => {
    throw new UserError(`${file} is missing; not a complete 'snapmix generate' output (rerun generate to finish it)`);
  });
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new UserError(`${file} is not valid JSON (${(e as Error).message}); it was damaged or edited: regenerate the output`);
  }
}

/** Skipped samples (index → reason) claimed by rejects.jsonl's compose entries. */
async function skippedClaims(dir: string, p: Problems): Promise<Map<number, string>> {
  const file = path.join(dir, 'rejects.jsonl');
  const text = await fs.readFile(file, 'utf8').catch(() => undefined);
  const out = new Map<number, string>();
  if (text === undefined) {
    p.add(`${file} is missing`);
    return out;
  }
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    try {
      const r = JSON.parse(line) as { stage?: string; index?: number; reason?: string };
      if (r.stage === 'compose') {
        if (!Number.isInteger(r.index) || out.has(r.index!)) p.add(`${file} line ${i + 1}: a compose reject without a unique index`);
        else out.set(r.index!, r.reason ?? '?');
      }
    } catch {
      p.add(`${file} line ${i + 1} is not JSON`);
    }
  });
  return out;
}

/** What a shard check needs beyond the shard: the manifest, the replayed plan, and what every shard adds to. */
interface VerifyContext {
  m: Manifest;
  planOf: (g: number) => SamplePlan;
  skipped: Map<number, string>;
  features: unknown;
  expectMeta: unknown;
  /** Filled in across shards: source index → id, id → label, indices found missing, each shard's weight sums. */
  sourceId: Map<number, string>;
  labelOf: Map<string, number>;
  missingSeen: Set<number>;
  shardWeights: WeightSums[];
  p: Problems;
}

export async function verifyDirectory(dir: string, opts: VerifyOptions = {}): Promise<VerifyResult> {
  const p = new Problems();
  const entries = await fs.readdir(dir).catch(() => {
    throw new UserError(`shard directory ${dir} does not exist or cannot be read`);
  });
  const { m, manifestFile, manifestSha256 } = await readClaims(dir, entries, opts, p);
  const cfg = m.config;
  const planned = m.dataset.sources * cfg.rounds;
  checkLayout(m, manifestFile, p);
  // The plan is a pure function of the config: replay it for the method counts and every row.
  const planOf = planner(planConfigOf(cfg), m.dataset.sources, cfg.partner === 'other-class' ? await sourceLabels(dir, m.dataset.sources) : undefined);
  checkMethodCounts(m, manifestFile, planOf, p);
  const features = hfFeatures(m.class_names);
  const ctx: VerifyContext = {
    m, planOf, skipped: await skippedClaims(dir, p), features, p,
    expectMeta: { format_version: m.format_version, config: cfg, class_names: m.class_names, teacher_fingerprint: m.teacher?.fingerprint ?? null, dataset_fingerprint: m.dataset.fingerprint, seed: cfg.seed },
    sourceId: new Map(), labelOf: new Map(), missingSeen: new Set(), shardWeights: [],
  };
  let rows = 0;
  for (const s of m.shards) rows += await checkShard(path.join(dir, s.filename), s, ctx);
  checkCounts(m, manifestFile, rows, ctx);
  if (m.release) await checkRelease(dir, m, manifestSha256, ctx);
  await checkHfFiles(dir, m, features, p);
  await checkStrays(dir, entries, m, p);
  if (rows === 0 && !opts.allowEmpty) p.add(`${dir}: 0 rows written (${planned} planned; see rejects.jsonl); pass --allow-empty to accept an empty output`);
  if (p.list.length) throw new UserError(`${dir} failed verification:\n  ${p.list.join('\n  ')}`);
  return { shards: m.shards.length, rows, manifestSha256 };
}

/** The manifest, proved to be the published one (--manifest-sha256) and valid against its schema; a run's lock named. */
async function readClaims(dir: string, entries: string[], opts: VerifyOptions, p: Problems): Promise<{ m: Manifest; manifestFile: string; manifestSha256: string }> {
  const manifestFile = path.join(dir, 'manifest.json');
  if (entries.includes(LOCK_FILE)) {
    const owner = await fs.readFile(path.join(dir, LOCK_FILE), 'utf8').catch(() => '?');
    p.add(`${path.join(dir, LOCK_FILE)}: a run holds (or held, if it was killed) this directory: ${owner.trim()}; rerun that command to finish it`);
  }
  const part = entries.includes('manifest.json') ? undefined : await partNotice(dir);
  if (part) throw new UserError(part);
  if (!entries.includes('manifest.json') && entries.includes('export.json') && entries.includes('SHA256SUMS')) {
    const from = await fs.readFile(path.join(dir, 'export.json'), 'utf8').then((t) => (JSON.parse(t) as { release?: { manifest_sha256?: string } }).release?.manifest_sha256, () => undefined);
    throw new UserError(`${dir} is a 'snapmix export' (export.json), not a release: check its files with 'cd ${dir} && sha256sum -c SHA256SUMS'; 'snapmix verify' checks the release it was exported from${from ? ` (manifest sha256 ${from})` : ''}`);
  }
  const manifestBytes = await fs.readFile(manifestFile).catch(() => {
    throw new UserError(`${manifestFile} is missing: not a finished 'snapmix generate' output (rerun generate to finish it)`);
  });
  const manifestSha256 = createHash('sha256').update(manifestBytes).digest('hex');
  if (opts.manifestSha256 !== undefined && !/^[0-9a-f]{64}$/i.test(opts.manifestSha256)) {
    throw new UserError(`--manifest-sha256 ${JSON.stringify(opts.manifestSha256)} is not a sha256 (64 hex digits); pass the manifest sha256 generate printed`);
  }
  if (opts.manifestSha256 !== undefined && opts.manifestSha256.toLowerCase() !== manifestSha256) {
    p.add(`${manifestFile}: sha256 ${manifestSha256} is not the published ${opts.manifestSha256}; the manifest was edited or is another release's`);
  }
  const m = parseManifest(manifestBytes.toString('utf8'), manifestFile);
  const schemaProblems = check('manifest', m, '', `${manifestFile}: `);
  if (schemaProblems.length) throw new UserError(schemaProblems.join('\n'));
  return { m, manifestFile, manifestSha256 };
}

/** planned = sources × rounds; shard k is named k of N and covers [k·shardSize, …] of 0..planned−1 in order. */
function checkLayout(m: Manifest, manifestFile: string, p: Problems): void {
  const cfg = m.config;
  const n = m.dataset.sources;
  const planned = n * cfg.rounds;
  if (m.counts.planned !== planned) p.add(`${manifestFile}: counts.planned ${m.counts.planned} ≠ sources ${n} × rounds ${cfg.rounds}`);
  if (!READABLE_FORMAT_VERSIONS.includes(m.format_version)) p.add(`${manifestFile}: format_version ${m.format_version}, this snapmix reads ${READABLE_FORMAT_VERSIONS.join(', ')} (a newer snapmix wrote it: upgrade)`);
  if (new Set(m.class_names).size !== m.class_names.length) p.add(`${manifestFile}: class_names has duplicates`);
  const numShards = Math.max(1, Math.ceil(planned / cfg.shardSize));
  if (m.shards.length !== numShards) p.add(`${manifestFile}: ${m.shards.length} shard(s) listed, ${planned} planned samples in shards of ${cfg.shardSize} make ${numShards}`);
  m.shards.forEach((s, k) => {
    const first = k * cfg.shardSize;
    const last = Math.min(planned, first + cfg.shardSize) - 1;
    if (s.filename !== shardName(k, m.shards.length)) p.add(`${manifestFile}: shard ${k} is named ${s.filename}, expected ${shardName(k, m.shards.length)}`);
    if (s.first_index !== first || s.last_index !== last) p.add(`${manifestFile}: ${s.filename} claims indices ${s.first_index}..${s.last_index}, the contiguous split of 0..${planned - 1} gives ${first}..${last}`);
  });
}

/** counts.by_method equals the replayed plan's. */
function checkMethodCounts(m: Manifest, manifestFile: string, planOf: (g: number) => SamplePlan, p: Problems): void {
  const byMethod: Record<string, number> = {};
  for (let g = 0; g < m.dataset.sources * m.config.rounds; g++) {
    const mth = planOf(g).method;
    byMethod[mth] = (byMethod[mth] ?? 0) + 1;
  }
  if (!isDeepStrictEqual(sortKeys(byMethod), sortKeys(m.counts.by_method))) {
    p.add(`${manifestFile}: counts.by_method ${JSON.stringify(m.counts.by_method)} ≠ the replayed plan's ${JSON.stringify(sortKeys(byMethod))}`);
  }
}

/** One shard: bytes and sha256, Arrow layout and schema metadata, and every row against the plan. Returns its rows. */
async function checkShard(file: string, s: Manifest['shards'][number], ctx: VerifyContext): Promise<number> {
  const { p } = ctx;
  const buf = await fs.readFile(file).catch(() => undefined);
  if (!buf) {
    p.add(`${file} listed in the manifest is missing`);
    return 0;
  }
  const sha = createHash('sha256').update(buf).digest('hex');
  if (sha !== s.sha256) p.add(`${file}: sha256 ${sha.slice(0, 12)}… does not match the manifest's ${s.sha256.slice(0, 12)}…; the shard is corrupt or was changed`);
  if (buf.length !== s.bytes) p.add(`${file}: ${buf.length} bytes, the manifest says ${s.bytes}`);
  let schema: Schema;
  let batches: RecordBatch[];
  try {
    const reader = RecordBatchReader.from(buf).open();
    schema = reader.schema; // read before iterating: a drained reader drops it
    batches = [...reader] as RecordBatch[];
  } catch (e) {
    p.add(`${file} is not a readable Arrow IPC stream (${(e as Error).message}); it is truncated or corrupt: regenerate it (rerun generate)`);
    return 0;
  }
  const desc = describeSchema(schema);
  for (const q of check('shard', desc, '', `${file}: `)) p.add(q);
  const v = ctx.m.format_version;
  const wrongNull = schema.fields.filter((f) => f.nullable !== nullableColumn(v, f.name)).map((f) => f.name);
  if (wrongNull.length) p.add(`${file}: column(s) ${wrongNull.join(', ')} declared ${nullableColumn(v, wrongNull[0]) ? 'non-nullable' : 'nullable'}, which format ${v} does not`);
  if (!isDeepStrictEqual(desc.metadata.snapmix, ctx.expectMeta)) p.add(`${file}: its schema metadata (config, class names, fingerprints) differs from the manifest's`);
  if (!isDeepStrictEqual((desc.metadata.huggingface as { info?: { features?: unknown } } | undefined)?.info?.features, ctx.features)) p.add(`${file}: its huggingface features differ from the manifest's class names`);
  let count = 0;
  let prev = s.first_index - 1;
  const weights: WeightSums = {};
  ctx.shardWeights.push(weights);
  const missing = (h: number) => {
    ctx.missingSeen.add(h);
    if (!ctx.skipped.has(h)) p.add(`${file}: index ${h} is missing and rejects.jsonl does not list it as skipped`);
  };
  for (const b of batches) {
    const col = (name: string) => b.getChild(name);
    const [idx, round, method, boxA, boxB, la, lb, sa, sb, wa, wb, aw] = ['index', 'round', 'method', 'box_a', 'box_b', 'label_a', 'label_b', 'source_a', 'source_b', 'weight_a', 'weight_b', 'area_weight'].map(col);
    if (!idx || !round || !method || !boxA || !boxB || !la || !lb || !sa || !sb || !wa || !wb || !aw) break; // the schema check has said which
    for (let i = 0; i < b.numRows; i++, count++) {
      const g = num(idx.get(i));
      const where = `${file} row ${count} (index ${g})`;
      if (!(g > prev && g <= s.last_index)) {
        p.add(`${where}: index out of order or outside ${s.first_index}..${s.last_index}`);
        prev = Math.max(prev, g);
        continue;
      }
      for (let h = prev + 1; h < g; h++) missing(h);
      if (ctx.skipped.has(g)) p.add(`${where}: listed as skipped in rejects.jsonl, yet present`);
      prev = g;
      addRow(weights, method.get(i), wa.get(i), wb.get(i), aw.get(i), ctx.m.format_version >= 4 ? [num(la.get(i)), num(lb.get(i))] : undefined);
      checkRow(where, g, {
        round: num(round.get(i)), method: method.get(i), boxA: (boxA.get(i) as { toArray(): Int32Array }).toArray(), boxB: (boxB.get(i) as { toArray(): Int32Array }).toArray(),
        a: [sa.get(i), num(la.get(i))], b: [sb.get(i), num(lb.get(i))],
      }, ctx);
    }
  }
  for (let h = prev + 1; h <= s.last_index; h++) missing(h);
  if (count !== s.rows) p.add(`${file}: ${count} rows, the manifest says ${s.rows}`);
  return count;
}

/** A row against the replayed plan: round, method, boxes; each source one id and one label everywhere. */
function checkRow(where: string, g: number, r: { round: number; method: string; boxA: Int32Array; boxB: Int32Array; a: [string, number]; b: [string, number] }, ctx: VerifyContext): void {
  const { p } = ctx;
  const C = ctx.m.class_names.length;
  const pl = ctx.planOf(g);
  if (r.round !== pl.round) p.add(`${where}: round ${r.round}, the plan says ${pl.round}`);
  if (r.method !== pl.method) p.add(`${where}: method ${r.method}, the plan says ${pl.method}`);
  if (!sameBox(r.boxA, pl.boxA) || !sameBox(r.boxB, pl.boxB)) p.add(`${where}: boxes ${r.boxA}/${r.boxB}, the plan says ${pl.boxA}/${pl.boxB}`);
  for (const [j, [id, label]] of [[pl.a, r.a], [pl.b, r.b]] as [number, [string, number]][]) {
    if (!(label >= 0 && label < C)) p.add(`${where}: label ${label} outside the ${C} classes`);
    const known = ctx.sourceId.get(j);
    if (known === undefined) ctx.sourceId.set(j, id);
    else if (known !== id) p.add(`${where}: source ${j} is ${id} here and ${known} elsewhere`);
    const kl = ctx.labelOf.get(id);
    if (kl === undefined) ctx.labelOf.set(id, label);
    else if (kl !== label) p.add(`${where}: source ${id} has label ${label} here and ${kl} elsewhere`);
  }
}

/** written, skipped and per-reason counts against the rows found and rejects.jsonl; the label-weight sums. */
function checkCounts(m: Manifest, manifestFile: string, rows: number, ctx: VerifyContext): void {
  const { p } = ctx;
  const planned = m.dataset.sources * m.config.rounds;
  if (m.counts.written !== rows) p.add(`${manifestFile}: counts.written ${m.counts.written}, the shards hold ${rows} rows`);
  if (m.counts.skipped !== planned - rows) p.add(`${manifestFile}: counts.skipped ${m.counts.skipped}, planned ${planned} − written ${rows} = ${planned - rows}`);
  const reasons: Record<string, number> = {};
  for (const [g, r] of ctx.skipped) {
    if (g >= planned || !ctx.missingSeen.has(g)) p.add(`rejects.jsonl lists index ${g} as skipped, yet it is not missing from the shards`);
    reasons[r] = (reasons[r] ?? 0) + 1;
  }
  if (!isDeepStrictEqual(sortKeys(reasons), sortKeys(m.counts.skipped_by_reason))) p.add(`${manifestFile}: counts.skipped_by_reason ${JSON.stringify(m.counts.skipped_by_reason)} ≠ rejects.jsonl's ${JSON.stringify(sortKeys(reasons))}`);
  const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
  if (sum(m.counts.rejected_by_reason) !== m.counts.rejected_sources) p.add(`${manifestFile}: counts.rejected_by_reason sums to ${sum(m.counts.rejected_by_reason)}, counts.rejected_sources is ${m.counts.rejected_sources}`);
  if (m.label_weights && !isDeepStrictEqual(m.label_weights, combine(ctx.shardWeights))) p.add(`${manifestFile}: label_weights differ from the weights the shards hold`);
}

/** A release of this version also lists its sources (the dataset fingerprint's input) and has its card. */
async function checkRelease(dir: string, m: Manifest, manifestSha256: string, ctx: VerifyContext): Promise<void> {
  await checkSources(dir, m, ctx.labelOf, ctx.p);
  const card = await fs.readFile(path.join(dir, CARD_FILE), 'utf8').catch(() => undefined);
  if (card === undefined) ctx.p.add(`${path.join(dir, CARD_FILE)} (the dataset card) is missing: rerun the generate or merge command that made ${dir}`);
  else if (card !== renderCard(m, manifestSha256)) ctx.p.add(`${path.join(dir, CARD_FILE)}: the dataset card differs from the one the manifest renders (edited?); rerun generate or merge to rewrite it`);
}

/** The HF files name the same shards and classes. */
async function checkHfFiles(dir: string, m: Manifest, features: unknown, p: Problems): Promise<void> {
  const state = (await readJson(path.join(dir, 'state.json'))) as { _data_files?: { filename: string }[] };
  if ((state._data_files ?? []).map((f) => f.filename).join() !== m.shards.map((s) => s.filename).join()) p.add(`${dir}/state.json lists other data files than the manifest`);
  const info = (await readJson(path.join(dir, 'dataset_info.json'))) as { features?: unknown };
  if (!isDeepStrictEqual(info.features, features)) p.add(`${dir}/dataset_info.json: features differ from the manifest's class names`);
}

/** Nothing else in the directory: temporary leftovers and files the manifest does not list are named. */
/** What Hugging Face datasets writes beside a load_from_disk dataset when it is mapped or filtered (one per result, num_proc parts). */
const HF_CACHE = /^cache-[0-9a-f]{16}(_\d{5}_of_\d{5})?\.arrow$/;

async function checkStrays(dir: string, entries: string[], m: Manifest, p: Problems): Promise<void> {
  const shardFiles = new Set(m.shards.map((s) => s.filename));
  const hfCache: string[] = [];
  for (const e of entries) {
    if (KNOWN.has(e) || shardFiles.has(e) || e === LOCK_FILE) continue;
    if (isLeftover(e)) p.add(`${path.join(dir, e)}: a temporary file left by an interrupted write (disk full? killed?); the next 'snapmix generate' into ${dir} removes it`);
    else if (HF_CACHE.test(e)) hfCache.push(e);
    else p.add(`${path.join(dir, e)}: a stray file the manifest does not list (a shard of another run, or a user file); move it out`);
  }
  if (hfCache.length) {
    p.add(`${dir}: ${hfCache.length} Hugging Face datasets cache file(s) (${hfCache.slice(0, 3).join(', ')}${hfCache.length > 3 ? ', …' : ''}): ds.map or ds.filter on load_from_disk("${dir}") wrote them into the release; they are not part of it. Remove them (rm ${path.join(dir, 'cache-*.arrow')}), and select rounds with ds.select(range(...)) or pass keep_in_memory=True to map/filter so they do not come back`);
  }
  for (const e of await fs.readdir(path.join(dir, STATE_DIR)).catch(() => [] as string[])) {
    if (isLeftover(e)) p.add(`${path.join(dir, STATE_DIR, e)}: a temporary file left by an interrupted write; the next 'snapmix generate' into ${dir} removes it`);
  }
}

/**
 * The labels of the plan's sources, in order: sources.jsonl less the sources the CAM pass rejected
 * (rejects.jsonl), which is how generate chose them. --partner other-class plans need them.
 */
async function sourceLabels(dir: string, n: number): Promise<number[]> {
  const missing = (f: string) => new UserError(`${path.join(dir, f)} is missing; a --partner other-class output needs it to replay its plan`);
  const rejects = (await fs.readFile(path.join(dir, 'rejects.jsonl'), 'utf8').catch(() => {
    throw missing('rejects.jsonl');
  })).split('\n').filter(Boolean).map((l) => JSON.parse(l) as { id: string; stage?: string });
  const rejected = new Set(rejects.filter((r) => r.stage === 'cams').map((r) => r.id));
  const sources = await readSourcesFile(dir);
  if (!sources) throw missing(SOURCES_FILE);
  const labels = sources.filter((s) => !rejected.has(s.id)).map((s) => s.label);
  if (labels.length !== n) throw new UserError(`${dir}: sources.jsonl less the CAM rejects gives ${labels.length} sources, the manifest says ${n}`);
  return labels;
}

/** sources.jsonl hashes to the manifest's dataset fingerprint and agrees with the rows' sources and labels. */
async function checkSources(dir: string, m: { class_names: string[]; dataset: { fingerprint: string } }, labelOf: Map<string, number>, p: Problems): Promise<void> {
  const file = path.join(dir, SOURCES_FILE);
  let list: SourceFile[] | undefined;
  try {
    list = await readSourcesFile(dir);
  } catch (e) {
    return p.add((e as Error).message);
  }
  if (!list) return p.add(`${file} is missing: rerun the generate or merge command that made ${dir}`);
  const fp = datasetFingerprint(m.class_names, list as unknown as DatasetRecord[], list.map((s) => s.sha256));
  if (fp !== m.dataset.fingerprint) p.add(`${file} does not hash to the manifest's dataset fingerprint (${fp.slice(0, 12)}… ≠ ${m.dataset.fingerprint.slice(0, 12)}…): it was edited`);
  const label = new Map(list.map((s) => [s.id, s.label]));
  for (const [id, l] of labelOf) {
    if (!label.has(id)) p.add(`${file} does not list ${id}, a source of the shards`);
    else if (label.get(id) !== l) p.add(`${file} gives ${id} label ${label.get(id)}, the shards ${l}`);
  }
}

function sortKeys(o: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== 0).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
