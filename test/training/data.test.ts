import crypto from 'node:crypto';
import * as tf from '../../src/backend/tfjs.js';
import { expect } from 'chai';
import { ConfigError } from '../../src/core/errors.js';
import { DataLoader, type DataBatch } from '../../src/training/data/data-loader.js';
import type { ArrayDataset } from '../../src/training/data/dataset.js';
import { MNIST } from '../../src/training/data/mnist.js';
import { Synthetic } from '../../src/training/data/synthetic.js';

/** Sample i has features [i, -i] and label i % 3, so batches reveal which samples they hold. */
function indexDataset(length: number): ArrayDataset {
  const features = new Float32Array(length * 2);
  const labels = new Int32Array(length);
  for (let i = 0; i < length; i++) {
    features[2 * i] = i;
    features[2 * i + 1] = -i;
    labels[i] = i % 3;
  }
  return { length, sampleShape: [2], numClasses: 3, features, labels };
}

/** The sample indices of one pass over an {@link indexDataset} loader, batch by batch. */
function pass(loader: DataLoader): number[][] {
  const out: number[][] = [];
  for (const batch of loader) {
    out.push(Array.from(batch.x.dataSync()).filter((_, k) => k % 2 === 0));
    batch.dispose();
  }
  return out;
}

function sha1Rows(ds: ArrayDataset): string[] {
  const dim = ds.features.length / ds.length;
  const bytes = Buffer.from(ds.features.buffer, ds.features.byteOffset, ds.features.byteLength);
  return Array.from({ length: ds.length }, (_, i) => crypto.createHash('sha1').update(bytes.subarray(i * dim * 4, (i + 1) * dim * 4)).digest('hex'));
}

