/**
 * Per-hook profiling: how long every hook call takes, per stage, a table at the end of a run,
 * and a warning naming the hook when one hook takes a large share of the training iterations.
 */
import { hookName, type CallTimer } from './dispatcher.js';
import type { Hook } from './hook.js';
import { systemClock, type Clock, type Logger } from './services.js';
import type { StageEvent } from './stage-event.js';
import type { EventStage } from './stages.js';

/** What the profiler needs of a runner (BaseRunner provides it). */
export interface ProfiledRunner {
  setHookTimer(timer: CallTimer | undefined): void;
  addEventListener(listener: (event: StageEvent) => void): () => void;
  readonly logger: Logger;
  readonly clock?: Clock;
}

/** Options of {@link attachProfiler}. */
export interface ProfilerOptions {
  /** Log the table of hook timings at the end of every run (default false). */
  printTable?: boolean;
  /**
   * Warn (once per hook and run) when a hook takes at least this fraction of the training
   * iteration time, in (0, 1]; null: never (default 0.5).
   */
  warnShare?: number | null;
  /** Training iterations between two share checks; the end of the run always checks (default 100). */
  checkEvery?: number;
  /** Default: the runner's clock. */
  clock?: Clock;
  /** Default: the runner's logger. */
  logger?: Logger;
}

/** Timings of one hook subscription at one stage. */
export interface HookCallStats {
  /** Hook id, with the subscription label when it is not the stage (`MyHook.onIter`). */
  hook: string;
  stage: EventStage;
  calls: number;
  totalMs: number;
  maxMs: number;
}

const TRAIN_ITER_STAGES: ReadonlySet<EventStage> = new Set(['beforeTrainIter', 'afterTrainIter']);

/**
 * The dispatcher's {@link CallTimer}: it receives the duration of every hook call. Attach it
 * with {@link attachProfiler}. Training iteration time runs from the end of the event before a
 * `beforeTrainIter` (so it includes fetching the batch) to the end of `afterTrainIter`; a hook's
 * share is its time in those two stages over that total.
 */
export class HookProfiler implements CallTimer {
  private readonly rows = new Map<string, HookCallStats>();
  /** Time per hook id inside training iterations. */
  private readonly inIterations = new Map<string, number>();
  private readonly warned = new Set<string>();
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly printTable: boolean;
  private readonly warnShare: number | null;
  private readonly checkEvery: number;
  private trainIterMs = 0;
  private trainIters = 0;
  private runStart: number | undefined;
  private runMs = 0;
  private lastEventEnd: number | undefined;
  private iterStart: number | undefined;
  private finished = false;

  constructor(options: ProfilerOptions & { clock: Clock; logger: Logger }) {
    const { printTable = false, warnShare = 0.5, checkEvery = 100 } = options;
    if (warnShare !== null && !(typeof warnShare === 'number' && warnShare > 0 && warnShare <= 1)) {
      throw new RangeError(`profiler: warnShare must be a number in (0, 1] or null; got ${JSON.stringify(warnShare)}`);
    }
    if (!(Number.isInteger(checkEvery) && checkEvery > 0)) throw new RangeError(`profiler: checkEvery must be a positive integer; got ${JSON.stringify(checkEvery)}`);
    this.clock = options.clock;
    this.logger = options.logger;
    this.printTable = printTable;
    this.warnShare = warnShare;
    this.checkEvery = checkEvery;
  }

  now(): number {
    const now = this.clock.now();
    this.begin(now);
    return now;
  }

  record(hook: Hook<any> | undefined, stage: EventStage, label: string, ms: number): void {
    // A `runner.on` handler is named by its label.
    const name = hook ? hookName(hook) : label;
    const key = !hook || label === stage ? name : `${name}.${label}`;
    const id = `${key}\u0000${stage}`;
    let row = this.rows.get(id);
    if (!row) this.rows.set(id, (row = { hook: key, stage, calls: 0, totalMs: 0, maxMs: 0 }));
    row.calls++;
    row.totalMs += ms;
    row.maxMs = Math.max(row.maxMs, ms);
    if (TRAIN_ITER_STAGES.has(stage)) this.inIterations.set(name, (this.inIterations.get(name) ?? 0) + ms);
  }

