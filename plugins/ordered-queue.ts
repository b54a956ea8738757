/**
 * A bounded first-in-first-out queue of background jobs, run one at a time in push order,
 * each retried with exponential backoff before it is given up (and reported). Hooks use it to
 * move slow work (uploads, remote writes) off the training loop while keeping its order, and
 * to slow training down instead of piling up memory when the work cannot keep up.
 */

/** Options of {@link OrderedQueue}. */
export interface OrderedQueueOptions {
  /** Most jobs waiting or running at once; {@link OrderedQueue.push} waits for a free slot beyond it. */
  capacity: number;
  /** Attempts after the first failure; 0 runs each job once. */
  retries: number;
  /** Milliseconds before the first retry, doubled before each further one. */
  retryDelay: number;
  /** A job failed every attempt; `error` is the last failure. */
  onFailure: (label: string, error: unknown, attempts: number) => void;
}

interface Job {
  label: string;
  run: () => Promise<void>;
}

export class OrderedQueue {
  private readonly options: OrderedQueueOptions;
  // jobs[0] is running while the worker is active; it leaves the queue when done.
  private readonly jobs: Job[] = [];
  // Producers blocked on a full queue, in push order; each enqueues its job when woken.
  private readonly blocked: Array<() => void> = [];
  private readonly idle: Array<() => void> = [];
  private working = false;

  constructor(options: OrderedQueueOptions) {
    const { capacity, retries, retryDelay } = options;
    if (!(Number.isInteger(capacity) && capacity > 0)) throw new RangeError(`OrderedQueue: capacity must be a positive integer; got ${capacity}`);
    if (!(Number.isInteger(retries) && retries >= 0)) throw new RangeError(`OrderedQueue: retries must be an integer >= 0; got ${retries}`);
    if (!(Number.isFinite(retryDelay) && retryDelay >= 0)) throw new RangeError(`OrderedQueue: retryDelay must be a finite number >= 0; got ${retryDelay}`);
    this.options = options;
  }

  /** Jobs waiting or running (blocked producers not counted). */
  get size(): number {
    return this.jobs.length;
  }

  /**
   * Appends a job. Resolves once it is queued: at once when a slot is free, else when the
   * jobs ahead of it have made room (backpressure). Jobs start in push order.
   */
  push(label: string, run: () => Promise<void>): Promise<void> {
    const enqueue = () => {
      this.jobs.push({ label, run });
      if (!this.working) void this.work();
    };
    // A freed slot is handed to the first blocked producer at once (see work()), so a free
    // slot never coexists with blocked producers and push order is kept across a full queue.
    if (this.jobs.length < this.options.capacity) {
      enqueue();
      return Promise.resolve();
    }
    return new Promise<void>((resolve) => {
      this.blocked.push(() => {
        enqueue();
        resolve();
      });
    });
  }

  /** Resolves when every job pushed so far (blocked ones included) has finished. */
  drain(): Promise<void> {
    if (!this.working) return Promise.resolve();
    return new Promise<void>((resolve) => this.idle.push(resolve));
  }

  private async work(): Promise<void> {
    this.working = true;
    while (this.jobs.length > 0) {
      await this.attempt(this.jobs[0]!);
      this.jobs.shift();
      this.blocked.shift()?.();
    }
    this.working = false;
    for (const resolve of this.idle.splice(0)) resolve();
  }

  private async attempt(job: Job): Promise<void> {
    const { retries, retryDelay, onFailure } = this.options;
    for (let attempt = 1; ; attempt++) {
      try {
        await job.run();
        return;
      } catch (error) {
        if (attempt > retries) {
          report(() => onFailure(job.label, error, attempt));
          return;
        }
      }
      await sleep(retryDelay * 2 ** (attempt - 1));
    }
  }
}

// A throwing callback must not stop the worker (later jobs would never run, drain never resolve).
function report(callback: () => void): void {
  try {
    callback();
  } catch (error) {
    console.error('OrderedQueue: a report callback threw', error);
  }
}

function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}
