import { z } from 'zod';
import { RegisterHook } from '../../core/hooks-registry.js';
import { parseOptions } from '../../config/parse-options.js';
import { finiteNumber } from '../param-updater/option-fields.js';
import type { ScheduleRunner } from '../param-updater/param-updater-hook.js';
import { minField, progressOf, stepDecay, stepField } from '../param-updater/schedules.js';
import { LrUpdaterHook, LrUpdaterHookOptions } from './lr-updater-hook.js';

/** Options of {@link StepLrUpdaterHook}. */
export const StepLrUpdaterHookOptions = LrUpdaterHookOptions.extend({
  /** Decay every `step` epochs (iterations), or at each listed milestone. */
  step: stepField,
  /** Decay factor, default 0.1. */
  gamma: finiteNumber.optional(),
  /** Lower bound of the lr. */
  minLr: minField,
}).strict();
export type StepLrUpdaterHookOptions = z.input<typeof StepLrUpdaterHookOptions>;

/** Step decay (policy `'step'`): `lr = max(baseLr * gamma ** e, minLr)`, `e` = decays so far. */
@RegisterHook()
export class StepLrUpdaterHook extends LrUpdaterHook {
  readonly step: number | number[];
  readonly gamma: number;
  readonly minLr: number | null;

  constructor(options: StepLrUpdaterHookOptions) {
    const opts = parseOptions(StepLrUpdaterHookOptions, options, 'StepLrUpdaterHook');
    super(opts, 'StepLrUpdaterHook');
    this.step = opts.step;
    this.gamma = opts.gamma ?? 0.1;
    this.minLr = opts.minLr ?? null;
  }

  protected getLr(runner: ScheduleRunner, baseLr: number): number {
    return stepDecay(baseLr, progressOf(runner, this.byEpoch), this.step, this.gamma, this.minLr);
  }
}
