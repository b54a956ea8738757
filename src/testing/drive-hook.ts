import { deepStrictEqual } from 'node:assert';
import { Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { hookName } from '../core/dispatcher.js';
import type { Hook } from '../core/hook.js';
import type { PriorityLike } from '../core/priority.js';
import { MemoryLogger, type Logger } from '../core/services.js';
import type { StageEvent } from '../core/stage-event.js';
import type { EventStage } from '../core/stages.js';
import { ReplayRunner, type ReplayRunnerOptions, type ReplaySource } from '../replay/replay-runner.js';
import { recordStages } from './record-stages.js';

/** One call of a hook method while it was driven. */
export interface HookCall {
  /** The hook's id. */
  hook: string;
  /** The method: a stage method or an `@On` method. */
  label: string;
  stage: EventStage;
  seq: number;
}

/**
 * Calls `onCall(label)` whenever a method behind one of `hook`'s subscriptions starts (the
 * outermost one only: a stage method delegating to its aggregate is one call). The methods are
 * wrapped on the instance, which leaves override detection alone. Pipelines have no methods
 * behind their subscriptions and are not watched.
 */
function watchCalls(hook: Hook<any>, onCall: (label: string) => void): void {
  let depth = 0;
  const target = hook as unknown as Record<string, unknown>;
  for (const label of new Set(hook.getSubscriptions().map((s) => s.label))) {
    const original = target[label];
    if (typeof original !== 'function') continue;
    Object.defineProperty(hook, label, {
      configurable: true,
      writable: true,
      value(this: unknown, ...args: unknown[]) {
        if (depth === 0) onCall(label);
        depth++;
        try {
          return original.apply(this, args);
        } finally {
          depth--;
        }
      },
    });
  }
}

/** Options of {@link driveHook}. */
export interface DriveHookOptions extends ReplayRunnerOptions {
  /** Priority of the driven hooks (default: each hook's own default). */
  priority?: PriorityLike;
}

/** What {@link driveHook} observed. */
export interface DriveResult {
  runner: ReplayRunner;
  /** Every method call of the driven hooks, in order. */
  calls: HookCall[];
  /** The events as the hooks left them (with what they annotated). */
  events: StageEvent[];
  /** The runner's messages (a MemoryLogger unless `options.logger` was given). */
  logger: Logger;
}

/**
 * Drives hooks with recorded or hand-made events (a journal path, a journal, or events, e.g.
 * from `stageEvents`) through a {@link ReplayRunner}, awaiting asynchronous hooks, and returns
 * what they did. No model, data or backend is involved.
 */
export async function driveHook(hooks: Hook<any> | readonly Hook<any>[], source: ReplaySource, options: DriveHookOptions = {}): Promise<DriveResult> {
  const { priority, ...runnerOptions } = options;
  const logger = options.logger ?? new MemoryLogger();
  const runner = new ReplayRunner({ ...runnerOptions, logger });
  const calls: HookCall[] = [];
  for (const hook of Array.isArray(hooks) ? hooks : [hooks]) {
    runner.registerHook(hook, priority);
    watchCalls(hook, (label) => {
      const event = runner.event!;
      calls.push({ hook: hookName(hook), label, stage: event.stage, seq: event.seq });
    });
  }
  const recording = recordStages(runner);
  try {
    await runner.run(source);
  } finally {
    recording.stop();
  }
  return { runner, calls, events: recording.events, logger };
}

/** Options of {@link hookCalls}. */
export interface HookCallsOptions extends ReplayRunnerOptions {
  /** Only calls of this method (default: any method of the hook). */
  label?: string;
}

/**
 * For marble tests: feeds each event of `events$` to `hook` (registered alone in a replay
 * runner, events renumbered in arrival order) and emits the events its methods were called
 * for, as they came in, so the expected marble can use the input's values. The hook must be
 * synchronous and fresh (a hook instance is registered once).
 */
export function hookCalls(hook: Hook<any>, events$: Observable<StageEvent>, options: HookCallsOptions = {}): Observable<StageEvent> {
  const { label, ...runnerOptions } = options;
  return new Observable<StageEvent>((subscriber) => {
    const runner = new ReplayRunner({ logger: new MemoryLogger(), ...runnerOptions });
    runner.registerHook(hook);
    let current: StageEvent | undefined;
    watchCalls(hook, (called) => {
      if (label === undefined || called === label) subscriber.next(current!);
    });
    const subscription = events$.subscribe({
      next: (event) => {
        current = event;
        try {
          const pending = runner.feed({ ...event, seq: runner.seq + 1 });
          if (pending) {
            pending.catch(() => undefined);
            subscriber.error(new Error(`hookCalls drives synchronous hooks; ${hookName(hook)} returned a promise at ${event.stage} (use driveHook)`));
          }
        } catch (error) {
          subscriber.error(error);
        }
      },
      error: (error: unknown) => subscriber.error(error),
      complete: () => subscriber.complete(),
    });
    return () => {
      subscription.unsubscribe();
      runner.close();
    };
  });
}

/**
 * Asserts in virtual time that `hook`, fed the events of `marble` (values from `values`),
 * has its methods (or `options.label`) called at the events of `expected`:
 * `expectHookCalls(new MyHook(), 'abcd|', v, '-b-d|', { label: 'onEveryTwo' })`.
 */
export function expectHookCalls(hook: Hook<any>, marble: string, values: Record<string, StageEvent>, expected: string, options: HookCallsOptions = {}): void {
  const scheduler = new TestScheduler((actual, wanted) => deepStrictEqual(actual, wanted));
  scheduler.run(({ cold, expectObservable }) => {
    expectObservable(hookCalls(hook, cold(marble, values), options)).toBe(expected, values);
  });
}
