import type * as tf from '../backend/tfjs.js';
import { z } from 'zod';
import { Hook, type HookResult } from '../core/hook.js';
import { RegisterHook } from '../core/hooks-registry.js';
import type { PayloadReplay } from '../replay/payload-replay.js';
import type { HookRunner, RecordedRunner } from '../runner/hook-runner.js';
import { isSingleOptimizer } from '../training/optim/build-optimizer.js';
import { clipGradNorm } from '../training/optim/clip-grad.js';
import { DEFAULT_BUCKET_SIZE_MB, GradientBuckets } from '../training/optim/gradient-buckets.js';
import type { ParamGroupOptimizer } from '../training/optim/param-group-optimizer.js';
import { releaseOutputs, type StepOutputs, type TrainableModel } from '../training/model/trainable-model.js';
import { PackedLogVars, type ReducedLogVars } from '../dist/collective-agreement.js';
import type { StepAverager } from '../runner/step-averager.js';
import { parseOptions } from '../config/parse-options.js';

/** Options of {@link OptimizerHook} (MMCV `optimizer_config`). */
export const OptimizerHookOptions = z.object({
  /** Clip gradients by global norm before the step; the pre-clip norm is logged as `gradNorm`. */
  gradClip: z.object({ maxNorm: z.number().positive(), normType: z.number().positive().optional() }).strict().nullish(),
  /** Log parameters that received no gradient (not in the loss's graph). */
  detectAnomalousParams: z.boolean().optional(),
  /**
   * With several ranks, gradients are averaged in flat buckets of at most this many MB, one
   * all-reduce each (PyTorch DDP's `bucket_cap_mb`); -1: one bucket. Default 25.
   */
  bucketSizeMb: z.number().refine((v) => v === -1 || (Number.isFinite(v) && v >= 0), 'must be -1 (one bucket) or a number >= 0').optional(),
}).strict();
export type OptimizerHookOptions = z.input<typeof OptimizerHookOptions>;

/**
 * Applies the gradients of each training iteration (MMCV `OptimizerHook`): with several ranks
 * they are first averaged across the process group (what MMCV's DistributedDataParallel
 * wrapper does during backward), then optionally clipped, then one step of the optimizer, or of
 * every named optimizer on its own parameters. Subclasses (accumulation, loss scaling) reuse
 * {@link iterationGrads}, {@link averageGrads}, {@link clipGrads} and {@link stepOptimizers}.
 */
@RegisterHook()
export class OptimizerHook extends Hook<HookRunner> implements StepAverager {
  /** In a journal replay, the recorded `gradNorm` goes back into the log buffer. */
  static readonly payloadReplay: PayloadReplay = {
    keys: ['gradNorm'],
    apply(runner, event) {
      const gradNorm = event.payload?.gradNorm;
      if (typeof gradNorm === 'number') logGradNorm(runner, gradNorm);
    },
  };

  readonly gradClip: { maxNorm: number; normType?: number } | null;
  readonly detectAnomalousParams: boolean;
  readonly bucketSizeMb: number;
  /** Created at the first multi-rank step, for the runner's group. */
  protected buckets: GradientBuckets | undefined;
  /** The outputs whose gradients {@link averageStep} averaged (so `afterTrainIter` does not again). */
  private averagedStep: StepOutputs | undefined;

  constructor(options: OptimizerHookOptions = {}) {
    super();
    const opts = parseOptions(OptimizerHookOptions, options, 'OptimizerHook');
    this.gradClip = opts.gradClip ?? null;
    this.detectAnomalousParams = opts.detectAnomalousParams ?? false;
    this.bucketSizeMb = opts.bucketSizeMb ?? DEFAULT_BUCKET_SIZE_MB;
  }

  /**
   * {@link StepAverager}: with several ranks the runner calls this right after each training
   * step's model step; the step's gradients are averaged (where DDP averages them, during
   * backward) with the log vars riding in the last bucket, so `afterTrainIter` only clips and
   * steps. Subclasses that average elsewhere (accumulation windows, fp16 host gradients) decline.
   */
  averageStep(runner: HookRunner, outputs: StepOutputs): Promise<ReducedLogVars> | undefined {
    const grads = outputs.grads;
    if (!grads) return undefined;
    const packed = new PackedLogVars(outputs.logVars, outputs.numSamples);
    this.averagedStep = outputs;
    return this.bucketsFor(runner).averageTensors(grads, packed.values).then(() => packed.readBack(runner.worldSize));
  }

