import { z } from 'zod';
import { parseOptions } from '../../config/parse-options.js';
import type { ParamGroup } from '../../training/optim/param-group-optimizer.js';
import type { AnySchedule, Filled, ParamName, Schedule, ScheduleAt, ScheduleRun, ScheduleScope, SpelledFor } from './define-schedule.js';
import { field } from './option-fields.js';
import { mapGroups, optimizerEntries, type ParamUpdaterHook, type ParamUpdaterSettings, type ScheduleRunner } from './param-updater-hook.js';

/** `byEpoch` of the schedules that change every iteration (Cyclic, OneCycle). */
export const iterOnlyField = field<false>('false (this schedule changes every iteration)', (v) => v === false);

type Shape = z.ZodRawShape;
type Merged<A, B> = Omit<A, keyof B> & B;

/** The policy options of schedule `S`'s hook for parameter `P`, as zod fields spelled for it. */
export type PolicyShape<S, P extends ParamName> =
  S extends Schedule<infer O, any, infer LO, any, infer MO, any, any> ? SpelledFor<O & (P extends 'Lr' ? LO : MO), P> : never;

/** The policy options of schedule `S`'s hook for `P` after validation, defaults filled in. */
export type PolicySettings<S, P extends ParamName> = S extends Schedule<infer O, infer D, infer LO, infer LD, infer MO, infer MD, any>
  ? SpelledFor<Filled<z.output<z.ZodObject<O & (P extends 'Lr' ? LO : MO)>>, keyof D | keyof (P extends 'Lr' ? LD : MD)>, P>
  : never;

/** The options schema of a hook made from a schedule: the updater's options, then the policy's. */
export type ScheduledOptions<Base extends Shape, S, P extends ParamName> = z.ZodObject<Merged<Base, PolicyShape<S, P>>, z.core.$strict>;

/**
 * A hook class made from schedule `S` for parameter `P` over the updater `H` (`LrUpdaterHook`,
 * `MomentumUpdaterHook`). Its instances show the policy options as read-only properties
 * (`hook.step`, `hook.minLr`), with defaults filled in.
 */
export interface ScheduledHookClass<H, Base extends Shape, S, P extends ParamName> {
  new (...options: {} extends z.input<ScheduledOptions<Base, S, P>> ? [options?: z.input<ScheduledOptions<Base, S, P>>] : [options: z.input<ScheduledOptions<Base, S, P>>]):
    H & Readonly<Omit<PolicySettings<S, P>, keyof H>> & { readonly schedule: S };
  /** The options the hook takes. */
  readonly optionsSchema: ScheduledOptions<Base, S, P>;
}

/** The options schema of `schedule`'s hook for `param`: the updater's options, then the policy's. */
function optionsSchema(base: z.ZodObject, schedule: AnySchedule, param: ParamName): z.ZodObject {
  return base.extend({ ...(schedule.iterOnly ? { byEpoch: iterOnlyField.optional() } : {}), ...schedule.optionsFor(param) }).strict();
}

/** The run's length in the schedule's unit; an error names the hook when the runner does not know it. */
function maxProgressOf(runner: ScheduleRunner, byEpoch: boolean, owner: string): number {
  const max = byEpoch ? runner.maxEpochs : runner.maxIters;
  if (max === undefined) throw new Error(`${owner}: the runner's ${byEpoch ? 'maxEpochs' : 'maxIters'} is not known`);
  return max;
}

/** What an updater computing a schedule adds to it. */
export interface ScheduledUpdater {
  /** The schedule the hook computes. */
  readonly schedule: AnySchedule;
  /** The schedule's value, without warmup, for a group whose base value is `base`, at the runner's progress. */
  scheduledValue(runner: ScheduleRunner, base: number, group: ParamGroup): number;
}

/**
 * The updater `Base` (LrUpdaterHook, MomentumUpdaterHook) computing a schedule given at
 * construction: `new (schedule, options)`. Options are checked against the updater's
 * (`baseOptions`) and the schedule's; the hook shows the policy options as read-only
 * properties, with defaults filled in. The subclass implements the updater's policy method
 * (`getLr`, `getMomentum`) with {@link ScheduledUpdater.scheduledValue}.
 */
