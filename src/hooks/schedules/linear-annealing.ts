import { z } from 'zod';
import { RegisterHook } from '../../core/hooks-registry.js';
import { lrUpdaterHookFor } from '../lr-updater/lr-updater-hook.js';
import { momentumUpdaterHookFor } from '../momentum-updater/momentum-updater-hook.js';
import { annealingLinear, annealingOverRun } from '../param-updater/annealing.js';

/**
 * Linear annealing over the whole run (policy `'LinearAnnealing'`), from the base value to
 * `min$` or `min$Ratio * base` (exactly one).
 */
export const LinearAnnealing = annealingOverRun('LinearAnnealing', annealingLinear);

/** Linear annealing of the lr over the whole run (policy `'LinearAnnealing'`), to `minLr` or `minLrRatio * baseLr`. */
@RegisterHook()
export class LinearAnnealingLrUpdaterHook extends lrUpdaterHookFor(LinearAnnealing) {}
/** Options of {@link LinearAnnealingLrUpdaterHook}. */
export const LinearAnnealingLrUpdaterHookOptions = LinearAnnealingLrUpdaterHook.optionsSchema;
export type LinearAnnealingLrUpdaterHookOptions = z.input<typeof LinearAnnealingLrUpdaterHookOptions>;

/** Linear annealing of the momentum over the whole run (policy `'LinearAnnealing'`), to `minMomentum` or `minMomentumRatio * base`. */
@RegisterHook()
export class LinearAnnealingMomentumUpdaterHook extends momentumUpdaterHookFor(LinearAnnealing) {}
/** Options of {@link LinearAnnealingMomentumUpdaterHook}. */
export const LinearAnnealingMomentumUpdaterHookOptions = LinearAnnealingMomentumUpdaterHook.optionsSchema;
export type LinearAnnealingMomentumUpdaterHookOptions = z.input<typeof LinearAnnealingMomentumUpdaterHookOptions>;
