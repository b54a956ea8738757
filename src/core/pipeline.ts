/**
 * Hook pipelines: a hook composed from RxJS operators over its (filtered) stage stream.
 *
 * Completion protocol. Each event of the pipeline's stages is pushed into a Subject while the
 * hook runs at its priority in that stage. Everything synchronous in the pipeline (map, filter,
 * bufferCount, scan...) happens during that push. Work the runner must wait for goes through
 * `tools.blocking(fn)`, an ordered `concatMap` that counts the values it has received and not
 * finished; the stage ends when that count is back to zero. So an event that an operator
 * filters out, buffers or drops leaves nothing pending and the runner goes on at once (no
 * deadlock on a swallowed event), while an event that starts blocking work holds the stage
 * until the work is done, in order. Events the pipeline's filter rejects never reach it. Work outside `blocking` (a plain `concatMap`, `delay`, a
 * throttle's trailing value) runs in the background. At `afterRun` the input completes (so
 * buffers flush) and the runner waits until the pipeline's output completes: the drain barrier.
 * An error anywhere in the pipeline fails the stage it happens in, or the next event that
 * reaches the pipeline (or `afterRun`) for background work, as a HookError naming the hook.
 */
import { Observable, Subject, defer, finalize, from, isObservable, of, tap, concatMap, type OperatorFunction, type Subscription } from 'rxjs';
import { Hook, type HookResult } from './hook.js';
import { compileFilter, expandStages, type EventFilter } from './on.js';
import type { PriorityLike } from './priority.js';
import type { RunnerView } from './runner-view.js';
import type { StageEvent } from './stage-event.js';
import type { EventStage } from './stages.js';

/** Options of {@link pipelineHook}. */
export interface PipelineOptions<R extends RunnerView = RunnerView> {
  /** Stages (or aggregates) whose events enter the pipeline. */
  stages: EventStage | readonly EventStage[];
  /** Only events passing this filter enter (same filters as `@On`). */
  filter?: EventFilter<R>;
  /** The hook id (default `PipelineHook`, numbered when repeated). */
  name?: string;
  /** Priority used when the hook is registered without one (default NORMAL). */
  priority?: PriorityLike;
}

/** What a pipeline builder gets besides its input. */
export interface PipelineTools<R extends RunnerView = RunnerView> {
  /** The runner of the run the pipeline serves. */
  readonly runner: R;
  /**
   * `concatMap(work)` whose work the runner waits for: a stage whose event leads here ends
   * only when `work` (a value, or a promise of it) is done, so side effects keep the event order.
   */
  blocking<T, O>(work: (value: T) => O | PromiseLike<O>): OperatorFunction<T, O>;
}

/** Builds the pipeline over the hook's event stream; the output must complete when the input does. */
export type PipelineBuilder<R extends RunnerView = RunnerView> = (events$: Observable<StageEvent>, tools: PipelineTools<R>) => Observable<unknown>;

/** One run of a pipeline: its input, its subscription and the blocking work in flight. */
class PipelineRun<R extends RunnerView> {
  readonly input = new Subject<StageEvent>();
  /** Values inside `blocking` operators that are not finished yet. */
  pending = 0;
  /** Seq of the last event this run saw. */
  lastSeq = 0;
  failure: { error: unknown } | undefined;
  completed = false;
  private readonly idleWaiters: Array<() => void> = [];
  private readonly endWaiters: Array<() => void> = [];
  private readonly subscription: Subscription;

  constructor(readonly runner: R, build: PipelineBuilder<R>) {
    const tools: PipelineTools<R> = { runner, blocking: (work) => this.blocking(work) };
    const output = build(this.input.asObservable(), tools);
    if (!isObservable(output)) throw new TypeError(`a pipeline builder must return an Observable; got ${output === null ? 'null' : typeof output}`);
    this.subscription = output.subscribe({
      error: (error: unknown) => {
        this.failure = { error };
        this.settle();
      },
      complete: () => {
        this.completed = true;
        this.settle();
      },
    });
  }

  private blocking<T, O>(work: (value: T) => O | PromiseLike<O>): OperatorFunction<T, O> {
    // Counted on arrival, not when concatMap gets to it, so the count never touches zero
    // between two queued values.
    return (source) => source.pipe(
      tap(() => this.pending++),
      concatMap((value) => defer(() => {
        const result = work(value);
        return isThenable(result) ? from(result) : of(result);
      }).pipe(finalize(() => {
        this.pending--;
        this.settle();
      }))),
    );
  }

