import { inject, injectable, optional } from 'inversify';
import { z } from 'zod';
import { TOKENS } from '../../src/core/di.js';
import { RegisterHook } from '../../src/core/hooks-registry.js';
import type { ProcessGroup } from '../../src/core/services.js';
import { mustBe } from '../../src/hooks/parse-options.js';
import type { BaseRunner, RunnerLoader } from '../../src/runner/base-runner.js';
import { broadcastBuffersFromRankZero } from '../../src/runner/model/buffers.js';
import { EvalHook, EvalHookOptions } from './eval-hook.js';

/** Options of {@link DistEvalHook}: EvalHook's plus `broadcastBnBuffer`. */
export const DistEvalHookOptions = EvalHookOptions.extend({
  /** Copy rank 0's buffers (batch-norm statistics) to every rank before evaluating. */
  broadcastBnBuffer: z.boolean(mustBe('a boolean')).optional(),
}).strict();
export type DistEvalHookOptions = z.input<typeof DistEvalHookOptions>;

/**
 * EvalHook for multi-process runs (MMCV `DistEvalHook`): before each evaluation the model's
 * buffers (non-trainable weights: batch-norm statistics) are broadcast from rank 0, then only
 * rank 0 evaluates, logs, annotates and saves the best checkpoint. With one rank it behaves
 * exactly as EvalHook. The process group is injected (`TOKENS.ProcessGroup`); without
 * injection the runner's group is used.
 */
@RegisterHook()
@injectable()
export class DistEvalHook extends EvalHook {
  static override readonly optionsSchema: z.ZodType = DistEvalHookOptions;

  readonly broadcastBnBuffer: boolean;
  private readonly group: ProcessGroup | undefined;

  constructor(
    @inject(TOKENS.HookOptions) @optional() options: DistEvalHookOptions = {},
    @inject(TOKENS.ValDataLoader) @optional() valLoader?: RunnerLoader,
    @inject(TOKENS.ProcessGroup) @optional() group?: ProcessGroup,
  ) {
    super(options, valLoader);
    // The EvalHook constructor validated `options` against DistEvalHookOptions.
    this.broadcastBnBuffer = options.broadcastBnBuffer ?? true;
    this.group = group;
  }

  protected override async evaluate(runner: BaseRunner): Promise<Record<string, number> | undefined> {
    const group = this.group ?? runner.processGroup;
    if (this.broadcastBnBuffer) await broadcastBuffersFromRankZero(runner.model, group);
    if (group.rank !== 0) return undefined;
    return super.evaluate(runner);
  }
}
