import { z } from 'zod';
import { RegisterHook } from '../../core/hooks-registry.js';
import { parseOptions } from '../../config/parse-options.js';
import type { ScheduleRunner } from '../param-updater/param-updater-hook.js';
import { CyclicFields, CyclicSchedule } from '../param-updater/schedules.js';
import { MomentumUpdaterHook, MomentumUpdaterHookOptions } from './momentum-updater-hook.js';

/** Options of {@link CyclicMomentumUpdaterHook}. */
export const CyclicMomentumUpdaterHookOptions = MomentumUpdaterHookOptions.extend(CyclicFields).strict();
export type CyclicMomentumUpdaterHookOptions = z.input<typeof CyclicMomentumUpdaterHookOptions>;

/**
 * Cyclic momentum (policy `'cyclic'`, per iteration only), the same cycles as
 * {@link CyclicLrUpdaterHook} with default ratios `[0.85 / 0.95, 1]`: the momentum falls while
 * the lr rises, then comes back.
 */
@RegisterHook()
export class CyclicMomentumUpdaterHook extends MomentumUpdaterHook {
  readonly cyclic: CyclicSchedule;

  constructor(options: CyclicMomentumUpdaterHookOptions = {}) {
    const opts = parseOptions(CyclicMomentumUpdaterHookOptions, options, 'CyclicMomentumUpdaterHook');
    super({ ...opts, byEpoch: false }, 'CyclicMomentumUpdaterHook');
    this.cyclic = new CyclicSchedule(opts, [0.85 / 0.95, 1], this.owner);
  }

  override beforeRun(runner: ScheduleRunner): void {
    super.beforeRun(runner);
    this.cyclic.start(runner.maxIters);
  }

  protected getMomentum(runner: ScheduleRunner, baseMomentum: number): number {
    return this.cyclic.valueAt(runner.iter, baseMomentum);
  }
}
