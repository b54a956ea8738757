import { ConfigError } from '../core/errors.js';

/**
 * How often a runner hands control back to the event loop between iterations (like tfjs-layers'
 * `yieldEvery`): `'auto'` (the default) every {@link AUTO_YIELD_MS} ms, a number of ms, or
 * `'never'`. Without yielding, no timer or I/O callback (progress bar redraws, TensorBoard
 * flushes, a plugin's sockets) runs while training: hook promises resolve as microtasks.
 */
export type YieldEvery = 'auto' | 'never' | number;

/** The period of `yieldEvery: 'auto'`: tfjs-layers' 125 ms (8 times a second). */
export const AUTO_YIELD_MS = 125;

/** Checks a `yieldEvery` setting; `field` names it in the error. */
export function checkYieldEvery(value: unknown, field: string): YieldEvery {
  if (value === 'auto' || value === 'never') return value;
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  throw new ConfigError(field, `must be 'auto', 'never' or a number of milliseconds >= 0; got ${JSON.stringify(value)}`);
}

const nextMacrotask = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Yields with `setImmediate` once the period has passed since the last yield. Costs one clock
 * read per call (none with `'never'`), so it may sit in the iteration loop.
 */
export class EventLoopYield {
  private readonly periodMs: number;
  private last = performance.now();

  constructor(setting: YieldEvery = 'auto') {
    this.periodMs = setting === 'never' ? Infinity : setting === 'auto' ? AUTO_YIELD_MS : setting;
  }

  /** A promise to await when it is time to yield, else undefined (no await, no microtask). */
  maybeYield(): Promise<void> | undefined {
    if (this.periodMs === Infinity) return undefined;
    const now = performance.now();
    if (now - this.last < this.periodMs) return undefined;
    return nextMacrotask().then(() => {
      this.last = performance.now();
    });
  }
}
