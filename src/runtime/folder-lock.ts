import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';

/**
 * One process at a time in a data folder (the embedded PGlite database, the private Redis): a lock file
 * beside the folder (`<folder>.lock`) holding the owner's pid. A lock whose process is gone (it crashed
 * or was killed) is taken over; a live one refuses with the pid, so the caller can say who holds it.
 */

export interface LockHolder {
  pid: number;
  /** What holds it, e.g. `twitterprise all` or `twitterprise service create`. */
  what: string;
  /** When the holder took it (ISO 8601). */
  since: string;
  /** The kernel's start time of the holder (Linux), so a reused pid is not mistaken for the holder. */
  startTime?: string;
}

export class FolderLockedError extends Error {
  constructor(
    readonly folder: string,
    readonly holder: LockHolder,
  ) {
    super(`${folder} is in use by process ${holder.pid} (${holder.what}, since ${holder.since})`);
  }
}

export interface FolderLock {
  readonly file: string;
  release(): void;
}

/** Field 22 of /proc/<pid>/stat: when the process started, in clock ticks since boot. Undefined off Linux. */
function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces: count from the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

function alive(holder: LockHolder): boolean {
  try {
    process.kill(holder.pid, 0);
  } catch (e) {
    // EPERM: it exists but belongs to someone else, so it is alive.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  if (holder.startTime === undefined) return true;
  const now = startTimeOf(holder.pid);
  return now === undefined || now === holder.startTime;
}

function readHolder(file: string): LockHolder | null {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockHolder>;
    if (typeof parsed.pid !== 'number' || !Number.isInteger(parsed.pid) || parsed.pid <= 0) return null;
    return { pid: parsed.pid, what: String(parsed.what ?? 'unknown'), since: String(parsed.since ?? 'unknown'), ...(parsed.startTime ? { startTime: String(parsed.startTime) } : {}) };
  } catch {
    return null;
  }
}

/** The lock file of a folder: `./data/pglite` -> `./data/pglite.lock`. */
export function lockFileOf(folder: string): string {
  return `${path.resolve(folder).replace(/[/\\]+$/, '')}.lock`;
}

/** Who holds the folder now (a live process), or null. */
export function folderHolder(folder: string): LockHolder | null {
  const holder = readHolder(lockFileOf(folder));
  return holder && holder.pid !== process.pid && alive(holder) ? holder : null;
}

/**
 * Takes the folder for this process, or throws FolderLockedError naming the live holder. The lock goes
 * with `release()` and, whatever happens, when the process exits.
 */
export function lockFolder(folder: string, what: string): FolderLock {
  const file = lockFileOf(folder);
  mkdirSync(path.dirname(file), { recursive: true });
  const mine: LockHolder = { pid: process.pid, what, since: new Date().toISOString(), ...(startTimeOf(process.pid) ? { startTime: startTimeOf(process.pid)! } : {}) };
  const body = `${JSON.stringify(mine)}\n`;
  for (let attempt = 0; attempt < 3; attempt++) {
    let fd: number;
    try {
      fd = openSync(file, 'wx', 0o644);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = readHolder(file);
      if (holder && (holder.pid === process.pid || alive(holder))) throw new FolderLockedError(folder, holder);
      // A lock left by a process that is gone (or a torn file): take it over.
      try {
        unlinkSync(file);
      } catch {
        // another process took it over first; the next attempt sees its lock
      }
      continue;
    }
    try {
      writeSync(fd, body);
    } finally {
      closeSync(fd);
    }
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      process.off('exit', release);
      try {
        if (readHolder(file)?.pid === process.pid) unlinkSync(file);
      } catch {
        // already gone
      }
    };
    process.on('exit', release);
    return { file, release };
  }
  const holder = readHolder(file);
  throw holder ? new FolderLockedError(folder, holder) : new Error(`could not take the lock ${file}`);
}
