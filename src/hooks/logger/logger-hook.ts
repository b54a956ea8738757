import { z } from 'zod';
import { Hook } from '../../core/hook.js';
import { parseOptions } from '../../config/parse-options.js';
import type { RecordedRunner } from '../../runner/hook-runner.js';

/** Options every logger hook accepts (MMCV `LoggerHook`). */
export const LoggerHookOptions = z.object({
  /** Log every `interval` iterations (inner iterations when `byEpoch`). */
  interval: z.number().int().positive().optional(),
  /** Do not log the last iterations of an epoch that do not fill an interval. */
  ignoreLast: z.boolean().optional(),
  /** Clear the buffer's output after logging (set automatically on the last logger). */
  resetFlag: z.boolean().optional(),
  byEpoch: z.boolean().optional(),
});
export type LoggerHookOptions = z.input<typeof LoggerHookOptions>;

/** The buffer keys loggers never report as metrics. */
export const TIMING_KEYS = ['time', 'dataTime'] as const;

/**
 * Base of the logger hooks: decides when the log buffer is averaged and reported, and what
 * mode, epoch and iteration a record carries. Subclasses implement {@link log}.
 */
export abstract class LoggerHook extends Hook<RecordedRunner> {
  interval: number;
  ignoreLast: boolean;
  resetFlag: boolean;
  byEpoch: boolean;

  protected constructor(options: LoggerHookOptions, schema: z.ZodObject, owner: string) {
    super();
    const opts = parseOptions(schema.strict(), options, owner) as LoggerHookOptions;
    this.interval = opts.interval ?? 10;
    this.ignoreLast = opts.ignoreLast ?? true;
    this.resetFlag = opts.resetFlag ?? false;
    this.byEpoch = opts.byEpoch ?? true;
  }

  /** Writes one record from the buffer's output. */
  protected abstract log(runner: RecordedRunner): void;

  override beforeRun(runner: RecordedRunner): void {
    // Exactly the last logger clears the output, so every logger sees the same averages.
    const loggers = runner.hooks.filter((h): h is LoggerHook => h instanceof LoggerHook);
    const last = loggers.at(-1);
    if (last) last.resetFlag = true;
  }

  override beforeEpoch(runner: RecordedRunner): void {
    runner.logBuffer.clear();
  }

  /**
   * Averages and logs when this logger's own interval is due (or when evaluation results wait in
   * the buffer). MMCV logs whenever any earlier logger made the buffer ready, so a second logger
   * ignored its own interval; here each logger keeps its own, and the last one clears the output
   * after every iteration so nothing stale reaches the epoch's closing stage.
   */
  override afterTrainIter(runner: RecordedRunner): void {
    const due = this.byEpoch ? this.everyNInnerIters(runner, this.interval) : this.everyNIters(runner, this.interval);
    const last = !due && !this.ignoreLast && this.endOfEpoch(runner);
    if (due || last) runner.logBuffer.average(this.interval);
    if ((due || last || runner.logBuffer.output.has('evalIterNum')) && runner.logBuffer.ready) this.log(runner);
    if (this.resetFlag) runner.logBuffer.clearOutput();
  }

  override afterTrainEpoch(runner: RecordedRunner): void {
    this.flush(runner);
  }

  override afterValEpoch(runner: RecordedRunner): void {
    runner.logBuffer.average();
    this.flush(runner);
  }

  private flush(runner: RecordedRunner): void {
    if (!runner.logBuffer.ready) return;
    this.log(runner);
    if (this.resetFlag) runner.logBuffer.clearOutput();
  }

  /**
   * 'val' for evaluation results (they carry `evalIterNum`) and in val mode, else 'train'.
   * MMCV keys this on the presence of `time` instead, which mislabels training logs when no
   * timer hook is registered.
   */
  getMode(runner: RecordedRunner): 'train' | 'val' {
    if (runner.mode === 'val' || runner.logBuffer.output.has('evalIterNum')) return 'val';
    if (runner.mode === 'train') return 'train';
    throw new Error(`runner mode must be 'train' or 'val'; got ${String(runner.mode)}`);
  }

  /** 1-based epoch in train mode; in val mode the train epoch just finished. */
  getEpoch(runner: RecordedRunner): number {
    if (runner.mode === 'train') return runner.epoch + 1;
    if (runner.mode === 'val') return runner.epoch;
    throw new Error(`runner mode must be 'train' or 'val'; got ${String(runner.mode)}`);
  }

  /** 1-based iteration: within the epoch when `innerIter` and `byEpoch`, else global. */
  getIter(runner: RecordedRunner, innerIter = false): number {
    return this.byEpoch && innerIter ? runner.innerIter + 1 : runner.iter + 1;
  }

  /** `{ learning_rate: lr }`, or `{ 'learning_rate/<name>': lr }` per optimizer. */
  getLrTags(runner: RecordedRunner): Record<string, number> {
    return tagsOf('learning_rate', runner.lrForLog());
  }

  /** `{ momentum: m }`, or `{ 'momentum/<name>': m }` per optimizer. */
  getMomentumTags(runner: RecordedRunner): Record<string, number> {
    return tagsOf('momentum', runner.momentumForLog());
  }

  /**
   * Buffer outputs as `<mode>/<key>` tags (timings skipped), plus the lr and momentum tags,
   * for loggers that plot (MMCV `get_loggable_tags`).
   */
  getLoggableTags(runner: RecordedRunner, { allowScalar = true, allowText = false, addMode = true } = {}): Record<string, number | string> {
    const tags: Record<string, number | string> = {};
    const mode = this.getMode(runner);
    for (const [key, value] of runner.logBuffer.output) {
      if ((TIMING_KEYS as readonly string[]).includes(key) || key === 'evalIterNum') continue;
      if (typeof value === 'number' && !allowScalar) continue;
      if (typeof value === 'string' && !allowText) continue;
      if (typeof value !== 'number' && typeof value !== 'string') continue;
      tags[addMode ? `${mode}/${key}` : key] = value;
    }
    return { ...tags, ...this.getLrTags(runner), ...this.getMomentumTags(runner) };
  }
}

function tagsOf(prefix: string, value: number | Record<string, number>): Record<string, number> {
  if (typeof value === 'number') return { [prefix]: value };
  return Object.fromEntries(Object.entries(value).map(([name, v]) => [`${prefix}/${name}`, v]));
}
