import * as tf from '../../backend/tfjs.js';
import { ConfigError } from '../../core/errors.js';
import { describeValue } from '../../core/describe-value.js';
import { unknownOptionsMessage } from '../../core/nearest-names.js';

/**
 * A group of parameters sharing hyper-parameters. LR and momentum hooks rewrite `lr`,
 * `momentum` and `betas` between iterations; the next step uses the new values.
 */
export interface ParamGroup {
  /** Parameter keys (`layerName/weightName`). */
  params: string[];
  lr: number;
  weightDecay: number;
  momentum?: number;
  betas?: [number, number];
  /** Set by LR updaters: the base lr schedules start from. */
  initialLr?: number;
  /** Set by momentum updaters: the base momentum schedules start from. */
  initialMomentum?: number;
  [key: string]: unknown;
}

/** Serialisable optimizer state: hyper-parameters per group, step counts and slot tensors. */
export interface OptimizerState {
  type: string;
  paramGroups: Array<Omit<ParamGroup, 'params'> & { params: string[] }>;
  steps: Record<string, number>;
  /** `<paramKey>/<slotName>` → tensor (owned by the caller after stateDict()). */
  slots: tf.NamedTensorMap;
}

/** Hyper-parameters common to every optimizer config. */
export interface OptimizerOptions {
  lr: number;
  weightDecay?: number;
}

/** Hyper-parameters that are switches; every other one (but `betas`) is a number. */
const BOOLEAN_OPTIONS: ReadonlySet<string> = new Set(['nesterov', 'centered']);

/**
 * PyTorch-style optimizer over named tfjs variables, with parameter groups whose
 * hyper-parameters may change at every iteration. Subclasses implement one update rule.
 */
export abstract class ParamGroupOptimizer {
  readonly paramGroups: ParamGroup[];
  protected readonly params: Map<string, tf.Variable>;
  private readonly slots = new Map<string, tf.Variable>();
  private readonly steps = new Map<string, number>();

  /**
   * `defaults` holds every hyper-parameter of the update rule (the options with their defaults
   * filled in); `options`, what the caller passed, may use no other key.
   */
  constructor(params: Map<string, tf.Variable>, defaults: Omit<ParamGroup, 'params'>, options: object = defaults) {
    const known = Object.keys(defaults);
    const unknown = Object.keys(options).filter((k) => !known.includes(k));
    // A misspelt option would otherwise be ignored silently (momentun: 0.9 trains without momentum).
    if (unknown.length > 0) throw new ConfigError('optimizer', unknownOptionsMessage(unknown, known));
    if (!(typeof defaults.lr === 'number' && defaults.lr >= 0 && Number.isFinite(defaults.lr))) {
      throw new ConfigError('optimizer.lr', `must be a finite number >= 0; got ${describeValue(defaults.lr)}`);
    }
    if (!(typeof defaults.weightDecay === 'number' && defaults.weightDecay >= 0)) {
      throw new ConfigError('optimizer.weightDecay', `must be a number >= 0; got ${describeValue(defaults.weightDecay)}`);
    }
    if (defaults.eps !== undefined && !(typeof defaults.eps === 'number' && defaults.eps >= 0)) {
      throw new ConfigError('optimizer.eps', `must be a number >= 0; got ${describeValue(defaults.eps)}`);
    }
    // Every other value's type: a string '0.9' would pass a `>= 0` check and fail only at the first step.
    for (const [key, value] of Object.entries(defaults)) {
      if (key === 'betas') continue; // a pair, checked by the optimizers that have it
      const flag = BOOLEAN_OPTIONS.has(key);
      if (flag ? typeof value !== 'boolean' : !(typeof value === 'number' && Number.isFinite(value))) {
        throw new ConfigError(`optimizer.${key}`, `must be ${flag ? 'true or false' : 'a finite number'}; got ${describeValue(value)}`);
      }
    }
    if (params.size === 0) throw new ConfigError('optimizer.params', 'selects no trainable parameter');
    this.params = params;
    this.paramGroups = [{ ...defaults, params: [...params.keys()] } as ParamGroup];
  }

