import fs from 'node:fs';
import path from 'node:path';

/** Writes `data` to `file` and flushes it to disk before returning. */
export function writeFileDurable(file: string, data: string | Uint8Array): void {
  const fd = fs.openSync(file, 'w');
  try {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let written = 0;
    while (written < bytes.byteLength) written += fs.writeSync(fd, bytes, written, bytes.byteLength - written);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Flushes a directory's entries (new names, renames) to disk. Platforms that cannot open a
 * directory for syncing (Windows) persist renames without it, so failures are ignored there.
 */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch (error) {
    if (process.platform !== 'win32') throw error;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** A name in `dir` that nothing uses yet, `<prefix><pid>-<random>` (the pid marks the writer). */
export function scratchName(dir: string, prefix: string): string {
  for (;;) {
    const name = `${prefix}${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
    if (!fs.existsSync(path.join(dir, name))) return name;
  }
}

/** The writer pid in a {@link scratchName}, if `name` is one with this prefix. */
export function scratchOwner(name: string, prefix: string): number | undefined {
  if (!name.startsWith(prefix)) return undefined;
  const pid = Number(name.slice(prefix.length).split('-')[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** Whether a process with this pid is running (on this machine). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
