/**
 * `@On(stages, filter?)`: subscribe one method of a hook to stages, optionally filtered by the
 * run's counters (Ignite-style `every`, `once`, `before`, `after`) and by a predicate. It is an
 * alternative to overriding stage methods; the subscriptions are data, so the hook plan shows them.
 */
import { ConfigError } from './errors.js';
import type { HookResult, HookSubscription } from './subscription.js';
import { nearestNames, unknownOptionsMessage } from './nearest-names.js';
import type { RunnerView } from './runner-view.js';
import type { StageEvent } from './stage-event.js';
import { AGGREGATE_TO_STAGES, EVENT_STAGES, EXCEPTION_STAGE, isEventStage, isStage, type EventStage } from './stages.js';

/** The counters a filter can count with. */
export const FILTER_COUNTERS = ['iter', 'innerIter', 'epoch'] as const;
export type FilterCounter = (typeof FILTER_COUNTERS)[number];

/** A predicate over the event being dispatched and the runner. */
export type EventPredicate<R extends RunnerView = RunnerView> = (event: StageEvent, runner: R) => boolean;

/**
 * Which events of the subscribed stages reach the method. Every condition given must hold.
 * The conditions count with `count = counter + 1` (the counter the event carries), which is
 * MMCV's convention: `{ every: n }` is `everyNIters(n)` / `everyNInnerIters(n)` / `everyNEpochs(n)`.
 */
export interface EventFilterOptions<R extends RunnerView = RunnerView> {
  /** `count % every == 0`. */
  every?: number;
  /** `count` equals this number (or one of these numbers). */
  once?: number | readonly number[];
  /** `count < before`. */
  before?: number;
  /** `count > after`. */
  after?: number;
  /**
   * What `count` counts. Default: `iter` at train iteration stages, `innerIter` at val
   * iteration stages (`iter` does not move while validating), `epoch` at every other stage.
   */
  counter?: FilterCounter;
  /** A predicate that must also hold. */
  when?: EventPredicate<R>;
}

/** A filter object, or a bare predicate. */
export type EventFilter<R extends RunnerView = RunnerView> = EventFilterOptions<R> | EventPredicate<R>;

const FILTER_KEYS = ['every', 'once', 'before', 'after', 'counter', 'when'] as const;
const ALL_STAGE_NAMES: readonly EventStage[] = EVENT_STAGES;

/** A validated filter, ready to test events of one stage. */
export interface StageFilter<R extends RunnerView = RunnerView> {
  test(event: StageEvent, runner: R): boolean;
  /** What `hookInfo(true)` shows, e.g. `every 10 iter, after 100 iter, when isBest`. */
  text: string;
}

/** A validated filter, specialised per stage (the default counter depends on the stage). */
export type CompiledFilter<R extends RunnerView = RunnerView> = (stage: EventStage) => StageFilter<R>;

/** The counter a filter uses at `stage` when none is named. */
export function defaultCounter(stage: EventStage): FilterCounter {
  if (stage === 'beforeTrainIter' || stage === 'afterTrainIter') return 'iter';
  if (stage === 'beforeValIter' || stage === 'afterValIter') return 'innerIter';
  return 'epoch';
}

/**
 * The stages a subscription to `names` is dispatched at: each stage itself; an aggregate its
 * train and val stages, and `beforeEpoch`/`afterEpoch` also the direct call IterBasedRunner
 * makes (what overriding that aggregate subscribes to); the exception stage itself. Throws a
 * {@link ConfigError} located at `where` for a name that is not a stage.
 */
export function expandStages(names: EventStage | readonly EventStage[], where: string, what = '@On'): EventStage[] {
  const list: readonly unknown[] = typeof names === 'string' ? [names] : Array.isArray(names) ? names : [names];
  if (list.length === 0) throw new ConfigError(where, `${what} needs at least one stage`);
  const found = new Set<EventStage>();
  for (const name of list) {
    if (!isEventStage(name)) {
      const shown = typeof name === 'string' ? `'${name}'` : JSON.stringify(name);
      const hint = typeof name === 'string' ? nearestNames(name, ALL_STAGE_NAMES, 1)[0] : undefined;
      throw new ConfigError(where, `${what} stage ${shown} is not a stage; ${hint ? `did you mean '${hint}'?` : `stages are ${ALL_STAGE_NAMES.join(', ')}`}`);
    }
    if (isStage(name) || name === EXCEPTION_STAGE) found.add(name);
    else {
      AGGREGATE_TO_STAGES[name].forEach((s) => found.add(s));
      if (name === 'beforeEpoch' || name === 'afterEpoch') found.add(name);
    }
  }
  return ALL_STAGE_NAMES.filter((s) => found.has(s));
}

function isPositiveInt(v: unknown): v is number {
  return Number.isInteger(v) && (v as number) > 0;
}

/**
 * Validates `filter` and returns it compiled, or undefined when there is none. Errors are
 * {@link ConfigError}s located at `where` (e.g. `MyHook.onIter`) that name the bad value.
 */
