import { ConfigError } from '../core/errors.js';
import type { Hook } from '../core/hook.js';
import { HOOKS, isHook } from '../core/hooks-registry.js';
import { Priority, type PriorityLike } from '../core/priority.js';
import type { BuildConfig } from '../core/registry.js';
import type { BaseRunner } from './base-runner.js';

/** A hook config (`{ type, ...options }`), or a hook instance used as it is. */
export type HookSpec = (BuildConfig & { priority?: PriorityLike; name?: string }) | Hook<any>;

/** The default-hook configs of `registerTrainingHooks` (MMCV's `*_config` arguments). */
export interface TrainingHooksConfig {
  lrConfig?: Record<string, unknown> | Hook<any> | null;
  optimizerConfig?: Record<string, unknown> | Hook<any> | null;
  checkpointConfig?: Record<string, unknown> | Hook<any> | null;
  logConfig?: { interval?: number; hooks?: HookSpec[] } | null;
  momentumConfig?: Record<string, unknown> | Hook<any> | null;
  /** Default `{ type: 'IterTimerHook' }`; `null` registers no timer. */
  timerConfig?: Record<string, unknown> | Hook<any> | null;
  customHooksConfig?: HookSpec[] | HookSpec | null;
}

/** Registered schedule hooks for a suffix, e.g. `LrUpdaterHook` → `{ step: 'StepLrUpdaterHook', ... }`. */
function policies(suffix: string): Map<string, string> {
  return new Map(HOOKS.keys().filter((k) => k.endsWith(suffix) && k !== suffix).map((k) => [k.slice(0, -suffix.length).toLowerCase(), k]));
}

/**
 * Resolves `{ policy: 'step', ... }` to `{ type: 'StepLrUpdaterHook', ... }`. Policies match
 * case-insensitively (MMCV title-cases only all-lower-case names, so 'cosineannealing' fails
 * there; here it works).
 */
export function resolvePolicy(cfg: Record<string, unknown>, suffix: 'LrUpdaterHook' | 'MomentumUpdaterHook', key: string): BuildConfig {
  const { policy, ...rest } = cfg;
  if (typeof policy !== 'string' || policy === '') {
    const known = [...policies(suffix).values()].map((t) => t.slice(0, -suffix.length));
    throw new ConfigError(`${key}.policy`, `is required; known policies: ${known.join(', ') || '(none registered)'}`);
  }
  const type = policies(suffix).get(policy.toLowerCase());
  if (!type) {
    const known = [...policies(suffix).values()].map((t) => t.slice(0, -suffix.length));
    throw new ConfigError(`${key}.policy`, `'${policy}' is not a known policy; known policies: ${known.join(', ') || '(none registered)'}`);
  }
  return { ...rest, type };
}

function register(runner: BaseRunner, spec: HookSpec, priority: PriorityLike, path: string, defaults: Record<string, unknown> = {}): void {
  if (isHook(spec)) {
    runner.registerHook(spec, priority);
    return;
  }
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
    throw new ConfigError(path, `must be a hook config object or a Hook instance; got ${JSON.stringify(spec)}`);
  }
  const cfg: Record<string, unknown> = { ...defaults, ...spec };
  try {
    runner.registerHookFromConfig({ ...cfg, priority: (spec as { priority?: PriorityLike }).priority ?? priority } as BuildConfig);
  } catch (error) {
    if (error instanceof ConfigError && error.path.startsWith(path)) throw error;
    throw new ConfigError(path, (error as Error).message);
  }
}

/**
 * MMCV's `register_training_hooks`: LR updater (VERY_HIGH), momentum updater (HIGH), optimizer
 * (ABOVE_NORMAL), checkpoint (NORMAL), timer (LOW), loggers (VERY_LOW), then custom hooks at
 * their own priority (default NORMAL), so a custom hook at a default hook's level runs after it.
 * Config objects are copied, never mutated.
 */
export function registerTrainingHooks(runner: BaseRunner, config: TrainingHooksConfig): void {
  const { lrConfig, optimizerConfig, checkpointConfig, logConfig, momentumConfig, customHooksConfig } = config;
  const timerConfig = config.timerConfig === undefined ? { type: 'IterTimerHook' } : config.timerConfig;
  // IterBasedRunner schedules, checkpoints and logs by iteration unless told otherwise.
  const byIter = runner.byEpoch ? {} : { byEpoch: false };

  if (lrConfig) {
    register(runner, isHook(lrConfig) ? lrConfig : resolvePolicy({ ...byIter, ...lrConfig }, 'LrUpdaterHook', 'lrConfig'), Priority.VERY_HIGH, 'lrConfig');
  }
  if (momentumConfig) {
    register(runner, isHook(momentumConfig) ? momentumConfig : resolvePolicy({ ...byIter, ...momentumConfig }, 'MomentumUpdaterHook', 'momentumConfig'), Priority.HIGH, 'momentumConfig');
  }
  if (optimizerConfig) {
    register(runner, isHook(optimizerConfig) ? optimizerConfig : { type: 'OptimizerHook', ...optimizerConfig } as HookSpec, Priority.ABOVE_NORMAL, 'optimizerConfig');
  }
  if (checkpointConfig) {
    register(runner, isHook(checkpointConfig) ? checkpointConfig : { type: 'CheckpointHook', ...byIter, ...checkpointConfig } as HookSpec, Priority.NORMAL, 'checkpointConfig');
  }
  if (timerConfig) {
    register(runner, isHook(timerConfig) ? timerConfig : timerConfig as HookSpec, Priority.LOW, 'timerConfig');
  }
  if (logConfig) {
    const { interval, hooks = [] } = logConfig;
    if (!Array.isArray(hooks)) throw new ConfigError('logConfig.hooks', 'must be a list of logger hook configs');
    hooks.forEach((spec, i) => {
      const defaults = { ...byIter, ...(interval !== undefined ? { interval } : {}) };
      register(runner, spec, Priority.VERY_LOW, `logConfig.hooks[${i}]`, isHook(spec) ? {} : defaults);
    });
  }
  if (customHooksConfig) {
    const list = Array.isArray(customHooksConfig) ? customHooksConfig : [customHooksConfig];
    list.forEach((spec, i) => register(runner, spec, Priority.NORMAL, `customHooks[${i}]`));
  }
}
