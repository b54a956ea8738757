import { HookError, HookUnsettledError } from './errors.js';
import { hookScopesTracked, inHookScope, type HookScope } from './hook-scope.js';
import type { Hook, HookResult, HookSubscription } from './hook.js';
import type { RunnerView } from './runner-view.js';
import type { StageEvent } from './stage-event.js';
import type { EventStage } from './stages.js';

/** One call the dispatcher makes for a stage. */
export interface PlannedCall<R extends RunnerView = RunnerView> {
  hook: Hook<R>;
  subscription: HookSubscription<R>;
}

/** Receives the duration of every hook call while attached (see HookProfiler). */
export interface CallTimer {
  now(): number;
  record(hook: Hook<any>, stage: EventStage, label: string, ms: number): void;
}

/** Display name of a hook: its id, else its class name. */
export function hookName(hook: Hook<any>): string {
  return hook.hookId ?? hook.constructor.name;
}

function isThenable(value: unknown): value is PromiseLike<void> {
  return value !== null && typeof value === 'object' && typeof (value as PromiseLike<void>).then === 'function';
}

/**
 * Calls hooks for stage events in priority order (stable: equal priorities keep registration
 * order). Per-stage call lists are computed once and again only when the hook set changes, so
 * a hook that does not subscribe to a stage costs nothing there. Synchronous hooks run in a
 * plain loop; when a hook returns a promise the rest of the stage waits for it.
 */
export class Dispatcher<R extends RunnerView = RunnerView> {
  private readonly ordered: Hook<R>[] = [];
  private plan: Map<EventStage, PlannedCall<R>[]> | undefined;
  private timer: CallTimer | undefined;
  private stallTimeout: number | undefined;
  private awaiting: HookScope | undefined;

  /** Hooks in execution order. */
  get hooks(): readonly Hook<R>[] {
    return this.ordered;
  }

  /**
   * Inserts `hook` after the last hook whose priority is <= its own (MMCV's stable insert).
   * `hook.priority` must already be set.
   */
  add(hook: Hook<R>): void {
    const p = hook.priority;
    if (p === undefined) throw new Error(`${hookName(hook)} has no priority; register it through the runner`);
    let at = this.ordered.length;
    while (at > 0 && (this.ordered[at - 1]!.priority as number) > p) at--;
    this.ordered.splice(at, 0, hook);
    this.plan = undefined;
  }

  /** Removes `hook`; returns whether it was registered. */
  remove(hook: Hook<R>): boolean {
    const at = this.ordered.indexOf(hook);
    if (at < 0) return false;
    this.ordered.splice(at, 1);
    this.plan = undefined;
    return true;
  }

  /** Forget cached call lists (after a hook changed its subscriptions). */
  invalidate(): void {
    this.plan = undefined;
  }

  /** Time every call with `timer` until detached with `undefined`. */
  setTimer(timer: CallTimer | undefined): void {
    this.timer = timer;
  }

  /**
   * Seconds any hook's promise may stay pending (a hook's own `timeout` wins); undefined: no
   * limit. A call that exceeds it fails the stage with a {@link HookUnsettledError}.
   */
  setStallTimeout(seconds: number | undefined): void {
    this.stallTimeout = seconds;
  }

  /** The hook call whose promise the dispatcher is waiting for, if any. */
  get pendingCall(): HookScope | undefined {
    return this.awaiting;
  }

  /** The calls made for `stage`, in order. */
  callsFor(stage: EventStage): readonly PlannedCall<R>[] {
    return this.getPlan().get(stage) ?? [];
  }

  /**
   * Calls every subscription of `event.stage`. Returns undefined when every hook was
   * synchronous, else a promise for the end of the stage. Errors become {@link HookError}s
   * naming the hook and the stage.
   */
  dispatch(event: StageEvent, runner: R): HookResult {
    const calls = this.getPlan().get(event.stage);
    if (calls === undefined) return undefined;
    if (this.timer) return this.dispatchTimed(calls, 0, event, runner);
    const tracked = hookScopesTracked();
    for (let i = 0; i < calls.length; i++) {
      const call = calls[i]!;
      let result: HookResult;
      try {
        result = tracked ? this.call(call, event, runner) : call.subscription.handler(runner, event);
      } catch (error) {
        throw wrap(call, event, error);
      }
      if (isThenable(result)) return this.finishAsync(calls, i, result, event, runner);
    }
    return undefined;
  }

  private async finishAsync(calls: PlannedCall<R>[], at: number, pending: PromiseLike<void>, event: StageEvent, runner: R): Promise<void> {
    try {
      await this.settle(pending, calls[at]!, event);
    } catch (error) {
      throw wrap(calls[at]!, event, error);
    }
    for (let i = at + 1; i < calls.length; i++) {
      const call = calls[i]!;
      try {
        const result = this.call(call, event, runner);
        if (isThenable(result)) await this.settle(result, call, event);
      } catch (error) {
        throw wrap(call, event, error);
      }
    }
  }

  private async dispatchTimed(calls: PlannedCall<R>[], from: number, event: StageEvent, runner: R): Promise<void> {
    const timer = this.timer!;
    for (let i = from; i < calls.length; i++) {
      const call = calls[i]!;
      const start = timer.now();
      try {
        const result = this.call(call, event, runner);
        if (isThenable(result)) await this.settle(result, call, event);
      } catch (error) {
        throw wrap(call, event, error);
      } finally {
        timer.record(call.hook, event.stage, call.subscription.label, timer.now() - start);
      }
    }
  }

  /** One handler call, inside its hook scope (so that work it starts can be traced to it). */
  private call(call: PlannedCall<R>, event: StageEvent, runner: R): HookResult {
    if (!hookScopesTracked()) return call.subscription.handler(runner, event);
    return inHookScope({ hook: hookName(call.hook), stage: event.stage }, call.subscription.handler, runner, event);
  }

  /** Waits for a hook's promise, remembering the call meanwhile and bounding it by its timeout. */
  private async settle(pending: PromiseLike<void>, call: PlannedCall<R>, event: StageEvent): Promise<void> {
    const name = hookName(call.hook);
    this.awaiting = { hook: name, stage: event.stage };
    const seconds = call.hook.timeout ?? this.stallTimeout;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      if (seconds === undefined) return await pending;
      const limit = call.hook.timeout !== undefined ? 'its timeout' : "the run's stallTimeout";
      await Promise.race([pending, new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new HookUnsettledError(name, event.stage, `within ${seconds} s (${limit})`)), seconds * 1000);
      })]);
    } finally {
      clearTimeout(timer);
      this.awaiting = undefined;
    }
  }

  private getPlan(): Map<EventStage, PlannedCall<R>[]> {
    if (this.plan) return this.plan;
    const plan = new Map<EventStage, PlannedCall<R>[]>();
    for (const hook of this.ordered) {
      for (const subscription of hook.getSubscriptions()) {
        let list = plan.get(subscription.stage);
        if (!list) plan.set(subscription.stage, (list = []));
        list.push({ hook, subscription });
      }
    }
    this.plan = plan;
    return plan;
  }
}

function wrap(call: PlannedCall<any>, event: StageEvent, error: unknown): HookError | HookUnsettledError {
  if (error instanceof HookError || error instanceof HookUnsettledError) return error;
  return new HookError(hookName(call.hook), event.stage, call.subscription.label, error);
}
