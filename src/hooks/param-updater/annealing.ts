import { ConfigError } from '../../core/errors.js';
import { defineSchedule, type ScheduleScope } from './define-schedule.js';
import { nonNegativeNumber, oneOf } from './option-fields.js';

/**
 * MMCV's annealing helpers, and the annealing targets of the schedules. The operation order is
 * MMCV's, so the results are the same IEEE doubles (MMCV's tests assert values such as
 * 0.01999999999999999).
 */

/** An annealing function: from `start` (factor 0) to `end` (factor 1). */
export type AnnealFunction = (start: number, end: number, factor: number) => number;

/**
 * Cosine annealing from `start` to `end`: `end + 0.5 * weight * (start - end) * (cos(π factor) + 1)`.
 * At factor 0 it is `end + weight * (start - end)`; at factor 1 it is `end`.
 */
export function annealingCos(start: number, end: number, factor: number, weight = 1): number {
  const cosOut = Math.cos(Math.PI * factor) + 1;
  return end + 0.5 * weight * (start - end) * cosOut;
}

/** Linear annealing from `start` to `end`: `start + (end - start) * factor`. */
export function annealingLinear(start: number, end: number, factor: number): number {
  return start + (end - start) * factor;
}

/** The annealing strategies of the cyclic and one-cycle schedules. */
export const ANNEAL_STRATEGIES = ['cos', 'linear'] as const;
export type AnnealStrategy = (typeof ANNEAL_STRATEGIES)[number];

/** The function behind an `annealStrategy` option. */
export function annealFunction(strategy: AnnealStrategy): AnnealFunction {
  return strategy === 'cos' ? (start, end, factor) => annealingCos(start, end, factor) : annealingLinear;
}

/** The `annealStrategy` option of the cyclic and one-cycle schedules. */
export const annealStrategyField = oneOf(ANNEAL_STRATEGIES);

/** A `min$` / `min$Ratio` option: a number >= 0, or nothing. */
export const minField = nonNegativeNumber.nullish();

/** Where an annealing schedule ends (`minLr`/`minLrRatio`, `minMomentum`/`minMomentumRatio`): a value, or a ratio of the base value. */
export const annealTargetFields = { min$: minField, min$Ratio: minField };

/** What {@link annealTargetFields} hold after validation. */
export interface AnnealTargetSettings { min$?: number | null; min$Ratio?: number | null }

/** Checks that exactly one of the target options is set (MMCV asserts the XOR). */
export function checkAnnealTarget(settings: AnnealTargetSettings, scope: ScheduleScope): void {
  const hasMin = settings.min$ != null;
  if (hasMin === (settings.min$Ratio != null)) {
    throw new ConfigError(scope.path('min$'), `exactly one of ${scope.option('min$')} and ${scope.option('min$Ratio')} must be set; got ${hasMin ? 'both' : 'neither'}`);
  }
}

/** The annealing target of a group whose base value is `base`. */
export function annealTarget(settings: AnnealTargetSettings, base: number): number {
  return settings.min$Ratio != null ? base * settings.min$Ratio : settings.min$!;
}

/** A schedule that anneals from the base value to the target over the whole run (CosineAnnealing, LinearAnnealing). */
export function annealingOverRun(policy: string, anneal: AnnealFunction) {
  return defineSchedule({
    policy,
    options: annealTargetFields,
    check: checkAnnealTarget,
    value: (at, base, o) => anneal(base, annealTarget(o, base), at.progress / at.maxProgress),
  });
}
