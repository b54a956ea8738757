import { ConfigError } from '../../core/errors.js';
import { DATASETS, type ArrayDataset } from './dataset.js';
import { SeededRandom } from './rng.js';

/** Options of {@link Synthetic}. */
export interface SyntheticOptions {
  numSamples?: number;
  inputShape?: number[];
  numClasses?: number;
  seed?: number;
  /** Distance between class centres relative to the noise; larger is easier. */
  separation?: number;
}

/**
 * A learnable toy dataset: each class is a Gaussian blob around its own random centre.
 * Deterministic for a given seed.
 */
export class Synthetic implements ArrayDataset {
  readonly length: number;
  readonly sampleShape: readonly number[];
  readonly numClasses: number;
  readonly features: Float32Array;
  readonly labels: Int32Array;

  constructor(options: SyntheticOptions = {}) {
    const { numSamples = 256, inputShape = [8], numClasses = 2, seed = 0, separation = 3 } = options;
    if (!Number.isInteger(numSamples) || numSamples <= 0) throw new ConfigError('numSamples', `must be a positive integer; got ${numSamples}`);
    if (!Array.isArray(inputShape) || inputShape.length === 0 || !inputShape.every((d) => Number.isInteger(d) && d > 0)) {
      throw new ConfigError('inputShape', `must be a non-empty list of positive integers; got ${JSON.stringify(inputShape)}`);
    }
    if (!Number.isInteger(numClasses) || numClasses < 2) throw new ConfigError('numClasses', `must be an integer >= 2; got ${numClasses}`);
    // Anything else would silently give NaN features (separation) or seed 0's data (seed).
    if (!Number.isInteger(seed)) throw new ConfigError('seed', `must be an integer; got ${JSON.stringify(seed)}`);
    if (!(typeof separation === 'number' && Number.isFinite(separation) && separation > 0)) {
      throw new ConfigError('separation', `must be a finite number > 0; got ${JSON.stringify(separation)}`);
    }
    this.length = numSamples;
    this.sampleShape = [...inputShape];
    this.numClasses = numClasses;
    const dim = inputShape.reduce((a, b) => a * b, 1);
    const rng = new SeededRandom(seed);
    const centres = Array.from({ length: numClasses }, () => Float32Array.from({ length: dim }, () => rng.normal() * separation / Math.sqrt(dim) * 2));
    this.features = new Float32Array(numSamples * dim);
    this.labels = new Int32Array(numSamples);
    for (let i = 0; i < numSamples; i++) {
      const label = i % numClasses;
      this.labels[i] = label;
      const centre = centres[label]!;
      for (let j = 0; j < dim; j++) this.features[i * dim + j] = centre[j]! + rng.normal() * 0.5;
    }
  }
}

DATASETS.register(Synthetic);
