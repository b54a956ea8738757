import * as tf from '@tensorflow/tfjs';
import { inject, injectable, optional } from 'inversify';
import { z } from 'zod';
import { TOKENS } from '../src/core/di.js';
import { Hook } from '../src/core/hook.js';
import { RegisterHook } from '../src/core/hooks-registry.js';
import type { ProcessGroup } from '../src/core/services.js';
import { parseOptions } from '../src/hooks/parse-options.js';
import type { BaseRunner } from '../src/runner/base-runner.js';
import type { TrainableModel } from '../src/runner/model/trainable-model.js';

const SyncBuffersHookOptions = z.object({
  /** Average the buffers across ranks (false: the hook does nothing). */
  distributed: z.boolean().optional(),
}).strict();
/** Options of {@link SyncBuffersHook} (MMCV `distributed`). */
export type SyncBuffersHookOptions = z.input<typeof SyncBuffersHookOptions>;

/**
 * The model's buffers: weights that are not trainable parameters (batch-norm moving mean and
 * variance), by key, float32 only (the only dtype an average keeps meaningful).
 */
export function modelBuffers(model: TrainableModel<any>): Array<[string, tf.Variable]> {
  const params = model.params();
  return [...model.namedWeights()].filter(([key, v]) => !params.has(key) && v.dtype === 'float32');
}

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
export class SyncBuffersHook extends Hook<BaseRunner> {
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

  override afterEpoch(runner: BaseRunner): void | Promise<void> {
    const group = this.group ?? runner.processGroup;
    if (!this.distributed || group.worldSize <= 1) return undefined;
    const buffers = modelBuffers(runner.model);
    if (buffers.length === 0) return undefined;
    return this.sync(group, buffers);
  }

  private async sync(group: ProcessGroup, buffers: Array<[string, tf.Variable]>): Promise<void> {
    // Copies: on the cpu backend dataSync() hands out the tensor's own storage.
    const local = buffers.map(([, v]) => new Float32Array(v.dataSync()));
    const averaged = await group.allReduceMean(local);
    if (!Array.isArray(averaged) || averaged.length !== buffers.length) {
      throw new Error(`the process group returned ${Array.isArray(averaged) ? averaged.length : typeof averaged} arrays for ${buffers.length} buffers`);
    }
    buffers.forEach(([key], i) => {
      if (averaged[i]!.length !== local[i]!.length) {
        throw new Error(`the process group returned ${averaged[i]!.length} values for buffer ${key}, which has ${local[i]!.length}`);
      }
    });
    tf.tidy(() => buffers.forEach(([, v], i) => v.assign(tf.tensor(averaged[i]!, v.shape, 'float32'))));
  }
}
