import { z } from 'zod';
import { RegisterHook } from '../../core/hooks-registry.js';
import { parseOptions } from '../../config/parse-options.js';
import type { ScheduleRunner } from '../param-updater/param-updater-hook.js';
import { AnnealTarget } from '../param-updater/schedules.js';
import { annealingCos } from './annealing.js';
import { LrUpdaterHook, LrUpdaterHookOptions, MinLrFields } from './lr-updater-hook.js';

/** Options of {@link CosineAnnealingLrUpdaterHook}. */
export const CosineAnnealingLrUpdaterHookOptions = LrUpdaterHookOptions.extend(MinLrFields).strict();
export type CosineAnnealingLrUpdaterHookOptions = z.input<typeof CosineAnnealingLrUpdaterHookOptions>;

/** Cosine annealing over the whole run (policy `'CosineAnnealing'`), from the base lr to the target. */
@RegisterHook()
export class CosineAnnealingLrUpdaterHook extends LrUpdaterHook {
  readonly target: AnnealTarget;

  constructor(options: CosineAnnealingLrUpdaterHookOptions) {
    const opts = parseOptions(CosineAnnealingLrUpdaterHookOptions, options, 'CosineAnnealingLrUpdaterHook');
    super(opts, 'CosineAnnealingLrUpdaterHook');
    this.target = AnnealTarget.from(this.owner, ['minLr', 'minLrRatio'], opts.minLr, opts.minLrRatio);
  }

  protected getLr(runner: ScheduleRunner, baseLr: number): number {
    return this.target.overRun(runner, this.byEpoch, this.owner, baseLr, annealingCos);
  }
}
