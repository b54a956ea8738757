import type { Dispatcher } from './dispatcher.js';
import type { Hook } from './hook.js';
import { priorityName } from './priority.js';
import { EXCEPTION_STAGE, STAGES, type EventStage } from './stages.js';
import type { HookSubscription } from './subscription.js';

/** One line of a plan: `(PRIORITY    ) Name` and, with `withFilters`, the filtered subscriptions. */
function planLine(priority: number, name: string, subs: readonly HookSubscription<any>[], withFilters: boolean): string {
  const label = `(${priorityName(priority).padEnd(12)}) ${name.padEnd(35)}`;
  if (!withFilters) return label;
  const filters = subs.filter((s) => s.filterText).map((s) => `${s.label} [${s.filterText}]`);
  return filters.length ? `${label} ${filters.join(', ')}` : label;
}

function planBlocks(blocks: Array<[EventStage, string[]]>): string {
  return blocks.filter(([, lines]) => lines.length > 0).map(([stage, lines]) => [`${stage}:`, ...lines, ' -------------------- '].join('\n')).join('\n');
}

/**
 * What a runner's dispatcher will call, in MMCV's `get_hook_info` layout: for every stage the
 * runner fires (in its order) that has subscribers, the stage name, one `(PRIORITY    ) Name`
 * line per hook (its class name) or `runner.on` handler (its label) in execution order, then a
 * dashed rule. With `withFilters`, a line also shows the filters of subscriptions that have one
 * (`@On` methods, pipelines, filtered handlers); unfiltered ones keep MMCV's exact layout.
 */
export function formatHookPlan(dispatcher: Pick<Dispatcher<any>, 'stages' | 'callsFor'>, withFilters = false): string {
  return planBlocks(dispatcher.stages.map((stage) => {
    const lines: string[] = [];
    const calls = dispatcher.callsFor(stage);
    // A hook's subscriptions at one stage are consecutive: one line for them all.
    for (let i = 0; i < calls.length;) {
      const first = calls[i]!;
      let end = i + 1;
      while (end < calls.length && calls[end]!.entry === first.entry) end++;
      const subs = calls.slice(i, end).map((c) => c.subscription);
      lines.push(planLine(first.priority, first.hook ? first.hook.constructor.name : first.owner, subs, withFilters));
      i = end;
    }
    return [stage, lines];
  }));
}

/**
 * The plan of `hooks` (in execution order) over the ten stages and the exception stage, in
 * the layout of {@link formatHookPlan}, whatever runner they are in. `runner.hookInfo()` lists
 * what its runner really fires (and its `runner.on` handlers).
 */
export function formatHookInfo(hooks: readonly Hook<any>[], withFilters = false): string {
  const subscriptions = hooks.map((hook) => hook.getSubscriptions());
  return planBlocks([...STAGES, EXCEPTION_STAGE].map((stage) => {
    const lines: string[] = [];
    hooks.forEach((hook, i) => {
      const subs = subscriptions[i]!.filter((s) => s.stage === stage);
      if (subs.length > 0) lines.push(planLine(hook.priority ?? 50, hook.constructor.name, subs, withFilters));
    });
    return [stage, lines];
  }));
}