export function scheduledUpdater<B extends { prototype: ParamUpdaterHook }>(Base: B, baseOptions: z.ZodObject, param: ParamName) {
  const schemas = new WeakMap<AnySchedule, z.ZodObject>();
  const schemaOf = (schedule: AnySchedule) => schemas.get(schedule) ?? schemas.set(schedule, optionsSchema(baseOptions, schedule, param)).get(schedule)!;
  const spell = (key: string) => key.replace('$', param);
  // The updaters' constructors are protected (they are abstract); this class is their subclass.
  const Updater = Base as unknown as new (settings: ParamUpdaterSettings, owner: string) => ParamUpdaterHook;

  abstract class ScheduledHook extends Updater implements ScheduledUpdater {
    static optionsSchemaFor(schedule: AnySchedule): z.ZodObject {
      return schemaOf(schedule);
    }

    readonly schedule: AnySchedule;
    private readonly scope: ScheduleScope;
    private readonly settings: Record<string, unknown>;
    /** What the schedule's `start` returned for the current run. */
    private state: unknown;

    constructor(schedule: AnySchedule, options?: unknown) {
      const owner = `${schedule.policy}${param}UpdaterHook`;
      const parsed = parseOptions(schemaOf(schedule), options, owner) as ParamUpdaterSettings & Record<string, unknown>;
      super(schedule.iterOnly ? { ...parsed, byEpoch: false } : parsed, owner);
      this.schedule = schedule;
      this.scope = { param, owner, option: spell, path: (key) => `${owner}.${spell(key)}` };
      this.settings = schedule.settle(param, parsed);
      schedule.check?.(this.settings, this.scope);
      for (const [key, value] of Object.entries(this.settings)) {
        // Names the updater already has keep their meaning (OneCycle's baseMomentum option vs the hook's base momenta).
        if (!(spell(key) in this)) Object.defineProperty(this, spell(key), { value, enumerable: true });
      }
    }

    override beforeRun(runner: ScheduleRunner): void {
      const run = this.runOf(runner);
      const bases = (param === 'Lr' ? this.schedule.lr : this.schedule.momentum)?.bases;
      if (bases) {
        for (const [name, opt] of optimizerEntries(this.checkRunner(runner))) opt.paramGroups.forEach((group) => this.requireParam(group, opt, name));
        this.base = bases(run, this.settings);
      } else {
        super.beforeRun(runner);
      }
      this.state = this.schedule.start?.(run, this.settings);
    }

    scheduledValue(runner: ScheduleRunner, base: number, group: ParamGroup): number {
      const { byEpoch, owner } = this;
      const at: ScheduleAt = {
        param, group, iter: runner.iter, progress: byEpoch ? runner.epoch : runner.iter,
        get maxProgress() { return maxProgressOf(runner, byEpoch, owner); },
      };
      return this.schedule.value(at, base, this.settings, this.state);
    }

    private runOf(runner: ScheduleRunner): ScheduleRun {
      const { byEpoch, owner } = this;
      return {
        ...this.scope,
        byEpoch,
        optimizer: runner.optimizer!,
        get maxProgress() { return maxProgressOf(runner, byEpoch, owner); },
        get maxIters() { return maxProgressOf(runner, false, owner); },
        perOptimizer: (fn) => mapGroups(runner.optimizer!, fn),
        write: (group, value) => this.writeParam(group, value),
      };
    }
  }
  return ScheduledHook as unknown as (abstract new (schedule: AnySchedule, options?: unknown) => B['prototype'] & ScheduledUpdater) & Pick<ScheduledUpdaterClass, 'optionsSchemaFor'>;
}

/** A scheduled updater class (`ScheduledLrUpdaterHook`, `ScheduledMomentumUpdaterHook`). */
type ScheduledUpdaterClass = (new (schedule: AnySchedule, options?: unknown) => ParamUpdaterHook) & {
  optionsSchemaFor(schedule: AnySchedule): z.ZodObject;
};

/**
 * The hook class of `schedule` over a scheduled updater, named `<policy><param>UpdaterHook`,
 * with its options schema as static `optionsSchema`.
 */
export function bindSchedule(Updater: ScheduledUpdaterClass, param: ParamName, schedule: AnySchedule): unknown {
  const Base = Updater as new (schedule: AnySchedule, options?: unknown) => object;
  class BoundHook extends Base {
    static readonly optionsSchema = Updater.optionsSchemaFor(schedule);
    constructor(options?: unknown) {
      super(schedule, options);
    }
  }
  Object.defineProperty(BoundHook, 'name', { value: `${schedule.policy}${param}UpdaterHook` });
  return BoundHook;
}
