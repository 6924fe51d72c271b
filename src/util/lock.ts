// An exclusive lock on an output directory for a whole run: OUT/.snapmix.lock, created with O_EXCL,
// holding the pid, host and command of its owner. A lock whose owner is gone (same host, pid not
// alive) is stale and is taken over; a live one, or one from another host, is refused by name.
// Hand-written rather than a library: it must live *inside* OUT (libraries put `OUT.lock` beside it,
// in a directory the user may not own) and survive --overwrite clearing OUT.
import { promises as fs, readFileSync, unlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UserError } from './errors.js';

export const LOCK_FILE = '.snapmix.lock';

/** start: the owner's process start time in clock ticks since boot (Linux /proc), to tell a reused pid apart. */
interface LockInfo { pid: number; host: string; command: string; started: string; start?: string }

export interface Lock {
  file: string;
  release(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

/**
 * When pid started (field 22 of /proc/PID/stat), or undefined where /proc is not there. A container
 * restarted in a new PID namespace can hand the dead owner's pid to a new process: the start differs.
 */
function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

async function readLock(file: string): Promise<LockInfo | undefined> {
  const text = await fs.readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as LockInfo;
  } catch {
    return { pid: -1, host: '?', command: '?', started: '?' }; // torn write by a killed owner: stale
  }
}

const held = new Set<string>();
let exitHook = false;

/** Take the lock on dir (which must exist) or throw a UserError naming its holder. */
export async function acquireLock(dir: string, command: string): Promise<Lock> {
  const file = path.join(dir, LOCK_FILE);
  const me: LockInfo = { pid: process.pid, host: os.hostname(), command, started: new Date().toISOString(), start: processStart(process.pid) };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const h = await fs.open(file, 'wx');
      await h.writeFile(JSON.stringify(me) + '\n');
      await h.close();
      held.add(file);
      if (!exitHook) {
        exitHook = true;
        // A normal exit or an error exit frees the lock; kill -9 leaves it, and the next run finds it stale.
        process.on('exit', () => { for (const f of held) try { unlinkSync(f); } catch { /* gone already */ } });
      }
      return {
        file,
        release: async () => {
          if (!held.delete(file)) return;
          await fs.rm(file, { force: true });
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const owner = await readLock(file);
    if (!owner) continue; // released between our open and read: try again
    // Our own pid on a lock we do not hold (we are the restarted container), a pid that is gone, or one
    // that now belongs to a process started later than the owner: the owner is dead.
    const reused = (owner.pid === process.pid && !held.has(file)) || (owner.start !== undefined && processStart(owner.pid) !== undefined && processStart(owner.pid) !== owner.start);
    const stale = owner.pid === -1 || (owner.host === me.host && (reused || !alive(owner.pid)));
    if (!stale) {
      const where = owner.host === me.host ? `pid ${owner.pid}` : `pid ${owner.pid} on host ${owner.host}`;
      throw new UserError(
        `${dir} is in use by 'snapmix ${owner.command}' (${where}, since ${owner.started}); wait for it to finish or choose another --out` +
          (owner.host === me.host ? '' : `. If that machine's run is gone for good, remove ${file}`),
      );
    }
    // Stale: move it aside atomically (only one contender wins the rename), then check we moved the
    // stale one and not a lock a faster contender has just taken.
    const aside = `${file}.stale-${process.pid}`;
    try {
      await fs.rename(file, aside);
    } catch {
      continue;
    }
    const moved = await readLock(aside);
    if (moved && moved.pid !== owner.pid) {
      await fs.rename(aside, file).catch(() => {});
      continue;
    }
    await fs.rm(aside, { force: true });
  }
  throw new UserError(`could not take the lock ${file}: other runs keep taking it; run one at a time`);
}
