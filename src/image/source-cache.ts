// Each source decoded once per run: RGB at R×R ('cover'), one fixed-size slot per source, shared by all
// rounds, partners and workers. In a SharedArrayBuffer when the dataset fits --cache-mem (workers read it
// without a copy), otherwise spilled to a raw file in the output directory and read by offset (the OS page
// cache keeps what fits). Workers fill the slots in a first pass that also hashes each file, so every
// source is read from disk exactly once.
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { promises as fs } from 'node:fs';
import os from 'node:os';

export type SourceCacheRef =
  | { kind: 'memory'; sab: SharedArrayBuffer; R: number }
  | { kind: 'file'; file: string; R: number };

export const slotBytes = (R: number) => R * R * 3;

/** Default --cache-mem: a quarter of the machine's memory, at most 8 GiB. */
export function defaultCacheMem(): number {
  return Math.min(8 * 2 ** 30, Math.floor(os.totalmem() / 4));
}

/** A cache for n sources at R×R: in memory within budget bytes, else a file at spillFile. */
export async function createSourceCache(n: number, R: number, budget: number, spillFile: string): Promise<SourceCacheRef> {
  const bytes = n * slotBytes(R);
  if (bytes <= budget) return { kind: 'memory', sab: new SharedArrayBuffer(Math.max(1, bytes)), R };
  const h = await fs.open(spillFile, 'w');
  await h.truncate(bytes);
  await h.close();
  return { kind: 'file', file: spillFile, R };
}

export async function disposeSourceCache(c: SourceCacheRef): Promise<void> {
  for (const fd of fds.values()) closeSync(fd);
  fds.clear();
  if (c.kind === 'file') await fs.rm(c.file, { force: true });
}

// Per thread: one descriptor per spill file.
const fds = new Map<string, number>();
const fdOf = (file: string) => {
  let fd = fds.get(file);
  if (fd === undefined) fds.set(file, (fd = openSync(file, 'r+')));
  return fd;
};

export function writeSlot(c: SourceCacheRef, slot: number, rgb: Uint8Array): void {
  const n = slotBytes(c.R);
  if (rgb.length !== n) throw new Error(`source cache: slot ${slot} gets ${rgb.length} bytes, expected ${n}`);
  if (c.kind === 'memory') new Uint8Array(c.sab, slot * n, n).set(rgb);
  else writeSync(fdOf(c.file), rgb, 0, n, slot * n);
}

/** The R×R×3 pixels of a slot: a view into shared memory, or a copy read from the spill file. */
export function readSlot(c: SourceCacheRef, slot: number): Uint8Array {
  const n = slotBytes(c.R);
  if (c.kind === 'memory') return new Uint8Array(c.sab, slot * n, n);
  const out = new Uint8Array(n);
  readSync(fdOf(c.file), out, 0, n, slot * n);
  return out;
}
