import type { Container } from 'inversify';
import { buildInjected } from './di.js';
import { Hook } from './hook.js';
import { CUSTOM_IMPORTS_HINT, Registry, defaultBuild, type BuildFunc, type RegisterOptions } from './registry.js';

const buildHookEntry: BuildFunc<Hook<any>> = (target, args, context) => {
  const hook = context && typeof context === 'object' && 'get' in context
    ? buildInjected(target as new (...a: any[]) => Hook<any>, args, context as Container)
    : (defaultBuild(target, args) as Hook<any>);
  if (!isHook(hook)) {
    throw new TypeError(`${target.name} did not build a Hook (hook classes must extend Hook)`);
  }
  return hook;
};

/** True for objects that behave as hooks (instances of this or another copy of the package). */
export function isHook(value: unknown): value is Hook<any> {
  return value instanceof Hook || (value !== null && typeof value === 'object' && typeof (value as Hook).getSubscriptions === 'function');
}

/** The registry every hook type is built from (`{ type: 'CheckpointHook', interval: 1 }`). */
export const HOOKS = new Registry<Hook<any>>('hook', { buildFunc: buildHookEntry, unknownNameHint: CUSTOM_IMPORTS_HINT });

/**
 * Class decorator that registers a hook class in {@link HOOKS} under its class name (or
 * `name`). Works with TypeScript's standard decorators and with `experimentalDecorators` (both
 * hand it the class first), and without decorator syntax: `RegisterHook()(MyHook)`.
 */
export function RegisterHook(name?: string | string[], options: Omit<RegisterOptions, 'name'> = {}) {
  return <C extends new (...args: any[]) => Hook<any>>(target: C, _context?: ClassDecoratorContext<C>): C => HOOKS.register(target, { ...options, name: name ?? target.name });
}
