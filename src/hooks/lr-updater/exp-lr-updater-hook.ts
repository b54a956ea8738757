import { z } from 'zod';
import { RegisterHook } from '../../core/hooks-registry.js';
import { parseOptions } from '../../config/parse-options.js';
import { finiteNumber } from '../param-updater/option-fields.js';
import type { ScheduleRunner } from '../param-updater/param-updater-hook.js';
import { progressOf } from '../param-updater/schedules.js';
import { LrUpdaterHook, LrUpdaterHookOptions } from './lr-updater-hook.js';

/** Options of {@link ExpLrUpdaterHook}. */
export const ExpLrUpdaterHookOptions = LrUpdaterHookOptions.extend({
  /** Decay factor per epoch (iteration). */
  gamma: finiteNumber,
}).strict();
export type ExpLrUpdaterHookOptions = z.input<typeof ExpLrUpdaterHookOptions>;

/** Exponential decay (policy `'exp'`): `lr = baseLr * gamma ** progress`. */
@RegisterHook()
export class ExpLrUpdaterHook extends LrUpdaterHook {
  readonly gamma: number;

  constructor(options: ExpLrUpdaterHookOptions) {
    const opts = parseOptions(ExpLrUpdaterHookOptions, options, 'ExpLrUpdaterHook');
    super(opts, 'ExpLrUpdaterHook');
    this.gamma = opts.gamma;
  }

  protected getLr(runner: ScheduleRunner, baseLr: number): number {
    return baseLr * this.gamma ** progressOf(runner, this.byEpoch);
  }
}
