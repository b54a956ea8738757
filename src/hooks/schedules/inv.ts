import { z } from 'zod';
import { RegisterHook } from '../../core/hooks-registry.js';
import { lrUpdaterHookFor } from '../lr-updater/lr-updater-hook.js';
import { defineSchedule } from '../param-updater/define-schedule.js';
import { finiteNumber, nonNegativeNumber } from '../param-updater/option-fields.js';

/** Inverse decay (policy `'inv'`): `base * (1 + gamma * progress) ** -power`. */
export const Inv = defineSchedule({
  policy: 'Inv',
  options: {
    gamma: nonNegativeNumber,
    /** Default 1. */
    power: finiteNumber.optional(),
  },
  defaults: { power: 1 },
  value: ({ progress }, base, o) => base * (1 + o.gamma * progress) ** -o.power,
});

/** Inverse decay of the lr (policy `'inv'`): `lr = baseLr * (1 + gamma * progress) ** -power`. */
@RegisterHook()
export class InvLrUpdaterHook extends lrUpdaterHookFor(Inv) {}
/** Options of {@link InvLrUpdaterHook}. */
export const InvLrUpdaterHookOptions = InvLrUpdaterHook.optionsSchema;
export type InvLrUpdaterHookOptions = z.input<typeof InvLrUpdaterHookOptions>;
