import { z } from 'zod';
import { RegisterHook } from '../../core/hooks-registry.js';
import type { ParamGroup } from '../../training/optim/param-group-optimizer.js';
import { annealFunction, type AnnealFunction } from '../lr-updater/annealing.js';
import { parseOptions } from '../../config/parse-options.js';
import { isFiniteNumber } from '../param-updater/option-fields.js';
import { mapGroups, type ScheduleRunner } from '../param-updater/param-updater-hook.js';
import { OneCycleFields, formatParam, perGroupField, phaseAt, type PerGroupParam } from '../param-updater/schedules.js';
import { MomentumUpdaterHook, MomentumUpdaterHookOptions } from './momentum-updater-hook.js';

const momentumValue = perGroupField('a number >= 0', (v) => isFiniteNumber(v) && v >= 0);

/** Options of {@link OneCycleMomentumUpdaterHook}. */
export const OneCycleMomentumUpdaterHookOptions = MomentumUpdaterHookOptions.extend({
  ...OneCycleFields,
  /** The low point of the cycle (when the lr peaks), default 0.85; per group or per optimizer too. */
  baseMomentum: momentumValue.optional(),
  /** Where the cycle starts and ends, default 0.95; per group or per optimizer too. */
  maxMomentum: momentumValue.optional(),
}).strict();
export type OneCycleMomentumUpdaterHookOptions = z.input<typeof OneCycleMomentumUpdaterHookOptions>;

/** Where a group keeps the two ends of its cycle (they travel with the optimizer state). */
type CycleKey = 'baseMomentum' | 'maxMomentum';

/** One phase: it ends at iteration `end`, annealing from the group's `from` value to its `to` value. */
interface MomentumPhase { end: number; from: CycleKey; to: CycleKey }

/**
 * The momentum half of the 1cycle policy (policy `'OneCycle'`, per iteration only): at
 * `beforeRun` every group's momentum (or `betas[0]`) is set to `maxMomentum`, and its
 * `baseMomentum`/`maxMomentum` are stored in the group; the momentum anneals down to
 * `baseMomentum` over `pctStart` of the run and back up to `maxMomentum` (with `threePhase`:
 * down, up symmetrically, then flat). The phases span the run's `maxIters`.
 */
@RegisterHook()
export class OneCycleMomentumUpdaterHook extends MomentumUpdaterHook {
  /** The cycle's ends as configured (number, per-group list or per-optimizer map). */
  readonly cycle: { base: PerGroupParam; max: PerGroupParam };
  readonly pctStart: number;
  readonly threePhase: boolean;
  private readonly anneal: AnnealFunction;
  private phases: MomentumPhase[] = [];

  constructor(options: OneCycleMomentumUpdaterHookOptions = {}) {
    const opts = parseOptions(OneCycleMomentumUpdaterHookOptions, options, 'OneCycleMomentumUpdaterHook');
    super({ ...opts, byEpoch: false }, 'OneCycleMomentumUpdaterHook');
    this.cycle = { base: opts.baseMomentum ?? 0.85, max: opts.maxMomentum ?? 0.95 };
    this.pctStart = opts.pctStart ?? 0.3;
    this.anneal = annealFunction(opts.annealStrategy ?? 'cos');
    this.threePhase = opts.threePhase ?? false;
  }

  /** Starts every group at its max momentum and lays out the phases (no `initialMomentum`, as MMCV). */
  override beforeRun(runner: ScheduleRunner): void {
    const optimizer = this.checkRunner(runner);
    const maxIters = runner.maxIters;
    if (maxIters === undefined) throw new Error(`${this.owner}: the runner's maxIters is not known`);
    this.base = mapGroups(optimizer, (opt, name) => {
      const key = name ?? opt.constructor.name;
      const base = formatParam(key, opt, this.cycle.base, `${this.owner}.baseMomentum`);
      const max = formatParam(key, opt, this.cycle.max, `${this.owner}.maxMomentum`);
      opt.paramGroups.forEach((group, i) => {
        this.requireParam(group, opt, name);
        this.writeParam(group, max[i]!);
        group.baseMomentum = base[i];
        group.maxMomentum = max[i];
      });
      return base;
    });
    const pct = this.pctStart;
    this.phases = this.threePhase
      ? [
        { end: pct * maxIters - 1, from: 'maxMomentum', to: 'baseMomentum' },
        { end: 2 * pct * maxIters - 2, from: 'baseMomentum', to: 'maxMomentum' },
        { end: maxIters - 1, from: 'maxMomentum', to: 'maxMomentum' },
      ]
      : [
        { end: pct * maxIters - 1, from: 'maxMomentum', to: 'baseMomentum' },
        { end: maxIters - 1, from: 'baseMomentum', to: 'maxMomentum' },
      ];
  }

  protected getMomentum(runner: ScheduleRunner, _baseMomentum: number, group: ParamGroup): number {
    const { index, fraction } = phaseAt(runner.iter, this.phases.map((p) => p.end));
    const phase = this.phases[index]!;
    return this.anneal(group[phase.from] as number, group[phase.to] as number, fraction);
  }
}
