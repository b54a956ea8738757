import { ConfigError } from '../../src/core/errors.js';

/** Whether a larger or a smaller value of a metric is better. */
export type Rule = 'greater' | 'less';

/** MMCV's default "greater is better" key fragments (`EvalHook._default_greater_keys`). */
export const DEFAULT_GREATER_KEYS: readonly string[] = ['acc', 'top', 'AR@', 'auc', 'precision', 'mAP', 'mDice', 'mIoU', 'mAcc', 'aAcc'];
/** MMCV's default "less is better" key fragments. */
export const DEFAULT_LESS_KEYS: readonly string[] = ['loss'];

/** Value a best score starts from, so that any finite score improves on it. */
export const RULE_INIT: Readonly<Record<Rule, number>> = { greater: -Infinity, less: Infinity };

/** Strict comparison: true when `score` is better than `best` by more than `minDelta` under `rule`. */
export function isImprovement(rule: Rule, score: number, best: number, minDelta = 0): boolean {
  return rule === 'greater' ? score > best + minDelta : score < best - minDelta;
}

/**
 * MMCV's rule inference for a metric key, case-insensitively: the key equals a greater key →
 * 'greater'; equals a less key → 'less'; contains a greater key → 'greater'; contains a less
 * key → 'less'. Otherwise a {@link ConfigError} at `path` asks for an explicit rule.
 */
export function inferRule(key: string, greaterKeys: readonly string[] = DEFAULT_GREATER_KEYS, lessKeys: readonly string[] = DEFAULT_LESS_KEYS, path = 'rule'): Rule {
  const k = key.toLowerCase();
  const greater = greaterKeys.map((g) => g.toLowerCase());
  const less = lessKeys.map((l) => l.toLowerCase());
  if (greater.includes(k)) return 'greater';
  if (less.includes(k)) return 'less';
  if (greater.some((g) => k.includes(g))) return 'greater';
  if (less.some((l) => k.includes(l))) return 'less';
  throw new ConfigError(path, `cannot infer whether a greater or a less '${key}' is better; set rule to 'greater' or 'less' `
    + `(greater keys: ${greaterKeys.join(', ')}; less keys: ${lessKeys.join(', ')})`);
}

/** `keys` as a list (MMCV accepts one string or a sequence); `defaults` when absent. */
export function keyList(keys: string | readonly string[] | null | undefined, defaults: readonly string[]): readonly string[] {
  if (keys === null || keys === undefined) return defaults;
  return typeof keys === 'string' ? [keys] : keys;
}
