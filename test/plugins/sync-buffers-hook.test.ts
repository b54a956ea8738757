import * as tf from '../../src/backend/tfjs.js';
import { expect } from 'chai';
import { TOKENS } from '../../src/core/di.js';
import '../../src/hooks/index.js';
import { MemoryLogger, singleProcessGroup, type ProcessGroup } from '../../src/core/services.js';
import { runOnLocalRanks } from '../../src/dist/local-process-groups.js';
import { DataLoader } from '../../src/training/data/data-loader.js';
import { Synthetic } from '../../src/training/data/synthetic.js';
import { EpochBasedRunner } from '../../src/runner/epoch-based-runner.js';
import { Classifier } from '../../src/training/model/classifier.js';
import { SGD } from '../../src/training/optim/sgd.js';
import { SyncBuffersHook, modelBuffers } from '../../plugins/sync-buffers-hook.js';
import { hookPlan } from './hook-plan.js';

/** dense(8) → batch norm → logits: a model with buffers (the batch-norm moving statistics). */
function bnClassifier(): Classifier {
  const glorot = (seed: number) => tf.initializers.glorotUniform({ seed });
  return new Classifier(tf.sequential({
    layers: [
      tf.layers.dense({ units: 8, inputShape: [4], name: 'fc1', kernelInitializer: glorot(1) }),
      tf.layers.batchNormalization({ name: 'bn' }),
      tf.layers.dense({ units: 3, name: 'logits', kernelInitializer: glorot(2) }),
    ],
  }));
}

/**
 * Rank 0 of a fake two-rank world: the other rank always contributes `k + 1` for the k-th
 * array, so the mean of each element is `(own + k + 1) / 2`. Every call is recorded.
 */
class FakeTwoRankGroup implements ProcessGroup {
  readonly rank = 0;
  readonly worldSize = 2;
  readonly localRank = 0;
  readonly allReduce = singleProcessGroup.allReduce;
  readonly broadcastObject = singleProcessGroup.broadcastObject;
  readonly allGather = singleProcessGroup.allGather;
  readonly gather = singleProcessGroup.gather;
  readonly barrier = singleProcessGroup.barrier;
  readonly calls: Array<{ stage: string | undefined; local: Float32Array[]; averaged: Float32Array[] }> = [];
  constructor(private readonly stageOf: () => string | undefined = () => undefined) {}
  async allReduceMean(values: Float32Array[]): Promise<Float32Array[]> {
    const averaged = values.map((v, k) => v.map((x) => (x + k + 1) / 2));
    this.calls.push({ stage: this.stageOf(), local: values.map((v) => v.slice()), averaged });
    return averaged;
  }
  async broadcast(values: Float32Array[]): Promise<Float32Array[]> {
    return values;
  }
}

function setup(processGroup?: ProcessGroup) {
  const model = bnClassifier();
  const runner = new EpochBasedRunner({ model, optimizer: new SGD(model.params(), { lr: 0.1 }), logger: new MemoryLogger(), maxEpochs: 2, processGroup });
  const data = new Synthetic({ numSamples: 12, inputShape: [4], numClasses: 3, seed: 0 });
  return { model, runner, train: new DataLoader(data, { batchSize: 4, shuffle: true, seed: 0 }), val: new DataLoader(data, { batchSize: 4 }) };
}

const read = (v: tf.Variable) => Array.from(v.dataSync());