export function compileFilter<R extends RunnerView>(filter: EventFilter<R> | undefined, where: string, what = '@On'): CompiledFilter<R> | undefined {
  if (filter === undefined) return undefined;
  const options: EventFilterOptions<R> = typeof filter === 'function' ? { when: filter } : filter;
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new ConfigError(where, `${what} filter must be an object such as { every: 10 } or a predicate (event, runner) => boolean; got ${JSON.stringify(filter)}`);
  }
  const unknown = Object.keys(options).filter((k) => !(FILTER_KEYS as readonly string[]).includes(k));
  if (unknown.length) throw new ConfigError(where, `${what} filter: ${unknownOptionsMessage(unknown, FILTER_KEYS)}`);
  const { every, once, before, after, counter, when } = options;
  const bad = (detail: string) => new ConfigError(where, `${what} filter ${detail}`);
  if (every !== undefined && !isPositiveInt(every)) throw bad(`every must be a positive integer; got ${JSON.stringify(every)}`);
  const onceList = once === undefined ? undefined : typeof once === 'number' ? [once] : once;
  if (onceList !== undefined && !(Array.isArray(onceList) && onceList.length > 0 && onceList.every(isPositiveInt))) {
    throw bad(`once must be a positive integer or a non-empty list of them; got ${JSON.stringify(once)}`);
  }
  // Counts start at 1, so `before: 1` could never pass.
  if (before !== undefined && !(Number.isInteger(before) && before >= 2)) throw bad(`before must be an integer >= 2 (counts start at 1); got ${JSON.stringify(before)}`);
  if (after !== undefined && !(Number.isInteger(after) && after >= 0)) throw bad(`after must be an integer >= 0; got ${JSON.stringify(after)}`);
  if (before !== undefined && after !== undefined && before <= after + 1) throw bad(`before ${before} and after ${after} leave no count to pass`);
  if (counter !== undefined && !(FILTER_COUNTERS as readonly string[]).includes(counter)) {
    throw bad(`counter must be one of ${FILTER_COUNTERS.map((c) => `'${c}'`).join(', ')}; got ${JSON.stringify(counter)}`);
  }
  if (when !== undefined && typeof when !== 'function') throw bad(`when must be a function (event, runner) => boolean; got ${JSON.stringify(when)}`);
  const counted = every !== undefined || onceList !== undefined || before !== undefined || after !== undefined;
  const onceSet = onceList && new Set(onceList);

  return (stage) => {
    const key = counter ?? defaultCounter(stage);
    const parts: string[] = [];
    if (every !== undefined) parts.push(`every ${every} ${key}`);
    if (onceList !== undefined) parts.push(`once ${onceList.join(',')} ${key}`);
    if (before !== undefined) parts.push(`before ${before} ${key}`);
    if (after !== undefined) parts.push(`after ${after} ${key}`);
    if (when !== undefined) parts.push(`when ${when.name || 'predicate'}`);
    return {
      text: parts.join(', '),
      test: (event, runner) => {
        if (counted) {
          const count = event[key] + 1;
          if (every !== undefined && count % every !== 0) return false;
          if (onceSet !== undefined && !onceSet.has(count)) return false;
          if (before !== undefined && count >= before) return false;
          if (after !== undefined && count <= after) return false;
        }
        return when === undefined || when(event, runner) === true;
      },
    };
  };
}

/** One `@On` declaration of a class. */
interface OnDeclaration {
  method: string;
  stages: EventStage[];
  filter: CompiledFilter<any> | undefined;
}

const ON_KEY = Symbol('hookflow.on');

type OnCarrier = { [ON_KEY]?: OnDeclaration[] };

/** What TypeScript's standard (TC39) decorators pass a method decorator as its second argument. */
interface StandardMethodContext {
  kind: string;
  name: string | symbol;
  static: boolean;
  private: boolean;
  addInitializer(initializer: (this: unknown) => void): void;
}

/** True when a decorator was called the TC39 way, `(value, context)`, not `(prototype, key, descriptor)`. */
function isStandardContext(value: unknown): value is StandardMethodContext {
  return value !== null && typeof value === 'object' && 'kind' in value && 'addInitializer' in value;
}

/** Adds `declaration` to the own declarations of `carrier`, keeping the written order. */
function declare(carrier: OnCarrier, declaration: OnDeclaration): void {
  if (!Object.hasOwn(carrier, ON_KEY)) {
    Object.defineProperty(carrier, ON_KEY, { value: [], enumerable: false });
  }
  // Members are decorated in order, each member's decorators bottom-up: keep the written order.
  const own = carrier[ON_KEY]!;
  if (own.includes(declaration)) return;
  const first = own.findIndex((d) => d.method === declaration.method);
  own.splice(first < 0 ? own.length : first, 0, declaration);
}

