import { z } from 'zod';
import type { HookResult } from '../../core/hook.js';
import { RegisterHook } from '../../core/hooks-registry.js';
import type { HookRunner } from '../../runner/hook-runner.js';
import { releaseOutputs } from '../../training/model/trainable-model.js';
import { CumulativeItersOption, GradientAccumulation } from '../gradient-cumulative-optimizer-hook.js';
import { parseOptions } from '../../config/parse-options.js';
import { Fp16OptimizerHook, Fp16OptimizerHookOptions } from './fp16-optimizer-hook.js';

/** Options of {@link GradientCumulativeFp16OptimizerHook}: the fp16 ones plus `cumulativeIters`. */
export const GradientCumulativeFp16OptimizerHookOptions = Fp16OptimizerHookOptions.extend(CumulativeItersOption).strict();
export type GradientCumulativeFp16OptimizerHookOptions = z.input<typeof GradientCumulativeFp16OptimizerHookOptions>;

/**
 * Gradient accumulation with fp16 loss scaling (MMCV `GradientCumulativeFp16OptimizerHook`):
 * the scaled gradients of `cumulativeIters` iterations are summed in binary16 (each divided by
 * the loss factor of {@link GradientCumulativeOptimizerHook}), and the window's sum goes
 * through the fp16 step of {@link Fp16OptimizerHook}. The loss scale only changes on those
 * stepping iterations, so it is the same for every iteration of a window.
 */
@RegisterHook()
export class GradientCumulativeFp16OptimizerHook extends Fp16OptimizerHook {
  readonly cumulativeIters: number;
  private readonly accumulation: GradientAccumulation;

  constructor(options: GradientCumulativeFp16OptimizerHookOptions = {}) {
    const { cumulativeIters = 1, ...fp16 } = parseOptions(GradientCumulativeFp16OptimizerHookOptions, options, 'GradientCumulativeFp16OptimizerHook');
    super(fp16);
    this.cumulativeIters = cumulativeIters;
    this.accumulation = new GradientAccumulation(cumulativeIters, true);
  }

  override afterTrainIter(runner: HookRunner): HookResult {
    const stepNow = this.accumulation.add(this, runner, this.iterationGrads(runner));
    releaseOutputs(runner.outputs);
    if (!stepNow) return;
    const sums = this.accumulation.take();
    try {
      return this.fp16Step(runner, sums);
    } finally {
      for (const g of sums.values()) g.dispose();
    }
  }

  override afterRun(runner: HookRunner): void {
    super.afterRun(runner);
    this.accumulation.dispose();
  }
}
