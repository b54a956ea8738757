import { z } from 'zod';
import { RegisterHook } from '../../core/hooks-registry.js';
import { pyRound } from '../logger/py-format.js';
import { parseOptions } from '../../config/parse-options.js';
import { unitInterval } from '../param-updater/option-fields.js';
import type { ScheduleRunner } from '../param-updater/param-updater-hook.js';
import { AnnealTarget, maxProgressOf, progressOf } from '../param-updater/schedules.js';
import { annealingCos } from './annealing.js';
import { LrUpdaterHook, LrUpdaterHookOptions, MinLrFields } from './lr-updater-hook.js';

/** Options of {@link FlatCosineAnnealingLrUpdaterHook}. */
export const FlatCosineAnnealingLrUpdaterHookOptions = LrUpdaterHookOptions.extend({
  ...MinLrFields,
  /** Where annealing starts, as a fraction of the run; default 0.75. */
  startPercent: unitInterval.optional(),
}).strict();
export type FlatCosineAnnealingLrUpdaterHookOptions = z.input<typeof FlatCosineAnnealingLrUpdaterHookOptions>;

/**
 * Flat, then cosine annealing (policy `'FlatCosineAnnealing'`): the base lr until
 * `start = round(max * startPercent)` (Python's round, half to even: 2.5 → 2), then cosine
 * annealing to the target over the rest of the run.
 */
@RegisterHook()
export class FlatCosineAnnealingLrUpdaterHook extends LrUpdaterHook {
  readonly target: AnnealTarget;
  readonly startPercent: number;

  constructor(options: FlatCosineAnnealingLrUpdaterHookOptions) {
    const opts = parseOptions(FlatCosineAnnealingLrUpdaterHookOptions, options, 'FlatCosineAnnealingLrUpdaterHook');
    super(opts, 'FlatCosineAnnealingLrUpdaterHook');
    this.target = AnnealTarget.from(this.owner, ['minLr', 'minLrRatio'], opts.minLr, opts.minLrRatio);
    this.startPercent = opts.startPercent ?? 0.75;
  }

  protected getLr(runner: ScheduleRunner, baseLr: number): number {
    const max = maxProgressOf(runner, this.byEpoch, this.owner);
    const start = pyRound(max * this.startPercent, 0);
    const progress = progressOf(runner, this.byEpoch) - start;
    if (progress < 0) return baseLr;
    return annealingCos(baseLr, this.target.of(baseLr), progress / (max - start));
  }
}
