import { z } from 'zod';
import { ConfigError } from '../../core/errors.js';
import { Hook } from '../../core/hook.js';
import type { RunnerView } from '../../core/runner-view.js';
import type { HookRunner } from '../../runner/hook-runner.js';
import { isSingleOptimizer, type Optimizers } from '../../training/optim/build-optimizer.js';
import type { ParamGroup, ParamGroupOptimizer } from '../../training/optim/param-group-optimizer.js';
import { booleanField, finiteNumber, nonNegativeInt, oneOf } from './option-fields.js';

/**
 * What schedule hooks read of the {@link HookRunner}: the counters, the optimizer(s), and
 * (where the runner has them) `byEpoch` and a logger for warnings.
 */
export type ScheduleRunner = RunnerView & Pick<HookRunner, 'optimizer'> & Partial<Pick<HookRunner, 'byEpoch' | 'logger'>>;

/**
 * One value per param group, shaped like the runner's optimizer: a list for one optimizer,
 * `{ name: list }` for a map of named optimizers.
 */
export type GroupValues = number[] | Record<string, number[]>;

export const WARMUP_TYPES = ['constant', 'linear', 'exp'] as const;
export type Warmup = (typeof WARMUP_TYPES)[number];

/** Options every LR and momentum updater accepts (MMCV `LrUpdaterHook` / `MomentumUpdaterHook`). */
export const ParamUpdaterHookOptions = z.object({
  /** Evaluate the schedule once per epoch (progress = epoch) instead of every iteration. */
  byEpoch: booleanField.optional(),
  /** Warmup type; none when null or absent. */
  warmup: oneOf(WARMUP_TYPES).nullish(),
  /** Warmup length in iterations (in epochs with `warmupByEpoch`); > 0 when warmup is set. */
  warmupIters: nonNegativeInt.optional(),
  /** Where warmup starts, relative to the scheduled value; in (0, 1] when warmup is set. */
  warmupRatio: finiteNumber.optional(),
});
export type ParamUpdaterHookOptions = z.input<typeof ParamUpdaterHookOptions>;

/** The validated base options a concrete hook hands to {@link ParamUpdaterHook}. */
export interface ParamUpdaterSettings {
  byEpoch?: boolean;
  warmup?: Warmup | null;
  warmupIters?: number;
  warmupRatio?: number;
  warmupByEpoch?: boolean;
}

/** Each optimizer of a runner with its name (null for a single optimizer). */
export function optimizerEntries(optimizer: Optimizers): Array<[string | null, ParamGroupOptimizer]> {
  return isSingleOptimizer(optimizer) ? [[null, optimizer]] : Object.entries(optimizer);
}

/** Computes one value per param group, shaped like the optimizer(s). */
export function mapGroups(optimizer: Optimizers, fn: (opt: ParamGroupOptimizer, name: string | null) => number[]): GroupValues {
  if (isSingleOptimizer(optimizer)) return fn(optimizer, null);
  return Object.fromEntries(Object.entries(optimizer).map(([name, opt]) => [name, fn(opt, name)]));
}

/** Applies `fn` to every value, keeping the shape. */
export function mapValues(values: GroupValues, fn: (value: number) => number): GroupValues {
  if (Array.isArray(values)) return values.map(fn);
  return Object.fromEntries(Object.entries(values).map(([name, list]) => [name, list.map(fn)]));
}

/**
 * Common machinery of the LR and momentum updaters (MMCV's `LrUpdaterHook` and
 * `MomentumUpdaterHook` differ only in the hyper-parameter and in how warmup applies):
 * base values taken from the param groups at `beforeRun` (kept in the groups as
 * `initialLr`/`initialMomentum`, so a resumed optimizer keeps them), the regular (scheduled)
 * values per epoch or per iteration, and warmup over the first iterations.
 */
export abstract class ParamUpdaterHook extends Hook<ScheduleRunner> {
  readonly byEpoch: boolean;
  readonly warmup: Warmup | null;
  /** Warmup length in iterations; null until the first training epoch when counted in epochs. */
  warmupIters: number | null;
  readonly warmupRatio: number;
  /** Warmup length in epochs (`warmupByEpoch`), else null. */
  readonly warmupEpochs: number | null;
  /** The values schedules start from, one per param group. */
  protected base: GroupValues = [];
  /** The scheduled values without warmup. */
  protected regular: GroupValues = [];
  /** The hook's name in messages. */
  protected readonly owner: string;
  /** Warmup options given without `warmup`, which therefore have no effect. */
  private readonly ignoredWarmupOptions: string[];

  protected constructor(opts: ParamUpdaterSettings, owner: string, defaultWarmupRatio: number) {
    super();
    this.owner = owner;
    this.byEpoch = opts.byEpoch ?? true;
    this.warmup = opts.warmup ?? null;
    this.warmupRatio = opts.warmupRatio ?? defaultWarmupRatio;
    const warmupIters = opts.warmupIters ?? 0;
    if (this.warmup !== null) {
      if (!(warmupIters > 0)) throw new ConfigError(`${owner}.warmupIters`, `must be a positive integer when warmup is set; got ${warmupIters}`);
      if (!(this.warmupRatio > 0 && this.warmupRatio <= 1)) {
        throw new ConfigError(`${owner}.warmupRatio`, `must be in (0, 1] when warmup is set; got ${this.warmupRatio}`);
      }
    }
    this.ignoredWarmupOptions = this.warmup === null
      ? (['warmupIters', 'warmupRatio', 'warmupByEpoch'] as const).filter((k) => opts[k] !== undefined)
      : [];
    this.warmupEpochs = opts.warmupByEpoch ? warmupIters : null;
    this.warmupIters = opts.warmupByEpoch ? null : warmupIters;
  }

