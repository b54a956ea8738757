/**
 * Schedule pieces the LR and momentum policies share (MMCV computes Step, CosineAnnealing,
 * LinearAnnealing, Cyclic and OneCycle the same way for both): option fields, progress,
 * step decay, annealing targets, the cyclic phases, one-cycle phase walking and per-group
 * parameters.
 */
import { ConfigError } from '../../core/errors.js';
import type { ParamGroupOptimizer } from '../../training/optim/param-group-optimizer.js';
import { ANNEAL_STRATEGIES, annealFunction, type AnnealFunction, type AnnealStrategy } from '../lr-updater/annealing.js';
import { booleanField, field, isFiniteNumber, isPositiveInt, nonNegativeNumber, oneOf, positiveInt, unitInterval } from './option-fields.js';
import type { ScheduleRunner } from './param-updater-hook.js';

/** `byEpoch` of the schedules that only work per iteration (Cyclic, OneCycle). */
export const iterOnlyField = field<false>('false (this schedule changes every iteration)', (v) => v === false);

/** `epoch` when scheduling by epoch, else `iter`. */
export function progressOf(runner: ScheduleRunner, byEpoch: boolean): number {
  return byEpoch ? runner.epoch : runner.iter;
}

/** The run's length in the schedule's unit (`maxEpochs` or `maxIters`). */
export function maxProgressOf(runner: ScheduleRunner, byEpoch: boolean, owner: string): number {
  const max = byEpoch ? runner.maxEpochs : runner.maxIters;
  if (max === undefined) throw new Error(`${owner}: the runner's ${byEpoch ? 'maxEpochs' : 'maxIters'} is not known`);
  return max;
}

// ---- Step ----------------------------------------------------------------------------------

/** `step`: a decay interval, or increasing milestones. */
export const stepField = field<number | number[]>(
  'a positive integer or a non-empty increasing list of positive integers',
  (v) => isPositiveInt(v) || (Array.isArray(v) && v.length > 0 && v.every(isPositiveInt) && v.every((s, i) => i === 0 || s > v[i - 1])),
);

/** How many decays have happened at `progress`: `floor(progress / step)`, or the milestones passed. */
export function stepExponent(progress: number, step: number | number[]): number {
  if (typeof step === 'number') return Math.floor(progress / step);
  const at = step.findIndex((s) => progress < s);
  return at === -1 ? step.length : at;
}

/** `base * gamma ** e` (one power, not repeated products, as MMCV), floored at `min` when given. */
export function stepDecay(base: number, progress: number, step: number | number[], gamma: number, min: number | null): number {
  const value = base * gamma ** stepExponent(progress, step);
  return min === null ? value : Math.max(value, min);
}

// ---- Annealing targets ---------------------------------------------------------------------

/** `min<X>` / `min<X>Ratio` option fields. */
export const minField = nonNegativeNumber.nullish();

/** Where an annealing schedule ends: a fixed value, or a ratio of the base value (exactly one). */
export class AnnealTarget {
  private constructor(readonly min: number | null, readonly ratio: number | null) {}

  /** Checks that exactly one of the two options is set (MMCV asserts the XOR). */
  static from(owner: string, keys: [string, string], min: number | null | undefined, ratio: number | null | undefined): AnnealTarget {
    const hasMin = min !== null && min !== undefined;
    const hasRatio = ratio !== null && ratio !== undefined;
    if (hasMin === hasRatio) {
      throw new ConfigError(`${owner}.${keys[0]}`, `exactly one of ${keys[0]} and ${keys[1]} must be set; got ${hasMin ? 'both' : 'neither'}`);
    }
    return new AnnealTarget(hasMin ? min : null, hasRatio ? ratio : null);
  }

  /** The target for a group whose base value is `base`. */
  of(base: number): number {
    return this.ratio !== null ? base * this.ratio : this.min!;
  }

  /**
   * The CosineAnnealing / LinearAnnealing value: `anneal` from `base` to this target by the
   * fraction of the run done (`epoch / maxEpochs` or `iter / maxIters`).
   */
  overRun(runner: ScheduleRunner, byEpoch: boolean, owner: string, base: number,
    anneal: (start: number, end: number, factor: number) => number): number {
    return anneal(base, this.of(base), progressOf(runner, byEpoch) / maxProgressOf(runner, byEpoch, owner));
  }
}

// ---- Cyclic --------------------------------------------------------------------------------

/** Options of the cyclic schedules (MMCV `CyclicLrUpdaterHook` / `CyclicMomentumUpdaterHook`). */
export const CyclicFields = {
  byEpoch: iterOnlyField.optional(),
  /** Ratios of the peak and of the final value to the base value; `r` means `[r, r / 1e5]`. */
  targetRatio: field<number | number[]>(
    'a number or a list of one or two numbers',
    (v) => isFiniteNumber(v) || (Array.isArray(v) && (v.length === 1 || v.length === 2) && v.every(isFiniteNumber)),
  ).optional(),
  /** Number of cycles in the run. */
  cyclicTimes: positiveInt.optional(),
  /** Fraction of a cycle spent going up. */
  stepRatioUp: field<number>('a number in [0, 1)', (v) => isFiniteNumber(v) && v >= 0 && v < 1).optional(),
  annealStrategy: oneOf(ANNEAL_STRATEGIES).optional(),
  /** Each cycle's amplitude is `gamma ** cycle` times the first one's. */
  gamma: field<number>('a number in (0, 1]', (v) => isFiniteNumber(v) && v > 0 && v <= 1).optional(),
};

/** Cyclic options after validation. */
export interface CyclicSettings {
  targetRatio?: number | number[];
  cyclicTimes?: number;
  stepRatioUp?: number;
  annealStrategy?: AnnealStrategy;
  gamma?: number;
}

