import * as tf from '../backend/tfjs.js';
import { z } from 'zod';
import type { Hook, HookResult } from '../core/hook.js';
import { RegisterHook } from '../core/hooks-registry.js';
import type { HookRunner } from '../runner/hook-runner.js';
import { releaseOutputs } from '../training/model/trainable-model.js';
import { float16Tensor } from './fp16/float16.js';
import { OptimizerHook, OptimizerHookOptions, batchNormLayers } from './optimizer-hook.js';
import { mustBe, parseOptions } from '../config/parse-options.js';

const positiveInt = mustBe('a positive integer');

/** The option gradient accumulation adds to an optimizer hook's. */
export const CumulativeItersOption = {
  /** Iterations whose gradients are summed into one optimizer step. Default 1. */
  cumulativeIters: z.number(positiveInt).int(positiveInt).positive(positiveInt).optional(),
};

/** Options of {@link GradientCumulativeOptimizerHook}. */
export const GradientCumulativeOptimizerHookOptions = OptimizerHookOptions.extend(CumulativeItersOption).strict();
export type GradientCumulativeOptimizerHookOptions = z.input<typeof GradientCumulativeOptimizerHookOptions>;

/**
 * MMCV's loss factor of (global) iteration `iter`: `cumulativeIters`, except in the last
 * `maxIters % cumulativeIters` iterations, which do not fill a window and are divided by their
 * own count.
 */
export function cumulativeLossFactor(iter: number, maxIters: number, cumulativeIters: number): number {
  const remainderIters = maxIters % cumulativeIters;
  return iter < maxIters - remainderIters ? cumulativeIters : remainderIters;
}

/**
 * The gradient sums of one accumulation window (MMCV's accumulation in `param.grad`), in
 * variables created on first use and reused, so the tensor count stays flat. Each iteration
 * adds its gradients divided by the loss factor, which equals back-propagating
 * `loss / factor`. With `float16`, every contribution and every partial sum is rounded to
 * binary16, as accumulating into a half-precision `.grad` does.
 */
export class GradientAccumulation {
  private readonly sums = new Map<string, tf.Variable>();
  /** Keys that received a gradient in the current window. */
  private readonly filled = new Set<string>();
  private maxIters: number | undefined;

  constructor(readonly cumulativeIters: number, private readonly float16 = false) {}

  /**
   * Adds the gradients of the current iteration; true when the window is complete (every
   * `cumulativeIters` global iterations, or the last iteration), so the optimizer steps now.
   * The first call checks the run as MMCV's lazy init does and warns about a resume in the
   * middle of a window and about batch normalization.
   */
  add(hook: Hook<HookRunner>, runner: HookRunner, grads: ReadonlyMap<string, tf.Tensor>): boolean {
    const maxIters = this.maxIters ?? this.init(runner);
    const c = this.cumulativeIters;
    const factor = cumulativeLossFactor(runner.iter, maxIters, c);
    if (factor !== c) {
      runner.logger.warn(`Loss will be divided by ${factor} in the last ${factor} iterations because they are not enough for ${c} cumulativeIters.`);
    }
    for (const [key, grad] of grads) this.accumulate(key, grad, factor);
    return hook.everyNIters(runner, c) || hook.isLastIter(runner);
  }

  /** The window's sums (new tensors the caller disposes); the next {@link add} starts a new window. */
  take(): Map<string, tf.Tensor> {
    const out = new Map([...this.filled].map((key) => [key, this.sums.get(key)!.clone()]));
    this.filled.clear();
    return out;
  }

  /** Frees the sums and forgets the run (the next {@link add} initialises again). */
  dispose(): void {
    for (const v of this.sums.values()) v.dispose();
    this.sums.clear();
    this.filled.clear();
    this.maxIters = undefined;
  }

  private init(runner: HookRunner): number {
    const maxIters = runner.maxIters;
    if (maxIters === undefined) throw new Error('gradient accumulation needs runner.maxIters');
    if (runner.iter % this.cumulativeIters !== 0) {
      runner.logger.warn('Resume iter number is not divisible by cumulativeIters in GradientCumulativeOptimizerHook, '
        + 'which means the gradient of some iters is lost and the result may be influenced slightly.');
    }
    if (this.cumulativeIters > 1 && batchNormLayers(runner.model).size > 0) {
      runner.logger.warn('GradientCumulativeOptimizerHook may slightly decrease performance if the model has BatchNorm layers.');
    }
    this.maxIters = maxIters;
    return maxIters;
  }

  private accumulate(key: string, grad: tf.Tensor, factor: number): void {
    tf.tidy(() => {
      const scaled = factor === 1 ? grad : grad.div(factor);
      const part = this.float16 ? float16Tensor(scaled) : scaled;
      const sum = this.sums.get(key);
      if (!sum) this.sums.set(key, tf.variable(part, false));
      else if (!this.filled.has(key)) sum.assign(part);
      else sum.assign(this.float16 ? float16Tensor(sum.add(part)) : sum.add(part));
      this.filled.add(key);
    });
  }
}

/**
 * Accumulates gradients over `cumulativeIters` iterations before each optimizer step (MMCV
 * `GradientCumulativeOptimizerHook`): a batch of B with `cumulativeIters: k` trains like a
 * batch of k·B. Windows follow the global iteration counter, so they may straddle epochs; the
 * last `maxIters % cumulativeIters` iterations form a shorter window of their own. The partial
 * sums are not checkpointed: resuming in the middle of a window loses that window's earlier
 * gradients (with MMCV's warning). With several ranks the sums are averaged across ranks once
 * per window, on the iteration that steps (MMCV's DDP all-reduces after every backward).
 */
@RegisterHook()
export class GradientCumulativeOptimizerHook extends OptimizerHook {
  readonly cumulativeIters: number;
  private readonly accumulation: GradientAccumulation;

  constructor(options: GradientCumulativeOptimizerHookOptions = {}) {
    const { cumulativeIters = 1, ...base } = parseOptions(GradientCumulativeOptimizerHookOptions, options, 'GradientCumulativeOptimizerHook');
    super(base);
    this.cumulativeIters = cumulativeIters;
    this.accumulation = new GradientAccumulation(cumulativeIters);
  }

  /** Declines: the window's sums are averaged once, on the iteration that steps, not in every model step. */
  override averageStep(): undefined {
    return undefined;
  }

  /** Accumulates; on the iterations that step, averages the window's sums across ranks (only then), clips and steps. */
  override afterTrainIter(runner: HookRunner): HookResult {
    const stepNow = this.accumulation.add(this, runner, this.iterationGrads(runner));
    releaseOutputs(runner.outputs);
    if (!stepNow) return;
    const grads = this.accumulation.take();
    const step = () => {
      try {
        this.clipGrads(runner, grads);
        this.stepOptimizers(runner, grads);
      } finally {
        for (const g of grads.values()) g.dispose();
      }
    };
    const averaging = this.averageGrads(runner, grads);
    if (!averaging) return step();
    return averaging.then(step, (error) => {
      for (const g of grads.values()) g.dispose();
      throw error;
    });
  }

  override afterRun(_runner: HookRunner): void {
    this.accumulation.dispose();
  }
}
