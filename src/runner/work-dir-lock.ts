import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Logger } from '../core/services.js';

/** The lock file's name in a work dir. */
export const LOCK_FILE = '.hookflow.lock';

/** Who holds a work dir. */
export interface LockHolder {
  pid: number;
  host: string;
  /** ISO time the lock was taken. */
  since: string;
  /** The command line of the holder. */
  command: string;
}

/** Another live process trains in the work dir (or one on another host may). */
export class WorkDirLockedError extends Error {
  constructor(readonly lockFile: string, readonly holder: LockHolder | undefined, hint: string) {
    const who = holder ? `process ${holder.pid} on ${holder.host} (since ${holder.since}: ${holder.command})` : 'a process whose lock file is unreadable';
    super(`work dir ${path.dirname(lockFile)} is in use by ${who}; ${hint}`);
    this.name = 'WorkDirLockedError';
  }
}

function readHolder(file: string): LockHolder | undefined {
  try {
    const value = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<LockHolder>;
    if (Number.isInteger(value.pid) && typeof value.host === 'string') return value as LockHolder;
  } catch { /* absent or unreadable: the caller says so */ }
  return undefined;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * An exclusive claim on a work dir by one training process: `<workDir>/.hookflow.lock` holding
 * the pid, host, start time and command line. The file appears complete or not at all (written
 * aside, then hard-linked into place, which fails if it exists). A lock left by a dead process
 * on this host is taken over with a warning; a live holder, or one on another host, makes
 * {@link acquire} throw a {@link WorkDirLockedError} naming it.
 */
export class WorkDirLock {
  private released = false;

  private constructor(readonly file: string) {}

  /** Takes the lock of `workDir` (created if missing). */
  static acquire(workDir: string, logger: Logger): WorkDirLock {
    fs.mkdirSync(workDir, { recursive: true });
    const file = path.join(path.resolve(workDir), LOCK_FILE);
    const me: LockHolder = { pid: process.pid, host: os.hostname(), since: new Date().toISOString(), command: process.argv.slice(1).join(' ') };
    const scratch = `${file}.${process.pid}`;
    fs.writeFileSync(scratch, `${JSON.stringify(me)}\n`);
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          fs.linkSync(scratch, file);
          return new WorkDirLock(file);
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 2) throw error;
        }
        takeOverIfStale(file, logger);
      }
    } finally {
      fs.rmSync(scratch, { force: true });
    }
  }

  /** Removes the lock file (once; later calls do nothing). */
  release(): void {
    if (this.released) return;
    this.released = true;
    const holder = readHolder(this.file);
    if (holder?.pid === process.pid && holder.host === os.hostname()) fs.rmSync(this.file, { force: true });
  }
}

/** Moves a dead holder's lock away (atomically, so two takers cannot both win); throws for a live one. */
function takeOverIfStale(file: string, logger: Logger): void {
  const holder = readHolder(file);
  if (!holder) {
    if (!fs.existsSync(file)) return;
    throw new WorkDirLockedError(file, undefined, `if no run uses it, remove ${file}`);
  }
  if (holder.host !== os.hostname()) {
    throw new WorkDirLockedError(file, holder, `it cannot be checked from ${os.hostname()}; if that run is over, remove ${file}`);
  }
  if (isAlive(holder.pid)) throw new WorkDirLockedError(file, holder, 'wait for it to end or use another --work-dir');
  const aside = `${file}.stale-${process.pid}`;
  try {
    fs.renameSync(file, aside);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return; // another taker moved it first
    throw error;
  }
  const moved = readHolder(aside);
  if (moved?.pid !== holder.pid || moved.since !== holder.since) {
    // A live taker's fresh lock replaced the stale one meanwhile: put it back and yield.
    try { fs.linkSync(aside, file); } finally { fs.rmSync(aside, { force: true }); }
    throw new WorkDirLockedError(file, moved, 'wait for it to end or use another --work-dir');
  }
  fs.rmSync(aside, { force: true });
  logger.warn(`took over the lock of ${path.dirname(file)} from process ${holder.pid} on ${holder.host}, which is no longer running`);
}
