import { onMethods, onSubscriptions } from './on.js';
import type { PriorityLike } from './priority.js';
import { AGGREGATE_STAGES, AGGREGATE_TO_STAGES, EXCEPTION_STAGE, STAGES, isStage, type EventStage, type Stage } from './stages.js';
import type { RunnerView } from './runner-view.js';
import type { StageEvent } from './stage-event.js';
import { compileSubscriptions, type HookResult, type HookSubscribeOptions, type HookSubscription, type StageHandler } from './subscription.js';

export type { HookResult, HookSubscription } from './subscription.js';

/**
 * Base class of every hook, mirroring MMCV's `Hook`: ten stage methods (no-ops that delegate
 * to the four aggregates), the exception stage method, counter predicates, and override-based
 * stage detection.
 *
 * A hook subscribes in three ways, all compiled to the runner's one primitive (`runner.on`):
 * overriding stage methods (MMCV), `@On` methods, and `this.on(...)` calls in its constructor
 * (for stages that depend on its options). Subclasses take one options object (MMCV's keyword
 * arguments) in their constructor.
 */
export class Hook<R extends RunnerView = RunnerView> {
  /** Set once by the runner at registration; a hook instance is registered at most once. */
  priority?: number;
  /** The priority used when the hook is registered without one (default NORMAL). */
  defaultPriority?: PriorityLike;
  /** Stable id (config `name`, else the class name, numbered when repeated); keys checkpointed state. */
  hookId?: string;
  /**
   * Seconds a promise this hook returns may stay pending before the run fails naming the hook
   * and stage (config key `timeout`); unset: the run's `stallTimeout`, else no limit.
   */
  timeout?: number;
  /** What `this.on(...)` subscribed, in call order. */
  readonly #declared: HookSubscription<R>[] = [];

  // eslint-style no-ops: a subclass overrides the stages it reacts to.
  /* The parameters are unused here on purpose: these are the extension points. */
  beforeRun(_runner: R): HookResult {}
  afterRun(_runner: R): HookResult {}
  beforeEpoch(_runner: R): HookResult {}
  afterEpoch(_runner: R): HookResult {}
  beforeIter(_runner: R): HookResult {}
  afterIter(_runner: R): HookResult {}
  beforeTrainEpoch(runner: R): HookResult { return this.beforeEpoch(runner); }
  beforeValEpoch(runner: R): HookResult { return this.beforeEpoch(runner); }
  afterTrainEpoch(runner: R): HookResult { return this.afterEpoch(runner); }
  afterValEpoch(runner: R): HookResult { return this.afterEpoch(runner); }
  beforeTrainIter(runner: R): HookResult { return this.beforeIter(runner); }
  beforeValIter(runner: R): HookResult { return this.beforeIter(runner); }
  afterTrainIter(runner: R): HookResult { return this.afterIter(runner); }
  afterValIter(runner: R): HookResult { return this.afterIter(runner); }
  /**
   * The exception stage: the run is failing (a hook, the model, a stall timeout); the error is
   * `exceptionOf(event)` (live runs) and described in `event.payload`. Runs before the run's
   * promise rejects; a failure here is reported after the original error, never instead of it.
   */
  onException(_runner: R, _event: StageEvent): HookResult {}

  /** `(epoch + 1) % n == 0`; false for `n <= 0`. */
  everyNEpochs(runner: RunnerView, n: number): boolean {
    return n > 0 ? (runner.epoch + 1) % n === 0 : false;
  }

  /** `(innerIter + 1) % n == 0`; false for `n <= 0`. */
  everyNInnerIters(runner: RunnerView, n: number): boolean {
    return n > 0 ? (runner.innerIter + 1) % n === 0 : false;
  }

  /** `(iter + 1) % n == 0`; false for `n <= 0`. */
  everyNIters(runner: RunnerView, n: number): boolean {
    return n > 0 ? (runner.iter + 1) % n === 0 : false;
  }

  /** The current iteration is the last of the loader. */
  endOfEpoch(runner: RunnerView): boolean {
    if (!runner.dataLoader) throw new Error(`${this.constructor.name}: endOfEpoch needs runner.dataLoader`);
    return runner.innerIter + 1 === runner.dataLoader.length;
  }

  /** The current epoch is the last one (`epoch + 1 == maxEpochs`). */
  isLastEpoch(runner: RunnerView): boolean {
    return runner.epoch + 1 === runner.maxEpochs;
  }

  /** The current iteration is the last one (`iter + 1 == maxIters`). */
  isLastIter(runner: RunnerView): boolean {
    return runner.iter + 1 === runner.maxIters;
  }

