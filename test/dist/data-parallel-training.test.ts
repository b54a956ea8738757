import * as tf from '../../src/backend/tfjs.js';
import { expect } from 'chai';
import { Hook } from '../../src/core/hook.js';
import { MemoryLogger, type ProcessGroup, type ReduceOp } from '../../src/core/services.js';
import type { StageEvent } from '../../src/core/stage-event.js';
import '../../src/hooks/index.js';
import type { BaseRunner } from '../../src/runner/base-runner.js';
import { DataLoader } from '../../src/training/data/data-loader.js';
import { DistributedSampler } from '../../src/training/data/distributed-sampler.js';
import { Synthetic } from '../../src/training/data/synthetic.js';
import { EpochBasedRunner } from '../../src/runner/epoch-based-runner.js';
import { IterBasedRunner } from '../../src/runner/iter-based-runner.js';
import { Classifier } from '../../src/training/model/classifier.js';
import { MLPClassifier } from '../../src/training/model/models.js';
import { SGD } from '../../src/training/optim/sgd.js';
import type { TrainingHooksConfig } from '../../src/runner/register-training-hooks.js';
import { InjectOverflow, runOnLocalRanks, singleProcess } from './ranks.js';

interface RankRun {
  losses: number[];
  /** The loss of every val iteration (with `val`). */
  valLosses: number[];
  weights: Map<string, Float32Array>;
  events: StageEvent[];
  runner: BaseRunner;
  logger: MemoryLogger;
}

interface TrainOptions {
  batchSize: number;
  shuffle: boolean;
  numSamples?: number;
  maxEpochs?: number;
  maxIters?: number;
  trainingHooks?: TrainingHooksConfig;
  /** A different model init per rank (rank 0's must win through the start-of-run broadcast). */
  seedOfRank?: (rank: number) => number;
  hooks?: (rank: number) => Hook<BaseRunner>[];
  /** Registered at HIGHEST, before the optimizer hook. */
  overflow?: InjectOverflow;
  /** A val epoch after each train epoch, on 16 held-out samples (sharded with several ranks). */
  val?: boolean;
}

/** One rank's training run: a sharded loader with several ranks, the whole data set with one. */
async function trainRank(group: ProcessGroup, options: TrainOptions): Promise<RankRun> {
  const { batchSize, shuffle, numSamples = 48, seedOfRank = () => 0 } = options;
  const net = MLPClassifier({ inputShape: [4], hiddenUnits: [8], numClasses: 3, seed: seedOfRank(group.rank) }).net;
  const model = new Classifier(net);
  const dataset = new Synthetic({ numSamples, inputShape: [4], numClasses: 3, seed: 5 });
  const sampler = group.worldSize > 1 ? new DistributedSampler(dataset.length, { rank: group.rank, worldSize: group.worldSize, shuffle, seed: 9 }) : undefined;
  const loader = new DataLoader(dataset, { batchSize, shuffle, seed: 9, sampler });
  const valSet = new Synthetic({ numSamples: 16, inputShape: [4], numClasses: 3, seed: 6 });
  const valSampler = group.worldSize > 1 ? new DistributedSampler(valSet.length, { rank: group.rank, worldSize: group.worldSize }) : undefined;
  const valLoader = new DataLoader(valSet, { batchSize, sampler: valSampler });
  const optimizer = new SGD(model.params(), { lr: 0.2, momentum: 0.9, weightDecay: 1e-3 });
  const logger = new MemoryLogger();
  const limits = options.maxIters ? { maxIters: options.maxIters } : { maxEpochs: options.maxEpochs ?? 4 };
  const runner = options.maxIters
    ? new IterBasedRunner({ model, optimizer, logger, processGroup: group, ...limits })
    : new EpochBasedRunner({ model, optimizer, logger, processGroup: group, ...limits });
  runner.registerTrainingHooks({ ...(options.trainingHooks ?? { optimizerConfig: { gradClip: { maxNorm: 0.5 } } }), customHooksConfig: [{ type: 'DistSamplerSeedHook' }] });
  for (const hook of options.hooks?.(group.rank) ?? []) runner.registerHook(hook);
  if (options.overflow) runner.registerHook(options.overflow, 'HIGHEST');
  const events: StageEvent[] = [];
  runner.events$.subscribe((e) => events.push(e));
  try {
    await (options.val ? runner.run([loader, valLoader], [['train', 1], ['val', 1]]) : runner.run([loader], [['train', 1]]));
    const lossesAt = (stage: string) => events.filter((e) => e.stage === stage).map((e) => (e.payload!.logVars as Record<string, number>).loss!);
    const [losses, valLosses] = [lossesAt('afterTrainIter'), lossesAt('afterValIter')];
    const weights = new Map([...model.namedWeights()].map(([k, v]) => [k, v.dataSync().slice() as Float32Array]));
    return { losses, valLosses, weights, events, runner, logger };
  } finally {
    optimizer.dispose();
    model.net!.dispose();
  }
}

