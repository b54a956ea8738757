import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { MemoryLogger } from '../../src/core/services.js';
import { LOCK_FILE, WorkDirLock, WorkDirLockedError } from '../../src/runner/work-dir-lock.js';
import { thrown } from '../helpers/errors.js';
import { tempDir } from '../helpers/tiny.js';

describe('WorkDirLock', () => {
  let dir: string;
  let cleanup: () => void;
  let file: string;
  beforeEach(() => {
    ({ dir, cleanup } = tempDir());
    file = path.join(dir, LOCK_FILE);
  });
  afterEach(() => cleanup());

  const holder = (pid: number, host = os.hostname()) => ({ pid, host, since: '2026-01-01T00:00:00.000Z', command: 'hookflow train x.json' });
  const refusal = (f: () => unknown) => thrown(f) as WorkDirLockedError;

  it('writes pid, host, time and command; a second acquire fails naming the holder; release removes only its own lock', () => {
    const lock = WorkDirLock.acquire(dir, new MemoryLogger());
    const written = JSON.parse(fs.readFileSync(file, 'utf8'));
    expect(written).to.include({ pid: process.pid, host: os.hostname() });
    expect(written.command).to.be.a('string');
    const error = refusal(() => WorkDirLock.acquire(dir, new MemoryLogger()));
    expect(error).to.be.instanceOf(WorkDirLockedError);
    expect(error.message).to.equal(`work dir ${dir} is in use by process ${process.pid} on ${os.hostname()} (since ${written.since}: ${written.command}); wait for it to end or use another --work-dir`);
    expect(fs.readdirSync(dir)).to.deep.equal([LOCK_FILE]);
    lock.release();
    expect(fs.existsSync(file)).to.equal(false);
    // Someone else's lock is never removed by a release.
    fs.writeFileSync(file, JSON.stringify(holder(process.pid + 1)));
    lock.release();
    expect(fs.existsSync(file)).to.equal(true);
  });

  it("cannot judge a lock from another host or an unreadable one, and says how to clear it", () => {
    fs.writeFileSync(file, JSON.stringify(holder(1, 'elsewhere')));
    expect(refusal(() => WorkDirLock.acquire(dir, new MemoryLogger())).message).to.equal(
      `work dir ${dir} is in use by process 1 on elsewhere (since 2026-01-01T00:00:00.000Z: hookflow train x.json); it cannot be checked from ${os.hostname()}; if that run is over, remove ${file}`);
    fs.writeFileSync(file, 'garbage');
    expect(refusal(() => WorkDirLock.acquire(dir, new MemoryLogger())).message).to.equal(
      `work dir ${dir} is in use by a process whose lock file is unreadable; if no run uses it, remove ${file}`);
  });

  it('takes over the lock of a dead process on this host, with a warning', () => {
    const dead = 2 ** 22 + 12345; // above Linux's pid_max default: no such process
    fs.writeFileSync(file, JSON.stringify(holder(dead)));
    const logger = new MemoryLogger();
    const lock = WorkDirLock.acquire(dir, logger);
    expect(logger.lines).to.deep.equal([{ level: 'warn', message: `took over the lock of ${dir} from process ${dead} on ${os.hostname()}, which is no longer running` }]);
    expect(JSON.parse(fs.readFileSync(file, 'utf8')).pid).to.equal(process.pid);
    expect(fs.readdirSync(dir)).to.deep.equal([LOCK_FILE]);
    lock.release();
  });
});
