import { z } from 'zod';
import { ConfigError } from '../../core/errors.js';
import { RegisterHook } from '../../core/hooks-registry.js';
import { lrUpdaterHookFor } from '../lr-updater/lr-updater-hook.js';
import { annealTarget, annealTargetFields, annealingCos, checkAnnealTarget } from '../param-updater/annealing.js';
import { defineSchedule } from '../param-updater/define-schedule.js';
import { field, isFiniteNumber, isPositiveInt } from '../param-updater/option-fields.js';

/**
 * Cosine annealing with restarts (policy `'CosineRestart'`): cycle `i` lasts `periods[i]` and
 * anneals from `target + restartWeights[i] * (base - target)` down to the target.
 */
export const CosineRestart = defineSchedule({
  policy: 'CosineRestart',
  options: {
    ...annealTargetFields,
    /** Length of each cosine cycle, in epochs (iterations); together they must cover the run. */
    periods: field<number[]>('a non-empty list of positive integers', (v) => Array.isArray(v) && v.length > 0 && v.every(isPositiveInt)),
    /** Each cycle's restart weight (default [1]); one per period. */
    restartWeights: field<number[]>('a list of numbers', (v) => Array.isArray(v) && v.every(isFiniteNumber)).optional(),
  },
  defaults: { restartWeights: [1] },
  check(o, scope) {
    checkAnnealTarget(o, scope);
    if (o.restartWeights.length !== o.periods.length) {
      throw new ConfigError(scope.path('restartWeights'), `must have one weight per period (${o.periods.length}); got ${o.restartWeights.length}`);
    }
  },
  /** The cycles' ends (`periods[0] + ... + periods[i]`), which must cover the run. */
  start(run, o) {
    let sum = 0;
    const ends = o.periods.map((p) => (sum += p));
    // MMCV fails at the first iteration past the periods; fail before training instead.
    if (sum < run.maxProgress) {
      throw new ConfigError(run.path('periods'), `must cover the run's ${run.maxProgress} ${run.byEpoch ? 'epochs' : 'iterations'}; they add up to ${sum}`);
    }
    return ends;
  },
  value: ({ progress }, base, o, ends) => {
    const idx = ends.findIndex((end) => progress < end);
    const restart = idx === 0 ? 0 : ends[idx - 1]!;
    const alpha = Math.min((progress - restart) / o.periods[idx]!, 1);
    return annealingCos(base, annealTarget(o, base), alpha, o.restartWeights[idx]);
  },
});

/** Cosine annealing of the lr with restarts (policy `'CosineRestart'`). */
@RegisterHook()
export class CosineRestartLrUpdaterHook extends lrUpdaterHookFor(CosineRestart) {}
/** Options of {@link CosineRestartLrUpdaterHook}. */
export const CosineRestartLrUpdaterHookOptions = CosineRestartLrUpdaterHook.optionsSchema;
export type CosineRestartLrUpdaterHookOptions = z.input<typeof CosineRestartLrUpdaterHookOptions>;