  /** The scheduled value of `group`, whose base value is `base` (the policy). */
  protected abstract getValue(runner: ScheduleRunner, base: number, group: ParamGroup): number;

  /** The group's hyper-parameter, or undefined when the group has none. */
  protected abstract readParam(group: ParamGroup): number | undefined;

  /** Sets the group's hyper-parameter (groups without it are left alone). */
  protected abstract writeParam(group: ParamGroup, value: number): void;

  /** Where the group keeps the base value (`initialLr` or `initialMomentum`). */
  protected abstract get initialKey(): 'initialLr' | 'initialMomentum';

  /** What the hook schedules, in messages (`lr`, `momentum or betas`). */
  protected abstract get paramName(): string;

  /** `value` during warmup, given the warmup factor (LR multiplies by it, momentum divides). */
  protected abstract applyWarmup(value: number, factor: number): number;

  override beforeRun(runner: ScheduleRunner): void {
    const optimizer = this.checkRunner(runner);
    const key = this.initialKey;
    this.base = mapGroups(optimizer, (opt, name) => opt.paramGroups.map((group) => {
      if (group[key] === undefined) group[key] = this.requireParam(group, opt, name);
      return group[key]!;
    }));
  }

  override beforeTrainEpoch(runner: ScheduleRunner): void {
    this.resolveWarmupIters(runner);
    if (!this.byEpoch) return;
    this.regular = this.regularValues(runner);
    this.write(runner, this.regular);
  }

  override beforeTrainIter(runner: ScheduleRunner): void {
    const cur = runner.iter;
    const warmupIters = this.resolveWarmupIters(runner);
    if (!this.byEpoch) {
      this.regular = this.regularValues(runner);
      this.write(runner, this.warmup === null || cur >= warmupIters ? this.regular : this.warmupValues(cur, warmupIters));
    } else if (this.warmup !== null && cur <= warmupIters) {
      this.write(runner, cur === warmupIters ? this.regular : this.warmupValues(cur, warmupIters));
    }
  }

  /** The scheduled values of every group at the runner's current progress. */
  protected regularValues(runner: ScheduleRunner): GroupValues {
    return mapGroups(runner.optimizer!, (opt, name) => {
      const bases = Array.isArray(this.base) ? this.base : this.base[name!] ?? [];
      return bases.map((b, i) => this.getValue(runner, b, opt.paramGroups[i]!));
    });
  }

  /** The optimizer(s), after checking that this hook can work with the runner. */
  protected checkRunner(runner: ScheduleRunner): Optimizers {
    if (!runner.optimizer) throw new ConfigError(this.owner, 'the runner has no optimizer to schedule');
    if (this.byEpoch && runner.byEpoch === false) {
      throw new ConfigError(`${this.owner}.byEpoch`, 'is true, but IterBasedRunner never starts an epoch, so the schedule would never change; use byEpoch: false');
    }
    const ignored = this.ignoredWarmupOptions;
    if (ignored.length > 0) runner.logger?.warn(`${this.owner}: ${ignored.join(', ')} ${ignored.length > 1 ? 'have' : 'has'} no effect because warmup is not set`);
    return runner.optimizer;
  }

  /** The group's hyper-parameter; an error names the optimizer when the group has none. */
  protected requireParam(group: ParamGroup, opt: ParamGroupOptimizer, name: string | null): number {
    const value = this.readParam(group);
    if (value === undefined) {
      const which = name === null ? opt.constructor.name : `'${name}' (${opt.constructor.name})`;
      throw new ConfigError(this.owner, `optimizer ${which} has no ${this.paramName} to schedule`);
    }
    return value;
  }

  /** Writes `values` into the param groups, pairwise (extra groups are left alone). */
  protected write(runner: ScheduleRunner, values: GroupValues): void {
    for (const [name, opt] of optimizerEntries(runner.optimizer!)) {
      const list = Array.isArray(values) ? values : values[name!] ?? [];
      opt.paramGroups.forEach((group, i) => {
        if (i < list.length) this.writeParam(group, list[i]!);
      });
    }
  }

  /** The regular values with warmup applied at iteration `cur`. */
  private warmupValues(cur: number, warmupIters: number): GroupValues {
    const ratio = this.warmupRatio;
    let factor: number;
    if (this.warmup === 'constant') factor = ratio;
    else if (this.warmup === 'linear') factor = 1 - (1 - cur / warmupIters) * (1 - ratio);
    else factor = ratio ** (1 - cur / warmupIters);
    return mapValues(this.regular, (v) => this.applyWarmup(v, factor));
  }

  /**
   * The warmup length in iterations. Counted in epochs, it is known from the first training
   * epoch on (MMCV) or, in IterBasedRunner, which has no epochs, from the first iteration on.
   */
  private resolveWarmupIters(runner: ScheduleRunner): number {
    if (this.warmupIters === null) {
      if (!runner.dataLoader) throw new Error(`${this.owner}: warmupByEpoch needs runner.dataLoader to count the iterations of an epoch`);
      this.warmupIters = this.warmupEpochs! * runner.dataLoader.length;
    }
    return this.warmupIters;
  }
}
