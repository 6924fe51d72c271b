// Ownership of an output directory (docs/SAFETY.md). Before anything is written:
//   - --out must not be a file, and must not equal, contain or sit inside anything the run reads
//     (dataset root, teacher, CAM cache, shards, validation data);
//   - a non-empty --out is touched only if it holds a snapmix output of the same kind (its marker
//     .snapmix/output.json, or the older content markers); --overwrite never removes anything else;
//   - the run holds OUT/.snapmix.lock for its whole length (two runs never mix in one directory).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { UserError, envError } from './errors.js';
import { acquireLock, LOCK_FILE, type Lock } from './lock.js';

export type OutputKind = 'shards' | 'cams' | 'model' | 'synth' | 'export' | 'demo';
export interface ReadPath { flag: string; path: string }

export const STATE_DIR = '.snapmix';
const MARKER = 'output.json';
const KIND_WORDS: Record<OutputKind, string> = { shards: 'shard output', cams: 'CAM cache', model: 'model directory', synth: 'synthetic dataset', export: 'export (Parquet or WebDataset)', demo: 'demo run directory' };

/** The canonical path: realpath of the deepest existing ancestor, plus the rest (which need not exist). */
export async function canonical(p: string): Promise<string> {
  let cur = path.resolve(p);
  const rest: string[] = [];
  for (;;) {
    try {
      return path.join(await fs.realpath(cur), ...rest.reverse());
    } catch {
      const up = path.dirname(cur);
      if (up === cur) return path.resolve(p);
      rest.push(path.basename(cur));
      cur = up;
    }
  }
}

/** Whether child is parent or lies below it (both canonical). */
export const within = (child: string, parent: string) => {
  const r = path.relative(parent, child);
  return r === '' || (!r.startsWith('..') && !path.isAbsolute(r));
};

