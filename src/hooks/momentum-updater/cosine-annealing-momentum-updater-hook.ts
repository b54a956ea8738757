import { z } from 'zod';
import { RegisterHook } from '../../core/hooks-registry.js';
import { annealingCos } from '../lr-updater/annealing.js';
import { parseOptions } from '../../config/parse-options.js';
import type { ScheduleRunner } from '../param-updater/param-updater-hook.js';
import { AnnealTarget } from '../param-updater/schedules.js';
import { MinMomentumFields, MomentumUpdaterHook, MomentumUpdaterHookOptions } from './momentum-updater-hook.js';

/** Options of {@link CosineAnnealingMomentumUpdaterHook}. */
export const CosineAnnealingMomentumUpdaterHookOptions = MomentumUpdaterHookOptions.extend(MinMomentumFields).strict();
export type CosineAnnealingMomentumUpdaterHookOptions = z.input<typeof CosineAnnealingMomentumUpdaterHookOptions>;

/** Cosine annealing of the momentum over the whole run (policy `'CosineAnnealing'`). */
@RegisterHook()
export class CosineAnnealingMomentumUpdaterHook extends MomentumUpdaterHook {
  readonly target: AnnealTarget;

  constructor(options: CosineAnnealingMomentumUpdaterHookOptions) {
    const opts = parseOptions(CosineAnnealingMomentumUpdaterHookOptions, options, 'CosineAnnealingMomentumUpdaterHook');
    super(opts, 'CosineAnnealingMomentumUpdaterHook');
    this.target = AnnealTarget.from(this.owner, ['minMomentum', 'minMomentumRatio'], opts.minMomentum, opts.minMomentumRatio);
  }

  protected getMomentum(runner: ScheduleRunner, baseMomentum: number): number {
    return this.target.overRun(runner, this.byEpoch, this.owner, baseMomentum, annealingCos);
  }
}
