// `snapmix reproduce RELEASE --data DIR (--teacher MODEL | --cams CAMS)`: regenerate the request a
// release's manifest records (all of it, or one part of a K-way split to spot-check a big release) into a
// scratch directory and compare every shard's sha256 with the manifest. Before that, the fingerprints say
// what differs, so a failure names its cause: the release's own files, an edited config, changed source
// images, another teacher.
import { REPRODUCIBLE_FORMAT_VERSIONS } from '../shards/format-version.js';
import { promises as fs, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { RecordBatchReader } from 'apache-arrow';
import type { Dataset, DatasetRecord } from '../data/types.js';
import { datasetFingerprint, hashFiles } from '../data/fingerprint.js';
import type { Teacher } from '../model/teacher.js';
import { readManifest } from '../shards/reader.js';
import { verifyDirectory } from '../shards/verify.js';
import { readSourcesFile, SOURCES_FILE, type Manifest } from '../shards/manifest.js';
import { firstDifference, type ShardDifference } from '../shards/diff.js';
import { CARD_FILE } from '../shards/card.js';
import { fileSha256 } from '../util/fs.js';
import { UserError } from '../util/errors.js';
import { generate } from './generate.js';
import { requestHash, storedConfigInput } from '../shards/config.js';

export interface ReproduceOptions {
  release: string;
  dataset: Dataset;
  records: DatasetRecord[];
  /** Described once by the caller; its compute runs the teacher pass when there is no --cams. */
  teacher?: Teacher;
  cams?: string;
  /** Regenerate only part index of of (shards k ≡ index mod of). */
  part?: { index: number; of: number };
  /** Where to regenerate (default: a new temporary directory, removed afterwards). */
  scratch?: string;
  keep?: boolean;
  workers?: number;
  camBatch?: number;
  log?: (line: string) => void;
  onProgress?: (stage: string, done: number, total: number) => void;
}

export interface ShardVerdict {
  filename: string;
  identical: boolean;
  /** Why not: the regeneration differs from the manifest, and/or the release's file does. */
  regenerated?: 'matches the manifest' | 'differs from the manifest';
  releaseFile?: 'matches the manifest' | 'differs from the manifest' | 'missing';
  difference?: ShardDifference;
}

export interface ReproduceResult {
  /** Named causes, found before regenerating (empty when every fingerprint agrees). */
  causes: string[];
  shards: ShardVerdict[];
  /** Other files of a full reproduction that differ (manifest.json, the card). */
  /** `version`: differs only in the snapmix version recorded in the manifest (and so in the card, which names the manifest's sha256). */
  files: { name: string; identical: boolean; version?: string }[];
  scratch: string;
  ok: boolean;
}

/** What differs between the release's sources and the files under --data: named, at most a few of each. */
async function dataCauses(m: Manifest, release: string, o: ReproduceOptions): Promise<string[]> {
  const out: string[] = [];
  if (!isDeepStrictEqual(o.dataset.classNames, m.class_names)) out.push(`the classes differ: --data has ${o.dataset.classNames.length} (${o.dataset.classNames.slice(0, 4).join(', ')}…), the release ${m.class_names.length} (${m.class_names.slice(0, 4).join(', ')}…)`);
  const sha = await hashFiles(o.records);
  const fp = datasetFingerprint(o.dataset.classNames, o.records, sha);
  if (fp === m.dataset.fingerprint) return out;
  const listed = await readSourcesFile(release);
  if (!listed) return [...out, `--data ${o.dataset.root} is not the release's dataset (fingerprint ${fp.slice(0, 12)}… ≠ ${m.dataset.fingerprint.slice(0, 12)}…); the release has no ${SOURCES_FILE} to name the files`];
  const mine = new Map(o.records.map((r, i) => [r.id, { r, sha: sha[i] }]));
  const theirs = new Map(listed.map((s) => [s.id, s]));
  const changed = listed.filter((s) => mine.has(s.id) && mine.get(s.id)!.sha !== s.sha256).map((s) => s.id);
  const relabelled = listed.filter((s) => mine.has(s.id) && mine.get(s.id)!.r.label !== s.label).map((s) => s.id);
  const missing = listed.filter((s) => !mine.has(s.id)).map((s) => s.id);
  const added = o.records.filter((r) => !theirs.has(r.id)).map((r) => r.id);
  const few = (xs: string[]) => `${xs.slice(0, 5).join(', ')}${xs.length > 5 ? `, … (${xs.length})` : ''}`;
  if (changed.length) out.push(`source image(s) changed since the release (sha256 differs from ${SOURCES_FILE}): ${few(changed)}`);
  if (relabelled.length) out.push(`source(s) with another label than the release's: ${few(relabelled)}`);
  if (missing.length) out.push(`source(s) of the release missing from --data: ${few(missing)}`);
  if (added.length) out.push(`source(s) in --data the release does not have: ${few(added)}`);
  if (!out.length) out.push(`--data ${o.dataset.root} differs from the release's dataset (fingerprint ${fp.slice(0, 12)}… ≠ ${m.dataset.fingerprint.slice(0, 12)}…: file order or splits)`);
  return out;
}

async function teacherCauses(m: Manifest, o: ReproduceOptions): Promise<string[]> {
  const want = m.teacher?.fingerprint ?? null;
  if (!want) return [];
  const out: string[] = [];
  if (o.cams) {
    const meta = JSON.parse(await fs.readFile(path.join(o.cams, 'cams.json'), 'utf8').catch(() => {
      throw new UserError(`--cams ${o.cams} has no cams.json: not a finished 'snapmix cams' output`);
    })) as { teacher_fingerprint: string };
    if (meta.teacher_fingerprint !== want) out.push(`--cams ${o.cams} was computed by another teacher than the release's (fingerprint ${meta.teacher_fingerprint.slice(0, 12)}… ≠ ${want.slice(0, 12)}…)`);
  }
  if (o.teacher) {
    const { fingerprint } = o.teacher;
    if (fingerprint !== want) out.push(`--teacher ${o.teacher.path} is not the release's teacher (fingerprint ${fingerprint.slice(0, 12)}… ≠ ${want.slice(0, 12)}…)`);
  }
  return out;
}

/** The release's own consistency: verify, the request hash of its config, the config its shards carry. */
async function releaseCauses(m: Manifest, release: string): Promise<string[]> {
  const out: string[] = [];
  await verifyDirectory(release, { allowEmpty: true }).catch((e: Error) => {
    out.push(`the release fails 'snapmix verify': ${e.message.split('\n').slice(1, 4).map((l) => l.trim()).join('; ')}`);
  });
  if (requestHash(m.config, m.dataset.fingerprint, m.teacher?.fingerprint ?? null, m.format_version) !== m.request) {
    out.push(`manifest.json's config or fingerprints were edited after generation: they do not hash to its request ${m.request.slice(0, 12)}…`);
  }
  const first = m.shards[0] && (await fs.readFile(path.join(release, m.shards[0].filename)).catch(() => undefined));
  if (first) {
    try {
      const meta = JSON.parse(RecordBatchReader.from(first).open().schema.metadata.get('snapmix') ?? '{}') as { config?: Record<string, unknown> };
      const keys = Object.keys(m.config).filter((k) => meta.config && !isDeepStrictEqual(meta.config[k], (m.config as unknown as Record<string, unknown>)[k]));
      if (keys.length) out.push(`the shards were made with another config than manifest.json says: ${keys.map((k) => `${k} ${JSON.stringify(meta.config![k])} in the shards, ${JSON.stringify((m.config as unknown as Record<string, unknown>)[k])} in the manifest`).join('; ')}`);
    } catch {
      /* verify has said the shard is unreadable */
    }
  }
  return out;
}

/**
 * 'A → B' when two manifests differ only in the snapmix version that made them (every shard, count and
 * fingerprint the same): a newer snapmix reproduced an older release.
 */
async function versionOnlyDifference(release: string, regenerated: string): Promise<string | undefined> {
  const [a, b] = await Promise.all([release, regenerated].map((f) => fs.readFile(f, 'utf8').then((t) => JSON.parse(t) as Manifest, () => undefined)));
  if (!a?.generator || !b?.generator || a.generator.snapmix === b.generator.snapmix) return undefined;
  const same = JSON.stringify({ ...b, generator: { ...b.generator, snapmix: a.generator.snapmix } }, null, 2) + '\n' === (await fs.readFile(release, 'utf8'));
  return same ? `${a.generator.snapmix} → ${b.generator.snapmix}` : undefined;
}

export async function reproduce(o: ReproduceOptions): Promise<ReproduceResult> {
  const m = await readManifest(o.release);
  if (!REPRODUCIBLE_FORMAT_VERSIONS.includes(m.format_version)) {
    throw new UserError(`${o.release} is shard format ${m.format_version}; this snapmix regenerates formats ${REPRODUCIBLE_FORMAT_VERSIONS.join(' and ')} byte for byte (format 2 recorded no --fit, format 1 computed weights another way). 'snapmix verify' and 'train --shards' still read it`);
  }
  if (m.teacher && !o.teacher && !o.cams) throw new UserError(`${o.release} was made with a teacher (${m.config.method}): pass --teacher MODEL or --cams CAMS`);
  o.log?.(`reproduce: checking ${o.release} and the fingerprints of --data${o.teacher ? ' and --teacher' : o.cams ? ' and --cams' : ''}`);
  const causes = [...(await releaseCauses(m, o.release)), ...(await dataCauses(m, o.release, o)), ...(await teacherCauses(m, o))];
  for (const c of causes) o.log?.(`reproduce: cause: ${c}`);

  const scratch = o.scratch ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'snapmix-reproduce-')));
  // Ctrl-C or a scheduler's SIGTERM: the temporary directory goes with the run (a --scratch stays, resumable).
  const onSignal = (sig: NodeJS.Signals) => {
    if (!o.scratch && !o.keep) rmSync(scratch, { recursive: true, force: true });
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    o.log?.(`reproduce: regenerating ${o.part ? `part ${o.part.index} of ${o.part.of}` : 'every shard'} into ${scratch}`);
    const r = await generate({
      config: storedConfigInput(m.config), dataset: o.dataset, records: o.records, teacher: o.teacher, cams: o.cams, out: scratch, formatVersion: m.format_version, allowWeakTeacher: true, // the release made its choice; this only regenerates it
      workers: o.workers, camBatch: o.camBatch ?? 32, strict: false, overwrite: false, allowEmpty: true, part: o.part, release: m.release, onProgress: o.onProgress,
      alsoReads: [{ flag: 'RELEASE', path: o.release }],
    }).catch((e: unknown) => {
      // e.g. --cams computed for other data: a cause of its own, reported with the rest.
      if (e instanceof UserError) throw new UserError(`${causes.length ? `${causes.join('; ')}; ` : ''}the regeneration stopped: ${e.message}`);
      throw e;
    });
    const made = new Map(r.manifest.shards.map((s) => [s.filename, s]));
    const shards: ShardVerdict[] = [];
    for (const [k, s] of m.shards.entries()) {
      if (o.part && k % o.part.of !== o.part.index) continue;
      const regen = made.get(s.filename);
      const fileSha = await fileSha256(path.join(o.release, s.filename));
      const v: ShardVerdict = {
        filename: s.filename,
        identical: regen?.sha256 === s.sha256 && fileSha === s.sha256,
        regenerated: regen?.sha256 === s.sha256 ? 'matches the manifest' : 'differs from the manifest',
        releaseFile: !fileSha ? 'missing' : fileSha === s.sha256 ? 'matches the manifest' : 'differs from the manifest',
      };
      if (!v.identical && regen && fileSha) {
        v.difference = firstDifference(await fs.readFile(path.join(o.release, s.filename)), await fs.readFile(path.join(scratch, s.filename)));
      }
      shards.push(v);
    }
    if (!o.part && r.manifest.shards.length !== m.shards.length) causes.push(`the regeneration has ${r.manifest.shards.length} shard(s), the release ${m.shards.length}`);
    const files: ReproduceResult['files'] = [];
    if (!o.part) {
      const version = await versionOnlyDifference(path.join(o.release, 'manifest.json'), path.join(scratch, 'manifest.json'));
      for (const name of ['manifest.json', CARD_FILE, SOURCES_FILE, 'rejects.jsonl']) {
        const [a, b] = await Promise.all([fileSha256(path.join(o.release, name)), fileSha256(path.join(scratch, name))]);
        const identical = !!a && a === b;
        files.push({ name, identical, ...(!identical && version && (name === 'manifest.json' || name === CARD_FILE) ? { version } : {}) });
      }
    }
    const ok = !causes.length && shards.every((s) => s.identical) && files.every((f) => f.identical || f.version);
    return { causes, shards, files, scratch, ok };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    if (!o.scratch && !o.keep) await fs.rm(scratch, { recursive: true, force: true });
  }
}
