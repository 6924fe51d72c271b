/** An error caused by the user's input: the CLI prints its message alone, without a stack. */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

/** A --strict stop at a bad input: the run's partial output is of no use once the input is fixed. */
export class StrictError extends UserError {}

// What an environment failure means and what to do about it, by errno code.
const REMEDIES: Record<string, [string, string]> = {
  ENOSPC: ['no space left on the device', 'free some space (or choose another --out) and rerun the same command: finished work is kept'],
  EDQUOT: ['disk quota exceeded', 'free some space (or choose another --out) and rerun the same command: finished work is kept'],
  EROFS: ['the file system is read-only', 'choose a writable location'],
  EACCES: ['permission denied', 'fix the permissions or choose a location you can write'],
  EPERM: ['operation not permitted', 'fix the permissions or choose a location you can write'],
  ENOTDIR: ['a part of the path is a file, not a directory', 'check the path'],
  EISDIR: ['is a directory where a file was expected', 'check the path'],
  EEXIST: ['already exists', 'choose another path'],
  ENOENT: ['does not exist', 'check the path'],
  EMFILE: ['too many open files', 'raise the limit (ulimit -n) or lower --workers'],
  ENFILE: ['too many open files on the system', 'lower --workers and retry'],
  EIO: ['input/output error', 'check the device'],
  ENAMETOOLONG: ['the path is too long', 'choose a shorter path'],
};

/**
 * A Node system error (disk full, read-only, permissions, …) as a UserError naming the path and the
 * remedy, so the CLI prints `snapmix: error: …` instead of a stack. Other errors pass through.
 */
export function envError(e: unknown, context?: string): unknown {
  const err = e as NodeJS.ErrnoException & { dest?: string };
  if (!(err instanceof Error) || typeof err.code !== 'string' || !(err.code in REMEDIES)) return e;
  const [what, fix] = REMEDIES[err.code];
  const where = err.path ? `${err.path}${err.dest ? ` → ${err.dest}` : ''}` : (context ?? 'a file');
  return new UserError(`${where}: ${what} (${err.code}${err.syscall ? ` in ${err.syscall}` : ''}); ${fix}`);
}