function maxDiff(a: Map<string, Float32Array>, b: Map<string, Float32Array>): number {
  let d = 0;
  for (const [k, v] of a) v.forEach((x, i) => { d = Math.max(d, Math.abs(x - b.get(k)![i]!)); });
  return d;
}

function bitwiseEqual(a: Map<string, Float32Array>, b: Map<string, Float32Array>): boolean {
  return [...a].every(([k, v]) => Buffer.from(v.buffer, v.byteOffset, v.byteLength).equals(Buffer.from(b.get(k)!.buffer, b.get(k)!.byteOffset, b.get(k)!.byteLength)));
}

/** A group that records the array lengths of every allReduce it passes on. */
function recording(group: ProcessGroup, calls: Array<{ op: ReduceOp; lengths: number[] }>): ProcessGroup {
  return {
    ...group,
    allReduce: (values, op = 'sum') => {
      calls.push({ op, lengths: values.map((v) => v.length) });
      return group.allReduce(values, op);
    },
  };
}

describe('data-parallel training on in-process ranks', function () {
  this.timeout(120000);

  for (const shuffle of [false, true]) {
    it(`2 ranks with batch B train and validate exactly as 1 rank with batch 2B (${shuffle ? 'shuffled by the sampler' : 'no shuffle'}), with bitwise-identical weights across ranks`, async () => {
      const [single] = await singleProcess((g) => trainRank(g, { batchSize: 8, shuffle, val: true }));
      const ranks = await runOnLocalRanks(2, (g) => trainRank(g, { batchSize: 4, shuffle, val: true, seedOfRank: (r) => r * 17 }));
      expect(single!.losses).to.have.length(24);
      expect(single!.valLosses).to.have.length(8);
      for (const rank of ranks) {
        expect(rank.losses).to.have.length(24);
        rank.losses.forEach((loss, i) => expect(loss).to.be.closeTo(single!.losses[i]!, 1e-5));
        // The val loader is sharded too; its logged loss is the global batch's.
        expect(rank.valLosses).to.have.length(8);
        rank.valLosses.forEach((loss, i) => expect(loss).to.be.closeTo(single!.valLosses[i]!, 1e-5));
        expect(maxDiff(rank.weights, single!.weights)).to.be.lessThan(1e-5);
      }
      expect(bitwiseEqual(ranks[0]!.weights, ranks[1]!.weights)).to.equal(true);
      // The logged loss is the global batch's: the same number on both ranks.
      expect(ranks[0]!.losses).to.deep.equal(ranks[1]!.losses);
      expect(ranks[0]!.events.filter((e) => e.stage === 'afterTrainIter').map((e) => e.payload!.numSamples)).to.deep.equal(Array(24).fill(8));
    });
  }

  it('averages the gradients and log vars once per step, in one all-reduce per bucket, before clipping; one process calls no collective', async () => {
    const calls: Array<Array<{ op: ReduceOp; lengths: number[] }>> = [[], []];
    const gradNorms: number[][] = [[], []];
    class GradNormProbe extends Hook<BaseRunner> {
      override afterTrainIter(runner: BaseRunner): void {
        gradNorms[runner.rank]!.push(runner.logBuffer.valHistory.get('gradNorm')!.at(-1)!);
      }
    }
    // Cap 1.5e-4 MB = 157 bytes = 39 floats. Parameters in model order: fc1/kernel 32, fc1/bias 8,
    // logits/kernel 24, logits/bias 3, so the buckets are [32] and [8 + 24 + 3].
    await runOnLocalRanks(2, (g) => trainRank(recording(g, calls[g.rank]!), {
      batchSize: 4, shuffle: true, maxIters: 3,
      trainingHooks: { optimizerConfig: { gradClip: { maxNorm: 0.5 }, bucketSizeMb: 1.5e-4 } },
      hooks: () => [new GradNormProbe()],
    }));
    // Each iteration: one all-reduce per bucket, the log vars (loss, accuracy, sample count)
    // riding at the end of the last one, then the stop agreement.
    const iteration = [{ op: 'mean', lengths: [32] }, { op: 'mean', lengths: [35 + 3] }, { op: 'min', lengths: [1] }];
    expect(calls[0]).to.deep.equal([...iteration, ...iteration, ...iteration]);
    expect(calls[1]).to.deep.equal(calls[0]);
    // Clipping saw the averaged gradients: the same pre-clip norm on both ranks.
    expect(gradNorms[0]).to.deep.equal(gradNorms[1]);
    expect(gradNorms[0]).to.have.length(3);

    const alone: Array<{ op: ReduceOp; lengths: number[] }> = [];
    await singleProcess((g) => trainRank(recording(g, alone), { batchSize: 8, shuffle: true, maxIters: 3 }));
    expect(alone).to.deep.equal([]);
  });

  it('a gradient all-reduce that fails names OptimizerHook and the step it averages for', async () => {
    const failing = (group: ProcessGroup): ProcessGroup => ({
      ...group,
      allReduce: (values, op) => (values[0]!.length > 3 ? Promise.reject(new Error('link down')) : group.allReduce(values, op)),
    });
    const messages = await runOnLocalRanks(2, async (g) => {
      try {
        await trainRank(failing(g), { batchSize: 4, shuffle: false, maxIters: 2 });
        return 'finished';
      } catch (error) {
        return (error as Error).message;
      }
    });
    expect(messages).to.deep.equal(Array(2).fill('hook OptimizerHook failed in afterTrainIter (averageStep): link down'));
  });

  it('accumulates gradients locally and averages them only on the iterations that step, as 1 rank with batch 2B', async () => {
    const trainingHooks = { optimizerConfig: { type: 'GradientCumulativeOptimizerHook', cumulativeIters: 3 } } as TrainingHooksConfig;
    const [single] = await singleProcess((g) => trainRank(g, { batchSize: 8, shuffle: true, maxIters: 8, trainingHooks }));
    const calls: Array<Array<{ op: ReduceOp; lengths: number[] }>> = [[], []];
    const ranks = await runOnLocalRanks(2, (g) => trainRank(recording(g, calls[g.rank]!), { batchSize: 4, shuffle: true, maxIters: 8, trainingHooks }));
    ranks.forEach((rank) => {
      rank.losses.forEach((loss, i) => expect(loss).to.be.closeTo(single!.losses[i]!, 1e-5));
      expect(maxDiff(rank.weights, single!.weights)).to.be.lessThan(1e-5);
    });
    expect(bitwiseEqual(ranks[0]!.weights, ranks[1]!.weights)).to.equal(true);
    // Windows of 3 over 8 iterations step after iterations 3, 6 and 8: one gradient all-reduce (67 floats) each.
    const gradientCalls = calls[0]!.map((c, i) => [i, c.lengths[0]]).filter(([, n]) => n === 67);
    expect(gradientCalls).to.have.length(3);
    expect(calls[0]!.filter((c) => c.lengths[0] === 3)).to.have.length(8);
  });

  it('Fp16OptimizerHook: an overflow on one rank makes every rank skip that step and lower the same loss scale', async () => {
    // Starting at 2^6, the scale never overflows by itself here: the only overflows are the injected ones.
    const trainingHooks = { optimizerConfig: { type: 'Fp16OptimizerHook', lossScale: { initScale: 64 } } } as TrainingHooksConfig;
    const ranks = await runOnLocalRanks(2, (g) => trainRank(g, { batchSize: 4, shuffle: true, maxIters: 8, trainingHooks, overflow: new InjectOverflow(1, new Set([2, 5])) }));
    const overflows = ranks.map((r) => r.logger.lines.filter((l) => l.level === 'warn').map((l) => l.message));
    expect(overflows[0]).to.deep.equal(['Check overflow, downscale loss scale to 32', 'Check overflow, downscale loss scale to 16']);
    expect(overflows[1]).to.deep.equal(overflows[0]!.map((m) => `rank 1: ${m}`));
    expect(ranks[0]!.runner.meta!.fp16).to.deep.equal(ranks[1]!.runner.meta!.fp16);
    expect(bitwiseEqual(ranks[0]!.weights, ranks[1]!.weights)).to.equal(true);
  });

  it('a stop requested on one rank ends every rank at the same iteration', async () => {
    class StopAt extends Hook<BaseRunner> {
      override afterTrainIter(runner: BaseRunner): void {
        if (runner.rank === 1 && runner.iter === 4) runner.requestStop('enough', 'StopAt');
      }
    }
    const ranks = await runOnLocalRanks(2, (g) => trainRank(g, { batchSize: 4, shuffle: true, maxEpochs: 3, hooks: () => [new StopAt()] }));
    for (const rank of ranks) {
      expect(rank.runner.iter).to.equal(5);
      expect(rank.events.filter((e) => e.stage === 'afterTrainIter')).to.have.length(5);
    }
    expect(ranks[0]!.events.at(-1)!.payload).to.deep.equal({ stopReason: 'rank 1 asked to stop', stopSource: 'rank 1' });
    expect(ranks[1]!.events.at(-1)!.payload).to.deep.equal({ stopReason: 'enough', stopSource: 'StopAt' });
    expect(bitwiseEqual(ranks[0]!.weights, ranks[1]!.weights)).to.equal(true);
  });

  it('leaves no tensor behind: two ranks, gradient buckets and all', async () => {
    const before = tf.memory().numTensors;
    await runOnLocalRanks(2, (g) => trainRank(g, { batchSize: 4, shuffle: true, maxIters: 12, trainingHooks: { optimizerConfig: { bucketSizeMb: 1.5e-4 } } }));
    expect(tf.memory().numTensors).to.equal(before);
  });
});

