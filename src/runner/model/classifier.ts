import * as tf from '../../backend/tfjs.js';
import type { DataBatch } from '../data/data-loader.js';
import type { StepOutputs, TrainableModel } from './trainable-model.js';

/** Key of a layer weight: `layerName/weightName`, stable across model instances. */
export function weightKey(w: tf.LayerVariable): string {
  return w.originalName;
}

/**
 * A softmax classifier over a tfjs LayersModel that outputs logits. Its train step computes
 * cross-entropy loss, accuracy and the gradients of every trainable weight.
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
    let accuracy: tf.Scalar | undefined;
    let loss: tf.Scalar | undefined;
    const { value, grads } = tf.variableGrads(() => {
      const logits = this.forward(batch.x, true);
      const l = tf.losses.softmaxCrossEntropy(batch.y, logits) as tf.Scalar;
      loss = tf.keep(l);
      accuracy = tf.keep(accuracyOf(logits, batch.y));
      return scale === 1 ? l : (l.mul(scale) as tf.Scalar);
    }, this.trainable);
    const [lossValue, acc] = readScalars(loss!, accuracy!);
    value.dispose();
    const named = new Map<string, tf.Tensor>();
    for (const [name, g] of Object.entries(grads)) named.set(this.varToKey!.get(name) ?? name, g);
    return { loss: lossValue, logVars: { loss: lossValue, accuracy: acc }, numSamples: batch.size, grads: named };
  }

  valStep(batch: DataBatch): StepOutputs {
    const [lossValue, acc] = tf.tidy(() => {
      const logits = this.forward(batch.x, false);
      return readScalars(tf.losses.softmaxCrossEntropy(batch.y, logits) as tf.Scalar, accuracyOf(logits, batch.y));
    });
    return { loss: lossValue, logVars: { loss: lossValue, accuracy: acc }, numSamples: batch.size };
  }
}

/** Fraction of rows whose arg-max matches the one-hot target. */
export function accuracyOf(logits: tf.Tensor, oneHot: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.equal(tf.argMax(logits, -1), tf.argMax(oneHot, -1)).toFloat().mean() as tf.Scalar);
}

/** Reads and disposes scalar tensors in one device sync. */
function readScalars(...scalars: tf.Scalar[]): number[] {
  const stacked = tf.stack(scalars);
  const values = Array.from(stacked.dataSync());
  stacked.dispose();
  scalars.forEach((s) => s.dispose());
  return values;
}
