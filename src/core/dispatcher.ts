import { HookError, HookUnsettledError } from './errors.js';
import { hookScopesTracked, inHookScope, type HookScope } from './hook-scope.js';
import type { Hook } from './hook.js';
import type { RunnerView } from './runner-view.js';
import type { StageEvent } from './stage-event.js';
import { EVENT_STAGES, type EventStage } from './stages.js';
import type { HookResult, HookSubscription, SubscriptionHandle } from './subscription.js';

/**
 * Subscriptions that joined the dispatcher together, at one priority: a registered hook's
 * (read from `hook.getSubscriptions()` whenever the plan is built), or one `runner.on` call's.
 */
interface Entry<R extends RunnerView> {
  readonly priority: number;
  readonly hook: Hook<R> | undefined;
  readonly subscriptions: readonly HookSubscription<R>[] | undefined;
  /** Seconds its promises may stay pending (a hook's own `timeout` is read at the call). */
  readonly timeout: number | undefined;
  removed: boolean;
}

/** One call the dispatcher makes for a stage. */
export class PlannedCall<R extends RunnerView = RunnerView> {
  /** @internal */
  constructor(
    /** The hook the subscription belongs to; undefined for a `runner.on` subscription. */
    readonly hook: Hook<R> | undefined,
    readonly subscription: HookSubscription<R>,
    /** Who runs: the hook's id, else the subscription's label. */
    readonly owner: string,
    /** @internal */
    readonly entry: Entry<R>,
  ) {}

  /** The priority the call runs at. */
  get priority(): number {
    return this.entry.priority;
  }
}

/** Receives the duration of every hook call while attached (see HookProfiler). */
export interface CallTimer {
  now(): number;
  /** `hook` is undefined for a `runner.on` subscription (its label names it). */
  record(hook: Hook<any> | undefined, stage: EventStage, label: string, ms: number): void;
}

/** Display name of a hook: its id, else its class name. */
export function hookName(hook: Hook<any>): string {
  return hook.hookId ?? hook.constructor.name;
}

function isThenable(value: unknown): value is PromiseLike<void> {
  return value !== null && typeof value === 'object' && typeof (value as PromiseLike<void>).then === 'function';
}

/**
 * Calls subscriptions for stage events in priority order (stable: equal priorities keep
 * registration order, whether a hook's or a `runner.on` handler's). Per-stage call lists are
 * computed once and again only when the subscriptions change, so a hook that does not
 * subscribe to a stage costs nothing there. Synchronous handlers run in a plain loop; when one
 * returns a promise the rest of the stage waits for it. A subscription removed while a stage is
 * dispatched is not called again; one added then first runs at the next event.
 *
 * The dispatcher knows the stages its runner fires: it plans those only, and dispatching
 * another one is an error (so a runner's declaration and its loop cannot drift apart).
 */
export class Dispatcher<R extends RunnerView = RunnerView> {
  private readonly entries: Entry<R>[] = [];
  private hookList: Hook<R>[] = [];
  private plan: Map<EventStage, PlannedCall<R>[]> | undefined;
  private timer: CallTimer | undefined;
  private stallTimeout: number | undefined;
  private awaiting: HookScope | undefined;

  /** @param stages The stages the runner fires, in the order its plan lists them (default: every event stage). */
  constructor(readonly stages: readonly EventStage[] = EVENT_STAGES) {}

  /** Hooks in execution order. */
  get hooks(): readonly Hook<R>[] {
    return this.hookList;
  }

  /**
   * Inserts `hook` after the last hook or handler whose priority is <= its own (MMCV's stable
   * insert). `hook.priority` must already be set.
   */
  add(hook: Hook<R>): void {
    const p = hook.priority;
    if (p === undefined) throw new Error(`${hookName(hook)} has no priority; register it through the runner`);
    this.insert({ priority: p, hook, subscriptions: undefined, timeout: undefined, removed: false });
  }

  /**
   * Subscribes compiled `subscriptions` at `priority`, after everything of lower or equal
   * priority (the primitive behind `runner.on`); returns the handle that removes them.
   */
  subscribe(subscriptions: readonly HookSubscription<R>[], priority: number, timeout?: number): SubscriptionHandle {
    const entry: Entry<R> = { priority, hook: undefined, subscriptions, timeout, removed: false };
    this.insert(entry);
    const stages = subscriptions.map((s) => s.stage);
    return {
      stages,
      get active() { return !entry.removed; },
      remove: () => this.drop(entry),
    };
  }

