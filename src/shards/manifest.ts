// The output's accounts: per-shard stats (the commit markers), the manifest, the HF files and the part
// file of a split run. One function builds the manifest from shard stats, so a single run and a merge of
// parts write the same bytes.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { GenerateConfig } from './config.js';
import { rejectRecord, type Reject } from '../data/reject.js';
import { writeFileAtomic } from '../util/fs.js';
import { STATE_DIR } from '../util/outdir.js';
import { UserError } from '../util/errors.js';
import { hfFeatures } from './schema.js';
import { combine } from './summary.js';
import { CARD_FILE, DEFAULT_LICENSE, renderCard } from './card.js';

export type { Manifest, ReleaseInfo, RunInfo, ShardStats, SourceFile } from './manifest-types.js';
import type { ReleaseInfo, RunInfo, ShardStats, SkippedSample, SourceFile, Manifest } from './manifest-types.js';

export const SOURCES_FILE = 'sources.jsonl';

/** The card's license and title: a given title only (the default is rendered from the manifest). */
export function releaseOf(r: Partial<ReleaseInfo> = {}): ReleaseInfo {
  return { license: r.license ?? DEFAULT_LICENSE, ...(r.title ? { title: r.title } : {}) };
}

const pad5 = (n: number) => String(n).padStart(5, '0');
export const shardName = (k: number, n: number) => `data-${pad5(k)}-of-${pad5(n)}.arrow`;

const byId = (x: { id: string }, y: { id: string }) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0);
const count = (xs: { reason: string }[]) => xs.reduce<Record<string, number>>((m, x) => ((m[x.reason] = (m[x.reason] ?? 0) + 1), m), {});

function rejectedSources(info: RunInfo, skipped: SkippedSample[]): Reject[] {
  // Sources found unreadable at compose time (no CAM pass screened them: cutmix/mixup/none) are
  // rejected sources too, once each, with their path and message.
  const seen = new Map<string, Reject>();
  for (const k of skipped) if (!seen.has(k.id)) seen.set(k.id, { id: k.id, reason: k.reason as Reject['reason'], message: k.message });
  return [...info.sourceRejects, ...[...seen.values()].sort(byId)];
}

/** The manifest of the shards in stats (in shard order). */
export function buildManifest(info: RunInfo, stats: ShardStats[]): Manifest {
  const byMethod: Record<string, number> = {};
  for (const s of stats) for (const [m, k] of Object.entries(s.by_method)) byMethod[m] = (byMethod[m] ?? 0) + k;
  const skipped = stats.flatMap((s) => s.skipped);
  const rejected = rejectedSources(info, skipped);
  return {
    format: 'snapmix-shards',
    format_version: info.formatVersion,
    request: info.request,
    config: info.config,
    class_names: info.classNames,
    dataset: info.dataset,
    teacher: info.teacher ? { fingerprint: info.teacher, ...(info.teacherAgreement ? { agreement: info.teacherAgreement } : {}) } : null,
    ...(info.generator ? { generator: info.generator } : {}),
    release: info.release,
    shards: stats.map(({ skipped: _s, by_method: _m, request: _r, weights: _w, ...e }) => e),
    counts: {
      planned: info.dataset.sources * info.config.rounds,
      written: stats.reduce((a, s) => a + s.rows, 0),
      skipped: skipped.length,
      skipped_by_reason: count(skipped),
      rejected_sources: rejected.length,
      rejected_by_reason: count(rejected),
      by_method: byMethod,
    },
    label_weights: combine(stats.map((s) => s.weights)),
  };
}

/** sources.jsonl of an output (undefined when it has none, as outputs of older versions); a broken line is named. */
export async function readSourcesFile(dir: string): Promise<SourceFile[] | undefined> {
  const file = path.join(dir, SOURCES_FILE);
  const text = await fs.readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const list: SourceFile[] = [];
  for (const [i, line] of text.split('\n').entries()) {
    if (!line) continue;
    try {
      list.push(JSON.parse(line) as SourceFile);
    } catch {
      throw new UserError(`${file} line ${i + 1} is not JSON`);
    }
  }
  return list;
}

const sourcesJsonl = (sources: SourceFile[]) => sources.map((s) => JSON.stringify({ id: s.id, label: s.label, split: s.split, sha256: s.sha256 }) + '\n').join('');

