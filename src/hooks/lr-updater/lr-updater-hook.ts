import { z } from 'zod';
import type { ParamGroup } from '../../training/optim/param-group-optimizer.js';
import { minField } from '../param-updater/annealing.js';
import type { AnySchedule } from '../param-updater/define-schedule.js';
import { booleanField } from '../param-updater/option-fields.js';
import { ParamUpdaterHook, ParamUpdaterHookOptions, type GroupValues, type ParamUpdaterSettings, type ScheduleRunner } from '../param-updater/param-updater-hook.js';
import { bindSchedule, scheduledUpdater, type ScheduledHookClass } from '../param-updater/scheduled-hook.js';

/** Options every LR updater accepts (MMCV `LrUpdaterHook`); the default `warmupRatio` is 0.1. */
export const LrUpdaterHookOptions = ParamUpdaterHookOptions.extend({
  /** `warmupIters` counts epochs; it becomes iterations once the epoch length is known. */
  warmupByEpoch: booleanField.optional(),
});
export type LrUpdaterHookOptions = z.input<typeof LrUpdaterHookOptions>;

/** Options of the LR schedules that anneal to `minLr` or to `minLrRatio * baseLr` (exactly one). */
export const MinLrFields = { minLr: minField, minLrRatio: minField };

/**
 * Base of the LR schedules (MMCV `LrUpdaterHook`; abstract, not registered). At `beforeRun`
 * every param group's `initialLr` defaults to its `lr`, and becomes the base lr; the policy
 * gives the regular lr from the base lr, once per epoch (`byEpoch`) or every iteration; warmup
 * multiplies the regular lr: constant `lr * ratio`, linear from `ratio * lr` up to `lr`, exp
 * `lr * ratio ** (1 - iter / warmupIters)`. The policies are schedules ({@link lrUpdaterHookFor});
 * a subclass may instead implement {@link getLr}.
 */
export abstract class LrUpdaterHook extends ParamUpdaterHook {
  protected constructor(opts: ParamUpdaterSettings, owner: string) {
    super(opts, owner, 0.1);
  }

  /** The base lr of every param group (per optimizer for a map of optimizers). */
  get baseLr(): GroupValues {
    return this.base;
  }

  /** The scheduled lr without warmup. */
  get regularLr(): GroupValues {
    return this.regular;
  }

  /** The policy: the lr of a group whose base lr is `baseLr`, at the runner's progress. */
  protected abstract getLr(runner: ScheduleRunner, baseLr: number, group: ParamGroup): number;

  protected getValue(runner: ScheduleRunner, base: number, group: ParamGroup): number {
    return this.getLr(runner, base, group);
  }

  protected get initialKey(): 'initialLr' {
    return 'initialLr';
  }

  protected get paramName(): string {
    return 'lr';
  }

  protected readParam(group: ParamGroup): number {
    return group.lr;
  }

  protected writeParam(group: ParamGroup, value: number): void {
    group.lr = value;
  }

  protected applyWarmup(value: number, factor: number): number {
    return value * factor;
  }
}

/** The LR updater of the schedule given first: `new ScheduledLrUpdaterHook(Step, { step: 2 })`. */
export class ScheduledLrUpdaterHook extends scheduledUpdater(LrUpdaterHook, LrUpdaterHookOptions, 'Lr') {
  protected getLr(runner: ScheduleRunner, baseLr: number, group: ParamGroup): number { return this.scheduledValue(runner, baseLr, group); }
}

/** The LR hook class of a schedule. */
export type LrUpdaterHookClass<S> = ScheduledHookClass<ScheduledLrUpdaterHook, typeof LrUpdaterHookOptions.shape, S, 'Lr'>;

/**
 * The LR hook class of `schedule`, named `<policy>LrUpdaterHook`; register it to use it
 * from config (`lrConfig: { policy: '<policy>', ...options }`):
 * `@RegisterHook() export class StepLrUpdaterHook extends lrUpdaterHookFor(Step) {}`, or
 * in plain JavaScript `RegisterHook()(lrUpdaterHookFor(Step))`.
 */
export const lrUpdaterHookFor = <S extends AnySchedule>(schedule: S): LrUpdaterHookClass<S> => bindSchedule(ScheduledLrUpdaterHook, 'Lr', schedule) as never;
