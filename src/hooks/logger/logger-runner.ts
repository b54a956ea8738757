import type { Hook } from '../../core/hook.js';
import type { RunnerView } from '../../core/runner-view.js';
import type { Logger } from '../../core/services.js';
import type { LogBuffer } from '../../runner/log-buffer.js';

/**
 * What logger hooks read from a runner. The live runners provide it, and so does a journal
 * replay, which is why loggers depend on this and not on BaseRunner.
 */
export interface LoggerRunner extends RunnerView {
  readonly logBuffer: LogBuffer;
  readonly logger: Logger;
  readonly meta: Record<string, unknown> | null;
  readonly workDir: string | null;
  readonly timestamp: string;
  readonly rank: number;
  readonly hooks: readonly Hook<any>[];
  /** First-group lr, or `{ name: lr }` for several optimizers; throws without an optimizer. */
  lrForLog(): number | Record<string, number>;
  momentumForLog(): number | Record<string, number>;
}
