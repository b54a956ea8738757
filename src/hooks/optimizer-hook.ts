import { z } from 'zod';
import { Hook } from '../core/hook.js';
import { RegisterHook } from '../core/hooks-registry.js';
import type { BaseRunner } from '../runner/base-runner.js';
import { isSingleOptimizer } from '../runner/optim/build-optimizer.js';
import { clipGradNorm } from '../runner/optim/clip-grad.js';
import { releaseOutputs } from '../runner/model/trainable-model.js';
import { parseOptions } from './parse-options.js';

/** Options of {@link OptimizerHook} (MMCV `optimizer_config`). */
export const OptimizerHookOptions = z.object({
  /** Clip gradients by global norm before the step; the pre-clip norm is logged as `gradNorm`. */
  gradClip: z.object({ maxNorm: z.number().positive(), normType: z.number().positive().optional() }).strict().nullish(),
  /** Log parameters that received no gradient (not in the loss's graph). */
  detectAnomalousParams: z.boolean().optional(),
}).strict();
export type OptimizerHookOptions = z.input<typeof OptimizerHookOptions>;

/**
 * Applies the gradients of each training iteration (MMCV `OptimizerHook`): optional clipping,
 * then one step of the optimizer, or of every named optimizer on its own parameters.
 */
@RegisterHook()
export class OptimizerHook extends Hook<BaseRunner> {
  readonly gradClip: { maxNorm: number; normType?: number } | null;
  readonly detectAnomalousParams: boolean;

  constructor(options: OptimizerHookOptions = {}) {
    super();
    const opts = parseOptions(OptimizerHookOptions, options, 'OptimizerHook');
    this.gradClip = opts.gradClip ?? null;
    this.detectAnomalousParams = opts.detectAnomalousParams ?? false;
  }

  override afterTrainIter(runner: BaseRunner): void {
    const outputs = runner.outputs;
    const grads = outputs?.grads;
    if (!outputs || !grads) throw new Error('the model step returned no gradients to apply');
    if (!runner.optimizer) throw new Error('the runner has no optimizer');
    if (this.detectAnomalousParams) this.reportParamsWithoutGrad(runner, grads);
    if (this.gradClip) {
      const norm = clipGradNorm(grads, this.gradClip);
      runner.logBuffer.update({ gradNorm: norm }, outputs.numSamples);
    }
    const opt = runner.optimizer;
    if (isSingleOptimizer(opt)) opt.step(grads);
    else for (const o of Object.values(opt)) o.step(grads);
    releaseOutputs(outputs);
  }

  private reportParamsWithoutGrad(runner: BaseRunner, grads: Map<string, unknown>): void {
    for (const [key, variable] of runner.model.params()) {
      if (!grads.has(key)) runner.logger.error(`${key} with shape ${JSON.stringify(variable.shape)} is not in the computational graph`);
    }
  }
}
