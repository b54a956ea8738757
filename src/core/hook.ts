import { onMethods, onSubscriptions } from './on.js';
import type { PriorityLike } from './priority.js';
import { AGGREGATE_STAGES, AGGREGATE_TO_STAGES, STAGES, isStage, type EventStage, type Stage } from './stages.js';
import type { RunnerView } from './runner-view.js';
import type { StageEvent } from './stage-event.js';

/** What a stage method may return: nothing, or a promise the runner awaits before going on. */
export type HookResult = void | Promise<void>;

/**
 * One subscription of a hook: call `handler` at `stage` (when `filter` allows). Stage methods
 * found by override detection, `@On` methods and pipelines all end up as subscriptions.
 */
export interface HookSubscription<R extends RunnerView = RunnerView> {
  stage: EventStage;
  /** The method or pipeline behind it, for plans and error messages. */
  label: string;
  handler: (runner: R, event: StageEvent) => HookResult;
  /** Human-readable filter description, shown by `hookflow hooks` (absent: every event). */
  filterText?: string;
}

/**
 * Base class of every hook, mirroring MMCV's `Hook`: ten stage methods (no-ops that delegate
 * to the four aggregates), counter predicates, and override-based stage detection.
 *
 * Subclasses take one options object (MMCV's keyword arguments) in their constructor.
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
   * The stages this hook's stage methods take part in, in canonical order: every stage method
   * its class (or an intermediate base class) overrides, plus the stages behind each overridden
   * aggregate. Instance-level assignments do not count, as in MMCV. Methods decorated with
   * `@On` do not count either: they run through their `@On` subscriptions only.
   */
  getTriggeredStages(): Stage[] {
    return stagesOf(overriddenMethods(this));
  }

  /**
   * Everything the dispatcher calls on this hook: each triggered stage's method, each
   * overridden `beforeEpoch`/`afterEpoch` at the aggregate call that IterBasedRunner makes,
   * then the `@On` subscriptions of the class (with their `filterText`). Subclasses with other
   * ways of subscribing (pipelines, option-dependent stages) override it.
   */
  getSubscriptions(): HookSubscription<R>[] {
    return [...subscriptionsFor(this, overriddenMethods(this)), ...onSubscriptions<R>(this)];
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

/** Every method name a hook can run at: the ten stages, then the four aggregates. */
export const HOOK_METHOD_NAMES: readonly EventStage[] = [...STAGES, ...AGGREGATE_STAGES];

/** The stage and aggregate methods the class of `hook` overrides, except `@On`-decorated ones. */
function overriddenMethods(hook: Hook<any>): EventStage[] {
  const decorated = onMethods(hook);
  return HOOK_METHOD_NAMES.filter((method) => overrides(hook, method) && !decorated.has(method));
}

/** The stages behind `methods`, in canonical order (an aggregate stands for its train and val stages). */
export function stagesOf(methods: readonly EventStage[]): Stage[] {
  const found = new Set<Stage>();
  for (const method of methods) {
    for (const stage of isStage(method) ? [method] : AGGREGATE_TO_STAGES[method]) found.add(stage);
  }
  return STAGES.filter((s) => found.has(s));
}

/**
 * Subscriptions calling `hook[stage]` for every stage behind `methods`, plus the direct
 * `beforeEpoch`/`afterEpoch` calls IterBasedRunner makes when those aggregates are listed:
 * what the class would subscribe to if it overrode exactly `methods` (plugins whose stages
 * depend on their options use it).
 */
export function subscriptionsFor<R extends RunnerView>(hook: Hook<R>, methods: readonly EventStage[]): HookSubscription<R>[] {
  const subs: HookSubscription<R>[] = stagesOf(methods).map((stage) => ({ stage, label: stage, handler: (runner: R) => hook[stage](runner) }));
  for (const aggregate of ['beforeEpoch', 'afterEpoch'] as const) {
    if (methods.includes(aggregate)) subs.push({ stage: aggregate, label: aggregate, handler: (runner: R) => hook[aggregate](runner) });
  }
  return subs;
}
