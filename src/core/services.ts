/** Service interfaces that hooks can inject. Implementations live with the runner. */

/** Where hooks and runners write human-readable messages. */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** Wall-clock source; a test rebinds it to control time. */
export interface Clock {
  /** Milliseconds since the Unix epoch (fractional allowed). */
  now(): number;
}

/** The system clock (performance-based for sub-millisecond resolution). */
export const systemClock: Clock = {
  now: () => performance.timeOrigin + performance.now(),
};

/** A logger that writes to the console. */
export const consoleLogger: Logger = {
  info: (m) => console.log(m),
  warn: (m) => console.warn(m),
  error: (m) => console.error(m),
};

/** A logger that keeps messages in memory (tests, replay). */
export class MemoryLogger implements Logger {
  readonly lines: Array<{ level: 'info' | 'warn' | 'error'; message: string }> = [];
  info(message: string): void { this.lines.push({ level: 'info', message }); }
  warn(message: string): void { this.lines.push({ level: 'warn', message }); }
  error(message: string): void { this.lines.push({ level: 'error', message }); }
  /** All messages, one per line. */
  text(): string { return this.lines.map((l) => l.message).join('\n'); }
}

/**
 * Collective operations across training processes (ranks). One process is rank 0 of a world of
 * size 1, where every operation is the identity.
 */
export interface ProcessGroup {
  readonly rank: number;
  readonly worldSize: number;
  /** Element-wise mean of `values` over all ranks (each rank passes its own). */
  allReduceMean(values: Float32Array[]): Promise<Float32Array[]>;
  /** Rank 0's values, on every rank. */
  broadcast(values: Float32Array[]): Promise<Float32Array[]>;
}

/** The single-process group. */
export const singleProcessGroup: ProcessGroup = {
  rank: 0,
  worldSize: 1,
  allReduceMean: async (values) => values,
  broadcast: async (values) => values,
};
