import { z } from 'zod';
import { RegisterHook } from '../../core/hooks-registry.js';
import { lrUpdaterHookFor } from '../lr-updater/lr-updater-hook.js';
import { defineSchedule } from '../param-updater/define-schedule.js';
import { finiteNumber } from '../param-updater/option-fields.js';

/** Exponential decay (policy `'exp'`): `base * gamma ** progress`. */
export const Exp = defineSchedule({
  policy: 'Exp',
  options: {
    /** Decay factor per epoch (iteration). */
    gamma: finiteNumber,
  },
  value: ({ progress }, base, o) => base * o.gamma ** progress,
});

/** Exponential decay of the lr (policy `'exp'`): `lr = baseLr * gamma ** progress`. */
@RegisterHook()
export class ExpLrUpdaterHook extends lrUpdaterHookFor(Exp) {}
/** Options of {@link ExpLrUpdaterHook}. */
export const ExpLrUpdaterHookOptions = ExpLrUpdaterHook.optionsSchema;
export type ExpLrUpdaterHookOptions = z.input<typeof ExpLrUpdaterHookOptions>;
