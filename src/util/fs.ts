// Small file helpers shared by every writer: atomic writes (temporary name, then rename) and existence.
import { promises as fs } from 'node:fs';
import { createHash } from 'node:crypto';

export interface WrittenFile { bytes: number; sha256: string }

/**
 * Write under a temporary name and rename, so readers never see a partial file; returns size and
 * sha256. A failed write (disk full) removes its temporary file; one a kill leaves behind matches
 * isLeftover() and the next run into the directory removes it.
 */
export async function writeFileAtomic(file: string, data: Uint8Array | string): Promise<WrittenFile> {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    await fs.writeFile(tmp, data);
    await fs.rename(tmp, file);
  } catch (e) {
    await fs.rm(tmp, { force: true }).catch(() => {});
    // A write that fails for lack of space carries no path in Node's error: name the file here.
    const err = e as NodeJS.ErrnoException;
    if (err && typeof err === 'object' && !err.path) err.path = file;
    throw e;
  }
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  return { bytes: buf.length, sha256: createHash('sha256').update(buf).digest('hex') };
}

/** sha256 of a file's bytes, or undefined when it cannot be read. */
export async function fileSha256(file: string): Promise<string | undefined> {
  const buf = await fs.readFile(file).catch(() => undefined);
  return buf && createHash('sha256').update(buf).digest('hex');
}

export const exists = (p: string): Promise<boolean> => fs.stat(p).then(() => true, () => false);
