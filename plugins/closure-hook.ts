import { z } from 'zod';
import { HOOK_METHOD_NAMES, Hook, type HookResult } from '../src/core/hook.js';
import { RegisterHook } from '../src/core/hooks-registry.js';
import type { EventStage } from '../src/core/stages.js';
import { parseOptions } from '../src/config/parse-options.js';
import type { StageEvent } from '../src/core/stage-event.js';
import type { HookRunner } from '../src/runner/hook-runner.js';

/** What a closure runs: the runner in, optionally a promise the stage waits for. */
export type ClosureFn = (runner: HookRunner) => HookResult;

const ClosureHookOptions = z.object({
  /** The stage (or aggregate) method `fn` stands in for. */
  fnName: z.enum(HOOK_METHOD_NAMES as [EventStage, ...EventStage[]], {
    error: (issue) => `must be a stage, aggregate or exception method name, one of ${HOOK_METHOD_NAMES.join(', ')}; got ${JSON.stringify(issue.input)}`,
  }),
  fn: z.custom<ClosureFn>((value) => typeof value === 'function', {
    error: (issue) => `must be a function; got ${issue.input === null ? 'null' : typeof issue.input}`,
  }),
}).strict();
/** Options of {@link ClosureHook} (MMCV `fn_name`, `fn`). */
export type ClosureHookOptions = z.input<typeof ClosureHookOptions>;

/**
 * Turns a plain function into a hook (MMCV `ClosureHook`): `fn` replaces the method `fnName`
 * on this instance, so `new ClosureHook({ fnName: 'afterEpoch', fn })` runs `fn(runner)` after
 * every train and val epoch.
 *
 * Difference from MMCV: there, override detection is class-based, so a ClosureHook is missing
 * from `get_triggered_stages()`/`get_hook_info()` (only the call-everything dispatch of MMCV
 * makes it run). hookflow's dispatcher calls only subscribed stages, so this hook subscribes
 * to the stages behind `fnName` and shows up in `hookInfo()` there.
 */
@RegisterHook()
export class ClosureHook extends Hook<HookRunner> {
  readonly fnName: EventStage;

  constructor(options: ClosureHookOptions) {
    super();
    const { fnName, fn } = parseOptions(ClosureHookOptions, options, 'ClosureHook');
    this.fnName = fnName;
    // An instance property, like MMCV's setattr: the inherited delegations (afterTrainEpoch →
    // afterEpoch) and direct calls reach it too.
    Object.defineProperty(this, fnName, { value: fn, writable: true, configurable: true });
    // Each stage calls its own method, which reaches `fn` directly or through the delegation.
    this.on(fnName, (runner, event) => (this as unknown as Record<EventStage, ClosureStageMethod>)[event.stage](runner, event));
  }
}

type ClosureStageMethod = (runner: HookRunner, event: StageEvent) => HookResult;