/** rejects.jsonl, sources.jsonl, dataset_info.json, state.json, manifest.json and, last, the card (README.md). */
export async function writeOutputFiles(dir: string, info: RunInfo, stats: ShardStats[]): Promise<{ manifest: Manifest; manifestSha256: string }> {
  const manifest = buildManifest(info, stats);
  await writeFileAtomic(path.join(dir, 'rejects.jsonl'), [
    ...info.sourceRejects.map((r) => JSON.stringify({ stage: 'cams', ...rejectRecord(r) })),
    ...stats.flatMap((s) => s.skipped).map((s) => JSON.stringify({ stage: 'compose', ...s })),
  ].map((l) => l + '\n').join(''));
  await writeFileAtomic(path.join(dir, 'dataset_info.json'), JSON.stringify({
    citation: '', description: `SnapMix-augmented samples (method ${info.config.method}) written by snapmix`, features: hfFeatures(info.classNames), homepage: '', license: '',
  }, null, 2) + '\n');
  await writeFileAtomic(path.join(dir, 'state.json'), JSON.stringify({
    _data_files: stats.map((s) => ({ filename: s.filename })),
    _fingerprint: info.request.slice(0, 16),
    _format_columns: null,
    _format_kwargs: {},
    _format_type: null,
    _output_all_columns: false,
    _split: null,
  }, null, 2) + '\n');
  await writeFileAtomic(path.join(dir, SOURCES_FILE), sourcesJsonl(info.sources));
  const { sha256 } = await writeFileAtomic(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  await writeFileAtomic(path.join(dir, CARD_FILE), renderCard(manifest, sha256));
  return { manifest, manifestSha256: sha256 };
}

/** A shard's stats file, its commit marker (OUT/.snapmix/<shard>.json), written after the shard. */
export async function writeShardStats(dir: string, st: ShardStats): Promise<void> {
  await writeFileAtomic(path.join(dir, STATE_DIR, `${st.filename}.json`), JSON.stringify(st) + '\n');
}

export async function readShardStats(dir: string, filename: string): Promise<ShardStats | undefined> {
  return fs.readFile(path.join(dir, STATE_DIR, `${filename}.json`), 'utf8').then((t) => JSON.parse(t) as ShardStats, () => undefined);
}

/** The request an output belongs to (OUT/.snapmix/request.json), written before any shard. */
export async function writeRequest(dir: string, request: string, config: GenerateConfig): Promise<void> {
  await fs.mkdir(path.join(dir, STATE_DIR), { recursive: true });
  await writeFileAtomic(path.join(dir, STATE_DIR, 'request.json'), JSON.stringify({ request, config }, null, 2) + '\n');
}

/** The request an earlier run into dir recorded, if any. */
export async function readRequest(dir: string): Promise<string | undefined> {
  return fs.readFile(path.join(dir, STATE_DIR, 'request.json'), 'utf8').then((t) => (JSON.parse(t) as { request: string }).request, () => undefined);
}

const PART_FILE = 'part.json';

export interface PartFile {
  format: 'snapmix-part';
  version: 1;
  part: { index: number; of: number };
  num_shards: number;
  info: RunInfo;
  shards: ShardStats[];
}

/** The commit marker of one part of a split run (written last). */
export async function writePart(dir: string, part: { index: number; of: number }, numShards: number, info: RunInfo, stats: ShardStats[]): Promise<void> {
  const p: PartFile = { format: 'snapmix-part', version: 1, part, num_shards: numShards, info, shards: stats };
  await writeFileAtomic(path.join(dir, STATE_DIR, PART_FILE), JSON.stringify(p) + '\n');
}

/**
 * Where dir is one part of a split run (generate or cams), the message that says so and what to run;
 * commands that need a whole output (verify, inspect, export, reproduce, train, generate --cams) call it first.
 */
export async function partNotice(dir: string): Promise<string | undefined> {
  for (const [file, cmd] of [[PART_FILE, 'generate'], ['cams-part.json', 'cams']] as const) {
    const p = await fs.readFile(path.join(dir, STATE_DIR, file), 'utf8').then((t) => JSON.parse(t) as { part?: { index: number; of: number } }, () => undefined);
    if (p?.part) return `${dir} is part ${p.part.index} of ${p.part.of} of a split '${cmd}', not a whole output: run 'snapmix merge PART_0 … PART_${p.part.of - 1} --out DIR' and use DIR`;
  }
  return undefined;
}

export async function readPart(dir: string): Promise<PartFile> {
  const file = path.join(dir, STATE_DIR, PART_FILE);
  const text = await fs.readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) throw new UserError(`${dir} is not a finished part of a split generate (no ${STATE_DIR}/${PART_FILE}); rerun its 'generate … --num-shards K --shard-index I' to finish it`);
  let p: PartFile;
  try {
    p = JSON.parse(text) as PartFile;
  } catch (e) {
    throw new UserError(`${file} is not valid JSON (${(e as Error).message}); rerun that part`);
  }
  if (p?.format !== 'snapmix-part' || p.version !== 1) throw new UserError(`${file} is not a snapmix part file`);
  const int = (v: unknown) => Number.isInteger(v) && (v as number) >= 0;
  const ok = int(p.part?.index) && int(p.part?.of) && p.part.index < p.part.of && int(p.num_shards) && typeof p.info?.request === 'string' && Array.isArray(p.shards) &&
    p.shards.every((s) => typeof s?.filename === 'string' && typeof s.sha256 === 'string' && Array.isArray(s.skipped));
  if (!ok) throw new UserError(`${file} is damaged (part, num_shards, info.request or shards missing or malformed); rerun that part`);
  return p;
}
