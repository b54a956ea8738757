import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { buildFromConfig } from '../../src/config/build-from-config.js';
import { ConfigError } from '../../src/core/errors.js';
import { MemoryLogger } from '../../src/core/services.js';
import { DataLoader, EpochSampler } from '../../src/training/data/data-loader.js';
import type { ArrayDataset } from '../../src/training/data/dataset.js';
import { DistributedSampler } from '../../src/training/data/distributed-sampler.js';
import { createLocalProcessGroups } from '../../src/testing/index.js';

/** Sample i has feature i, so a batch's x says which samples it holds. */
function indexDataset(length: number): ArrayDataset {
  const features = Float32Array.from({ length }, (_, i) => i);
  return { length, sampleShape: [1], numClasses: 2, features, labels: Int32Array.from({ length }, (_, i) => i % 2) };
}

function batches(loader: DataLoader): number[][] {
  const out: number[][] = [];
  for (const batch of loader) {
    out.push(Array.from(batch.x.dataSync()));
    batch.dispose();
  }
  return out;
}

const shards = (length: number, worldSize: number, shuffle: boolean, seed = 0) =>
  Array.from({ length: worldSize }, (_, rank) => new DistributedSampler(length, { rank, worldSize, shuffle, seed }));

describe('DistributedSampler', () => {
  it('without shuffle: indices[rank::worldSize] of 0..n-1 padded from the start to a multiple of worldSize', () => {
    expect(shards(10, 4, false).map((s) => Array.from(s.order()))).to.deep.equal([[0, 4, 8], [1, 5, 9], [2, 6, 0], [3, 7, 1]]);
    expect(shards(10, 4, false).map((s) => s.length)).to.deep.equal([3, 3, 3, 3]);
    expect(shards(6, 3, false).map((s) => Array.from(s.order()))).to.deep.equal([[0, 3], [1, 4], [2, 5]]);
    // More ranks than samples: the order repeats as often as needed (torch pads the same way).
    expect(shards(2, 5, false).map((s) => Array.from(s.order()))).to.deep.equal([[0], [1], [0], [1], [0]]);
  });

  it("with shuffle: every rank strides the single-process loader's permutation of (seed, epoch), padded from its start", () => {
    const single = new EpochSampler(11, true, 7);
    const ranks = shards(11, 3, true, 7);
    for (const epoch of [0, 1, 2]) {
      single.setEpoch(epoch);
      ranks.forEach((s) => s.setEpoch(epoch));
      const perm = Array.from(single.order());
      const padded = [...perm, perm[0]!];
      expect(ranks.map((s) => Array.from(s.order()))).to.deep.equal([0, 1, 2].map((r) => padded.filter((_, i) => i % 3 === r)));
    }
    ranks.forEach((s) => s.setEpoch(0));
    const epoch0 = ranks.map((s) => Array.from(s.order()));
    ranks.forEach((s) => s.setEpoch(1));
    expect(ranks.map((s) => Array.from(s.order()))).to.not.deep.equal(epoch0);
    expect(shards(11, 3, true, 8).map((s) => Array.from(s.order()))).to.not.deep.equal(epoch0);
  });

  it("makes rank r's batch b the r-th stride of the batch b a worldSize-times larger batch gives one process", () => {
    const ds = indexDataset(24);
    const single = batches(new DataLoader(ds, { batchSize: 6, shuffle: true, seed: 3 }));
    const perRank = shards(24, 2, true, 3).map((sampler) => batches(new DataLoader(ds, { batchSize: 3, sampler })));
    expect(perRank.map((b) => b.length)).to.deep.equal([4, 4]);
    single.forEach((batch, b) => {
      expect(perRank[0]![b]).to.deep.equal(batch.filter((_, i) => i % 2 === 0));
      expect(perRank[1]![b]).to.deep.equal(batch.filter((_, i) => i % 2 === 1));
    });
  });

  it('sizes the loader by its shard, and validates its arguments', () => {
    const sampler = new DistributedSampler(10, { rank: 1, worldSize: 4 });
    expect(new DataLoader(indexDataset(10), { batchSize: 2, sampler }).length).to.equal(2);
    expect(new DataLoader(indexDataset(10), { batchSize: 2, sampler, dropLast: true }).length).to.equal(1);
    expect(() => new DataLoader(indexDataset(10), { batchSize: 4, sampler, dropLast: true })).to.throw(ConfigError, "dropLast: with batchSize 4 the sampler's 3 samples yield no batch");
    expect(() => new DistributedSampler(10, { rank: 4, worldSize: 4 })).to.throw(ConfigError, 'DistributedSampler.rank: must be an integer in 0..3; got 4');
    expect(() => new DistributedSampler(10, { rank: 0, worldSize: 0 })).to.throw(ConfigError, 'DistributedSampler.worldSize: must be a positive integer; got 0');
  });

  it('buildFromConfig shards the train and val loaders by the process group (batchSize per process)', async function () {
    this.timeout(60000);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hookflow-shard-'));
    try {
      const config = {
        model: { type: 'MLPClassifier', inputShape: [4], hiddenUnits: [4], numClasses: 3 },
        data: {
          train: { dataset: { type: 'Synthetic', numSamples: 20, inputShape: [4], numClasses: 3 }, batchSize: 4, shuffle: true },
          val: { dataset: { type: 'Synthetic', numSamples: 9, inputShape: [4], numClasses: 3 }, batchSize: 4 },
        },
        optimizer: { type: 'SGD', lr: 0.1 },
        runner: { type: 'EpochBasedRunner', maxEpochs: 1 },
        workDir: dir,
      };
      const groups = createLocalProcessGroups(2);
      const built = await Promise.all(groups.map((processGroup) => buildFromConfig(config, { logger: new MemoryLogger(), processGroup })));
      built.forEach(({ runner, trainLoader, valLoader }, rank) => {
        expect(runner.processGroup).to.equal(groups[rank]);
        expect([runner.rank, runner.worldSize]).to.deep.equal([rank, 2]);
        expect(trainLoader.sampler).to.be.instanceOf(DistributedSampler);
        expect(trainLoader.sampler.length).to.equal(10);
        expect(trainLoader.length).to.equal(3);
        expect(valLoader!.sampler.length).to.equal(5);
        expect(Array.from(valLoader!.sampler.order())).to.deep.equal(rank === 0 ? [0, 2, 4, 6, 8] : [1, 3, 5, 7, 0]);
      });
      const single = await buildFromConfig(config, { logger: new MemoryLogger() });
      expect(single.trainLoader.sampler).to.be.instanceOf(EpochSampler);
      expect(single.trainLoader.length).to.equal(5);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