interface CyclicPhase { start: number; end: number; startRatio: number; endRatio: number }

/**
 * Cycles between the base value, `targetRatio[0]` times it (the peak) and `targetRatio[1]`
 * times it, `cyclicTimes` times over the run, shrinking the amplitude by `gamma` each cycle.
 */
export class CyclicSchedule {
  readonly targetRatio: [number, number];
  readonly cyclicTimes: number;
  readonly stepRatioUp: number;
  readonly gamma: number;
  private readonly anneal: AnnealFunction;
  private cycleLength = 0;
  private phases: CyclicPhase[] = [];

  constructor(opts: CyclicSettings, defaultTargetRatio: [number, number], private readonly owner: string) {
    const ratio = opts.targetRatio ?? defaultTargetRatio;
    const list = typeof ratio === 'number' ? [ratio] : ratio;
    this.targetRatio = [list[0]!, list.length === 1 ? list[0]! / 1e5 : list[1]!];
    this.cyclicTimes = opts.cyclicTimes ?? 1;
    this.stepRatioUp = opts.stepRatioUp ?? 0.4;
    this.gamma = opts.gamma ?? 1;
    this.anneal = annealFunction(opts.annealStrategy ?? 'cos');
  }

  /** Lays out the up and down phases of one cycle for a run of `maxIters` iterations. */
  start(maxIters: number | undefined): void {
    if (maxIters === undefined) throw new Error(`${this.owner}: the runner's maxIters is not known`);
    if (maxIters < this.cyclicTimes) {
      throw new ConfigError(`${this.owner}.cyclicTimes`, `must not exceed the run's maxIters (${maxIters}); got ${this.cyclicTimes}`);
    }
    const length = Math.floor(maxIters / this.cyclicTimes);
    const upEnd = Math.trunc(this.stepRatioUp * length);
    const [peak, last] = this.targetRatio;
    this.cycleLength = length;
    this.phases = [
      { start: 0, end: upEnd, startRatio: 1, endRatio: peak },
      { start: upEnd, end: length, startRatio: peak, endRatio: last },
    ];
  }

  /** The value at iteration `iter` for a base value `base`. */
  valueAt(iter: number, base: number): number {
    const inCycle = iter % this.cycleLength;
    const scale = this.gamma ** Math.floor(iter / this.cycleLength);
    // Exactly one phase contains inCycle (the up phase is empty when stepRatioUp * length < 1).
    const phase = this.phases.find((p) => p.start <= inCycle && inCycle < p.end)!;
    // MMCV scales the ratio at the cycle's boundary: the end of a phase that starts the cycle,
    // else the start. With an empty up phase the down phase starts the cycle, so its final
    // ratio moves towards 1 and the peak does not decay; ported configs rely on that curve.
    const startsCycle = phase.start === 0;
    const startRatio = startsCycle ? phase.startRatio : 1 - scale + phase.startRatio * scale;
    const endRatio = startsCycle ? 1 - scale + phase.endRatio * scale : phase.endRatio;
    return this.anneal(base * startRatio, base * endRatio, (inCycle - phase.start) / (phase.end - phase.start));
  }
}

// ---- One cycle -----------------------------------------------------------------------------

/** Options both one-cycle schedules take. */
export const OneCycleFields = {
  byEpoch: iterOnlyField.optional(),
  /** Fraction of the cycle spent increasing the lr (decreasing the momentum). */
  pctStart: unitInterval.optional(),
  annealStrategy: oneOf(ANNEAL_STRATEGIES).optional(),
  /** Add a third phase that anneals to the final value after a symmetric up-and-down. */
  threePhase: booleanField.optional(),
};

/**
 * The phase that iteration `iter` falls in, given the phases' last iterations `ends` (the
 * first phase starts at 0, each next one at the previous end; iterations past the last end
 * belong to the last phase), and how far into it `iter` is.
 */
export function phaseAt(iter: number, ends: readonly number[]): { index: number; fraction: number } {
  let index = 0;
  let start = 0;
  while (index < ends.length - 1 && iter > ends[index]!) start = ends[index++]!;
  const length = ends[index]! - start;
  // A phase of no length (pctStart * steps == 1) is already over: its end value, not MMCV's 0 / 0.
  return { index, fraction: length === 0 ? 1 : (iter - start) / length };
}

/** A value per param group: one for all, a list (one per group), or per optimizer name. */
export type PerGroupParam = number | number[] | Record<string, number | number[]>;

/** A {@link PerGroupParam} option whose numbers satisfy `check`. */
export function perGroupField(what: string, check: (v: unknown) => boolean) {
  const valueOrList = (v: unknown) => check(v) || (Array.isArray(v) && v.length > 0 && v.every(check));
  return field<PerGroupParam>(
    `${what}, a list of them (one per param group) or a map of optimizer name to either`,
    (v) => valueOrList(v) || (v !== null && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every(valueOrList)),
  );
}

/**
 * One value per param group of `opt` (MMCV `format_param`). A map is looked up by the
 * optimizer's name (its class name for a single optimizer); its entry may be a number or a list.
 */
export function formatParam(name: string, opt: ParamGroupOptimizer, param: PerGroupParam, path: string): number[] {
  const groups = opt.paramGroups.length;
  if (typeof param === 'number') return Array.from({ length: groups }, () => param);
  if (Array.isArray(param)) {
    if (param.length !== groups) throw new ConfigError(path, `expected ${groups} value${groups === 1 ? '' : 's'} (one per param group of ${name}); got ${param.length}`);
    return param;
  }
  const own = param[name];
  if (own === undefined) throw new ConfigError(path, `has no entry for optimizer '${name}'; it has ${Object.keys(param).map((k) => `'${k}'`).join(', ')}`);
  return formatParam(name, opt, own, `${path}.${name}`);
}
