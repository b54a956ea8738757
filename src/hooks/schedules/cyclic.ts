import { z } from 'zod';
import { ConfigError } from '../../core/errors.js';
import { RegisterHook } from '../../core/hooks-registry.js';
import { lrUpdaterHookFor } from '../lr-updater/lr-updater-hook.js';
import { momentumUpdaterHookFor } from '../momentum-updater/momentum-updater-hook.js';
import { annealFunction, annealStrategyField } from '../param-updater/annealing.js';
import { defineSchedule } from '../param-updater/define-schedule.js';
import { field, isFiniteNumber, positiveInt } from '../param-updater/option-fields.js';

/** One phase of a cycle: from iteration `start` (ratio `startRatio` of the base) to `end` (`endRatio`). */
interface CyclicPhase { start: number; end: number; startRatio: number; endRatio: number }

/**
 * Cyclic schedule (policy `'cyclic'`, per iteration only): each of `cyclicTimes` cycles
 * anneals from the base value to `targetRatio[0]` times it over the first `stepRatioUp` of the
 * cycle, then to `targetRatio[1]` times it; cycle `c`'s amplitude is `gamma ** c` times the
 * first one's. Default ratios: `[10, 1e-4]` for the lr, `[0.85 / 0.95, 1]` for the momentum
 * (it falls while the lr rises).
 */
export const Cyclic = defineSchedule({
  policy: 'Cyclic',
  iterOnly: true,
  options: {
    /** Ratios of the peak and of the final value to the base value; `r` means `[r, r / 1e5]`. */
    targetRatio: field<number | number[]>(
      'a number or a list of one or two numbers',
      (v) => isFiniteNumber(v) || (Array.isArray(v) && (v.length === 1 || v.length === 2) && v.every(isFiniteNumber)),
    ).optional(),
    /** Number of cycles in the run. */
    cyclicTimes: positiveInt.optional(),
    /** Fraction of a cycle spent going up. */
    stepRatioUp: field<number>('a number in [0, 1)', (v) => isFiniteNumber(v) && v >= 0 && v < 1).optional(),
    annealStrategy: annealStrategyField.optional(),
    /** Each cycle's amplitude is `gamma ** cycle` times the first one's. */
    gamma: field<number>('a number in (0, 1]', (v) => isFiniteNumber(v) && v > 0 && v <= 1).optional(),
  },
  defaults: { cyclicTimes: 1, stepRatioUp: 0.4, annealStrategy: 'cos', gamma: 1 },
  lr: { defaults: { targetRatio: [10, 1e-4] } },
  momentum: { defaults: { targetRatio: [0.85 / 0.95, 1] } },
  /** Lays out the up and down phases of one cycle. */
  start(run, o) {
    const maxIters = run.maxIters;
    if (maxIters < o.cyclicTimes) throw new ConfigError(run.path('cyclicTimes'), `must not exceed the run's maxIters (${maxIters}); got ${o.cyclicTimes}`);
    const ratios = typeof o.targetRatio === 'number' ? [o.targetRatio] : o.targetRatio;
    const [peak, last] = [ratios[0]!, ratios.length === 1 ? ratios[0]! / 1e5 : ratios[1]!];
    const length = Math.floor(maxIters / o.cyclicTimes);
    const upEnd = Math.trunc(o.stepRatioUp * length);
    const phases: CyclicPhase[] = [
      { start: 0, end: upEnd, startRatio: 1, endRatio: peak },
      { start: upEnd, end: length, startRatio: peak, endRatio: last },
    ];
    return { length, phases, anneal: annealFunction(o.annealStrategy) };
  },
  value: ({ iter }, base, o, { length, phases, anneal }) => {
    const inCycle = iter % length;
    const scale = o.gamma ** Math.floor(iter / length);
    // Exactly one phase contains inCycle (the up phase is empty when stepRatioUp * length < 1).
    const phase = phases.find((p) => p.start <= inCycle && inCycle < p.end)!;
    // MMCV scales the ratio at the cycle's boundary: the end of a phase that starts the cycle,
    // else the start. With an empty up phase the down phase starts the cycle, so its final
    // ratio moves towards 1 and the peak does not decay; ported configs rely on that curve.
    const startsCycle = phase.start === 0;
    const startRatio = startsCycle ? phase.startRatio : 1 - scale + phase.startRatio * scale;
    const endRatio = startsCycle ? 1 - scale + phase.endRatio * scale : phase.endRatio;
    return anneal(base * startRatio, base * endRatio, (inCycle - phase.start) / (phase.end - phase.start));
  },
});

/** Cyclic lr (policy `'cyclic'`, per iteration only; default ratios `[10, 1e-4]`). */
@RegisterHook()
export class CyclicLrUpdaterHook extends lrUpdaterHookFor(Cyclic) {}
/** Options of {@link CyclicLrUpdaterHook}. */
export const CyclicLrUpdaterHookOptions = CyclicLrUpdaterHook.optionsSchema;
export type CyclicLrUpdaterHookOptions = z.input<typeof CyclicLrUpdaterHookOptions>;

/** Cyclic momentum (policy `'cyclic'`, per iteration only; default ratios `[0.85 / 0.95, 1]`). */
@RegisterHook()
export class CyclicMomentumUpdaterHook extends momentumUpdaterHookFor(Cyclic) {}
/** Options of {@link CyclicMomentumUpdaterHook}. */
export const CyclicMomentumUpdaterHookOptions = CyclicMomentumUpdaterHook.optionsSchema;
export type CyclicMomentumUpdaterHookOptions = z.input<typeof CyclicMomentumUpdaterHookOptions>;
