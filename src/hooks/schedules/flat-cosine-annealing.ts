import { z } from 'zod';
import { RegisterHook } from '../../core/hooks-registry.js';
import { pyRound } from '../logger/py-format.js';
import { lrUpdaterHookFor } from '../lr-updater/lr-updater-hook.js';
import { annealTarget, annealTargetFields, annealingCos, checkAnnealTarget } from '../param-updater/annealing.js';
import { defineSchedule } from '../param-updater/define-schedule.js';
import { unitInterval } from '../param-updater/option-fields.js';

/**
 * Flat, then cosine annealing (policy `'FlatCosineAnnealing'`): the base value until
 * `start = round(max * startPercent)` (Python's round, half to even: 2.5 → 2), then cosine
 * annealing to the target over the rest of the run.
 */
export const FlatCosineAnnealing = defineSchedule({
  policy: 'FlatCosineAnnealing',
  options: {
    ...annealTargetFields,
    /** Where annealing starts, as a fraction of the run; default 0.75. */
    startPercent: unitInterval.optional(),
  },
  defaults: { startPercent: 0.75 },
  check: checkAnnealTarget,
  value: ({ progress, maxProgress }, base, o) => {
    const start = pyRound(maxProgress * o.startPercent, 0);
    if (progress < start) return base;
    return annealingCos(base, annealTarget(o, base), (progress - start) / (maxProgress - start));
  },
});

/** Flat, then cosine annealing of the lr (policy `'FlatCosineAnnealing'`). */
@RegisterHook()
export class FlatCosineAnnealingLrUpdaterHook extends lrUpdaterHookFor(FlatCosineAnnealing) {}
/** Options of {@link FlatCosineAnnealingLrUpdaterHook}. */
export const FlatCosineAnnealingLrUpdaterHookOptions = FlatCosineAnnealingLrUpdaterHook.optionsSchema;
export type FlatCosineAnnealingLrUpdaterHookOptions = z.input<typeof FlatCosineAnnealingLrUpdaterHookOptions>;
