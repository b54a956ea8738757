/**
 * A schedule policy, defined once for every hyper-parameter it can drive: its options, their
 * defaults, checks that run before training, its per-run state and its formula. The LR hook
 * and the momentum hook of the policy are produced from the definition (`lrUpdaterHookFor`,
 * `momentumUpdaterHookFor`), as MMEngine derives `StepLR` and `StepMomentum` from one
 * `StepParamScheduler`.
 */
import { z } from 'zod';
import type { Optimizers } from '../../training/optim/build-optimizer.js';
import type { ParamGroup, ParamGroupOptimizer } from '../../training/optim/param-group-optimizer.js';
import type { GroupValues } from './param-updater-hook.js';

/** The hyper-parameters a schedule drives, as they are spelled in hook and option names. */
export type ParamName = 'Lr' | 'Momentum';

type Shape = z.ZodRawShape;
type Out<O extends Shape> = z.output<z.ZodObject<O>>;
/** An option name as a parameter's hook spells it: `$` stands for the parameter (`min$` → `minLr`). */
export type OptionNameFor<K, P extends ParamName> = K extends `${infer A}$${infer B}` ? `${A}${P}${B}` : K;
/** An object with every key spelled for parameter `P`. */
export type SpelledFor<T, P extends ParamName> = { [K in keyof T as OptionNameFor<K, P>]: T[K] };
/** `T` with the keys `K` always set (they have defaults). */
export type Filled<T, K extends PropertyKey> = Omit<T, K> & { [F in K & keyof T]-?: Exclude<T[F], undefined> };

/** The options a schedule's functions get: validated, defaults filled in, keys as defined (`min$`). */
export type ScheduleSettings<O extends Shape, D, LO extends Shape, LD, MO extends Shape, MD> =
  Filled<Out<O>, keyof D | (keyof LD & keyof MD)> & Partial<Out<LO>> & Partial<Out<MO>>;

/** Where a schedule's messages point: the hook and its option names. */
export interface ScheduleScope {
  /** The scheduled hyper-parameter. */
  readonly param: ParamName;
  /** The hook's name, e.g. `StepLrUpdaterHook`. */
  readonly owner: string;
  /** An option as the hook spells it: `option('min$')` is `minLr` in the LR hook. */
  option(key: string): string;
  /** An option's path in a ConfigError: `CosineAnnealingLrUpdaterHook.minLr`. */
  path(key: string): string;
}

/** The run a schedule starts on (at `beforeRun`). */
export interface ScheduleRun extends ScheduleScope {
  readonly byEpoch: boolean;
  /** The run's length in the schedule's unit (`maxEpochs` or `maxIters`); throws when unknown. */
  readonly maxProgress: number;
  /** The run's `maxIters`; throws when unknown. */
  readonly maxIters: number;
  readonly optimizer: Optimizers;
  /** One value per param group, from `fn` per optimizer (named null for a single optimizer). */
  perOptimizer(fn: (optimizer: ParamGroupOptimizer, name: string | null) => number[]): GroupValues;
  /** Sets the scheduled hyper-parameter of a group. */
  write(group: ParamGroup, value: number): void;
}

/** Where a value is asked for: the runner's progress, and the group it is for. */
export interface ScheduleAt {
  readonly param: ParamName;
  /** `epoch` when scheduling by epoch, else `iter`. */
  readonly progress: number;
  readonly iter: number;
  /** The run's length in the schedule's unit; throws when the runner does not know it. */
  readonly maxProgress: number;
  readonly group: ParamGroup;
}

/** What only one parameter's hook of a policy has: its own options and defaults, and where its bases come from. */
export interface ParamPart<O extends Shape, D, Settings> {
  /** Options only this parameter's hook takes (OneCycle: `maxLr` for the LR hook). */
  options?: O;
  /** Defaults for this parameter (Step: gamma 0.1 for the lr, 0.5 for the momentum). */
  defaults?: D;
  /**
   * The base values, one per group, when they come from the options instead of from the
   * groups (OneCycle); may prepare the groups. Without it the base is the group's
   * `initialLr`/`initialMomentum`, set from its current value on the first run.
   */
  bases?(run: ScheduleRun, settings: Settings): GroupValues;
}

