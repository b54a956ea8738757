import { z } from 'zod';
import { RegisterHook } from '../../core/hooks-registry.js';
import { annealingLinear } from '../lr-updater/annealing.js';
import { parseOptions } from '../../config/parse-options.js';
import type { ScheduleRunner } from '../param-updater/param-updater-hook.js';
import { AnnealTarget } from '../param-updater/schedules.js';
import { MinMomentumFields, MomentumUpdaterHook, MomentumUpdaterHookOptions } from './momentum-updater-hook.js';

/** Options of {@link LinearAnnealingMomentumUpdaterHook}. */
export const LinearAnnealingMomentumUpdaterHookOptions = MomentumUpdaterHookOptions.extend(MinMomentumFields).strict();
export type LinearAnnealingMomentumUpdaterHookOptions = z.input<typeof LinearAnnealingMomentumUpdaterHookOptions>;

/** Linear annealing of the momentum over the whole run (policy `'LinearAnnealing'`). */
@RegisterHook()
export class LinearAnnealingMomentumUpdaterHook extends MomentumUpdaterHook {
  readonly target: AnnealTarget;

  constructor(options: LinearAnnealingMomentumUpdaterHookOptions) {
    const opts = parseOptions(LinearAnnealingMomentumUpdaterHookOptions, options, 'LinearAnnealingMomentumUpdaterHook');
    super(opts, 'LinearAnnealingMomentumUpdaterHook');
    this.target = AnnealTarget.from(this.owner, ['minMomentum', 'minMomentumRatio'], opts.minMomentum, opts.minMomentumRatio);
  }

  protected getMomentum(runner: ScheduleRunner, baseMomentum: number): number {
    return this.target.overRun(runner, this.byEpoch, this.owner, baseMomentum, annealingLinear);
  }
}
