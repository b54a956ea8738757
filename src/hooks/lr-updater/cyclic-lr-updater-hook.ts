import { z } from 'zod';
import { RegisterHook } from '../../core/hooks-registry.js';
import { parseOptions } from '../../config/parse-options.js';
import type { ScheduleRunner } from '../param-updater/param-updater-hook.js';
import { CyclicFields, CyclicSchedule } from '../param-updater/schedules.js';
import { LrUpdaterHook, LrUpdaterHookOptions } from './lr-updater-hook.js';

/** Options of {@link CyclicLrUpdaterHook}. */
export const CyclicLrUpdaterHookOptions = LrUpdaterHookOptions.extend(CyclicFields).strict();
export type CyclicLrUpdaterHookOptions = z.input<typeof CyclicLrUpdaterHookOptions>;

/**
 * Cyclic lr (policy `'cyclic'`, per iteration only): each of `cyclicTimes` cycles anneals from
 * the base lr up to `targetRatio[0] * baseLr` over the first `stepRatioUp` of the cycle, then
 * down to `targetRatio[1] * baseLr` (default ratios `[10, 1e-4]`); the peak of cycle `c` is
 * pulled toward the base lr by `gamma ** c`.
 */
@RegisterHook()
export class CyclicLrUpdaterHook extends LrUpdaterHook {
  readonly cyclic: CyclicSchedule;

  constructor(options: CyclicLrUpdaterHookOptions = {}) {
    const opts = parseOptions(CyclicLrUpdaterHookOptions, options, 'CyclicLrUpdaterHook');
    super({ ...opts, byEpoch: false }, 'CyclicLrUpdaterHook');
    this.cyclic = new CyclicSchedule(opts, [10, 1e-4], this.owner);
  }

  override beforeRun(runner: ScheduleRunner): void {
    super.beforeRun(runner);
    this.cyclic.start(runner.maxIters);
  }

  protected getLr(runner: ScheduleRunner, baseLr: number): number {
    return this.cyclic.valueAt(runner.iter, baseLr);
  }
}
