import { onMethods, onSubscriptions } from './on.js';
import type { PriorityLike } from './priority.js';
import { AGGREGATE_TO_STAGES, STAGES, type AggregateStage, type EventStage, type Stage } from './stages.js';
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
    const decorated = onMethods(this);
    const found = new Set<Stage>();
    for (const stage of STAGES) if (overrides(this, stage) && !decorated.has(stage)) found.add(stage);
    for (const [aggregate, stages] of Object.entries(AGGREGATE_TO_STAGES) as Array<[AggregateStage, readonly Stage[]]>) {
      if (overrides(this, aggregate) && !decorated.has(aggregate)) stages.forEach((s) => found.add(s));
    }
    return STAGES.filter((s) => found.has(s));
  }

  /**
   * Everything the dispatcher calls on this hook: each triggered stage's method, each
   * overridden `beforeEpoch`/`afterEpoch` at the aggregate call that IterBasedRunner makes,
   * then the `@On` subscriptions of the class (with their `filterText`). Subclasses with other
   * ways of subscribing (pipelines) extend it.
   */
  getSubscriptions(): HookSubscription<R>[] {
    const subs: HookSubscription<R>[] = this.getTriggeredStages().map((stage) => ({
      stage,
      label: stage,
      handler: (runner: R) => this[stage](runner),
    }));
    const decorated = onMethods(this);
    for (const aggregate of ['beforeEpoch', 'afterEpoch'] as const) {
      if (overrides(this, aggregate) && !decorated.has(aggregate)) {
        subs.push({ stage: aggregate, label: aggregate, handler: (runner: R) => this[aggregate](runner) });
      }
    }
    subs.push(...onSubscriptions<R>(this));
    return subs;
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