  override afterTrainIter(runner: HookRunner): HookResult {
    const grads = this.iterationGrads(runner);
    const averagedInStep = this.averagedStep !== undefined && this.averagedStep === runner.outputs;
    this.averagedStep = undefined;
    const averaging = averagedInStep ? undefined : this.averageGrads(runner, grads);
    if (averaging) return averaging.then(() => this.applyGrads(runner, grads));
    this.applyGrads(runner, grads);
  }

  private applyGrads(runner: HookRunner, grads: Map<string, tf.Tensor>): void {
    this.clipGrads(runner, grads);
    this.stepOptimizers(runner, grads);
    releaseOutputs(runner.outputs);
  }

  /**
   * With several ranks, replaces the tensors of `grads` by their averages over the process
   * group (disposing the old ones) and returns the promise of it; with one rank, does nothing
   * and returns undefined, so a single process neither allocates buckets nor awaits.
   */
  protected averageGrads(runner: HookRunner, grads: Map<string, tf.Tensor>): Promise<void> | undefined {
    if (runner.worldSize <= 1) return undefined;
    return this.bucketsFor(runner).averageTensors(grads);
  }

  /** The gradient buckets of the runner's process group (created once, reused every step). */
  protected bucketsFor(runner: HookRunner, bucketSizeMb = this.bucketSizeMb): GradientBuckets {
    if (this.buckets?.group !== runner.processGroup || this.buckets.bucketSizeMb !== bucketSizeMb) {
      this.buckets = new GradientBuckets(runner.processGroup, bucketSizeMb);
    }
    return this.buckets;
  }

  /**
   * The gradients of the model step that just ran (`runner.outputs.grads`, still owned by the
   * outputs), after checking that there is something to apply them to and, when
   * `detectAnomalousParams` is on, reporting the parameters that got none.
   */
  protected iterationGrads(runner: HookRunner): Map<string, tf.Tensor> {
    const grads = runner.outputs?.grads;
    if (!grads) throw new Error('the model step returned no gradients to apply');
    if (!runner.optimizer) throw new Error('the runner has no optimizer');
    if (this.detectAnomalousParams) this.reportParamsWithoutGrad(runner, grads);
    return grads;
  }

  /**
   * With `gradClip`, clips `grads` by global norm (replacing the map's tensors) and logs the
   * pre-clip norm as `gradNorm`, weighted by the iteration's sample count, and puts it on the
   * stage event (so the journal, and a replay of it, have every logged value).
   */
  protected clipGrads(runner: HookRunner, grads: Map<string, tf.Tensor>): void {
    if (!this.gradClip) return;
    const norm = clipGradNorm(grads, this.gradClip);
    logGradNorm(runner, norm);
    runner.annotate({ gradNorm: norm });
  }

  /** One step of the optimizer, or of each named optimizer, with `grads`. */
  protected stepOptimizers(runner: HookRunner, grads: ReadonlyMap<string, tf.Tensor>): void {
    for (const opt of optimizersOf(runner)) opt.step(grads);
  }

  private reportParamsWithoutGrad(runner: HookRunner, grads: Map<string, unknown>): void {
    for (const [key, variable] of runner.model.params()) {
      if (!grads.has(key)) runner.logger.error(`${key} with shape ${JSON.stringify(variable.shape)} is not in the computational graph`);
    }
  }
}

/** The runner's optimizers as a list (one, or each of the named ones). */
export function optimizersOf(runner: HookRunner): ParamGroupOptimizer[] {
  const opt = runner.optimizer;
  if (!opt) throw new Error('the runner has no optimizer');
  return isSingleOptimizer(opt) ? [opt] : Object.values(opt);
}

/**
 * Layers of `model` that are batch normalizations (the layer part of the keys of their
 * `moving_mean` weights). Gradient accumulation warns about them; fp16 keeps them in fp32.
 */
export function batchNormLayers(model: TrainableModel): Set<string> {
  const layers = new Set<string>();
  for (const key of model.namedWeights().keys()) {
    if (key.endsWith('/moving_mean')) layers.add(layerOf(key));
  }
  return layers;
}

/** The layer part of a weight key (`layerName/weightName`). */
export function layerOf(key: string): string {
  return key.slice(0, key.lastIndexOf('/'));
}

/** The pre-clip gradient norm is logged weighted by the iteration's sample count, as the log vars are. */
function logGradNorm(runner: RecordedRunner, gradNorm: number): void {
  runner.logBuffer.update({ gradNorm }, runner.outputs?.numSamples ?? 1);
}