  /**
   * Subscribes `handler` to `stages` (stage or aggregate names, expanded as `@On` expands them),
   * at this hook's priority, optionally filtered: the way for a hook whose stages depend on its
   * options. Call it from the constructor; the subscriptions join the runner when the hook is
   * registered (called later, they take effect after `runner.refreshHookPlan()`).
   * `this.on(['afterTrainIter'], (runner, event) => this.log(runner), { filter: { every: 10 } })`.
   */
  protected on(stages: EventStage | readonly EventStage[], handler: StageHandler<R>, options: HookSubscribeOptions<R> = {}): void {
    this.#declared.push(...compileSubscriptions(stages, handler, options, this.constructor.name, 'on'));
  }

  /**
   * The stages (of the ten) this hook runs at, in canonical order: those of its subscriptions.
   * For a hook that only overrides stage methods this is MMCV's `get_triggered_stages()`: every
   * stage method its class (or an intermediate base class) overrides, plus the stages behind
   * each overridden aggregate (instance-level assignments do not count, as in MMCV); `@On`
   * methods and `this.on(...)` subscriptions add theirs.
   */
  getTriggeredStages(): Stage[] {
    const subscribed = new Set(this.getSubscriptions().map((s) => s.stage));
    return STAGES.filter((stage) => subscribed.has(stage));
  }

  /**
   * Everything the dispatcher calls on this hook, compiled from its three ways of subscribing:
   * each overridden stage method (and each overridden `beforeEpoch`/`afterEpoch` at the
   * aggregate call that IterBasedRunner makes, and `onException`), then the `@On` subscriptions
   * of the class (with their `filterText`), then the `this.on(...)` ones. Read it; overriding
   * it is deprecated (subscribe with `this.on(...)` in the constructor instead).
   */
  getSubscriptions(): HookSubscription<R>[] {
    return [...methodSubscriptions(this, overriddenMethods(this)), ...onSubscriptions<R>(this), ...this.#declared];
  }

  /** State that must survive resume; undefined when the hook has none. */
  stateDict?(): unknown;
  /** Restores what {@link Hook.stateDict} returned. */
  loadStateDict?(state: unknown): void;
}

/** True when the class of `hook` defines `method` somewhere below {@link Hook}. */
export function overrides(hook: Hook<any>, method: EventStage): boolean {
  const proto = Object.getPrototypeOf(hook) as Record<string, unknown>;
  return proto[method] !== (Hook.prototype as unknown as Record<string, unknown>)[method];
}

/** Every method name a hook can run at: the ten stages, the four aggregates, then the exception stage. */
export const HOOK_METHOD_NAMES: readonly EventStage[] = [...STAGES, ...AGGREGATE_STAGES, EXCEPTION_STAGE];

/** The stage and aggregate methods the class of `hook` overrides, except `@On`-decorated ones. */
function overriddenMethods(hook: Hook<any>): EventStage[] {
  const decorated = onMethods(hook);
  return HOOK_METHOD_NAMES.filter((method) => overrides(hook, method) && !decorated.has(method));
}

/**
 * The stages behind `methods`, in canonical order (an aggregate stands for its train and val stages).
 * @deprecated Read `hook.getTriggeredStages()`, which derives the stages from the hook's subscriptions.
 */
export function stagesOf(methods: readonly EventStage[]): Stage[] {
  return tenStagesOf(methods);
}

function tenStagesOf(methods: readonly EventStage[]): Stage[] {
  const found = new Set<Stage>();
  for (const method of methods) {
    if (isStage(method)) found.add(method);
    else if (method !== EXCEPTION_STAGE) AGGREGATE_TO_STAGES[method].forEach((stage) => found.add(stage));
  }
  return STAGES.filter((s) => found.has(s));
}

/**
 * Subscriptions calling `hook[stage]` for every stage behind `methods`, plus the direct
 * `beforeEpoch`/`afterEpoch` calls IterBasedRunner makes when those aggregates are listed, plus
 * `onException`: what the class subscribes to by overriding exactly `methods`.
 */
function methodSubscriptions<R extends RunnerView>(hook: Hook<R>, methods: readonly EventStage[]): HookSubscription<R>[] {
  const subs: HookSubscription<R>[] = tenStagesOf(methods).map((stage) => ({ stage, label: stage, handler: (runner: R) => hook[stage](runner) }));
  for (const aggregate of ['beforeEpoch', 'afterEpoch'] as const) {
    if (methods.includes(aggregate)) subs.push({ stage: aggregate, label: aggregate, handler: (runner: R) => hook[aggregate](runner) });
  }
  if (methods.includes(EXCEPTION_STAGE)) subs.push({ stage: EXCEPTION_STAGE, label: EXCEPTION_STAGE, handler: (runner: R, event: StageEvent) => hook.onException(runner, event) });
  return subs;
}

/**
 * What the class of `hook` would subscribe to if it overrode exactly `methods`.
 * @deprecated Subscribe with `this.on(methods, handler)` in the hook's constructor; the plan then derives the stages.
 */
export function subscriptionsFor<R extends RunnerView>(hook: Hook<R>, methods: readonly EventStage[]): HookSubscription<R>[] {
  return methodSubscriptions(hook, methods);
}
