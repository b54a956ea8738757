import 'reflect-metadata';
import { getClassMetadata, InversifyCoreError, InversifyCoreErrorKind } from '@inversifyjs/core';
import { Container, inject, injectFromBase, type Newable, type ServiceIdentifier } from 'inversify';
import { ConfigError } from './errors.js';

/**
 * Injection tokens of the services a runner's container provides. Hooks built from config are
 * resolved through that container, so they can `@inject(TOKENS.X)` any of these and a test
 * can `runner.container.rebind(TOKENS.X)`.
 */
export const TOKENS = {
  /** The options object of the hook being built (its config minus `type`, `priority`, `name`). */
  HookOptions: Symbol.for('hookflow.HookOptions'),
  Runner: Symbol.for('hookflow.Runner'),
  Logger: Symbol.for('hookflow.Logger'),
  Clock: Symbol.for('hookflow.Clock'),
  WorkDir: Symbol.for('hookflow.WorkDir'),
  CheckpointIO: Symbol.for('hookflow.CheckpointIO'),
  ProcessGroup: Symbol.for('hookflow.ProcessGroup'),
  /** The validation data loader of a config-built run (EvalHook's default dataloader). */
  ValDataLoader: Symbol.for('hookflow.ValDataLoader'),
} as const;

/** A token a hook's static `inject` list may name: a {@link TOKENS} entry or any container binding. */
export type InjectToken = ServiceIdentifier;

/**
 * A hook class that says which services its constructor takes, in order, without parameter
 * decorators (TypeScript's standard decorators have none; plain JS has no decorators at all):
 *
 * ```ts
 * class MyHook extends Hook<HookRunner> {
 *   static readonly inject = [TOKENS.HookOptions, TOKENS.Clock] as const;
 *   constructor(options: MyOptions = {}, clock: Clock = systemClock) { super(); ... }
 * }
 * ```
 * A token the container does not bind gives `undefined` (so the parameter's default applies).
 */
export interface InjectList {
  readonly inject?: readonly InjectToken[];
}

/**
 * How many constructor arguments and properties inversify injects into `target` itself (not
 * its ancestors), read through `getClassMetadata`, inversify's public reader. That reader also
 * checks the constructor's arity, so a plain class with a required parameter (a plain-JS
 * `constructor(options)`) fails it: such a class counts as not injected when it carries no
 * decorator metadata at all; with some, the injection is incomplete and the error says so.
 */
function ownInjectedArguments(target: Function): number {
  try {
    const metadata = getClassMetadata(target as Newable);
    return metadata.constructorArguments.length + metadata.properties.size;
  } catch (error) {
    if (!InversifyCoreError.isErrorOfKind(error, InversifyCoreErrorKind.missingInjectionDecorator)) throw error;
    // TypeScript's own design-time types are no injection; any other metadata is a decorator's.
    if (Reflect.getOwnMetadataKeys(target).every((key) => typeof key === 'string' && key.startsWith('design:'))) return 0;
    throw new ConfigError(target.name, `its constructor injection is incomplete (${error.message.split('\n')[0]}); put @inject on every constructor parameter, or list the tokens in a static inject`);
  }
}

/**
 * A startup check that hookflow can still read what inversify's decorators write: an upgrade
 * that moved the metadata would otherwise make every injected hook get `new Class(options)`
 * and lose its services silently.
 */
function assertMetadataReadable(): void {
  class Probe {
    constructor(readonly clock: unknown) {}
  }
  inject(TOKENS.Clock)(Probe, undefined, 0);
  let readable = false;
  try {
    readable = getClassMetadata(Probe).constructorArguments.length === 1;
  } catch {
    readable = false;
  }
  if (!readable) {
    throw new Error('hookflow cannot read the constructor metadata inversify\'s @inject writes (is \'reflect-metadata\' loaded, and is inversify the version hookflow was built with?)');
  }
}
assertMetadataReadable();

/** How a class is built: from its static inject list, through inversify, or with `new Class(options)`. */
type Recipe = { kind: 'list'; tokens: readonly InjectToken[] } | { kind: 'inversify' } | { kind: 'plain' };

/** The nearest class in `target`'s chain (itself first) that declares how it is injected. */
function recipeOf(target: Function): Recipe {
  for (let cls: Function | null = target; cls && cls !== Function.prototype; cls = Object.getPrototypeOf(cls) as Function | null) {
    if (Object.hasOwn(cls, 'inject')) {
      const tokens = (cls as InjectList).inject;
      if (!Array.isArray(tokens) || !tokens.every((t) => ['symbol', 'string', 'function'].includes(typeof t))) {
        throw new TypeError(`${cls.name}.inject must be a list of injection tokens (e.g. [TOKENS.HookOptions, TOKENS.Clock]); got ${String(tokens)}`);
      }
      return { kind: 'list', tokens };
    }
    if (ownInjectedArguments(cls) > 0) return { kind: 'inversify' };
  }
  return { kind: 'plain' };
}

/** True when the class itself declares injected constructor parameters (inversify decorators or a static `inject`). */
export function hasOwnInjection(target: Function): boolean {
  return Object.hasOwn(target, 'inject') || ownInjectedArguments(target) > 0;
}

/** True when the class or an ancestor declares injected constructor parameters. */
export function hasInjection(target: Function): boolean {
  return recipeOf(target).kind !== 'plain';
}

/**
 * Lets a subclass of an injectable class inherit its constructor injection (inversify would
 * otherwise pass `undefined` for every parameter, silently).
 */
export function inheritInjection(target: Function): void {
  if (!hasOwnInjection(target) && hasInjection(target)) {
    injectFromBase({ extendConstructorArguments: true, extendProperties: true })(target as new () => unknown);
  }
}

/**
 * Builds `target` with `options`: with the services its static `inject` list names (options
 * where it lists {@link TOKENS.HookOptions}, `undefined` for what `container` lacks or when there
 * is none), through a child of `container` when it uses inversify's decorators (options bound
 * to {@link TOKENS.HookOptions}), else with `new target(options)`.
 */
export function buildInjected<T>(target: new (...args: any[]) => T, options: Record<string, unknown>, container?: Container): T {
  const recipe = recipeOf(target);
  if (recipe.kind === 'list') {
    return new target(...recipe.tokens.map((token) => (token === TOKENS.HookOptions ? options : container?.isBound(token) ? container.get(token) : undefined)));
  }
  if (!container || recipe.kind === 'plain') return new target(options);
  inheritInjection(target);
  const scope = new Container({ parent: container });
  scope.bind(TOKENS.HookOptions).toConstantValue(options);
  return scope.get(target, { autobind: true });
}
