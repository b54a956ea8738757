import { z } from 'zod';
import { ConfigError } from '../../core/errors.js';
import { RegisterHook } from '../../core/hooks-registry.js';
import type { ParamGroupOptimizer } from '../../training/optim/param-group-optimizer.js';
import { lrUpdaterHookFor } from '../lr-updater/lr-updater-hook.js';
import { momentumUpdaterHookFor } from '../momentum-updater/momentum-updater-hook.js';
import { annealFunction, annealStrategyField } from '../param-updater/annealing.js';
import { defineSchedule } from '../param-updater/define-schedule.js';
import { booleanField, field, isFiniteNumber, positiveInt, positiveNumber, unitInterval } from '../param-updater/option-fields.js';

/** A value per param group: one for all, a list (one per group), or per optimizer name. */
export type PerGroupParam = number | number[] | Record<string, number | number[]>;

/** A {@link PerGroupParam} option whose numbers satisfy `check`. */
function perGroupField(what: string, check: (v: unknown) => boolean) {
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
function formatParam(name: string, opt: ParamGroupOptimizer, param: PerGroupParam, path: string): number[] {
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

/**
 * The phase that iteration `iter` falls in, given the phases' last iterations `ends` (the
 * first phase starts at 0, each next one at the previous end; iterations past the last end
 * belong to the last phase), and how far into it `iter` is.
 */
function phaseAt(iter: number, ends: readonly number[]): { index: number; fraction: number } {
  let index = 0;
  let start = 0;
  while (index < ends.length - 1 && iter > ends[index]!) start = ends[index++]!;
  const length = ends[index]! - start;
  // A phase of no length (pctStart * steps == 1) is already over: its end value, not MMCV's 0 / 0.
  return { index, fraction: length === 0 ? 1 : (iter - start) / length };
}

const momentumValue = perGroupField('a number >= 0', (v) => isFiniteNumber(v) && v >= 0);

/**
 * The 1cycle policy (policy `'OneCycle'`, per iteration only), as PyTorch's `OneCycleLR`: the
 * value anneals from where the cycle starts to its extreme over `pctStart` of the cycle, then
 * to where it ends (with `threePhase`: back to the start symmetrically, then to the end). The
 * lr starts at `maxLr / divFactor` (the base lr, also the groups' default `initialLr`), peaks
 * at `maxLr` and ends at `base / finalDivFactor`, over `totalSteps` (default the run's
 * maxIters). The momentum starts at `maxMomentum` (written into every group at `beforeRun`,
 * with the group's `baseMomentum`/`maxMomentum`, as MMCV), falls to `baseMomentum` and ends at
 * `maxMomentum`, over the run's maxIters.
 */
export const OneCycle = defineSchedule({
  policy: 'OneCycle',
  iterOnly: true,
  options: {
    /** Fraction of the cycle spent increasing the lr (decreasing the momentum). */
    pctStart: unitInterval.optional(),
    annealStrategy: annealStrategyField.optional(),
    /** Add a third phase that anneals to the final value after a symmetric up-and-down. */
    threePhase: booleanField.optional(),
  },
  defaults: { pctStart: 0.3, annealStrategy: 'cos', threePhase: false },
  lr: {
    options: {
      /** The peak lr: one for all groups, one per group, or per optimizer name. */
      maxLr: perGroupField('a number > 0', (v) => isFiniteNumber(v) && v > 0),
      /** Length of the cycle in iterations, default the run's maxIters (which it must not be below). */
      totalSteps: positiveInt.nullish(),
      /** The cycle starts at `maxLr / divFactor`; default 25. */
      divFactor: positiveNumber.optional(),
      /** ... and ends at `maxLr / divFactor / finalDivFactor`; default 1e4. */
      finalDivFactor: positiveNumber.optional(),
    },
    defaults: { divFactor: 25, finalDivFactor: 1e4 },
    bases: (run, o) => run.perOptimizer((opt, name) => {
      const bases = formatParam(name ?? opt.constructor.name, opt, o.maxLr!, run.path('maxLr')).map((lr) => lr / o.divFactor!);
      opt.paramGroups.forEach((group, i) => {
        group.initialLr ??= bases[i];
      });
      return bases;
    }),
  },
  momentum: {
    options: {
      /** The low point of the cycle (when the lr peaks), default 0.85; per group or per optimizer too. */
      baseMomentum: momentumValue.optional(),
      /** Where the cycle starts and ends, default 0.95; per group or per optimizer too. */
      maxMomentum: momentumValue.optional(),
    },
    defaults: { baseMomentum: 0.85, maxMomentum: 0.95 },
    bases: (run, o) => run.perOptimizer((opt, name) => {
      const key = name ?? opt.constructor.name;
      const base = formatParam(key, opt, o.baseMomentum!, run.path('baseMomentum'));
      const max = formatParam(key, opt, o.maxMomentum!, run.path('maxMomentum'));
      opt.paramGroups.forEach((group, i) => {
        run.write(group, max[i]!);
        Object.assign(group, { baseMomentum: base[i], maxMomentum: max[i] });
      });
      return base;
    }),
  },
  /** The phases' last iterations. */
  start(run, o) {
    const maxIters = run.maxIters;
    const total = o.totalSteps ?? maxIters;
    if (total < maxIters) throw new ConfigError(run.path('totalSteps'), `must be at least the run's maxIters (${maxIters}); got ${total}`);
    const pct = o.pctStart;
    return { anneal: annealFunction(o.annealStrategy), ends: o.threePhase ? [pct * total - 1, 2 * pct * total - 2, total - 1] : [pct * total - 1, total - 1] };
  },
  value: ({ param, iter, group }, base, o, { anneal, ends }) => {
    const [start, extreme, end] = param === 'Lr'
      ? [base, base * o.divFactor!, base * (1 / o.finalDivFactor!)]
      : [group.maxMomentum as number, group.baseMomentum as number, group.maxMomentum as number];
    const values = o.threePhase ? [start, extreme, start, end] : [start, extreme, end];
    const { index, fraction } = phaseAt(iter, ends);
    return anneal(values[index]!, values[index + 1]!, fraction);
  },
});

/** The 1cycle lr (policy `'OneCycle'`, per iteration only). */
@RegisterHook()
export class OneCycleLrUpdaterHook extends lrUpdaterHookFor(OneCycle) {}
/** Options of {@link OneCycleLrUpdaterHook}. */
export const OneCycleLrUpdaterHookOptions = OneCycleLrUpdaterHook.optionsSchema;
export type OneCycleLrUpdaterHookOptions = z.input<typeof OneCycleLrUpdaterHookOptions>;

/** The momentum half of the 1cycle policy (policy `'OneCycle'`, per iteration only). */
@RegisterHook()
export class OneCycleMomentumUpdaterHook extends momentumUpdaterHookFor(OneCycle) {}
/** Options of {@link OneCycleMomentumUpdaterHook}. */
export const OneCycleMomentumUpdaterHookOptions = OneCycleMomentumUpdaterHook.optionsSchema;
export type OneCycleMomentumUpdaterHookOptions = z.input<typeof OneCycleMomentumUpdaterHookOptions>;
