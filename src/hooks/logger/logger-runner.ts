import type { RecordedRunner } from '../../runner/hook-runner.js';

/**
 * What logger hooks read from a runner.
 * @deprecated Use {@link RecordedRunner} (from `hookflow`), which it now names.
 */
export type LoggerRunner = RecordedRunner;
