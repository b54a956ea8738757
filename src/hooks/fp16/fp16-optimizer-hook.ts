import * as tf from '../../backend/tfjs.js';
import { z } from 'zod';
import type { HookResult } from '../../core/hook.js';
import { RegisterHook } from '../../core/hooks-registry.js';
import type { HookRunner } from '../../runner/hook-runner.js';
import { releaseOutputs } from '../../training/model/trainable-model.js';
import { OptimizerHook, OptimizerHookOptions, batchNormLayers, layerOf, optimizersOf } from '../optimizer-hook.js';
import { parseOptions } from '../../config/parse-options.js';
import { assignFloat16, roundFloat16Array } from './float16.js';
import { LossScaleOption, LossScaler, LossScalerState, hasInfOrNaN } from './loss-scaler.js';

/** Options of {@link Fp16OptimizerHook} (MMCV `Fp16OptimizerHook`). */
export const Fp16OptimizerHookOptions = OptimizerHookOptions.extend({
  /**
   * A number: a static scale (default 512). `'dynamic'`: a dynamic scale starting at 2^16,
   * halved on overflow, doubled after 2000 clean steps. An object: `{ initScale, scaleFactor,
   * scaleWindow, mode }` (mode default `'dynamic'`).
   */
  lossScale: LossScaleOption.optional(),
  /**
   * Average the binary16 gradients over the process group before the overflow check (when it
   * has several ranks), so every rank sees the same overflow and skips the same steps. Default
   * true; false leaves each rank with its own gradients.
   */
  distributed: z.boolean().optional(),
  /** Average in flat buckets of `bucketSizeMb` (true, default) or one all-reduce per gradient (false). */
  coalesce: z.boolean().optional(),
}).strict();
export type Fp16OptimizerHookOptions = z.input<typeof Fp16OptimizerHookOptions>;

const Fp16HookState = z.object({ lossScaler: LossScalerState }).strict();

/** One gradient read back from the device: binary16-rounded values, then averaged and unscaled in place. */
interface HostGrad {
  key: string;
  shape: number[];
  values: Float32Array;
}

/**
 * Mixed-precision training with loss scaling (MMCV `Fp16OptimizerHook`), emulated: tfjs has no
 * float16 tensors, so the hook emulates binary16 *storage*. The model's weights hold
 * binary16-rounded values (normalization layers stay fp32, as MMCV keeps them) while the hook
 * keeps fp32 master copies for the optimizer; the scaled gradients are rounded to binary16,
 * which is where overflow (±Infinity) and underflow happen. Forward and backward compute in fp32.
 *
 * Each iteration: the model multiplies its loss by the current scale (`model.lossScale`, set
 * before the step); the gradients are rounded to binary16; if any is ±Infinity or NaN the step
 * is skipped, else they are unscaled in fp32, clipped (`gradNorm` is the unscaled norm), the
 * optimizer steps on the fp32 masters and the model gets their binary16 rounding back. Then the
 * {@link LossScaler} updates and its state goes to `runner.meta.fp16.lossScaler` (restored from
 * there in `beforeRun`) and to {@link stateDict}. A static scale never changes, but a step with
 * non-finite gradients is still skipped.
 */
@RegisterHook()
export class Fp16OptimizerHook extends OptimizerHook {
  readonly distributed: boolean;
  readonly coalesce: boolean;
  readonly lossScaler: LossScaler;
  /** The model variables the optimizers step, each with its fp32 master value. */
  private masters: Array<{ variable: tf.Variable; master: tf.Variable }> = [];

  constructor(options: Fp16OptimizerHookOptions = {}) {
    const { lossScale = 512, distributed = true, coalesce = true, ...base } =
      parseOptions(Fp16OptimizerHookOptions, options, 'Fp16OptimizerHook');
    super(base);
    this.distributed = distributed;
    this.coalesce = coalesce;
    this.lossScaler = LossScaler.from(lossScale);
  }

  /**
   * Restores the scaler from `runner.meta.fp16.lossScaler` if present, keeps fp32 masters of
   * the optimized weights and rounds the model's weights (but batch normalization's) to binary16.
   */
  override beforeRun(runner: HookRunner): void {
    const saved = fp16Meta(runner)?.lossScaler;
    if (saved !== undefined) this.lossScaler.loadStateDict(saved);
    this.releaseMasters();
    const optimized = new Set(optimizersOf(runner).flatMap((opt) => opt.paramKeys()));
    const fp32Layers = batchNormLayers(runner.model);
    for (const [key, variable] of runner.model.namedWeights()) {
      if (fp32Layers.has(layerOf(key))) continue;
      if (optimized.has(key)) this.masters.push({ variable, master: tf.variable(variable, false) });
      assignFloat16(variable);
    }
  }

