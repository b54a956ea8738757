import { Container, injectFromBase } from 'inversify';

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

// inversify 8 keeps constructor-injection metadata under this reflect key. Classes without it
// (plain JS, or TS classes that inject nothing) are built with `new Class(options)`.
const CLASS_METADATA_KEY = '@inversifyjs/core/classMetadataReflectKey';

/** True when the class itself declares injected constructor parameters. */
export function hasOwnInjection(target: Function): boolean {
  return Reflect.hasOwnMetadata?.(CLASS_METADATA_KEY, target) ?? false;
}

/** True when the class or an ancestor declares injected constructor parameters. */
export function hasInjection(target: Function): boolean {
  return Reflect.hasMetadata?.(CLASS_METADATA_KEY, target) ?? false;
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
 * Builds `target` with `options`: through a child of `container` when the class injects
 * services (options bound to {@link TOKENS.HookOptions}), else with `new target(options)`.
 */
export function buildInjected<T>(target: new (...args: any[]) => T, options: Record<string, unknown>, container?: Container): T {
  if (!container || !hasInjection(target)) return new target(options);
  inheritInjection(target);
  const scope = new Container({ parent: container });
  scope.bind(TOKENS.HookOptions).toConstantValue(options);
  return scope.get(target, { autobind: true });
}