describe('SyncBuffersHook', () => {
  it('defaults to distributed and validates options', () => {
    expect(new SyncBuffersHook().distributed).to.equal(true);
    expect(new SyncBuffersHook({ distributed: false }).distributed).to.equal(false);
    expect(() => new SyncBuffersHook({ distributed: 1 as never })).to.throw('SyncBuffersHook.distributed: Invalid input: expected boolean, received number');
    expect(() => new SyncBuffersHook({ distibuted: true } as never)).to.throw("SyncBuffersHook: unknown option 'distibuted' (did you mean 'distributed'?); allowed options: distributed");
  });

  it("finds the buffers: the model's weights that are not parameters", () => {
    expect(modelBuffers(bnClassifier()).map(([key]) => key)).to.deep.equal(['bn/moving_mean', 'bn/moving_variance']);
  });

  it('averages the buffers across ranks after every train and val epoch of a real run, through the injected group', async () => {
    let runnerRef: EpochBasedRunner | undefined;
    const group = new FakeTwoRankGroup(() => runnerRef?.event?.stage);
    const { model, runner, train, val } = setup(group);
    runnerRef = runner;
    runner.registerTrainingHooks({ optimizerConfig: {}, customHooksConfig: [{ type: 'SyncBuffersHook' }] });
    expect(hookPlan(runner.hookInfo()).afterTrainEpoch).to.deep.equal(['(NORMAL) SyncBuffersHook']);
    expect(hookPlan(runner.hookInfo()).afterValEpoch).to.deep.equal(['(NORMAL) SyncBuffersHook']);
    const tensorsAfterIter: number[] = [];
    runner.addEventListener((e) => { if (e.stage === 'afterTrainIter') tensorsAfterIter.push(tf.memory().numTensors); });
    await runner.run([train, val], [['train', 1], ['val', 1]]);

    expect(group.calls.map((c) => c.stage)).to.deep.equal(['afterTrainEpoch', 'afterValEpoch', 'afterTrainEpoch', 'afterValEpoch']);
    // A val epoch changes no statistics: it sends what the previous sync wrote back.
    expect(group.calls[1]!.local).to.deep.equal(group.calls[0]!.averaged);
    const [mean, variance] = modelBuffers(model).map(([, v]) => v);
    const last = group.calls.at(-1)!;
    expect(read(mean!)).to.deep.equal(Array.from(last.averaged[0]!));
    expect(read(variance!)).to.deep.equal(Array.from(last.averaged[1]!));
    expect(new Set(tensorsAfterIter).size).to.equal(1);
  });

  it('leaves two in-process ranks with the mean of their statistics, bitwise the same on both', async () => {
    const ranks = await runOnLocalRanks(2, async (group) => {
      const model = bnClassifier();
      const runner = new EpochBasedRunner({ model, optimizer: new SGD(model.params(), { lr: 0.1 }), logger: new MemoryLogger(), maxEpochs: 1, processGroup: group });
      // Each rank its own data, so each trains its own statistics.
      const train = new DataLoader(new Synthetic({ numSamples: 12, inputShape: [4], numClasses: 3, seed: group.rank }), { batchSize: 4 });
      let beforeSync: number[][] = [];
      runner.addEventListener((e) => { if (e.stage === 'afterTrainIter' && e.innerIter === 2) beforeSync = modelBuffers(model).map(([, v]) => read(v)); });
      runner.registerTrainingHooks({ optimizerConfig: {}, customHooksConfig: [{ type: 'SyncBuffersHook' }] });
      await runner.run([train], [['train', 1]]);
      return { beforeSync, after: modelBuffers(model).map(([, v]) => read(v)) };
    });
    expect(ranks[0]!.beforeSync).to.not.deep.equal(ranks[1]!.beforeSync);
    expect(ranks[1]!.after).to.deep.equal(ranks[0]!.after);
    const mean = ranks[0]!.beforeSync.map((b, k) => b.map((x, i) => Math.fround(Math.fround(x + ranks[1]!.beforeSync[k]![i]!) / 2)));
    expect(ranks[0]!.after).to.deep.equal(mean);
  });

  it('changes only the buffers, never the parameters', async () => {
    const group = new FakeTwoRankGroup();
    const { model, runner } = setup();
    const params = new Map([...model.params()].map(([k, v]) => [k, read(v)]));
    const buffersBefore = modelBuffers(model).map(([, v]) => read(v));
    await new SyncBuffersHook({}, group).afterEpoch(runner);
    for (const [k, v] of model.params()) expect(read(v), k).to.deep.equal(params.get(k));
    // moving_mean starts at 0 and the other rank sends 1; moving_variance starts at 1, the other sends 2.
    expect(buffersBefore).to.deep.equal([Array(8).fill(0), Array(8).fill(1)]);
    expect(modelBuffers(model).map(([, v]) => read(v))).to.deep.equal([Array(8).fill(0.5), Array(8).fill(1.5)]);
  });

  it('prefers the group bound in the container over the runner\'s own', async () => {
    const group = new FakeTwoRankGroup();
    const { runner, train } = setup();
    runner.container.rebind(TOKENS.ProcessGroup).toConstantValue(group);
    runner.registerTrainingHooks({ optimizerConfig: {}, customHooksConfig: [{ type: 'SyncBuffersHook' }] });
    await runner.run([train], [['train', 1]]);
    expect(runner.worldSize).to.equal(1);
    expect(group.calls).to.have.length(2);
  });

  it('is a no-op with one rank or distributed: false', async () => {
    const refuse: ProcessGroup = {
      ...singleProcessGroup,
      rank: 0, worldSize: 1,
      allReduceMean: () => { throw new Error('must not be called with one rank'); },
      broadcast: async (v) => v,
    };
    const single = setup(refuse);
    single.runner.registerTrainingHooks({ optimizerConfig: {}, customHooksConfig: [{ type: 'SyncBuffersHook' }] });
    await single.runner.run([single.train], [['train', 1]]);

    const group = new FakeTwoRankGroup();
    const off = setup(group);
    off.runner.registerTrainingHooks({ optimizerConfig: {}, customHooksConfig: [{ type: 'SyncBuffersHook', distributed: false }] });
    await off.runner.run([off.train], [['train', 1]]);
    expect(group.calls).to.have.length(0);
  });

  it('stops the run with a clear error when the group answers with the wrong number of arrays', async () => {
    const broken: ProcessGroup = { ...singleProcessGroup, rank: 0, worldSize: 2, allReduceMean: async (v) => v.slice(1), broadcast: async (v) => v };
    const { runner, train } = setup(broken);
    runner.registerTrainingHooks({ optimizerConfig: {}, customHooksConfig: [{ type: 'SyncBuffersHook' }] });
    let error: Error | undefined;
    await runner.run([train], [['train', 1]]).catch((e: Error) => { error = e; });
    expect(error?.message).to.equal('hook SyncBuffersHook failed in afterTrainEpoch: the process group returned 1 arrays for 2 buffers');
  });
});
