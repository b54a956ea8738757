import { softmaxCrossEntropy } from '../../backend/kernels/softmax-cross-entropy.js';
import * as tf from '../../backend/tfjs.js';
import type { DataBatch } from '../data/data-loader.js';
import type { StepOutputs, TrainableModel } from './trainable-model.js';

/** Key of a layer weight: `layerName/weightName`, stable across model instances. */
export function weightKey(w: tf.LayerVariable): string {
  return w.originalName;
}

/**
 * A softmax classifier over a tfjs LayersModel that outputs logits. Its train step computes
 * cross-entropy loss (the fused kernels of softmax-cross-entropy.ts where the backend has them),
 * accuracy and the gradients of every trainable weight.
 */
export class Classifier implements TrainableModel<DataBatch> {
  lossScale = 1;
  training = true;
  private trainable: tf.Variable[] | undefined;
  private varToKey: Map<string, string> | undefined;

  constructor(readonly net: tf.LayersModel) {}

  train(): void {
    this.training = true;
  }

  eval(): void {
    this.training = false;
  }

  params(): Map<string, tf.Variable> {
    return new Map(this.net.trainableWeights.map((w) => [weightKey(w), w.read() as tf.Variable]));
  }

  namedWeights(): Map<string, tf.Variable> {
    return new Map(this.net.weights.map((w) => [weightKey(w), w.read() as tf.Variable]));
  }

  /** Logits for `x` (kept: the caller disposes). */
  forward(x: tf.Tensor, training = false): tf.Tensor {
    return this.net.apply(x, { training }) as tf.Tensor;
  }

  trainStep(batch: DataBatch): StepOutputs {
    if (!this.trainable) {
      this.trainable = this.net.trainableWeights.map((w) => w.read() as tf.Variable);
      this.varToKey = new Map(this.net.trainableWeights.map((w) => [(w.read() as tf.Variable).name, weightKey(w)]));
    }
    const scale = this.lossScale;
    let logits: tf.Tensor | undefined;
    let loss: tf.Scalar | undefined;
    const { value, grads } = tf.variableGrads(() => {
      logits = tf.keep(this.forward(batch.x, true));
      const l = softmaxCrossEntropy(batch.y, logits);
      loss = tf.keep(l);
      return scale === 1 ? l : (l.mul(scale) as tf.Scalar);
    }, this.trainable);
    const lossValue = takeScalar(loss!);
    const acc = takeAccuracy(logits!, batch);
    value.dispose();
    const named = new Map<string, tf.Tensor>();
    for (const [name, g] of Object.entries(grads)) named.set(this.varToKey!.get(name) ?? name, g);
    return { loss: lossValue, logVars: { loss: lossValue, accuracy: acc }, numSamples: batch.size, grads: named };
  }

  valStep(batch: DataBatch): StepOutputs {
    const logits = tf.tidy(() => this.forward(batch.x, false));
    const lossValue = takeScalar(tf.tidy(() => softmaxCrossEntropy(batch.y, logits)));
    const acc = takeAccuracy(logits, batch);
    return { loss: lossValue, logVars: { loss: lossValue, accuracy: acc }, numSamples: batch.size };
  }
}

/** Fraction of rows whose arg-max matches the one-hot target. */
export function accuracyOf(logits: tf.Tensor, oneHot: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.equal(tf.argMax(logits, -1), tf.argMax(oneHot, -1)).toFloat().mean() as tf.Scalar);
}

/**
 * Fraction of rows of `logits` ([n, classes] values, row-major) whose first arg-max is the
 * label, computed in JS: reading 64x10 logits costs less than the five kernels of
 * {@link accuracyOf} plus a stack for one device sync.
 */
export function accuracyOfValues(logits: ArrayLike<number>, numClasses: number, labels: ArrayLike<number>): number {
  let correct = 0;
  for (let row = 0; row < labels.length; row++) {
    const base = row * numClasses;
    let best = 0;
    for (let c = 1; c < numClasses; c++) if (logits[base + c]! > logits[base + best]!) best = c;
    if (best === labels[row]) correct++;
  }
  return labels.length === 0 ? NaN : correct / labels.length;
}

/** The accuracy of `logits` on `batch` (from its integer labels when it has them); disposes `logits`. */
function takeAccuracy(logits: tf.Tensor, batch: DataBatch): number {
  try {
    if (!batch.labels || logits.rank !== 2) return takeScalar(accuracyOf(logits, batch.y));
    return accuracyOfValues(logits.dataSync(), logits.shape[1]!, batch.labels);
  } finally {
    logits.dispose();
  }
}

/** Reads and disposes a scalar tensor. */
function takeScalar(scalar: tf.Scalar): number {
  const value = scalar.dataSync()[0]!;
  scalar.dispose();
  return value;
}
