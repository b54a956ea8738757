import { z } from 'zod';
import { ConfigError } from '../../core/errors.js';
import { RegisterHook } from '../../core/hooks-registry.js';
import { parseOptions } from '../../config/parse-options.js';
import { isFiniteNumber, positiveInt, positiveNumber } from '../param-updater/option-fields.js';
import { mapGroups, type ScheduleRunner } from '../param-updater/param-updater-hook.js';
import { OneCycleFields, formatParam, perGroupField, phaseAt, type PerGroupParam } from '../param-updater/schedules.js';
import { annealFunction, type AnnealFunction } from './annealing.js';
import { LrUpdaterHook, LrUpdaterHookOptions } from './lr-updater-hook.js';

/** Options of {@link OneCycleLrUpdaterHook}. */
export const OneCycleLrUpdaterHookOptions = LrUpdaterHookOptions.extend({
  ...OneCycleFields,
  /** The peak lr: one for all groups, one per group, or per optimizer name. */
  maxLr: perGroupField('a number > 0', (v) => isFiniteNumber(v) && v > 0),
  /** Length of the cycle in iterations, default the run's maxIters (which it must not be below). */
  totalSteps: positiveInt.nullish(),
  /** The cycle starts at `maxLr / divFactor`; default 25. */
  divFactor: positiveNumber.optional(),
  /** ... and ends at `maxLr / divFactor / finalDivFactor`; default 1e4. */
  finalDivFactor: positiveNumber.optional(),
}).strict();
export type OneCycleLrUpdaterHookOptions = z.input<typeof OneCycleLrUpdaterHookOptions>;

/** One phase of the cycle: it ends at iteration `end`, going from `startMult` to `endMult` times the base lr. */
interface LrPhase { end: number; startMult: number; endMult: number }

/**
 * The 1cycle policy (policy `'OneCycle'`, per iteration only), as PyTorch's `OneCycleLR`: the
 * base lr is `maxLr / divFactor` (also the groups' default `initialLr`); the lr anneals up to
 * `maxLr` over `pctStart` of the cycle, then down to `base / finalDivFactor` (with `threePhase`:
 * back down to the base lr symmetrically, then to `base / finalDivFactor`).
 */
@RegisterHook()
export class OneCycleLrUpdaterHook extends LrUpdaterHook {
  readonly maxLr: PerGroupParam;
  readonly totalSteps: number | null;
  readonly pctStart: number;
  readonly divFactor: number;
  readonly finalDivFactor: number;
  readonly threePhase: boolean;
  private readonly anneal: AnnealFunction;
  private phases: LrPhase[] = [];

  constructor(options: OneCycleLrUpdaterHookOptions) {
    const opts = parseOptions(OneCycleLrUpdaterHookOptions, options, 'OneCycleLrUpdaterHook');
    super({ ...opts, byEpoch: false }, 'OneCycleLrUpdaterHook');
    this.maxLr = opts.maxLr;
    this.totalSteps = opts.totalSteps ?? null;
    this.pctStart = opts.pctStart ?? 0.3;
    this.anneal = annealFunction(opts.annealStrategy ?? 'cos');
    this.divFactor = opts.divFactor ?? 25;
    this.finalDivFactor = opts.finalDivFactor ?? 1e4;
    this.threePhase = opts.threePhase ?? false;
  }

  /** Takes the base lr from `maxLr` (not from the groups) and lays out the phases. */
  override beforeRun(runner: ScheduleRunner): void {
    const optimizer = this.checkRunner(runner);
    const maxIters = runner.maxIters;
    if (maxIters === undefined) throw new Error(`${this.owner}: the runner's maxIters is not known`);
    const total = this.totalSteps ?? maxIters;
    if (total < maxIters) {
      throw new ConfigError(`${this.owner}.totalSteps`, `must be at least the run's maxIters (${maxIters}); got ${total}`);
    }
    this.base = mapGroups(optimizer, (opt, name) => {
      const base = formatParam(name ?? opt.constructor.name, opt, this.maxLr, `${this.owner}.maxLr`).map((lr) => lr / this.divFactor);
      opt.paramGroups.forEach((group, i) => {
        if (group.initialLr === undefined) group.initialLr = base[i];
      });
      return base;
    });
    const { pctStart: pct, divFactor: div } = this;
    this.phases = this.threePhase
      ? [
        { end: pct * total - 1, startMult: 1, endMult: div },
        { end: 2 * pct * total - 2, startMult: div, endMult: 1 },
        { end: total - 1, startMult: 1, endMult: 1 / this.finalDivFactor },
      ]
      : [
        { end: pct * total - 1, startMult: 1, endMult: div },
        { end: total - 1, startMult: div, endMult: 1 / this.finalDivFactor },
      ];
  }

  protected getLr(runner: ScheduleRunner, baseLr: number): number {
    const { index, fraction } = phaseAt(runner.iter, this.phases.map((p) => p.end));
    const phase = this.phases[index]!;
    return this.anneal(baseLr * phase.startMult, baseLr * phase.endMult, fraction);
  }
}
