import { z } from 'zod';
import { RegisterHook } from '../../core/hooks-registry.js';
import { lrUpdaterHookFor } from '../lr-updater/lr-updater-hook.js';
import { defineSchedule } from '../param-updater/define-schedule.js';

/** The base value throughout (policy `'fixed'`); only warmup changes it. */
export const Fixed = defineSchedule({ policy: 'Fixed', options: {}, value: (_at, base) => base });

/** Keeps the base lr (policy `'fixed'`); only warmup changes it. */
@RegisterHook()
export class FixedLrUpdaterHook extends lrUpdaterHookFor(Fixed) {}
/** Options of {@link FixedLrUpdaterHook}. */
export const FixedLrUpdaterHookOptions = FixedLrUpdaterHook.optionsSchema;
export type FixedLrUpdaterHookOptions = z.input<typeof FixedLrUpdaterHookOptions>;