  /** Follows the run (register it as an event listener): iteration times, checks, the final table. */
  observe(event: StageEvent): void {
    const now = this.clock.now();
    this.begin(now);
    if (event.stage === 'beforeTrainIter') this.iterStart = this.lastEventEnd ?? now;
    if (event.stage === 'afterTrainIter' && this.iterStart !== undefined) {
      this.trainIterMs += now - this.iterStart;
      this.trainIters++;
      this.iterStart = undefined;
      if (this.trainIters % this.checkEvery === 0) this.checkShares();
    }
    this.lastEventEnd = now;
    if (event.stage === 'afterRun') {
      this.runMs = now - this.runStart!;
      this.checkShares();
      if (this.printTable) this.logger.info(this.table());
      this.finished = true;
    }
  }

  /** Rows per hook and stage, slowest first. */
  stats(): HookCallStats[] {
    return [...this.rows.values()].sort((a, b) => b.totalMs - a.totalMs);
  }

  /** Fraction of the training iteration time each hook took so far. */
  iterationShares(): Map<string, number> {
    const shares = new Map<string, number>();
    if (this.trainIterMs <= 0) return shares;
    for (const [name, ms] of this.inIterations) shares.set(name, ms / this.trainIterMs);
    return shares;
  }

  /** The timings as a text table (what `printTable` logs). */
  table(): string {
    const fixed = (v: number) => v.toFixed(3);
    const head = ['hook', 'stage', 'calls', 'total ms', 'mean ms', 'max ms', '% run'];
    const body = this.stats().map((r) => [
      r.hook, r.stage, String(r.calls), fixed(r.totalMs), fixed(r.totalMs / r.calls), fixed(r.maxMs),
      this.runMs > 0 ? `${((100 * r.totalMs) / this.runMs).toFixed(1)}%` : '-',
    ]);
    const widths = head.map((h, i) => Math.max(h.length, ...body.map((row) => row[i]!.length)));
    const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ').trimEnd();
    const iters = this.trainIters > 0 ? `, ${this.trainIters} train iterations of ${fixed(this.trainIterMs / this.trainIters)} ms on average` : '';
    return [`Hook profile: run ${fixed(this.runMs)} ms${iters}`, line(head), ...body.map(line)].join('\n');
  }

  private begin(now: number): void {
    if (this.finished) this.reset();
    this.runStart ??= now;
  }

  private reset(): void {
    this.rows.clear();
    this.inIterations.clear();
    this.warned.clear();
    this.trainIterMs = 0;
    this.trainIters = 0;
    this.runStart = undefined;
    this.runMs = 0;
    this.lastEventEnd = undefined;
    this.iterStart = undefined;
    this.finished = false;
  }

  private checkShares(): void {
    if (this.warnShare === null) return;
    for (const [name, share] of this.iterationShares()) {
      if (share < this.warnShare || this.warned.has(name)) continue;
      this.warned.add(name);
      const perIter = this.inIterations.get(name)! / this.trainIters;
      this.logger.warn(
        `HookProfiler: hook ${name} takes ${(100 * share).toFixed(1)}% of the training iteration time ` +
        `(${perIter.toFixed(3)} ms of ${(this.trainIterMs / this.trainIters).toFixed(3)} ms per iteration)`,
      );
    }
  }
}

/**
 * Times every hook call of `runner` from now on: `runner.setHookTimer(profiler)` plus an event
 * listener. Returns the profiler; `detach()` stops profiling.
 */
export function attachProfiler(runner: ProfiledRunner, options: ProfilerOptions = {}): HookProfiler & { detach(): void } {
  const profiler = new HookProfiler({ ...options, clock: options.clock ?? runner.clock ?? systemClock, logger: options.logger ?? runner.logger });
  runner.setHookTimer(profiler);
  const off = runner.addEventListener((event) => profiler.observe(event));
  return Object.assign(profiler, {
    detach: () => {
      off();
      runner.setHookTimer(undefined);
    },
  });
}
