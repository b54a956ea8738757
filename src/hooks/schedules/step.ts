import { z } from 'zod';
import { RegisterHook } from '../../core/hooks-registry.js';
import { lrUpdaterHookFor } from '../lr-updater/lr-updater-hook.js';
import { momentumUpdaterHookFor } from '../momentum-updater/momentum-updater-hook.js';
import { minField } from '../param-updater/annealing.js';
import { defineSchedule } from '../param-updater/define-schedule.js';
import { field, finiteNumber, isPositiveInt } from '../param-updater/option-fields.js';

/** `step`: a decay interval, or increasing milestones. */
const stepField = field<number | number[]>(
  'a positive integer or a non-empty increasing list of positive integers',
  (v) => isPositiveInt(v) || (Array.isArray(v) && v.length > 0 && v.every(isPositiveInt) && v.every((s, i) => i === 0 || s > v[i - 1])),
);

/** How many decays have happened at `progress`: `floor(progress / step)`, or the milestones passed. */
function decays(progress: number, step: number | number[]): number {
  if (typeof step === 'number') return Math.floor(progress / step);
  const at = step.findIndex((s) => progress < s);
  return at === -1 ? step.length : at;
}

/**
 * Step decay (policy `'step'`): `max(base * gamma ** e, min)`, `e` the decays so far (one
 * power, not repeated products, as MMCV).
 */
export const Step = defineSchedule({
  policy: 'Step',
  options: {
    /** Decay every `step` epochs (iterations), or at each listed milestone. */
    step: stepField,
    /** Decay factor: default 0.1 for the lr, 0.5 for the momentum. */
    gamma: finiteNumber.optional(),
    /** Lower bound (`minLr`, `minMomentum`). */
    min$: minField,
  },
  lr: { defaults: { gamma: 0.1 } },
  momentum: { defaults: { gamma: 0.5 } },
  value: ({ progress }, base, o) => {
    const value = base * o.gamma ** decays(progress, o.step);
    return o.min$ == null ? value : Math.max(value, o.min$);
  },
});

/** Step decay of the lr (policy `'step'`): `lr = max(baseLr * gamma ** e, minLr)`. */
@RegisterHook()
export class StepLrUpdaterHook extends lrUpdaterHookFor(Step) {}
/** Options of {@link StepLrUpdaterHook}. */
export const StepLrUpdaterHookOptions = StepLrUpdaterHook.optionsSchema;
export type StepLrUpdaterHookOptions = z.input<typeof StepLrUpdaterHookOptions>;

/** Step decay of the momentum (policy `'step'`): `max(base * gamma ** e, minMomentum)`. */
@RegisterHook()
export class StepMomentumUpdaterHook extends momentumUpdaterHookFor(Step) {}
/** Options of {@link StepMomentumUpdaterHook}. */
export const StepMomentumUpdaterHookOptions = StepMomentumUpdaterHook.optionsSchema;
export type StepMomentumUpdaterHookOptions = z.input<typeof StepMomentumUpdaterHookOptions>;