  override beforeTrainIter(runner: HookRunner): void {
    runner.model.lossScale = this.lossScaler.lossScale;
  }

  override afterTrainIter(runner: HookRunner): HookResult {
    const done = this.fp16Step(runner, this.iterationGrads(runner));
    releaseOutputs(runner.outputs);
    return done;
  }

  /** Frees the masters and sets the model's loss scale back to 1; the model keeps its binary16 weights. */
  override afterRun(runner: HookRunner): void {
    this.releaseMasters();
    runner.model.lossScale = 1;
  }

  /** The scaler's state (what `runner.meta.fp16.lossScaler` also holds). */
  override stateDict(): { lossScaler: LossScalerState } {
    return { lossScaler: this.lossScaler.stateDict() };
  }

  override loadStateDict(state: unknown): void {
    this.lossScaler.loadStateDict(parseOptions(Fp16HookState, state, this.hookId ?? this.constructor.name).lossScaler);
  }

  /** Declines: it averages its binary16 host gradients itself, in `fp16Step`. */
  override averageStep(): undefined {
    return undefined;
  }

  /**
   * One mixed-precision update from gradients of the scaled loss. Reads `scaledGrads` before
   * returning (the caller may dispose them right away); returns a promise only when the
   * gradients are all-reduced across ranks.
   */
  protected fp16Step(runner: HookRunner, scaledGrads: ReadonlyMap<string, tf.Tensor>): HookResult {
    const grads: HostGrad[] = [...scaledGrads].map(([key, g]) => ({ key, shape: g.shape, values: roundFloat16Array(g.dataSync() as Float32Array) }));
    if (this.distributed && runner.worldSize > 1) {
      // Bucket size 0 puts every gradient in a bucket of its own.
      return this.bucketsFor(runner, this.coalesce ? this.bucketSizeMb : 0).averageHost(grads).then(() => this.applyScaledGrads(runner, grads));
    }
    this.applyScaledGrads(runner, grads);
  }

  private applyScaledGrads(runner: HookRunner, grads: HostGrad[]): void {
    const overflow = hasInfOrNaN(grads.map((g) => g.values));
    if (!overflow) {
      const scale = this.lossScaler.lossScale;
      const unscaled = new Map(grads.map(({ key, shape, values }) => {
        for (let i = 0; i < values.length; i++) values[i] = values[i]! / scale;
        return [key, tf.tensor(values, shape, 'float32')];
      }));
      try {
        this.clipGrads(runner, unscaled);
        this.stepMasters(runner, unscaled);
      } finally {
        for (const g of unscaled.values()) g.dispose();
      }
    }
    this.lossScaler.updateScale(overflow);
    if (overflow) {
      const scale = this.lossScaler.lossScale;
      runner.logger.warn(this.lossScaler.scaleMode === 'dynamic'
        ? `Check overflow, downscale loss scale to ${scale}`
        : `Check overflow, skip this step (static loss scale ${scale})`);
    }
    if (runner.meta) runner.meta.fp16 = { ...fp16Meta(runner), lossScaler: this.lossScaler.stateDict() };
  }

  /** The optimizers step the fp32 masters (swapped into the model's variables); the model gets them back rounded. */
  private stepMasters(runner: HookRunner, grads: ReadonlyMap<string, tf.Tensor>): void {
    for (const { variable, master } of this.masters) variable.assign(master);
    this.stepOptimizers(runner, grads);
    for (const { variable, master } of this.masters) {
      master.assign(variable);
      assignFloat16(variable);
    }
  }

  private releaseMasters(): void {
    for (const { master } of this.masters) master.dispose();
    this.masters = [];
  }
}

/** `runner.meta.fp16` when it is an object. */
function fp16Meta(runner: HookRunner): Record<string, unknown> | undefined {
  const fp16 = runner.meta?.fp16;
  return fp16 !== null && typeof fp16 === 'object' && !Array.isArray(fp16) ? fp16 as Record<string, unknown> : undefined;
}
