import { Worker } from 'node:worker_threads';
import { Hook } from '../core/hook.js';
import type { HookRunner } from '../runner/hook-runner.js';

/** The exit code of a job the watchdog ended (as `timeout(1)` uses). */
export const WATCHDOG_EXIT_CODE = 124;

/**
 * `--dist-timeout S`: ends the whole job when no iteration (train or val) finishes for S
 * seconds, because Open MPI has no per-collective timeout and a rank that hangs hangs every rank.
 * The clock runs in a worker thread: a rank waiting in a small collective waits on the JS thread,
 * where no timer can fire. The worker prints `rank N: ...` straight to stderr and calls
 * MPI_Abort (or, without MPI, kills the process).
 */
export class DistWatchdogHook extends Hook<HookRunner> {
  private readonly lastBeat = new BigInt64Array(new SharedArrayBuffer(8));
  private worker: Worker | undefined;

  constructor(private readonly seconds: number, private readonly rank: number) {
    super();
    if (!(seconds > 0)) throw new RangeError(`--dist-timeout must be a positive number of seconds, got ${seconds}`);
  }

  override beforeRun(): void {
    this.beat();
    this.worker = new Worker(new URL('./dist-watchdog-worker.js', import.meta.url), {
      workerData: { lastBeat: this.lastBeat, seconds: this.seconds, rank: this.rank, exitCode: WATCHDOG_EXIT_CODE },
    });
    this.worker.unref();
  }

  override afterIter(): void { this.beat(); }
  override afterEpoch(): void { this.beat(); }

  override async afterRun(): Promise<void> {
    await this.worker?.terminate();
    this.worker = undefined;
  }

  private beat(): void {
    Atomics.store(this.lastBeat, 0, BigInt(Date.now()));
  }
}
