import { z } from 'zod';
import { ConfigError } from '../../core/errors.js';
import { RegisterHook } from '../../core/hooks-registry.js';
import { parseOptions } from '../../config/parse-options.js';
import { field, isFiniteNumber, isPositiveInt } from '../param-updater/option-fields.js';
import type { ScheduleRunner } from '../param-updater/param-updater-hook.js';
import { AnnealTarget, maxProgressOf, progressOf } from '../param-updater/schedules.js';
import { annealingCos } from './annealing.js';
import { LrUpdaterHook, LrUpdaterHookOptions, MinLrFields } from './lr-updater-hook.js';

/** Options of {@link CosineRestartLrUpdaterHook}. */
export const CosineRestartLrUpdaterHookOptions = LrUpdaterHookOptions.extend({
  ...MinLrFields,
  /** Length of each cosine cycle, in epochs (iterations); together they must cover the run. */
  periods: field<number[]>('a non-empty list of positive integers', (v) => Array.isArray(v) && v.length > 0 && v.every(isPositiveInt)),
  /** Each cycle's restart weight (default [1]); one per period. */
  restartWeights: field<number[]>('a list of numbers', (v) => Array.isArray(v) && v.every(isFiniteNumber)).optional(),
}).strict();
export type CosineRestartLrUpdaterHookOptions = z.input<typeof CosineRestartLrUpdaterHookOptions>;

/**
 * Cosine annealing with restarts (policy `'CosineRestart'`): cycle `i` lasts `periods[i]` and
 * anneals from `target + restartWeights[i] * (baseLr - target)` down to the target.
 */
@RegisterHook()
export class CosineRestartLrUpdaterHook extends LrUpdaterHook {
  readonly target: AnnealTarget;
  readonly periods: number[];
  readonly restartWeights: number[];
  /** `periods[0] + ... + periods[i]`. */
  readonly cumulativePeriods: number[];

  constructor(options: CosineRestartLrUpdaterHookOptions) {
    const opts = parseOptions(CosineRestartLrUpdaterHookOptions, options, 'CosineRestartLrUpdaterHook');
    super(opts, 'CosineRestartLrUpdaterHook');
    this.target = AnnealTarget.from(this.owner, ['minLr', 'minLrRatio'], opts.minLr, opts.minLrRatio);
    this.periods = opts.periods;
    this.restartWeights = opts.restartWeights ?? [1];
    if (this.restartWeights.length !== this.periods.length) {
      throw new ConfigError(`${this.owner}.restartWeights`, `must have one weight per period (${this.periods.length}); got ${this.restartWeights.length}`);
    }
    let sum = 0;
    this.cumulativePeriods = this.periods.map((p) => (sum += p));
  }

  override beforeRun(runner: ScheduleRunner): void {
    super.beforeRun(runner);
    // MMCV fails at the first iteration past the periods; fail before training instead.
    const max = maxProgressOf(runner, this.byEpoch, this.owner);
    const total = this.cumulativePeriods.at(-1)!;
    if (total < max) {
      throw new ConfigError(`${this.owner}.periods`, `must cover the run's ${max} ${this.byEpoch ? 'epochs' : 'iterations'}; they add up to ${total}`);
    }
  }

  protected getLr(runner: ScheduleRunner, baseLr: number): number {
    const progress = progressOf(runner, this.byEpoch);
    const idx = this.cumulativePeriods.findIndex((c) => progress < c);
    const restart = idx === 0 ? 0 : this.cumulativePeriods[idx - 1]!;
    const alpha = Math.min((progress - restart) / this.periods[idx]!, 1);
    return annealingCos(baseLr, this.target.of(baseLr), alpha, this.restartWeights[idx]);
  }
}
