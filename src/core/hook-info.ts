import type { Hook } from './hook.js';
import { priorityName } from './priority.js';
import { STAGES } from './stages.js';

/**
 * The hook plan in MMCV's `get_hook_info` layout: for every stage with hooks, the stage name,
 * one `(PRIORITY    ) ClassName` line per hook in execution order, then a dashed rule.
 * With `withFilters`, a line also shows the filters of subscriptions that have one
 * (`@On` methods, pipelines); unfiltered subscriptions keep MMCV's exact layout.
 */
export function formatHookInfo(hooks: readonly Hook<any>[], withFilters = false): string {
  const blocks: string[] = [];
  for (const stage of STAGES) {
    const lines: string[] = [];
    for (const hook of hooks) {
      const subs = hook.getSubscriptions().filter((s) => s.stage === stage);
      if (subs.length === 0) continue;
      const label = `(${priorityName(hook.priority ?? 50).padEnd(12)}) ${hook.constructor.name.padEnd(35)}`;
      if (!withFilters) {
        lines.push(label);
        continue;
      }
      const filters = subs.filter((s) => s.filterText).map((s) => `${s.label} [${s.filterText}]`);
      lines.push(filters.length ? `${label} ${filters.join(', ')}` : label);
    }
    if (lines.length) blocks.push([`${stage}:`, ...lines, ' -------------------- '].join('\n'));
  }
  return blocks.join('\n');
}
