/**
 * The one subscription primitive: call a handler at stages, optionally filtered, at a priority.
 * `runner.on(stage, handler, options)` subscribes a plain function and returns a handle; a
 * hook's overridden stage methods, its `@On` methods, the `this.on(...)` calls of its
 * constructor and pipelines all compile to the same {@link HookSubscription}s, which the
 * dispatcher orders by priority (stable: equal priorities keep registration order).
 */
import { ConfigError } from './errors.js';
import { compileFilter, expandStages, type EventFilter } from './on.js';
import type { PriorityLike } from './priority.js';
import type { RunnerView } from './runner-view.js';
import type { StageEvent } from './stage-event.js';
import type { EventStage } from './stages.js';

/** What a handler may return: nothing, or a promise the runner awaits before going on. */
export type HookResult = void | Promise<void>;

/** A subscribed function: the runner and the event being dispatched in, optionally a promise out. */
export type StageHandler<R extends RunnerView = RunnerView> = (runner: R, event: StageEvent) => HookResult;

/**
 * One compiled subscription: call `handler` at `stage`. Every way of subscribing ends up as
 * these; a hook lists its own with `getSubscriptions()`.
 */
export interface HookSubscription<R extends RunnerView = RunnerView> {
  stage: EventStage;
  /** The method, function or pipeline behind it, for plans, profiles and error messages. */
  label: string;
  handler: StageHandler<R>;
  /** Human-readable filter description, shown by `hookflow hooks` (absent: every event). */
  filterText?: string;
}

/** What a hook's `this.on(...)` takes besides stages and handler. */
export interface HookSubscribeOptions<R extends RunnerView = RunnerView> {
  /** Which events reach the handler (as `@On`'s filter: `every`, `once`, `before`, `after`, `when`, or a predicate). */
  filter?: EventFilter<R>;
  /** Names the subscription in plans, profiles and errors (default: the handler's name, else the stage; for `runner.on`, else `handler`). */
  label?: string;
}

/** What `runner.on(...)` takes besides stages and handler. */
export interface SubscribeOptions<R extends RunnerView = RunnerView> extends HookSubscribeOptions<R> {
  /** Where the handler runs among hooks (default NORMAL): after hooks and handlers of lower or equal priority registered before it. */
  priority?: PriorityLike;
  /** Seconds a promise the handler returns may stay pending (default: the run's `stallTimeout`). */
  timeout?: number;
}

/** What `runner.on(...)` returns (Ignite's `RemovableEventHandle`). */
export interface SubscriptionHandle {
  /** The stages the handler was subscribed to (aggregates expanded). */
  readonly stages: readonly EventStage[];
  /** False once removed. */
  readonly active: boolean;
  /**
   * Unsubscribes. Idempotent: true the first time, false after. Removed during the dispatch of
   * a stage, the handler is not called again, not even later in that stage.
   */
  remove(): boolean;
}

/**
 * Compiles a subscription of `handler` to `stages` (stage or aggregate names, expanded as `@On`
 * expands them), with `options.filter` applied before the handler is called. Mistakes throw a
 * {@link ConfigError} located at `where` that names the bad value.
 */
export function compileSubscriptions<R extends RunnerView>(
  stages: EventStage | readonly EventStage[],
  handler: StageHandler<R>,
  options: HookSubscribeOptions<R>,
  where: string,
  what: string,
): HookSubscription<R>[] {
  if (typeof handler !== 'function') throw new ConfigError(where, `${what} needs a handler function (runner, event) => void; got ${handler === null ? 'null' : typeof handler}`);
  if (options === null || typeof options !== 'object') throw new ConfigError(where, `${what} options must be an object; got ${JSON.stringify(options)}`);
  const { label } = options;
  if (label !== undefined && !(typeof label === 'string' && label.length > 0)) throw new ConfigError(where, `${what} label must be a non-empty string; got ${JSON.stringify(label)}`);
  const filter = compileFilter(options.filter, where, what);
  return expandStages(stages, where, what).map((stage) => {
    const name = label ?? (handler.name || stage);
    const f = filter?.(stage);
    if (!f) return { stage, label: name, handler };
    return { stage, label: name, filterText: f.text, handler: (runner: R, event: StageEvent) => (f.test(event, runner) ? handler(runner, event) : undefined) };
  });
}
