import type * as tf from '../../backend/tfjs.js';

/**
 * What a model's step returns (MMCV's `train_step` outputs): the loss, named gradients for
 * the optimizer hook, the scalars to log and the number of samples they average over.
 */
export interface StepOutputs {
  /** The (unscaled) loss of the batch. */
  loss: number;
  logVars: Record<string, number>;
  numSamples: number;
  /** Gradients by parameter key; hooks that consume them delete or dispose them. */
  grads?: Map<string, tf.Tensor>;
  [key: string]: unknown;
}

/** The model contract the runners drive. */
export interface TrainableModel<B = unknown> {
  /** Forward + backward on one batch, in training mode. */
  trainStep(batch: B): StepOutputs;
  /** Forward on one batch, in inference mode; no gradients. */
  valStep(batch: B): StepOutputs;
  /** Switch to training mode (dropout on, batch-norm statistics updated). */
  train(): void;
  /** Switch to inference mode. */
  eval(): void;
  /** Trainable parameters by key (`layerName/weightName`). */
  params(): Map<string, tf.Variable>;
  /** All weights, trainable or not (batch-norm moving statistics included), by key. */
  namedWeights(): Map<string, tf.Variable>;
  /** Multiplier applied to the loss before differentiation (loss scaling); 1 by default. */
  lossScale: number;
  /** The tfjs LayersModel behind the model, if any: checkpoints store its topology for `tf.loadLayersModel`. */
  readonly net?: tf.LayersModel;
}

/** Frees the gradients left in `outputs` by hooks that did not consume them. */
export function releaseOutputs(outputs: StepOutputs | undefined): void {
  if (!outputs?.grads) return;
  for (const g of outputs.grads.values()) g.dispose();
  outputs.grads = undefined;
}
