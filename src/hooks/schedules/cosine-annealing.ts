import { z } from 'zod';
import { RegisterHook } from '../../core/hooks-registry.js';
import { lrUpdaterHookFor } from '../lr-updater/lr-updater-hook.js';
import { momentumUpdaterHookFor } from '../momentum-updater/momentum-updater-hook.js';
import { annealingCos, annealingOverRun } from '../param-updater/annealing.js';

/**
 * Cosine annealing over the whole run (policy `'CosineAnnealing'`), from the base value to
 * `min$` or `min$Ratio * base` (exactly one).
 */
export const CosineAnnealing = annealingOverRun('CosineAnnealing', annealingCos);

/** Cosine annealing of the lr over the whole run (policy `'CosineAnnealing'`), to `minLr` or `minLrRatio * baseLr`. */
@RegisterHook()
export class CosineAnnealingLrUpdaterHook extends lrUpdaterHookFor(CosineAnnealing) {}
/** Options of {@link CosineAnnealingLrUpdaterHook}. */
export const CosineAnnealingLrUpdaterHookOptions = CosineAnnealingLrUpdaterHook.optionsSchema;
export type CosineAnnealingLrUpdaterHookOptions = z.input<typeof CosineAnnealingLrUpdaterHookOptions>;

/** Cosine annealing of the momentum over the whole run (policy `'CosineAnnealing'`), to `minMomentum` or `minMomentumRatio * base`. */
@RegisterHook()
export class CosineAnnealingMomentumUpdaterHook extends momentumUpdaterHookFor(CosineAnnealing) {}
/** Options of {@link CosineAnnealingMomentumUpdaterHook}. */
export const CosineAnnealingMomentumUpdaterHookOptions = CosineAnnealingMomentumUpdaterHook.optionsSchema;
export type CosineAnnealingMomentumUpdaterHookOptions = z.input<typeof CosineAnnealingMomentumUpdaterHookOptions>;
