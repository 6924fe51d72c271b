// Path safety: every file a reader returns must lie inside the dataset root, also after symlinks.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { UserError } from '../util/errors.js';

export async function realRoot(root: string): Promise<string> {
  try {
    const st = await fs.stat(root);
    if (!st.isDirectory()) throw new UserError(`dataset root ${root} is not a directory`);
    return await fs.realpath(root);
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`dataset root ${root} does not exist; pass --data pointing at an ImageFolder, CUB-200-2011 directory or a CSV/JSONL manifest`);
  }
}

/**
 * Resolve a relative path against the root, refusing absolute paths, '..' escapes and symlinks that
 * point outside. `where` names the file/row for the error.
 */
export async function safeResolve(realRootDir: string, rel: string, where: string): Promise<string> {
  if (path.isAbsolute(rel) || /^[a-zA-Z]:[\\/]/.test(rel)) {
    throw new UserError(`${where}: path '${rel}' is absolute; paths must be relative to the dataset root ${realRootDir}`);
  }
  const norm = path.posix.normalize(rel.replace(/\\/g, '/'));
  if (norm === '..' || norm.startsWith('../')) {
    throw new UserError(`${where}: path '${rel}' escapes the dataset root ${realRootDir}; keep files inside it`);
  }
  const abs = path.join(realRootDir, norm);
  let real: string;
  try {
    real = await fs.realpath(abs);
  } catch {
    throw new UserError(`${where}: file '${rel}' does not exist under ${realRootDir}`);
  }
  if (real !== realRootDir && !real.startsWith(realRootDir + path.sep)) {
    throw new UserError(`${where}: '${rel}' is a symlink pointing outside the dataset root (${real}); copy the file in or drop it`);
  }
  return abs;
}

export function toPosixId(rel: string): string {
  return path.posix.normalize(rel.replace(/\\/g, '/'));
}
