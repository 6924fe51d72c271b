// Single-file outputs (PNG sheets and plots, reports) under the same rules as output directories:
// never over an input (not even with --overwrite), never over a file snapmix did not write unless the
// user says --overwrite, never onto a directory or through a symbolic link, written to a temporary name
// and renamed. checkOutputFile reads only, so a command can check before its long work and write after.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { UserError, envError } from './errors.js';
import { canonical, within, type ReadPath } from './outdir.js';
import { writeFileAtomic } from './fs.js';

export interface OutputFile {
  /** The file to write and the flag that named it (for messages). */
  file: string;
  flag: string;
  /** Everything the run reads: the file may not equal or sit inside any of them. */
  reads: ReadPath[];
  overwrite: boolean;
  /** Whether an existing file's bytes show that snapmix wrote it (then it is replaced without --overwrite). */
  isOurs: (bytes: Buffer) => boolean;
}

/** Check the rules, reading only; throws a UserError naming the path and the fix. */
export async function checkOutputFile(o: OutputFile): Promise<void> {
  const what = `${o.flag} ${o.file}`;
  if (/[/\\]$/.test(o.file)) throw new UserError(`${what} names a directory; give a file path (e.g. ${path.join(o.file, 'out.png')}). Nothing was written`);
  const fc = await canonical(o.file);
  for (const r of o.reads) {
    const rc = await canonical(r.path);
    if (fc === rc || within(fc, rc)) {
      throw new UserError(`${what} ${fc === rc ? 'is' : 'is inside'} ${r.flag} ${r.path}: an output never replaces or joins what the run reads (not even with --overwrite). Nothing was written; choose a path outside it`);
    }
  }
  const st = await fs.lstat(o.file).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT' || e.code === 'ENOTDIR') return undefined;
    throw envError(e);
  });
  if (!st) return;
  if (st.isDirectory()) throw new UserError(`${what} is a directory; give a file path (e.g. ${path.join(o.file, 'out.png')}). Nothing was written`);
  if (st.isSymbolicLink()) throw new UserError(`${what} is a symbolic link; snapmix does not write through links. Nothing was written; choose another path`);
  if (!st.isFile()) throw new UserError(`${what} is not a regular file. Nothing was written; choose another path`);
  if (o.overwrite) return;
  const bytes = await fs.readFile(o.file).catch((e) => { throw envError(e); });
  if (!o.isOurs(bytes)) {
    throw new UserError(`${what} exists and snapmix did not write it; nothing was written. Choose another path, or pass --overwrite to replace it`);
  }
}

/** Check again, make the parent directory, write under a temporary name and rename. */
export async function writeOutputFile(o: OutputFile, bytes: Uint8Array): Promise<void> {
  await checkOutputFile(o);
  try {
    await fs.mkdir(path.dirname(path.resolve(o.file)), { recursive: true });
    await writeFileAtomic(o.file, bytes);
  } catch (e) {
    const err = envError(e);
    if (err instanceof UserError) throw new UserError(`${o.flag} ${o.file}: ${err.message}`);
    throw err;
  }
}