async function readJson(file: string): Promise<Record<string, unknown> | undefined> {
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** Which kind of snapmix output dir holds, by its marker (or the content markers of older versions). */
async function outputKindOf(dir: string): Promise<OutputKind | undefined> {
  const m = await readJson(path.join(dir, STATE_DIR, MARKER));
  if (m && typeof m.kind === 'string' && m.kind in KIND_WORDS) return m.kind as OutputKind;
  if (await readJson(path.join(dir, STATE_DIR, 'request.json'))) return 'shards';
  if ((await readJson(path.join(dir, 'manifest.json')))?.format === 'snapmix-shards') return 'shards';
  if ((await readJson(path.join(dir, 'cams.json')))?.format === 'snapmix-cams') return 'cams';
  if ((await readJson(path.join(dir, 'synth.json')))?.generator === 'snapmix-synth') return 'synth';
  if ((await readJson(path.join(dir, 'preset.json'))) && (await fs.stat(path.join(dir, '.data.done')).then(() => true, () => false))) return 'demo';
  const model = await readJson(path.join(dir, 'model.json'));
  if (model && (model.userDefinedMetadata as Record<string, unknown> | undefined)?.snapmix) return 'model';
  return undefined;
}

/**
 * The names each kind of output writes at its top level: --overwrite and a rerun replace these and
 * nothing else, so a user's LICENSE or .git beside a release survives (verify names such files).
 */
const OWNED: Record<OutputKind, RegExp> = {
  shards: /^(data-\d{5}-of-\d{5}\.arrow|manifest\.json|state\.json|dataset_info\.json|rejects\.jsonl|README\.md|sources\.jsonl|cams)$/,
  cams: /^(cams\.arrow|cams\.json|rejects\.jsonl)$/,
  export: /^(data-\d{5}-of-\d{5}\.parquet|shard-\d{6}\.tar|SHA256SUMS|export\.json|README\.md|classes\.csv)$/,
  model: /^(model\.json|weights\.[0-9a-f]{12}\.bin|metrics\.jsonl|checkpoint|refresh)$/,
  synth: /^(train|test|masks|parts\.jsonl|synth\.json)$/,
  demo: /^(preset\.json|results\.json|accuracy\.png|preview-snapmix\.png|data|teacher|cams|shards-[a-z-]+|student-[a-z0-9+-]+|\.[a-z0-9+-]+\.done)$/,
};
export const ownedName = (kind: OutputKind, name: string) => name === STATE_DIR || OWNED[kind].test(name) || isLeftover(name);

/** Our temporary names (writeFileAtomic, stale locks): leftovers of a killed or failed write. */
export const isLeftover = (name: string) => /\.tmp-\d+$/.test(name) || /^\.snapmix\.lock\.stale-\d+$/.test(name);

export type OutState = 'new' | 'empty' | 'ours';

/**
 * Check --out against the rules above, reading only. 'ours' = it holds this kind of snapmix output
 * (the caller resumes it, or clears it under --overwrite).
 */
export async function inspectOutput(out: string, kind: OutputKind, reads: ReadPath[], overwrite: boolean): Promise<OutState> {
  const st = await fs.lstat(out).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw envError(e);
  });
  if (st && !st.isDirectory()) {
    throw new UserError(`--out ${out} is ${st.isSymbolicLink() ? 'a symbolic link' : 'a file'}, not a directory; nothing was written. Choose a directory path`);
  }
  const outC = await canonical(out);
  for (const r of reads) {
    const rc = await canonical(r.path);
    const why = outC === rc ? `is ${r.flag} ${r.path}` : within(outC, rc) ? `is inside ${r.flag} ${r.path}` : within(rc, outC) ? `contains ${r.flag} ${r.path}` : '';
    if (why) {
      throw new UserError(`--out ${out} ${why}: an output may never equal, contain or sit inside what the run reads (--overwrite would delete it). Nothing was written; choose a directory outside it`);
    }
  }
  if (!st) return 'new';
  const entries = (await fs.readdir(out).catch((e) => { throw envError(e); })).filter((e) => e !== LOCK_FILE && !isLeftover(e));
  if (!entries.length) return 'empty';
  const found = await outputKindOf(out);
  if (found === kind) return 'ours';
  const listing = `${entries.slice(0, 4).join(', ')}${entries.length > 4 ? ', …' : ''}`;
  if (found) {
    throw new UserError(`--out ${out} holds a snapmix ${KIND_WORDS[found]}, not a ${KIND_WORDS[kind]}; nothing was written. Choose another directory`);
  }
  throw new UserError(
    `--out ${out} is not empty (${listing}) and holds no snapmix ${KIND_WORDS[kind]}; nothing was written. ` +
      (overwrite ? '--overwrite only ever replaces a snapmix output, never other files: ' : '') + 'choose an empty or new directory',
  );
}

export interface Output {
  dir: string;
  /** The state found under the lock. */
  state: OutState;
  lock: Lock;
  /** Remove what this kind of output writes (never a user's file), but the lock and keep (only on 'ours' or 'empty'). */
  clear(keep?: string[]): Promise<void>;
  /** Release the lock; a directory this run created and left empty is removed again. */
  release(): Promise<void>;
  /** The run failed: take back the ownership marker if this run added it to a directory it found (a check refused it). */
  abandon(): Promise<void>;
}

/**
 * Check, create and lock --out for a run. The state is checked again once the lock is held, since
 * another run may have written there between the first check and the lock.
 */
