import { Observable, Subject } from 'rxjs';
import type { Dispatcher } from './dispatcher.js';
import { Listeners } from './listeners.js';
import { attachException } from './exception-stage.js';
import type { HookResult } from './subscription.js';
import { INITIAL_RUN_STATE, foldRunState, type RunState } from './run-state.js';
import type { RunnerView } from './runner-view.js';
import type { Scalar, StageEvent } from './stage-event.js';
import type { EventStage } from './stages.js';

/**
 * The life of one stage event, shared by the live runners and the replay runner: the counters
 * become the event's while its hooks run, then advance by {@link foldRunState}; the event goes
 * to synchronous listeners (the journal) and `events$`; then tasks deferred to the end of the
 * stage run, in order.
 */
export class StageCycle<R extends RunnerView> {
  private stateValue: RunState = { ...INITIAL_RUN_STATE };
  private current: StageEvent | undefined;
  private deferred: Array<() => void | Promise<void>> = [];
  private readonly listeners = new Listeners<[StageEvent]>();
  private readonly subject = new Subject<StageEvent>();
  /** The stage of the last completed event (or of the checkpoint a run resumed from). */
  lastStage: EventStage | null = null;

  /** Every stage event, in order, after the stage's hooks have run (payload complete). */
  readonly events$: Observable<StageEvent> = this.subject.asObservable();

  constructor(private readonly dispatcher: Dispatcher<R>) {}

  /** The counters: the fold of the events so far (the current event's while its hooks run). */
  get state(): Readonly<RunState> {
    return this.stateValue;
  }

  /** The event being dispatched, while hooks run. */
  get event(): StageEvent | undefined {
    return this.current;
  }

  /** Overrides counters (resume, a fresh replay); the next event continues after `seq`. */
  restore(state: Partial<RunState>): void {
    this.stateValue = { ...this.stateValue, ...state };
  }

  /**
   * Runs `event` through its hooks as `runner`; a promise when a hook or deferred task is async.
   * `prepare` runs once the counters are the event's, before the hooks (replay fills the log
   * buffer there, as the live step does).
   */
  run(event: StageEvent, runner: R, prepare?: () => void): HookResult {
    this.stateValue = { seq: this.stateValue.seq, mode: event.mode, epoch: event.epoch, iter: event.iter, innerIter: event.innerIter };
    this.current = event;
    prepare?.();
    const pending = this.dispatcher.dispatch(event, runner);
    if (pending) return pending.then(() => this.commit(event));
    return this.commit(event);
  }

  /**
   * Ends a failed run: the stage in progress did not end (its event is neither folded nor
   * published, its end-of-stage tasks are dropped); then `event`, the exception stage built by
   * the runner, runs through every subscriber (each awaited, one's failure does not stop the
   * next) and is folded and published like any event. Returns the failures, in order.
   */
  async fail(event: StageEvent, runner: R, error: unknown): Promise<unknown[]> {
    this.deferred = [];
    attachException(event, error);
    this.stateValue = { seq: this.stateValue.seq, mode: event.mode, epoch: event.epoch, iter: event.iter, innerIter: event.innerIter };
    this.current = event;
    const failures: unknown[] = await this.dispatcher.dispatchAll(event, runner);
    try {
      const pending = this.commit(event);
      if (pending) await pending;
    } catch (failure) {
      failures.push(failure);
    }
    return failures;
  }

  private commit(event: StageEvent): HookResult {
    this.stateValue = foldRunState(this.stateValue, event);
    this.current = undefined;
    this.lastStage = event.stage;
    this.listeners.notify(event);
    // Without subscribers a Subject's next still copies its observer list.
    if (this.subject.observed) this.subject.next(event);
    if (this.deferred.length === 0) return undefined;
    const tasks = this.deferred;
    this.deferred = [];
    return runInOrder(tasks);
  }

  /** Adds scalars to the payload of the event being dispatched (each event owns its payload). */
  annotate(values: Record<string, Scalar | Record<string, Scalar>>): void {
    if (!this.current) throw new Error('annotate() can only be called while a stage is being dispatched');
    Object.assign((this.current.payload ??= {}), values);
  }

  /** Runs `task` once the current stage is over (after its hooks, the fold and the publication). */
  defer(task: () => void | Promise<void>): void {
    if (!this.current) throw new Error('deferUntilStageEnd() can only be called while a stage is being dispatched');
    this.deferred.push(task);
  }

  /** A synchronous listener that sees every event before `events$`; returns an unsubscribe function. */
  addEventListener(listener: (event: StageEvent) => void): () => void {
    return this.listeners.add(listener);
  }
}

async function runInOrder(tasks: Array<() => void | Promise<void>>): Promise<void> {
  for (const task of tasks) await task();
}
