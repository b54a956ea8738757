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

/** How `ProcessGroup.allReduce` combines the ranks' values, element by element. */
export type ReduceOp = 'sum' | 'mean' | 'max' | 'min';

/**
 * Collective operations across training processes (ranks), MMCV's `torch.distributed` seam.
 * Every rank must call the same collectives in the same order with arrays of the same lengths;
 * array collectives work in place on the arrays passed (so buffers can be allocated once and
 * reused) and resolve with those same arrays. Object collectives carry any value that
 * `structuredClone` accepts, of any size per rank. One process is rank 0 of a world of size 1,
 * where every operation is the identity.
 */
export interface ProcessGroup {
  readonly rank: number;
  readonly worldSize: number;
  /** This process's rank among the ranks on its machine (MMCV's local rank). */
  readonly localRank: number;
  /** How the ranks talk to each other, for the startup log (e.g. which all-reduce path is active). */
  readonly transport?: string;
  /** Element-wise reduction of `values` over all ranks, in place. */
  allReduce(values: Float32Array[], op?: ReduceOp): Promise<Float32Array[]>;
  /** Element-wise mean of `values` over all ranks, in place (`allReduce(values, 'mean')`). */
  allReduceMean(values: Float32Array[]): Promise<Float32Array[]>;
  /**
   * Optional: `allReduce` of arrays whose memory may move whenever other code runs (views of the
   * wasm heap). `views()` is called when the collective starts, which then completes before any
   * other code runs, so the views stay valid and nothing is copied to or from a buffer of the
   * group's. For payloads under {@link inlineBytes}; a group without it is given copies.
   */
  allReduceViews?(views: () => Float32Array[], op?: ReduceOp): Promise<void>;
  /** The payload, in bytes, below which {@link allReduceViews} may be used. */
  readonly inlineBytes?: number;
  /** The root rank's values, copied in place into every rank's arrays. */
  broadcast(values: Float32Array[], root?: number): Promise<Float32Array[]>;
  /** The root rank's value, on every rank. */
  broadcastObject<T>(value: T, root?: number): Promise<T>;
  /** Every rank's value, in rank order, on every rank. */
  allGather<T>(value: T): Promise<T[]>;
  /** Every rank's value, in rank order, on the root rank; `undefined` on the others. */
  gather<T>(value: T, root?: number): Promise<T[] | undefined>;
  /** Resolves once every rank has reached it. */
  barrier(): Promise<void>;
}

/** The single-process group. */
export const singleProcessGroup: ProcessGroup = {
  rank: 0,
  worldSize: 1,
  localRank: 0,
  allReduce: async (values) => values,
  allReduceMean: async (values) => values,
  broadcast: async (values) => values,
  broadcastObject: async (value) => value,
  allGather: async (value) => [value],
  gather: async (value) => [value],
  barrier: async () => undefined,
};
