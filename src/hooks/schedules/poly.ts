import { z } from 'zod';
import { RegisterHook } from '../../core/hooks-registry.js';
import { lrUpdaterHookFor } from '../lr-updater/lr-updater-hook.js';
import { defineSchedule } from '../param-updater/define-schedule.js';
import { finiteNumber } from '../param-updater/option-fields.js';

/** Polynomial decay (policy `'poly'`): `(base - min) * (1 - progress / max) ** power + min`. */
export const Poly = defineSchedule({
  policy: 'Poly',
  options: {
    /** Exponent of the decay, default 1 (linear). */
    power: finiteNumber.optional(),
    /** The value at the end of the run (`minLr`), default 0. */
    min$: finiteNumber.optional(),
  },
  defaults: { power: 1, min$: 0 },
  value: ({ progress, maxProgress }, base, o) => (base - o.min$) * (1 - progress / maxProgress) ** o.power + o.min$,
});

/** Polynomial decay of the lr (policy `'poly'`): `(baseLr - minLr) * (1 - progress / max) ** power + minLr`. */
@RegisterHook()
export class PolyLrUpdaterHook extends lrUpdaterHookFor(Poly) {}
/** Options of {@link PolyLrUpdaterHook}. */
export const PolyLrUpdaterHookOptions = PolyLrUpdaterHook.optionsSchema;
export type PolyLrUpdaterHookOptions = z.input<typeof PolyLrUpdaterHookOptions>;
