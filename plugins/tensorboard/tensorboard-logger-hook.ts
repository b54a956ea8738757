import path from 'node:path';
import { inject, injectable, optional } from 'inversify';
import { z } from 'zod';
import { TOKENS } from '../../src/core/di.js';
import { RegisterHook } from '../../src/core/hooks-registry.js';
import { systemClock, type Clock } from '../../src/core/services.js';
import { LoggerHook, LoggerHookOptions } from '../../src/hooks/logger/logger-hook.js';
import type { RecordedRunner } from '../../src/runner/hook-runner.js';
import { EventFileWriter } from './event-file-writer.js';

/** Options of {@link TensorboardLoggerHook}. */
export const TensorboardLoggerHookOptions = LoggerHookOptions.extend({
  /** Where the event file goes; default `<workDir>/tf_logs`. */
  logDir: z.string().min(1).nullish(),
});
export type TensorboardLoggerHookOptions = z.input<typeof TensorboardLoggerHookOptions>;

/**
 * Writes the logged values as TensorBoard scalars and texts (MMCV `TensorboardLoggerHook`),
 * on rank 0 only, into one new event file per run in `logDir`.
 *
 * Tags and steps are MMCV's: `train/<key>` or `val/<key>` for every buffer output except the
 * timings (evaluation metrics come out as `val/<metric>`), plus `learning_rate` and `momentum`
 * (`learning_rate/<name>`, `momentum/<name>` with several optimizers); strings are written as
 * text summaries; the step is always the global `runner.iter + 1`. Wall times come from the
 * injected clock (`TOKENS.Clock`).
 */
@RegisterHook()
@injectable()
export class TensorboardLoggerHook extends LoggerHook {
  /** The configured directory (null: `<workDir>/tf_logs`, resolved in beforeRun). */
  readonly logDir: string | null;
  private readonly clock: Clock;
  private writer: EventFileWriter | undefined;

  constructor(
    @inject(TOKENS.HookOptions) @optional() options: TensorboardLoggerHookOptions = {},
    @inject(TOKENS.Clock) @optional() clock?: Clock,
  ) {
    super(options, TensorboardLoggerHookOptions, 'TensorboardLoggerHook');
    this.logDir = options.logDir ?? null;
    this.clock = clock ?? systemClock;
  }

  /** The run's event file (undefined before the first run and on ranks other than 0). */
  get eventFile(): string | undefined {
    return this.writer?.path;
  }

  override beforeRun(runner: RecordedRunner): void {
    super.beforeRun(runner);
    if (runner.rank !== 0) return;
    const logDir = this.logDir ?? (runner.workDir ? path.join(runner.workDir, 'tf_logs') : null);
    if (logDir === null) throw new Error('TensorboardLoggerHook needs logDir or a runner workDir to write to');
    this.writer?.close();
    this.writer = new EventFileWriter(logDir, { clock: () => this.clock.now() });
  }

  protected log(runner: RecordedRunner): void {
    const writer = this.writer;
    if (!writer) return; // ranks other than 0 have none
    const step = this.getIter(runner);
    for (const [tag, value] of Object.entries(this.getLoggableTags(runner, { allowText: true }))) {
      if (typeof value === 'string') writer.addText(tag, value, step);
      else writer.addScalar(tag, value, step);
    }
  }

  override afterRun(_runner: RecordedRunner): void {
    this.writer?.close();
  }
}