describe('DataLoader', () => {
  it('has ceil(n / batch) batches, floor with dropLast', () => {
    const ds = indexDataset(10);
    expect(new DataLoader(ds, { batchSize: 4 }).length).to.equal(3);
    expect(new DataLoader(ds, { batchSize: 4, dropLast: true }).length).to.equal(2);
    expect(new DataLoader(ds, { batchSize: 5 }).length).to.equal(2);
    expect(new DataLoader(ds, { batchSize: 5, dropLast: true }).length).to.equal(2);
    expect(new DataLoader(ds, { batchSize: 32 }).length).to.equal(1);
    expect(pass(new DataLoader(ds, { batchSize: 4 })).map((b) => b.length)).to.deep.equal([4, 4, 2]);
    expect(pass(new DataLoader(ds, { batchSize: 4, dropLast: true })).map((b) => b.length)).to.deep.equal([4, 4]);
  });

  it('yields the samples in order without shuffle, with one-hot targets and labels', () => {
    const ds = indexDataset(5);
    const batches: DataBatch[] = [...new DataLoader(ds, { batchSize: 3 })];
    try {
      expect(batches.map((b) => b.size)).to.deep.equal([3, 2]);
      expect(batches[0]!.x.shape).to.deep.equal([3, 2]);
      expect(batches[0]!.x.dtype).to.equal('float32');
      expect(Array.from(batches[0]!.x.dataSync())).to.deep.equal([0, -0, 1, -1, 2, -2]);
      expect(Array.from(batches[1]!.x.dataSync())).to.deep.equal([3, -3, 4, -4]);
      expect(Array.from(batches[0]!.labels)).to.deep.equal([0, 1, 2]);
      expect(Array.from(batches[1]!.labels)).to.deep.equal([0, 1]);
      expect(batches[1]!.y.shape).to.deep.equal([2, 3]);
      expect(batches[1]!.y.dtype).to.equal('float32');
      expect(batches[1]!.y.arraySync()).to.deep.equal([[1, 0, 0], [0, 1, 0]]);
    } finally {
      batches.forEach((b) => b.dispose());
    }
  });

  it('shuffles into a permutation that differs per epoch and repeats for the same seed and epoch', () => {
    const ds = indexDataset(20);
    const loader = new DataLoader(ds, { batchSize: 6, shuffle: true, seed: 3 });
    const epoch0 = pass(loader);
    expect(epoch0.map((b) => b.length)).to.deep.equal([6, 6, 6, 2]);
    const flat0 = epoch0.flat();
    expect([...flat0].sort((a, b) => a - b)).to.deep.equal(Array.from({ length: 20 }, (_, i) => i));
    expect(flat0).to.not.deep.equal(Array.from({ length: 20 }, (_, i) => i));
    // The same epoch again, and another loader with the same seed: the same order.
    expect(pass(loader).flat()).to.deep.equal(flat0);
    expect(pass(new DataLoader(ds, { batchSize: 6, shuffle: true, seed: 3 })).flat()).to.deep.equal(flat0);
    // Labels travel with their samples.
    const [batch] = new DataLoader(ds, { batchSize: 20, shuffle: true, seed: 3 });
    expect(Array.from(batch!.labels)).to.deep.equal(flat0.map((i) => i % 3));
    batch!.dispose();

    loader.sampler.setEpoch(1);
    const flat1 = pass(loader).flat();
    expect([...flat1].sort((a, b) => a - b)).to.deep.equal([...flat0].sort((a, b) => a - b));
    expect(flat1).to.not.deep.equal(flat0);
    loader.sampler.setEpoch(0);
    expect(pass(loader).flat()).to.deep.equal(flat0);
    expect(pass(new DataLoader(ds, { batchSize: 6, shuffle: true, seed: 4 })).flat()).to.not.deep.equal(flat0);
  });

  it('ignores the epoch when not shuffling', () => {
    const loader = new DataLoader(indexDataset(7), { batchSize: 7 });
    loader.sampler.setEpoch(5);
    expect(pass(loader)).to.deep.equal([[0, 1, 2, 3, 4, 5, 6]]);
    expect(Array.from(loader.sampler.order())).to.deep.equal([0, 1, 2, 3, 4, 5, 6]);
  });

  it('rejects a bad batch size, and dropLast that leaves no batch', () => {
    const ds = indexDataset(3);
    for (const bad of [0, -1, 2.5]) {
      expect(() => new DataLoader(ds, { batchSize: bad })).to.throw(ConfigError).with.property('message', `batchSize: must be a positive integer; got ${bad}`);
    }
    expect(() => new DataLoader(ds, { batchSize: 4, dropLast: true })).to.throw(ConfigError)
      .with.property('message', 'dropLast: with batchSize 4 the dataset of 3 samples yields no batch');
  });

  it('gives every batch values of its own, though the host arrays are reused between batches on wasm', () => {
    const ds = indexDataset(11);
    const loader = new DataLoader(ds, { batchSize: 4, shuffle: true, seed: 1 });
    const held: DataBatch[] = [];
    try {
      for (let epoch = 0; epoch < 3; epoch++) {
        loader.sampler.setEpoch(epoch);
        held.push(...loader); // every batch stays alive while the later ones are built
      }
      expect(held.map((b) => b.size)).to.deep.equal([4, 4, 3, 4, 4, 3, 4, 4, 3]);
      for (const batch of held) {
        const x = Array.from(batch.x.dataSync());
        const samples = x.filter((_, k) => k % 2 === 0);
        expect(x.filter((_, k) => k % 2 === 1)).to.deep.equal(samples.map((i) => -i));
        expect(Array.from(batch.labels)).to.deep.equal(samples.map((i) => i % 3));
        // Exactly one 1 per row, at the label: no one-hot left over from an earlier batch.
        expect(batch.y.arraySync()).to.deep.equal(samples.map((i) => [0, 1, 2].map((c) => (c === i % 3 ? 1 : 0))));
      }
    } finally {
      held.forEach((b) => b.dispose());
    }
  });

  it('leaves no tensor behind once the batches are disposed', () => {
    const loader = new DataLoader(new Synthetic({ numSamples: 50, inputShape: [3], numClasses: 4 }), { batchSize: 8, shuffle: true });
    const start = tf.memory().numTensors;
    for (let epoch = 0; epoch < 3; epoch++) {
      loader.sampler.setEpoch(epoch);
      for (const batch of loader) {
        // Each live batch holds exactly its two tensors.
        expect(tf.memory().numTensors).to.equal(start + 2);
        batch.dispose();
      }
      expect(tf.memory().numTensors).to.equal(start);
    }
  });
});