  /** Removes `hook`; returns whether it was registered. */
  remove(hook: Hook<R>): boolean {
    const entry = this.entries.find((e) => e.hook === hook);
    return entry ? this.drop(entry) : false;
  }

  private insert(entry: Entry<R>): void {
    let at = this.entries.length;
    while (at > 0 && this.entries[at - 1]!.priority > entry.priority) at--;
    this.entries.splice(at, 0, entry);
    this.changed();
  }

  private drop(entry: Entry<R>): boolean {
    const at = this.entries.indexOf(entry);
    if (at < 0) return false;
    this.entries.splice(at, 1);
    // Calls already planned for a stage in progress check the flag.
    entry.removed = true;
    this.changed();
    return true;
  }

  private changed(): void {
    this.hookList = this.entries.flatMap((e) => (e.hook ? [e.hook] : []));
    this.plan = undefined;
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

  /** The calls made for `stage`, in order (none for a stage the runner does not fire). */
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
    if (calls === undefined) return this.undeclared(event);
    if (calls.length === 0) return undefined;
    if (this.timer) return this.dispatchTimed(calls, 0, event, runner);
    const tracked = hookScopesTracked();
    for (let i = 0; i < calls.length; i++) {
      const call = calls[i]!;
      if (call.entry.removed) continue;
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

  /** Kept out of {@link dispatch}, whose size decides whether it is inlined. */
  private undeclared(event: StageEvent): never {
    throw new Error(`the runner fired ${event.stage}, a stage it does not declare (it fires ${this.stages.join(', ')})`);
  }

  private async finishAsync(calls: PlannedCall<R>[], at: number, pending: PromiseLike<void>, event: StageEvent, runner: R): Promise<void> {
    try {
      await this.settle(pending, calls[at]!, event);
    } catch (error) {
      throw wrap(calls[at]!, event, error);
    }
    for (let i = at + 1; i < calls.length; i++) {
      const call = calls[i]!;
      if (call.entry.removed) continue;
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
      if (call.entry.removed) continue;
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

  /**
   * Calls every subscription of `event.stage` one after the other, awaiting each, and goes on
   * after a failure: for the exception stage, where every handler gets its chance. Returns the
   * failures (as {@link HookError}s), in order.
   */
  async dispatchAll(event: StageEvent, runner: R): Promise<Error[]> {
    const failures: Error[] = [];
    const calls = this.getPlan().get(event.stage) ?? [];
    for (const call of calls) {
      if (call.entry.removed) continue;
      const start = this.timer?.now();
      try {
        const result = this.call(call, event, runner);
        if (isThenable(result)) await this.settle(result, call, event);
      } catch (error) {
        failures.push(wrap(call, event, error));
      } finally {
        if (start !== undefined) this.timer?.record(call.hook, event.stage, call.subscription.label, this.timer.now() - start);
      }
    }
    return failures;
  }

  /** One handler call, inside its hook scope (so that work it starts can be traced to it). */
  private call(call: PlannedCall<R>, event: StageEvent, runner: R): HookResult {
    if (!hookScopesTracked()) return call.subscription.handler(runner, event);
    return inHookScope({ hook: call.owner, stage: event.stage }, call.subscription.handler, runner, event);
  }

  /** Waits for a hook's promise, remembering the call meanwhile and bounding it by its timeout. */
  private async settle(pending: PromiseLike<void>, call: PlannedCall<R>, event: StageEvent): Promise<void> {
    const name = call.owner;
    this.awaiting = { hook: name, stage: event.stage };
    const own = call.hook ? call.hook.timeout : call.entry.timeout;
    const seconds = own ?? this.stallTimeout;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      if (seconds === undefined) return await pending;
      const limit = own !== undefined ? 'its timeout' : "the run's stallTimeout";
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
    // Every fired stage has a list (maybe empty): a stage without one is not fired.
    const plan = new Map<EventStage, PlannedCall<R>[]>(this.stages.map((stage) => [stage, []]));
    for (const entry of this.entries) {
      const owner = entry.hook ? hookName(entry.hook) : undefined;
      for (const subscription of entry.hook ? entry.hook.getSubscriptions() : entry.subscriptions!) {
        plan.get(subscription.stage)?.push(new PlannedCall(entry.hook, subscription, owner ?? subscription.label, entry));
      }
    }
    this.plan = plan;
    return plan;
  }
}

function wrap(call: PlannedCall<any>, event: StageEvent, error: unknown): HookError | HookUnsettledError {
  if (error instanceof HookError || error instanceof HookUnsettledError) return error;
  // A `runner.on` handler is named by its label already.
  return new HookError(call.owner, event.stage, call.hook ? call.subscription.label : event.stage, error);
}
