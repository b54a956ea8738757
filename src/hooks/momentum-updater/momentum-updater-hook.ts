import { z } from 'zod';
import type { ParamGroup } from '../../training/optim/param-group-optimizer.js';
import { minField } from '../param-updater/annealing.js';
import type { AnySchedule } from '../param-updater/define-schedule.js';
import { ParamUpdaterHook, ParamUpdaterHookOptions, type GroupValues, type ParamUpdaterSettings, type ScheduleRunner } from '../param-updater/param-updater-hook.js';
import { bindSchedule, scheduledUpdater, type ScheduledHookClass } from '../param-updater/scheduled-hook.js';

/** Options every momentum updater accepts (MMCV `MomentumUpdaterHook`); the default `warmupRatio` is 0.9. */
export const MomentumUpdaterHookOptions = ParamUpdaterHookOptions;
export type MomentumUpdaterHookOptions = z.input<typeof MomentumUpdaterHookOptions>;

/** Options of the momentum schedules that anneal to `minMomentum` or to `minMomentumRatio * base` (exactly one). */
export const MinMomentumFields = { minMomentum: minField, minMomentumRatio: minField };

/**
 * Base of the momentum schedules (MMCV `MomentumUpdaterHook`; abstract, not registered). The
 * scheduled value is a group's `momentum` (SGD, RMSProp) or else `betas[0]` (Adam, AdamW); at
 * `beforeRun` every group's `initialMomentum` defaults to it and becomes the base momentum.
 * Warmup divides the regular momentum, so it starts above it: constant `m / ratio`, linear
 * from `m / ratio` down to `m`, exp `m / ratio ** (1 - iter / warmupIters)` (base 0.95 with
 * ratio 0.5 gives 1.9). The policies are schedules ({@link momentumUpdaterHookFor}); a
 * subclass may instead implement {@link getMomentum}.
 */
export abstract class MomentumUpdaterHook extends ParamUpdaterHook {
  protected constructor(opts: ParamUpdaterSettings, owner: string) {
    super(opts, owner, 0.9);
  }

  /** The base momentum of every param group (per optimizer for a map of optimizers). */
  get baseMomentum(): GroupValues {
    return this.base;
  }

  /** The scheduled momentum without warmup. */
  get regularMomentum(): GroupValues {
    return this.regular;
  }

  /** The policy: the momentum of `group`, whose base momentum is `baseMomentum`, at the runner's progress. */
  protected abstract getMomentum(runner: ScheduleRunner, baseMomentum: number, group: ParamGroup): number;

  protected getValue(runner: ScheduleRunner, base: number, group: ParamGroup): number {
    return this.getMomentum(runner, base, group);
  }

  protected get initialKey(): 'initialMomentum' {
    return 'initialMomentum';
  }

  protected get paramName(): string {
    return 'momentum or betas';
  }

  protected readParam(group: ParamGroup): number | undefined {
    if (group.momentum !== undefined) return group.momentum;
    return group.betas?.[0];
  }

  protected writeParam(group: ParamGroup, value: number): void {
    if (group.momentum !== undefined) group.momentum = value;
    else if (group.betas) group.betas = [value, group.betas[1]];
  }

  protected applyWarmup(value: number, factor: number): number {
    return value / factor;
  }
}

/** The momentum updater of the schedule given first: `new ScheduledMomentumUpdaterHook(Step, { step: 2 })`. */
export class ScheduledMomentumUpdaterHook extends scheduledUpdater(MomentumUpdaterHook, MomentumUpdaterHookOptions, 'Momentum') {
  protected getMomentum(runner: ScheduleRunner, baseMomentum: number, group: ParamGroup): number { return this.scheduledValue(runner, baseMomentum, group); }
}

/** The momentum hook class of a schedule. */
export type MomentumUpdaterHookClass<S> = ScheduledHookClass<ScheduledMomentumUpdaterHook, typeof MomentumUpdaterHookOptions.shape, S, 'Momentum'>;

/**
 * The momentum hook class of `schedule`, named `<policy>MomentumUpdaterHook`; register it to use it
 * from config (`momentumConfig: { policy: '<policy>', ...options }`):
 * `@RegisterHook() export class StepMomentumUpdaterHook extends momentumUpdaterHookFor(Step) {}`, or
 * in plain JavaScript `RegisterHook()(momentumUpdaterHookFor(Step))`. Warmup divides the momentum; `warmupByEpoch` is LR-only, as in MMCV.
 */
export const momentumUpdaterHookFor = <S extends AnySchedule>(schedule: S): MomentumUpdaterHookClass<S> => bindSchedule(ScheduledMomentumUpdaterHook, 'Momentum', schedule) as never;
