/**
 * Subscriptions chosen at construction time. The base Hook derives what it subscribes to from
 * the methods its class overrides (MMCV's override detection); plugins whose stages depend on
 * their options (ClosureHook's `fnName`, EmptyCacheHook's switches) build them from a list of
 * method names instead.
 */
import type { Hook, HookSubscription } from '../src/core/hook.js';
import type { RunnerView } from '../src/core/runner-view.js';
import { AGGREGATE_STAGES, AGGREGATE_TO_STAGES, STAGES, isStage, type EventStage, type Stage } from '../src/core/stages.js';

/** Every method name a hook can run at: the ten stages, then the four aggregates. */
export const HOOK_METHOD_NAMES: readonly EventStage[] = [...STAGES, ...AGGREGATE_STAGES];

/** The stages behind `methods`, in canonical order (an aggregate stands for its train and val stages). */
export function stagesOf(methods: readonly EventStage[]): Stage[] {
  const found = new Set<Stage>();
  for (const method of methods) {
    for (const stage of isStage(method) ? [method] : AGGREGATE_TO_STAGES[method]) found.add(stage);
  }
  return STAGES.filter((s) => found.has(s));
}

/**
 * Subscriptions calling `hook[stage]` for every stage behind `methods`, plus the direct
 * `beforeEpoch`/`afterEpoch` calls IterBasedRunner makes when those aggregates are listed:
 * what {@link Hook.getSubscriptions} would give if the class overrode exactly `methods`.
 */
export function subscriptionsFor<R extends RunnerView>(hook: Hook<R>, methods: readonly EventStage[]): HookSubscription<R>[] {
  const subs: HookSubscription<R>[] = stagesOf(methods).map((stage) => ({ stage, label: stage, handler: (runner: R) => hook[stage](runner) }));
  for (const aggregate of ['beforeEpoch', 'afterEpoch'] as const) {
    if (methods.includes(aggregate)) subs.push({ stage: aggregate, label: aggregate, handler: (runner: R) => hook[aggregate](runner) });
  }
  return subs;
}
