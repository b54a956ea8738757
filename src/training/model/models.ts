import * as tf from '../../backend/tfjs.js';
import { ConfigError } from '../../core/errors.js';
import { CUSTOM_IMPORTS_HINT, Registry } from '../../core/registry.js';
import { Classifier } from './classifier.js';
import type { TrainableModel } from './trainable-model.js';

/** Registry of model factories (`{ type: 'MLPClassifier', ... }`). */
export const MODELS = new Registry<TrainableModel<any>>('model', { unknownNameHint: CUSTOM_IMPORTS_HINT });

function positiveInts(value: unknown, path: string): number[] {
  if (!Array.isArray(value) || !value.every((v) => Number.isInteger(v) && v > 0)) {
    throw new ConfigError(path, `must be a list of positive integers; got ${JSON.stringify(value)}`);
  }
  return value as number[];
}

function seeded(seed: number, layer: number) {
  return tf.initializers.glorotUniform({ seed: seed * 101 + layer });
}

/** Options of {@link MLPClassifier}. */
export interface MLPClassifierOptions {
  inputShape?: number[];
  hiddenUnits?: number[];
  numClasses?: number;
  activation?: 'relu' | 'tanh' | 'sigmoid' | 'elu';
  /** Seed of the weight initialisation. */
  seed?: number;
}

/** A fully connected classifier: flatten, `hiddenUnits` dense layers, then logits. */
export function MLPClassifier(options: MLPClassifierOptions = {}): Classifier {
  const { inputShape = [784], hiddenUnits = [128], numClasses = 10, activation = 'relu', seed = 0 } = options;
  positiveInts(inputShape, 'model.inputShape');
  positiveInts(hiddenUnits, 'model.hiddenUnits');
  if (!Number.isInteger(numClasses) || numClasses < 2) throw new ConfigError('model.numClasses', `must be an integer >= 2; got ${numClasses}`);
  const allowed = ['relu', 'tanh', 'sigmoid', 'elu'];
  if (!allowed.includes(activation)) throw new ConfigError('model.activation', `must be one of ${allowed.join(', ')}; got ${JSON.stringify(activation)}`);
  const net = tf.sequential({ name: 'mlp' });
  if (inputShape.length > 1) net.add(tf.layers.flatten({ inputShape, name: 'flatten' }));
  hiddenUnits.forEach((units, i) => {
    net.add(tf.layers.dense({
      units, activation, name: `fc${i + 1}`, kernelInitializer: seeded(seed, i),
      ...(i === 0 && inputShape.length === 1 ? { inputShape } : {}),
    }));
  });
  net.add(tf.layers.dense({
    units: numClasses, name: 'logits', kernelInitializer: seeded(seed, hiddenUnits.length),
    ...(hiddenUnits.length === 0 && inputShape.length === 1 ? { inputShape } : {}),
  }));
  return new Classifier(net);
}

/** Options of {@link CNNClassifier}. */
export interface CNNClassifierOptions {
  inputShape?: number[];
  /** Filters of each conv layer (each followed by ReLU and max pooling). */
  filters?: number[];
  kernelSize?: number;
  poolSize?: number;
  hiddenUnits?: number[];
  numClasses?: number;
  seed?: number;
}

/** A small convolutional classifier: [conv → relu → maxpool]* → flatten → dense* → logits. */
export function CNNClassifier(options: CNNClassifierOptions = {}): Classifier {
  const { inputShape = [28, 28, 1], filters = [8], kernelSize = 3, poolSize = 2, hiddenUnits = [64], numClasses = 10, seed = 0 } = options;
  positiveInts(inputShape, 'model.inputShape');
  if (inputShape.length !== 3) throw new ConfigError('model.inputShape', `must be [height, width, channels]; got ${JSON.stringify(inputShape)}`);
  positiveInts(filters, 'model.filters');
  positiveInts(hiddenUnits, 'model.hiddenUnits');
  const net = tf.sequential({ name: 'cnn' });
  let layer = 0;
  filters.forEach((f, i) => {
    net.add(tf.layers.conv2d({
      filters: f, kernelSize, activation: 'relu', name: `conv${i + 1}`, kernelInitializer: seeded(seed, layer++),
      ...(i === 0 ? { inputShape } : {}),
    }));
    net.add(tf.layers.maxPooling2d({ poolSize, name: `pool${i + 1}` }));
  });
  net.add(tf.layers.flatten({ name: 'flatten' }));
  hiddenUnits.forEach((units, i) => {
    net.add(tf.layers.dense({ units, activation: 'relu', name: `fc${i + 1}`, kernelInitializer: seeded(seed, layer++) }));
  });
  net.add(tf.layers.dense({ units: numClasses, name: 'logits', kernelInitializer: seeded(seed, layer++) }));
  return new Classifier(net);
}

MODELS.register(MLPClassifier);
MODELS.register(CNNClassifier);