export async function openOutput(o: { out: string; kind: OutputKind; command: string; reads: ReadPath[]; overwrite: boolean }): Promise<Output> {
  const first = await inspectOutput(o.out, o.kind, o.reads, o.overwrite);
  await makeDir(o.out);
  let lock: Lock;
  try {
    lock = await acquireLock(o.out, o.command);
  } catch (e) {
    if (first === 'new') await fs.rmdir(o.out).catch(() => {});
    throw envError(e);
  }
  const release = async () => {
    await lock.release();
    const left = await fs.readdir(o.out).catch(() => ['?']);
    if (first !== 'ours' && left.length === 1 && left[0] === STATE_DIR) {
      const inner = await fs.readdir(path.join(o.out, STATE_DIR)).catch(() => ['?']);
      if (inner.length === 1 && inner[0] === MARKER) await fs.rm(path.join(o.out, STATE_DIR), { recursive: true, force: true });
    }
    if (first === 'new') await fs.rmdir(o.out).catch(() => {}); // only succeeds when empty
  };
  try {
    // Checked again under the lock, even for a directory that did not exist a moment ago: another run
    // may have created and filled it in between.
    const again = await inspectOutput(o.out, o.kind, o.reads, o.overwrite);
    const state: OutState = first === 'new' && again === 'empty' ? 'new' : again;
    await removeLeftovers(o.out);
    const markerFile = path.join(o.out, STATE_DIR, MARKER);
    const hadMarker = !!(await readJson(markerFile));
    await markOutput(o.out, o.kind);
    return {
      abandon: async () => {
        if (!hadMarker && state === 'ours') {
          await fs.rm(markerFile, { force: true });
          await fs.rmdir(path.join(o.out, STATE_DIR)).catch(() => {}); // only when empty
        }
      },
      dir: o.out,
      state,
      lock,
      clear: async (keep: string[] = []) => {
        for (const e of await fs.readdir(o.out)) if (e !== LOCK_FILE && !keep.includes(e) && ownedName(o.kind, e)) await fs.rm(path.join(o.out, e), { recursive: true, force: true });
        await markOutput(o.out, o.kind);
      },
      release,
    };
  } catch (e) {
    await release();
    throw envError(e);
  }
}

/**
 * mkdir -p with the true cause on failure: Node's recursive mkdir reports ENOENT on a read-only or
 * unwritable parent, so the first missing component is created alone to learn why (EROFS, EACCES, …).
 */
async function makeDir(dir: string): Promise<void> {
  try {
    await fs.mkdir(dir, { recursive: true });
    return;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw envError(e);
  }
  let cur = path.resolve(dir);
  while (!(await fs.stat(path.dirname(cur)).then(() => true, () => false)) && path.dirname(cur) !== cur) cur = path.dirname(cur);
  try {
    await fs.mkdir(cur);
  } catch (e) {
    throw envError(e);
  }
  await fs.mkdir(dir, { recursive: true }).catch((e) => { throw envError(e); });
}

/** Write the ownership marker (before any other output, so a partial run is still recognised as ours). */
export async function markOutput(dir: string, kind: OutputKind): Promise<void> {
  await fs.mkdir(path.join(dir, STATE_DIR), { recursive: true });
  const file = path.join(dir, STATE_DIR, MARKER);
  if (!(await readJson(file))) await fs.writeFile(file, JSON.stringify({ kind, tool: 'snapmix' }) + '\n');
}

/** Remove our own temporary leftovers (a kill or ENOSPC mid-write) from dir and dir/.snapmix. */
async function removeLeftovers(dir: string): Promise<string[]> {
  const removed: string[] = [];
  for (const d of [dir, path.join(dir, STATE_DIR), path.join(dir, 'cams')]) {
    for (const e of await fs.readdir(d).catch(() => [] as string[])) {
      if (isLeftover(e)) {
        await fs.rm(path.join(d, e), { force: true });
        removed.push(path.join(d, e));
      }
    }
  }
  return removed;
}

/** Run fn with --out opened and locked; the lock is released however fn ends. */
export async function withOutput<T>(o: Parameters<typeof openOutput>[0], fn: (out: Output) => Promise<T>): Promise<T> {
  const out = await openOutput(o);
  try {
    return await fn(out);
  } catch (e) {
    await out.abandon().catch(() => {});
    throw envError(e, `a file in ${o.out}`);
  } finally {
    await out.release();
  }
}
