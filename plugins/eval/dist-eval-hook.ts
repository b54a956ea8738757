import { inject, injectable, optional } from 'inversify';
import { z } from 'zod';
import { TOKENS } from '../../src/core/di.js';
import { RegisterHook } from '../../src/core/hooks-registry.js';
import type { ProcessGroup } from '../../src/core/services.js';
import { mustBe } from '../../src/config/parse-options.js';
import type { RunnerLoader } from '../../src/runner/base-runner.js';
import type { HookRunner } from '../../src/runner/hook-runner.js';
import { broadcastBuffersFromRankZero } from '../../src/training/model/buffers.js';
import { EvalHook, EvalHookOptions, collectResults } from './eval-hook.js';
import { mergeRankResults } from './merge-rank-results.js';

/** Options of {@link DistEvalHook}: EvalHook's plus `broadcastBnBuffer`. */
export const DistEvalHookOptions = EvalHookOptions.extend({
  /** Copy rank 0's buffers (batch-norm statistics) to every rank before evaluating. */
  broadcastBnBuffer: z.boolean(mustBe('a boolean')).optional(),
}).strict();
export type DistEvalHookOptions = z.input<typeof DistEvalHookOptions>;

/** The sampler of a loader sharded across ranks (a DistributedSampler). */
interface ShardingSampler {
  worldSize: number;
  datasetLength: number;
}

/**
 * EvalHook for multi-process runs (MMCV `DistEvalHook`). Before each evaluation the model's
 * buffers (non-trainable weights: batch-norm statistics) are broadcast from rank 0; then every
 * rank evaluates its shard of the val loader (a loader with a DistributedSampler, as
 * buildFromConfig builds with several ranks), rank 0 gathers the results, puts them back in
 * dataset order without the sampler's padding (MMCV `collect_results`) and computes the
 * metrics, and the metrics are broadcast, so every rank logs, annotates, keeps the same best
 * score and lets hooks such as EarlyStoppingHook decide alike; only rank 0 writes the best
 * checkpoint. A loader that is not sharded is evaluated whole by rank 0 alone. With one rank it
 * behaves exactly as EvalHook. The process group is injected (`TOKENS.ProcessGroup`); without
 * injection the runner's group is used.
 */
@RegisterHook()
@injectable()
export class DistEvalHook extends EvalHook {
  static override readonly optionsSchema: z.ZodType = DistEvalHookOptions;

  readonly broadcastBnBuffer: boolean;
  protected override readonly gathersRanks = true;
  private readonly group: ProcessGroup | undefined;
  private warnedUnsharded = false;

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

  protected override async evaluate(runner: HookRunner): Promise<Record<string, number> | undefined> {
    const group = this.group ?? runner.processGroup;
    if (group.worldSize <= 1) return super.evaluate(runner);
    if (this.broadcastBnBuffer) await broadcastBuffersFromRankZero(runner.model, group);
    const sampler = (this.dataloader as { sampler?: Partial<ShardingSampler> }).sampler;
    let metrics: Record<string, number> | undefined;
    if (sampler?.worldSize === group.worldSize && typeof sampler.datasetLength === 'number') {
      const parts = await group.gather(await collectResults(runner, this.dataloader, this.owner), 0);
      if (parts) metrics = this.computeMetrics(mergeRankResults(parts, sampler.datasetLength));
    } else if (group.rank === 0) {
      if (!this.warnedUnsharded) runner.logger.warn(`${this.owner}: the val loader is not sharded across ranks (no DistributedSampler), so rank 0 evaluates all of it`);
      this.warnedUnsharded = true;
      metrics = await super.evaluate(runner);
    }
    return group.broadcastObject(metrics, 0);
  }
}
