import { z } from 'zod';
import { RegisterHook } from '../../core/hooks-registry.js';
import { parseOptions } from '../../config/parse-options.js';
import { finiteNumber } from '../param-updater/option-fields.js';
import type { ScheduleRunner } from '../param-updater/param-updater-hook.js';
import { maxProgressOf, progressOf } from '../param-updater/schedules.js';
import { LrUpdaterHook, LrUpdaterHookOptions } from './lr-updater-hook.js';

/** Options of {@link PolyLrUpdaterHook}. */
export const PolyLrUpdaterHookOptions = LrUpdaterHookOptions.extend({
  /** Exponent of the decay, default 1 (linear). */
  power: finiteNumber.optional(),
  /** The lr at the end of the run, default 0. */
  minLr: finiteNumber.optional(),
}).strict();
export type PolyLrUpdaterHookOptions = z.input<typeof PolyLrUpdaterHookOptions>;

/** Polynomial decay (policy `'poly'`): `(baseLr - minLr) * (1 - progress / max) ** power + minLr`. */
@RegisterHook()
export class PolyLrUpdaterHook extends LrUpdaterHook {
  readonly power: number;
  readonly minLr: number;

  constructor(options: PolyLrUpdaterHookOptions = {}) {
    const opts = parseOptions(PolyLrUpdaterHookOptions, options, 'PolyLrUpdaterHook');
    super(opts, 'PolyLrUpdaterHook');
    this.power = opts.power ?? 1;
    this.minLr = opts.minLr ?? 0;
  }

  protected getLr(runner: ScheduleRunner, baseLr: number): number {
    const coeff = (1 - progressOf(runner, this.byEpoch) / maxProgressOf(runner, this.byEpoch, this.owner)) ** this.power;
    return (baseLr - this.minLr) * coeff + this.minLr;
  }
}
