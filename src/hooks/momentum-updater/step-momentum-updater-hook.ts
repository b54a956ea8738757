import { z } from 'zod';
import { RegisterHook } from '../../core/hooks-registry.js';
import { parseOptions } from '../../config/parse-options.js';
import { finiteNumber } from '../param-updater/option-fields.js';
import type { ScheduleRunner } from '../param-updater/param-updater-hook.js';
import { minField, progressOf, stepDecay, stepField } from '../param-updater/schedules.js';
import { MomentumUpdaterHook, MomentumUpdaterHookOptions } from './momentum-updater-hook.js';

/** Options of {@link StepMomentumUpdaterHook}. */
export const StepMomentumUpdaterHookOptions = MomentumUpdaterHookOptions.extend({
  /** Decay every `step` epochs (iterations), or at each listed milestone. */
  step: stepField,
  /** Decay factor, default 0.5. */
  gamma: finiteNumber.optional(),
  /** Lower bound of the momentum. */
  minMomentum: minField,
}).strict();
export type StepMomentumUpdaterHookOptions = z.input<typeof StepMomentumUpdaterHookOptions>;

/** Step decay of the momentum (policy `'step'`): `max(base * gamma ** e, minMomentum)`. */
@RegisterHook()
export class StepMomentumUpdaterHook extends MomentumUpdaterHook {
  readonly step: number | number[];
  readonly gamma: number;
  readonly minMomentum: number | null;

  constructor(options: StepMomentumUpdaterHookOptions) {
    const opts = parseOptions(StepMomentumUpdaterHookOptions, options, 'StepMomentumUpdaterHook');
    super(opts, 'StepMomentumUpdaterHook');
    this.step = opts.step;
    this.gamma = opts.gamma ?? 0.5;
    this.minMomentum = opts.minMomentum ?? null;
  }

  protected getMomentum(runner: ScheduleRunner, baseMomentum: number): number {
    return stepDecay(baseMomentum, progressOf(runner, this.byEpoch), this.step, this.gamma, this.minMomentum);
  }
}