  /** Keys of the parameters this optimizer updates. */
  paramKeys(): string[] {
    return this.paramGroups.flatMap((g) => g.params);
  }

  /** The variable behind a parameter key. */
  param(key: string): tf.Variable | undefined {
    return this.params.get(key);
  }

  /**
   * Applies one update to every parameter that has a gradient in `grads` (keys as in
   * {@link paramKeys}); parameters without one are left alone, as PyTorch does for `grad=None`.
   */
  step(grads: ReadonlyMap<string, tf.Tensor>): void {
    for (const group of this.paramGroups) {
      for (const key of group.params) {
        const grad = grads.get(key);
        if (!grad) continue;
        const param = this.params.get(key)!;
        const step = (this.steps.get(key) ?? 0) + 1;
        this.steps.set(key, step);
        tf.tidy(() => this.update(key, param, grad, group, step));
      }
    }
  }

  /** Computes and assigns the new value of `param` (runs inside a tidy). */
  protected abstract update(key: string, param: tf.Variable, grad: tf.Tensor, group: ParamGroup, step: number): void;

  /** The slot variable `name` of `key`, created from `init` (kept out of the tidy) on first use. */
  protected slot(key: string, name: string, init: () => tf.Tensor): { value: tf.Variable; created: boolean } {
    const id = `${key}/${name}`;
    const existing = this.slots.get(id);
    if (existing) return { value: existing, created: false };
    // Unnamed: tfjs variable names are global, and several optimizers may share parameter keys.
    const value = tf.variable(tf.tidy(init), false);
    this.slots.set(id, value);
    return { value, created: true };
  }

  /** The slot variable `name` of `key` if it exists. */
  protected findSlot(key: string, name: string): tf.Variable | undefined {
    return this.slots.get(`${key}/${name}`);
  }

  /** A copy of the full state (slot tensors are clones the caller must dispose). */
  stateDict(): OptimizerState {
    const slots: tf.NamedTensorMap = {};
    for (const [id, v] of this.slots) slots[id] = v.clone();
    return {
      type: this.constructor.name,
      paramGroups: this.paramGroups.map((g) => structuredClone(g)),
      steps: Object.fromEntries(this.steps),
      slots,
    };
  }

  /** Restores what {@link stateDict} produced (slot tensors are copied, not taken). */
  loadStateDict(state: OptimizerState): void {
    if (state.type !== this.constructor.name) {
      throw new Error(`optimizer state is for ${state.type}, this optimizer is ${this.constructor.name}`);
    }
    if (state.paramGroups.length !== this.paramGroups.length) {
      throw new Error(`optimizer state has ${state.paramGroups.length} param groups, this optimizer has ${this.paramGroups.length}`);
    }
    state.paramGroups.forEach((g, i) => Object.assign(this.paramGroups[i]!, structuredClone(g)));
    this.steps.clear();
    for (const [k, v] of Object.entries(state.steps)) this.steps.set(k, v);
    for (const v of this.slots.values()) v.dispose();
    this.slots.clear();
    for (const [id, t] of Object.entries(state.slots)) {
      // The variable keeps the clone's data; the tidy releases the clone's own handle.
      this.slots.set(id, tf.tidy(() => tf.variable(t.clone(), false)));
    }
  }

  /** Releases the slot variables. */
  dispose(): void {
    for (const v of this.slots.values()) v.dispose();
    this.slots.clear();
  }
}

/** Adds L2 weight decay to a gradient (PyTorch's coupled `weight_decay`). */
export function withWeightDecay(grad: tf.Tensor, param: tf.Tensor, weightDecay: number): tf.Tensor {
  return weightDecay === 0 ? grad : grad.add(param.mul(weightDecay));
}