/**
 * Method decorator: call the method at `stages` (stage or aggregate names), for the events
 * that pass `filter`. The method gets `(runner, event)`; a promise it returns is awaited like a
 * stage method's. A decorated stage method (`@On('afterTrainIter', { every: 10 }) afterTrainIter()`)
 * is called only through its `@On` subscriptions. Subclasses inherit declarations; redecorating
 * a method replaces the inherited ones of that method.
 *
 * Works with TypeScript's standard decorators (the `tsc --init` default) and with
 * `experimentalDecorators`; the call shape is detected at run time. Mistakes throw a
 * {@link ConfigError} when the class is defined, naming the hook, the method and the bad value.
 * Without decorator syntax: `On('afterTrainIter')(MyHook.prototype, 'method')`.
 */
export function On<R extends RunnerView = RunnerView>(stages: EventStage | readonly EventStage[], filter?: EventFilter<R>) {
  function decorate(target: object, propertyKey: string | symbol, descriptor?: PropertyDescriptor): void;
  function decorate(method: Function, context: ClassMethodDecoratorContext): void;
  function decorate(target: object, keyOrContext: string | symbol | StandardMethodContext, descriptor?: PropertyDescriptor): void {
    if (isStandardContext(keyOrContext)) {
      onStandard(target as Function, keyOrContext);
      return;
    }
    const owner = typeof target === 'function' ? target.name : target.constructor.name;
    const where = `${owner}.${String(keyOrContext)}`;
    if (typeof target === 'function') throw new ConfigError(where, '@On decorates instance methods, not static ones');
    if (typeof keyOrContext !== 'string') throw new ConfigError(where, '@On needs a method with a string name');
    const method = descriptor ? descriptor.value : (target as Record<string, unknown>)[keyOrContext];
    if (typeof method !== 'function') throw new ConfigError(where, '@On decorates methods; this member is not a function');
    declare(target as OnCarrier, { method: keyOrContext, stages: expandStages(stages, where), filter: compileFilter(filter, where) });
  }

  /**
   * TC39 decorators see neither the class nor its prototype, so the declaration is checked now
   * and attached, when the first instance is built, to the prototype that owns the method.
   */
  function onStandard(method: Function, context: StandardMethodContext): void {
    const where = `${String(context.name)}`;
    if (context.kind !== 'method') throw new ConfigError(where, `@On decorates methods; this member is a ${context.kind}`);
    if (context.static) throw new ConfigError(where, '@On decorates instance methods, not static ones');
    if (context.private || typeof context.name !== 'string') throw new ConfigError(where, '@On needs a public method with a string name');
    const name = context.name;
    const declaration: OnDeclaration = { method: name, stages: expandStages(stages, where), filter: compileFilter(filter, where) };
    context.addInitializer(function (this: unknown) {
      // The owner holds this very function, unless a decorator applied later wrapped it: then
      // the nearest prototype that defines the method.
      const chain: OnCarrier[] = [];
      for (let p = Object.getPrototypeOf(this) as OnCarrier | null; p && p !== Object.prototype; p = Object.getPrototypeOf(p)) chain.push(p);
      const owner = chain.find((p) => Object.getOwnPropertyDescriptor(p, name)?.value === method) ?? chain.find((p) => Object.hasOwn(p, name));
      if (owner) declare(owner, declaration);
    });
  }

  return decorate;
}

/** The `@On` declarations of `hook`'s class and its ancestors (a subclass wins per method). */
function declarationsOf(hook: object): OnDeclaration[] {
  const chain: OnDeclaration[][] = [];
  for (let proto = Object.getPrototypeOf(hook) as OnCarrier | null; proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    if (Object.hasOwn(proto, ON_KEY)) chain.push(proto[ON_KEY]!);
  }
  const seen = new Set<string>();
  const result: OnDeclaration[] = [];
  for (const own of chain) {
    const methods = new Set(own.map((d) => d.method));
    for (const d of own) if (!seen.has(d.method)) result.push(d);
    methods.forEach((m) => seen.add(m));
  }
  return result;
}

/** Names of the methods of `hook` that carry `@On` (they are not stage-method subscriptions). */
export function onMethods(hook: object): Set<string> {
  return new Set(declarationsOf(hook).map((d) => d.method));
}

/** The subscriptions the `@On` declarations of `hook` make, in declaration order. */
export function onSubscriptions<R extends RunnerView>(hook: object): HookSubscription<R>[] {
  const subs: HookSubscription<R>[] = [];
  for (const { method, stages, filter } of declarationsOf(hook)) {
    const call = (runner: R, event: StageEvent): HookResult => (hook as Record<string, (r: R, e: StageEvent) => HookResult>)[method]!(runner, event);
    for (const stage of stages) {
      const f = filter?.(stage);
      subs.push(f
        ? { stage, label: method, filterText: f.text, handler: (runner, event) => (f.test(event, runner) ? call(runner, event) : undefined) }
        : { stage, label: method, handler: call });
    }
  }
  return subs;
}