  /** Resolves when no blocking work is in flight (at once when none is). */
  idle(): Promise<void> | undefined {
    if (this.ended) return undefined;
    return this.pending === 0 ? undefined : new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Resolves when the output has completed or failed (after the input was completed). */
  drained(): Promise<void> | undefined {
    return this.ended ? undefined : new Promise((resolve) => this.endWaiters.push(resolve));
  }

  private get ended(): boolean {
    return this.failure !== undefined || this.completed;
  }

  private settle(): void {
    // An error or completion also ends work that will never finish (values dropped by the error).
    if (this.ended) for (const resolve of this.endWaiters.splice(0)) resolve();
    if (this.pending === 0 || this.ended) for (const resolve of this.idleWaiters.splice(0)) resolve();
  }

  /** Throws the pipeline's error, once it has one. */
  check(): void {
    if (this.failure) throw this.failure.error;
  }

  dispose(): void {
    this.subscription.unsubscribe();
  }
}

/**
 * A hook made of an RxJS pipeline over the events of `stages` (see the module comment for when
 * the runner waits). It runs at its priority within each stage like any hook; the pipeline is
 * built at the first event of a run and drained at `afterRun`.
 */
export class PipelineHook<R extends RunnerView = RunnerView> extends Hook<R> {
  private run: PipelineRun<R> | undefined;

  constructor(options: PipelineOptions<R>, private readonly build: PipelineBuilder<R>) {
    super();
    const where = options?.name ?? 'PipelineHook';
    if (options === null || typeof options !== 'object') throw new TypeError('pipelineHook: options must be an object such as { stages: [\'afterTrainIter\'] }');
    if (typeof build !== 'function') throw new TypeError(`${where}: the pipeline builder must be a function (events$, tools) => Observable`);
    const stages = expandStages(options.stages, where, 'pipeline');
    const filter = compileFilter(options.filter, where, 'pipeline');
    if (options.name !== undefined) this.hookId = options.name;
    if (options.priority !== undefined) this.defaultPriority = options.priority;
    // One subscription per stage, then the drain at `afterRun` (which pushes its own event first
    // when `afterRun` is one of the stages and passes the filter).
    const pushed = stages.filter((stage) => stage !== 'afterRun');
    if (pushed.length > 0) this.on(pushed, (runner, event) => this.push(runner, event), { label: 'pipeline', filter: options.filter });
    const atEnd = stages.includes('afterRun');
    const last = atEnd ? filter?.('afterRun') : undefined;
    this.on('afterRun', (runner, event) => this.endRun(runner, event, atEnd && (!last || last.test(event, runner))), { label: atEnd ? 'pipeline' : 'drain' });
  }
  private current(runner: R, event: StageEvent): PipelineRun<R> {
    // A new runner, or a history that went back (a new replay, a resume after a failed run),
    // gets a fresh pipeline: a run that failed never reached its drain.
    if (this.run && (this.run.runner !== runner || event.seq <= this.run.lastSeq)) this.discard();
    const run = (this.run ??= new PipelineRun(runner, this.build));
    run.lastSeq = event.seq;
    return run;
  }

  private push(runner: R, event: StageEvent): HookResult {
    const run = this.current(runner, event);
    run.check();
    run.input.next(event);
    run.check();
    const idle = run.idle();
    return idle?.then(() => run.check());
  }

  private endRun(runner: R, event: StageEvent, push: boolean): HookResult {
    const run = this.current(runner, event);
    const finish = () => {
      this.discard();
      run.check();
    };
    try {
      run.check();
      if (push) run.input.next(event);
      run.input.complete();
    } catch (error) {
      this.discard();
      throw error;
    }
    const drained = run.drained();
    return drained ? drained.then(finish) : finish();
  }

  private discard(): void {
    this.run?.dispose();
    this.run = undefined;
  }
}

/**
 * A hook made of an RxJS pipeline:
 * `pipelineHook({ stages: ['afterTrainIter'], priority: 'LOW', name: 'lossCsv' },
 *   (events$, { blocking }) => events$.pipe(map(toRow), bufferCount(10), blocking(writeRows)))`.
 * Register it like any hook (`runner.registerHook(hook)` uses `priority`).
 */
export function pipelineHook<R extends RunnerView = RunnerView>(options: PipelineOptions<R>, build: PipelineBuilder<R>): PipelineHook<R> {
  return new PipelineHook(options, build);
}

function isThenable<T>(value: unknown): value is PromiseLike<T> {
  return value !== null && (typeof value === 'object' || typeof value === 'function') && typeof (value as PromiseLike<T>).then === 'function';
}