/** A schedule policy as written: see {@link defineSchedule}. */
export interface ScheduleDefinition<O extends Shape, D, LO extends Shape, LD, MO extends Shape, MD, State> {
  /** The policy's name in configs (matched case-insensitively) and hook names: `Step` → `StepLrUpdaterHook`. */
  policy: string;
  /** The schedule changes every iteration (Cyclic, OneCycle): `byEpoch` must be false and defaults to it. */
  iterOnly?: boolean;
  /** Options both hooks take, each a zod field whose error names what is allowed; `$` in a name stands for the parameter. */
  options: O;
  /** Defaults of the optional options, for both hooks. */
  defaults?: D;
  /** What only the LR hook has. */
  lr?: ParamPart<LO, LD, ScheduleSettings<O, D, LO, LD, MO, MD>>;
  /** What only the momentum hook has. */
  momentum?: ParamPart<MO, MD, ScheduleSettings<O, D, LO, LD, MO, MD>>;
  /** Checks across options, when the hook is built (throw a ConfigError at `scope.path(key)`). */
  check?(settings: ScheduleSettings<O, D, LO, LD, MO, MD>, scope: ScheduleScope): void;
  /** At `beforeRun`: checks against the run and the run's state (phases, cycle lengths), handed to {@link value}. */
  start?(run: ScheduleRun, settings: ScheduleSettings<O, D, LO, LD, MO, MD>): State;
  /** The scheduled value, without warmup, of a group whose base value is `base`. */
  value(at: ScheduleAt, base: number, settings: ScheduleSettings<O, D, LO, LD, MO, MD>, state: State): number;
}

/**
 * A defined schedule: the definition, plus the options each parameter's hook takes. Make
 * hooks from it with `lrUpdaterHookFor` / `momentumUpdaterHookFor`.
 */
export interface Schedule<O extends Shape = Shape, D = unknown, LO extends Shape = Shape, LD = unknown, MO extends Shape = Shape, MD = unknown, State = unknown>
  extends Readonly<ScheduleDefinition<O, D, LO, LD, MO, MD, State>> {
  /** The policy options of parameter `P`'s hook, spelled for it (`{ step, gamma, minLr }`). */
  optionsFor<P extends ParamName>(param: P): SpelledFor<O & (P extends 'Lr' ? LO : MO), P>;
  /** The options with defaults filled in, keys as defined (`min$`), from options spelled for `param`. */
  settle(param: ParamName, options: Record<string, unknown>): Record<string, unknown>;
}

/** Any schedule (what the hook factories take). */
export type AnySchedule = Schedule<any, any, any, any, any, any, any>;

/**
 * Defines a schedule policy once for the lr and the momentum. A minimal one:
 *
 * ```ts
 * export const Halving = defineSchedule({
 *   policy: 'Halving',
 *   options: { every: positiveInt },
 *   value: (at, base, o) => base * 0.5 ** Math.floor(at.progress / o.every),
 * });
 * RegisterHook()(lrUpdaterHookFor(Halving)); // lrConfig: { policy: 'halving', every: 3 }
 * ```
 */
export function defineSchedule<O extends Shape, D extends Partial<Out<O>> = {}, LO extends Shape = {}, LD = {}, MO extends Shape = {}, MD = {}, State = undefined>(
  definition: ScheduleDefinition<O, D, LO, LD, MO, MD, State>,
): Schedule<O, D, LO, LD, MO, MD, State> {
  const partOf = (param: ParamName) => (param === 'Lr' ? definition.lr : definition.momentum) ?? {};
  return {
    ...definition,
    optionsFor: (param) => Object.fromEntries(Object.entries({ ...definition.options, ...partOf(param).options }).map(([key, field]) => [key.replace('$', param), field])) as never,
    settle(param, options) {
      const part = partOf(param);
      const keys = Object.keys({ ...definition.options, ...part.options });
      const defaults = { ...definition.defaults, ...part.defaults } as Record<string, unknown>;
      return Object.fromEntries(keys.map((key) => [key, options[key.replace('$', param)] ?? defaults[key]]));
    },
  };
}
