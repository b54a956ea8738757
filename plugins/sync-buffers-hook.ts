import { inject, injectable, optional } from 'inversify';
import { z } from 'zod';
import { TOKENS } from '../src/core/di.js';
import { Hook } from '../src/core/hook.js';
import { RegisterHook } from '../src/core/hooks-registry.js';
import type { ProcessGroup } from '../src/core/services.js';
import { parseOptions } from '../src/config/parse-options.js';
import type { HookRunner } from '../src/runner/hook-runner.js';
import { averageBuffersAcrossRanks, modelBuffers } from '../src/training/model/buffers.js';

export { modelBuffers };

const SyncBuffersHookOptions = z.object({
  /** Average the buffers across ranks (false: the hook does nothing). */
  distributed: z.boolean().optional(),
}).strict();
/** Options of {@link SyncBuffersHook} (MMCV `distributed`). */
export type SyncBuffersHookOptions = z.input<typeof SyncBuffersHookOptions>;

/**
 * Averages the model's buffers across ranks after every train and val epoch (and once at the
 * end of an IterBasedRunner run), MMCV `SyncBuffersHook`, so every rank evaluates and saves
 * the same batch-norm statistics. A no-op with one rank or `distributed: false`.
 *
 * The process group is injected (`TOKENS.ProcessGroup`); without injection the runner's group
 * is used.
 */
@RegisterHook()
@injectable()
export class SyncBuffersHook extends Hook<HookRunner> {
  readonly distributed: boolean;
  private readonly group: ProcessGroup | undefined;

  constructor(
    @inject(TOKENS.HookOptions) @optional() options: SyncBuffersHookOptions = {},
    @inject(TOKENS.ProcessGroup) @optional() group?: ProcessGroup,
  ) {
    super();
    const opts = parseOptions(SyncBuffersHookOptions, options, 'SyncBuffersHook');
    this.distributed = opts.distributed ?? true;
    this.group = group;
  }

  override afterEpoch(runner: HookRunner): void | Promise<void> {
    const group = this.group ?? runner.processGroup;
    if (!this.distributed || group.worldSize <= 1 || modelBuffers(runner.model).length === 0) return undefined;
    return averageBuffersAcrossRanks(runner.model, group);
  }
}
