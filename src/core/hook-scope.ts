import { AsyncLocalStorage } from 'node:async_hooks';
import type { EventStage } from './stages.js';

/** Which hook call a piece of code runs for: the call itself, or a timer or callback it started. */
export interface HookScope {
  hook: string;
  stage: EventStage;
}

const storage = new AsyncLocalStorage<HookScope>();
let tracking = false;

/**
 * Turns on (or off) remembering the hook call behind asynchronous work, so that an exception
 * thrown later from a hook's timer or un-awaited callback can be traced to the hook and stage
 * (the CLI turns it on; it costs an async-context switch per hook call).
 */
export function trackHookScopes(on = true): void {
  tracking = on;
}

/** The hook call the current code was started from, when tracking is on and it is known. */
export function currentHookScope(): HookScope | undefined {
  return storage.getStore();
}

/** Whether {@link trackHookScopes} is on (callers skip {@link inHookScope} otherwise: it costs a context switch). */
export function hookScopesTracked(): boolean {
  return tracking;
}

/** Calls `fn(...args)` inside `scope`. */
export function inHookScope<A extends unknown[], T>(scope: HookScope, fn: (...args: A) => T, ...args: A): T {
  return storage.run(scope, fn, ...args);
}