describe('MNIST', function () {
  // Parsing the package's 10 JSON files takes a moment on the first use.
  this.timeout(120_000);
  let train: MNIST;
  let test: MNIST;
  before(() => {
    train = new MNIST({ split: 'train' });
    test = new MNIST({ split: 'test' });
  });

  it('splits the 10,000 digits 80/20 per digit into disjoint train and test sets', () => {
    expect([train.length, test.length]).to.deep.equal([8000, 2000]);
    const trainRows = sha1Rows(train);
    const testRows = sha1Rows(test);
    const all = new Set([...trainRows, ...testRows]);
    expect(all.size).to.equal(10_000);
    const perDigit = (ds: MNIST) => Array.from({ length: 10 }, (_, d) => ds.labels.filter((l) => l === d).length);
    // round(0.8 * count) of each digit's 1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978 samples.
    expect(perDigit(train)).to.deep.equal([801, 902, 793, 826, 784, 690, 811, 856, 755, 782]);
    expect(perDigit(test)).to.deep.equal([200, 225, 198, 206, 196, 173, 203, 214, 189, 196]);
  });

  it('interleaves digits so that every prefix is class-balanced', () => {
    expect(Array.from(train.labels.subarray(0, 10))).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(Array.from(test.labels.subarray(0, 10))).to.deep.equal([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // Until the smallest digit (5) runs out, labels cycle 0..9.
    expect(train.labels.subarray(0, 6900).every((l, i) => l === i % 10)).to.equal(true);
    expect(test.labels.subarray(0, 1730).every((l, i) => l === i % 10)).to.equal(true);
  });

  it('has pixels in [0, 1] and the MNIST sample shape', () => {
    let min = Infinity;
    let max = -Infinity;
    for (const v of test.features) { if (v < min) min = v; if (v > max) max = v; }
    expect([min, max]).to.deep.equal([0, 1]);
    expect(test.features.length).to.equal(2000 * 784);
    expect(test.sampleShape).to.deep.equal([784]);
    expect(test.numClasses).to.equal(10);
  });

  it('is deterministic', () => {
    const again = new MNIST({ split: 'test' });
    expect(Buffer.from(again.features.buffer).equals(Buffer.from(test.features.buffer))).to.equal(true);
    expect(Array.from(again.labels)).to.deep.equal(Array.from(test.labels));
  });

  it('keeps the first `limit` samples of the split', () => {
    const small = new MNIST({ split: 'train', limit: 25 });
    expect(small.length).to.equal(25);
    expect(Array.from(small.labels)).to.deep.equal(Array.from(train.labels.subarray(0, 25)));
    expect(Array.from(small.features)).to.deep.equal(Array.from(train.features.subarray(0, 25 * 784)));
    expect(new MNIST({ split: 'test', limit: 5000 }).length).to.equal(2000);
  });

  it('gives [28, 28, 1] images for conv nets', () => {
    const images = new MNIST({ split: 'test', limit: 12, inputShape: [28, 28, 1] });
    expect(images.sampleShape).to.deep.equal([28, 28, 1]);
    expect(Array.from(images.features)).to.deep.equal(Array.from(test.features.subarray(0, 12 * 784)));
    const [batch] = new DataLoader(images, { batchSize: 12 });
    expect(batch!.x.shape).to.deep.equal([12, 28, 28, 1]);
    expect(batch!.y.shape).to.deep.equal([12, 10]);
    batch!.dispose();
  });

  it('rejects bad options', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ split: 'val' }, `split: must be one of 'train', 'test'; got "val"`],
      [{ trainFraction: 1 }, 'trainFraction: must lie strictly between 0 and 1; got 1'],
      [{ limit: 0 }, 'limit: must be a positive integer; got 0'],
      [{ limit: 2.5 }, 'limit: must be a positive integer; got 2.5'],
      [{ inputShape: [28, 28] }, 'inputShape: must be [784] or [28, 28, 1]; got [28,28]'],
    ];
    for (const [options, message] of cases) {
      expect(() => new MNIST(options as never)).to.throw(ConfigError).with.property('message', message);
    }
  });
});

describe('Synthetic', () => {
  it('is deterministic for a seed and differs between seeds', () => {
    const a = new Synthetic({ numSamples: 30, inputShape: [2, 3], numClasses: 3, seed: 7 });
    const b = new Synthetic({ numSamples: 30, inputShape: [2, 3], numClasses: 3, seed: 7 });
    const c = new Synthetic({ numSamples: 30, inputShape: [2, 3], numClasses: 3, seed: 8 });
    expect(Array.from(a.features)).to.deep.equal(Array.from(b.features));
    expect(Array.from(a.features)).to.not.deep.equal(Array.from(c.features));
    expect(a.features.length).to.equal(30 * 6);
    expect(a.features.every(Number.isFinite)).to.equal(true);
    expect(a.sampleShape).to.deep.equal([2, 3]);
    expect(Array.from(a.labels)).to.deep.equal(Array.from({ length: 30 }, (_, i) => i % 3));
  });

  it('has defaults: 256 samples of 8 features, 2 classes', () => {
    const ds = new Synthetic();
    expect([ds.length, ds.sampleShape, ds.numClasses]).to.deep.equal([256, [8], 2]);
  });

  it('rejects bad options', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ numSamples: 0 }, 'numSamples: must be a positive integer; got 0'],
      [{ numSamples: 1.5 }, 'numSamples: must be a positive integer; got 1.5'],
      [{ inputShape: [] }, 'inputShape: must be a non-empty list of positive integers; got []'],
      [{ inputShape: [4, 0] }, 'inputShape: must be a non-empty list of positive integers; got [4,0]'],
      [{ inputShape: 4 }, 'inputShape: must be a non-empty list of positive integers; got 4'],
      [{ numClasses: 1 }, 'numClasses: must be an integer >= 2; got 1'],
      [{ seed: 'a' }, 'seed: must be an integer; got "a"'],
      [{ seed: 0.5 }, 'seed: must be an integer; got 0.5'],
      [{ separation: 'far' }, 'separation: must be a finite number > 0; got "far"'],
      [{ separation: 0 }, 'separation: must be a finite number > 0; got 0'],
    ];
    for (const [options, message] of cases) {
      expect(() => new Synthetic(options as never)).to.throw(ConfigError).with.property('message', message);
    }
  });
});
