import { z } from 'zod';
import { RegisterHook } from '../../core/hooks-registry.js';
import { parseOptions } from '../../config/parse-options.js';
import { finiteNumber, nonNegativeNumber } from '../param-updater/option-fields.js';
import type { ScheduleRunner } from '../param-updater/param-updater-hook.js';
import { progressOf } from '../param-updater/schedules.js';
import { LrUpdaterHook, LrUpdaterHookOptions } from './lr-updater-hook.js';

/** Options of {@link InvLrUpdaterHook}. */
export const InvLrUpdaterHookOptions = LrUpdaterHookOptions.extend({
  gamma: nonNegativeNumber,
  /** Default 1. */
  power: finiteNumber.optional(),
}).strict();
export type InvLrUpdaterHookOptions = z.input<typeof InvLrUpdaterHookOptions>;

/** Inverse decay (policy `'inv'`): `lr = baseLr * (1 + gamma * progress) ** -power`. */
@RegisterHook()
export class InvLrUpdaterHook extends LrUpdaterHook {
  readonly gamma: number;
  readonly power: number;

  constructor(options: InvLrUpdaterHookOptions) {
    const opts = parseOptions(InvLrUpdaterHookOptions, options, 'InvLrUpdaterHook');
    super(opts, 'InvLrUpdaterHook');
    this.gamma = opts.gamma;
    this.power = opts.power ?? 1;
  }

  protected getLr(runner: ScheduleRunner, baseLr: number): number {
    return baseLr * (1 + this.gamma * progressOf(runner, this.byEpoch)) ** -this.power;
  }
}
