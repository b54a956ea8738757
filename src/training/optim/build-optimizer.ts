import type * as tf from '../../backend/tfjs.js';
import { ConfigError } from '../../core/errors.js';
import { Registry, type BuildConfig } from '../../core/registry.js';
import { Adagrad } from './adagrad.js';
import { Adam, AdamW } from './adam.js';
import type { ParamGroupOptimizer } from './param-group-optimizer.js';
import { RMSProp } from './rmsprop.js';
import { SGD } from './sgd.js';

/** What a runner holds: one optimizer, or a map of named optimizers (MMCV's dict of optimizers). */
export type Optimizers = ParamGroupOptimizer | Record<string, ParamGroupOptimizer>;

type OptimizerClass = new (params: Map<string, tf.Variable>, options: any) => ParamGroupOptimizer;

/** Registry of optimizer classes. Constructors take `(params, options)`. */
export const OPTIMIZERS = new Registry<ParamGroupOptimizer>('optimizer', {
  buildFunc: (target, args, context) => new (target as OptimizerClass)(context as Map<string, tf.Variable>, args),
});
for (const cls of [SGD, Adam, AdamW, RMSProp, Adagrad]) OPTIMIZERS.register(cls);

/** True when `value` is a single optimizer rather than a map of them. */
export function isSingleOptimizer(value: Optimizers): value is ParamGroupOptimizer {
  return typeof (value as ParamGroupOptimizer).step === 'function' && Array.isArray((value as ParamGroupOptimizer).paramGroups);
}

/** Selects the parameters whose key starts with `prefix` (a layer-name prefix). */
function selectParams(all: Map<string, tf.Variable>, prefix: string, path: string): Map<string, tf.Variable> {
  const picked = new Map([...all].filter(([k]) => k.startsWith(prefix)));
  if (picked.size === 0) {
    const layers = [...new Set([...all.keys()].map((k) => k.split('/')[0]))];
    throw new ConfigError(`${path}.params`, `'${prefix}' selects no parameter; parameter keys start with ${layers.join(', ')}`);
  }
  return picked;
}

/**
 * Builds the optimizer(s) of a config. A config with `type` is one optimizer over all
 * parameters; otherwise it is a map `name → { type, params: '<layer prefix>', ... }`.
 */
export function buildOptimizers(cfg: unknown, params: Map<string, tf.Variable>): Optimizers {
  if (cfg === null || typeof cfg !== 'object' || Array.isArray(cfg)) {
    throw new ConfigError('optimizer', 'must be an object: { type, lr, ... } or a map of named optimizers');
  }
  const build = (c: BuildConfig, path: string, selected: Map<string, tf.Variable>): ParamGroupOptimizer => {
    try {
      return OPTIMIZERS.build(c, undefined, selected);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw new ConfigError(path, (error as Error).message);
      // Optimizers name their options `optimizer.x`; a named one sits at `optimizer.<name>.x`.
      const located = error.path === 'optimizer' || error.path.startsWith('optimizer.');
      throw located && path !== 'optimizer' ? new ConfigError(path + error.path.slice('optimizer'.length), error.detail) : error;
    }
  };
  const record = cfg as Record<string, unknown>;
  if ('type' in record) return build(record as BuildConfig, 'optimizer', params);
  const out: Record<string, ParamGroupOptimizer> = {};
  for (const [name, sub] of Object.entries(record)) {
    const path = `optimizer.${name}`;
    if (sub === null || typeof sub !== 'object' || !('type' in sub)) {
      throw new ConfigError(path, `must be an optimizer config with a 'type' (one of ${OPTIMIZERS.keys().join(', ')})`);
    }
    const { params: prefix, ...rest } = sub as Record<string, unknown>;
    if (typeof prefix !== 'string') throw new ConfigError(`${path}.params`, 'must be a layer-name prefix string');
    out[name] = build(rest as BuildConfig, path, selectParams(params, prefix, path));
  }
  if (Object.keys(out).length === 0) throw new ConfigError('optimizer', 'the map of optimizers is empty');
  return out;
}
