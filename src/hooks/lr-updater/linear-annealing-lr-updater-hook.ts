import { z } from 'zod';
import { RegisterHook } from '../../core/hooks-registry.js';
import { parseOptions } from '../../config/parse-options.js';
import type { ScheduleRunner } from '../param-updater/param-updater-hook.js';
import { AnnealTarget } from '../param-updater/schedules.js';
import { annealingLinear } from './annealing.js';
import { LrUpdaterHook, LrUpdaterHookOptions, MinLrFields } from './lr-updater-hook.js';

/** Options of {@link LinearAnnealingLrUpdaterHook}. */
export const LinearAnnealingLrUpdaterHookOptions = LrUpdaterHookOptions.extend(MinLrFields).strict();
export type LinearAnnealingLrUpdaterHookOptions = z.input<typeof LinearAnnealingLrUpdaterHookOptions>;

/** Linear annealing over the whole run (policy `'LinearAnnealing'`), from the base lr to the target. */
@RegisterHook()
export class LinearAnnealingLrUpdaterHook extends LrUpdaterHook {
  readonly target: AnnealTarget;

  constructor(options: LinearAnnealingLrUpdaterHookOptions) {
    const opts = parseOptions(LinearAnnealingLrUpdaterHookOptions, options, 'LinearAnnealingLrUpdaterHook');
    super(opts, 'LinearAnnealingLrUpdaterHook');
    this.target = AnnealTarget.from(this.owner, ['minLr', 'minLrRatio'], opts.minLr, opts.minLrRatio);
  }

  protected getLr(runner: ScheduleRunner, baseLr: number): number {
    return this.target.overRun(runner, this.byEpoch, this.owner, baseLr, annealingLinear);
  }
}
