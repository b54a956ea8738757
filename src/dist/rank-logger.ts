import type { Logger } from '../core/services.js';

/**
 * The logger of a rank other than 0 in a multi-process run: rank 0 alone reports progress, so
 * info messages are dropped; warnings and errors go on to `next`, prefixed `rank N: ` so that
 * the interleaved output of several processes says where each came from.
 */
export class RankLogger implements Logger {
  constructor(readonly rank: number, private readonly next: Logger) {}

  info(_message: string): void {}
  warn(message: string): void { this.next.warn(`rank ${this.rank}: ${message}`); }
  error(message: string): void { this.next.error(`rank ${this.rank}: ${message}`); }
}
