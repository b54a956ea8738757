import type { Container } from 'inversify';
import type { Dispatcher } from './dispatcher.js';
import { ConfigError } from './errors.js';
import type { Hook } from './hook.js';
import { HOOKS, isHook } from './hooks-registry.js';
import { getPriority, type PriorityLike } from './priority.js';
import type { BuildConfig } from './registry.js';
import type { RunnerView } from './runner-view.js';
import type { EventStage } from './stages.js';
import { compileSubscriptions, type StageHandler, type SubscribeOptions, type SubscriptionHandle } from './subscription.js';

/** A hook config: `{ type, priority?, name?, timeout?, ...options }` (`timeout` in seconds, see `Hook.timeout`). */
export type HookConfig = BuildConfig & { priority?: PriorityLike; name?: string; timeout?: number };

/** True for a positive, finite number of seconds. */
function isSeconds(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0;
}

/**
 * How hooks and handlers join a runner (the live runners and the replay runner share it): a
 * priority, a unique hook id, a place in the dispatcher's order, and building from config
 * through the runner's container.
 */
export class HookRegistrar<R extends RunnerView = RunnerView> {
  private readonly usedIds = new Set<string>();

  constructor(private readonly dispatcher: Dispatcher<R>, private readonly container: Container) {}

  /**
   * Registers `hook` at `priority` (default: the hook's `defaultPriority`, else NORMAL), after
   * hooks of equal priority. A hook instance can be registered once; its `hookId` (the class
   * name, numbered `#2`, `#3` when repeated, unless set) must be unique.
   */
  register(hook: Hook<any>, priority?: PriorityLike): void {
    if (!isHook(hook)) throw new TypeError(`registerHook: expected a Hook instance; got ${hook === null ? 'null' : typeof hook}`);
    if (hook.priority !== undefined) {
      throw new Error(`${hook.constructor.name} is already registered (its priority is set); create a new instance to register it again`);
    }
    const value = getPriority(priority ?? hook.defaultPriority ?? 'NORMAL');
    let id = hook.hookId ?? hook.constructor.name;
    if (hook.hookId !== undefined && this.usedIds.has(id)) throw new ConfigError('name', `hook id '${id}' is already used in this runner`);
    for (let n = 2; this.usedIds.has(id); n++) id = `${hook.constructor.name}#${n}`;
    this.usedIds.add(id);
    hook.hookId = id;
    hook.priority = value;
    this.dispatcher.add(hook as Hook<R>);
  }

  /**
   * `runner.on(stages, handler, options)`: compiles the subscription (stages expanded, filter
   * applied) and inserts it at its priority; returns the handle that removes it.
   */
  subscribe(stages: EventStage | readonly EventStage[], handler: StageHandler<R>, options: SubscribeOptions<R> = {}): SubscriptionHandle {
    const where = `runner.on(${typeof handler === 'function' && handler.name ? handler.name : 'handler'})`;
    // An anonymous handler needs a name of its own: it stands for itself in plans and errors.
    const label = options?.label ?? (typeof handler === 'function' && handler.name ? handler.name : 'handler');
    const subscriptions = compileSubscriptions(stages, handler, { ...options, label }, where, 'runner.on');
    const { priority, timeout } = options;
    if (timeout !== undefined && !isSeconds(timeout)) throw new ConfigError(`${where}.timeout`, `must be a positive number of seconds; got ${JSON.stringify(timeout)}`);
    return this.dispatcher.subscribe(subscriptions, getPriority(priority ?? 'NORMAL'), timeout);
  }

  /**
   * Builds a hook from `{ type, priority?, name?, timeout?, ...options }` through the container
   * and registers it. `name` becomes the hook id (the key of its checkpointed state); `timeout`
   * bounds the hook's promises (seconds).
   */
  registerFromConfig(cfg: HookConfig): Hook<any> {
    if (cfg === null || typeof cfg !== 'object' || Array.isArray(cfg)) {
      throw new ConfigError('hook', `a hook config must be an object with a 'type'; got ${JSON.stringify(cfg)}`);
    }
    const { priority, name, timeout, ...rest } = cfg;
    const resolved = priority === undefined ? undefined : getPriority(priority);
    if (timeout !== undefined && !isSeconds(timeout)) {
      throw new ConfigError(`${String(rest.type)}.timeout`, `must be a positive number of seconds; got ${JSON.stringify(timeout)}`);
    }
    const hook = HOOKS.build(rest, undefined, this.container);
    if (name !== undefined) hook.hookId = name;
    if (timeout !== undefined) hook.timeout = timeout;
    this.register(hook, resolved);
    return hook;
  }
}
