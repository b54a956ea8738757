import * as tf from '../../src/backend/tfjs.js';
import { expect } from 'chai';
import { Hook } from '../../src/core/hook.js';
import { HOOKS } from '../../src/core/hooks-registry.js';
import { MemoryLogger } from '../../src/core/services.js';
import { GradientAccumulation, GradientCumulativeOptimizerHook, cumulativeLossFactor } from '../../src/hooks/gradient-cumulative-optimizer-hook.js';
import { OptimizerHook } from '../../src/hooks/optimizer-hook.js';
import type { BaseRunner } from '../../src/runner/base-runner.js';
import { DataLoader } from '../../src/training/data/data-loader.js';
import type { ArrayDataset } from '../../src/training/data/dataset.js';
import { Synthetic } from '../../src/training/data/synthetic.js';
import { EpochBasedRunner } from '../../src/runner/epoch-based-runner.js';
import { Classifier } from '../../src/training/model/classifier.js';
import { MLPClassifier } from '../../src/training/model/models.js';
import { SGD } from '../../src/training/optim/sgd.js';
import { tinyRunner } from '../helpers/tiny.js';

/** Records `tf.memory().numTensors` after every training iteration (registered last). */
class TensorCountProbe extends Hook<BaseRunner> {
  readonly counts: number[] = [];
  override afterTrainIter(): void {
    this.counts.push(tf.memory().numTensors);
  }
}

/** The dataset `times` times over, as one dataset (what batches that straddle epochs see). */
function repeated(dataset: ArrayDataset, times: number): ArrayDataset {
  const features = new Float32Array(dataset.features.length * times);
  const labels = new Int32Array(dataset.labels.length * times);
  for (let k = 0; k < times; k++) {
    features.set(dataset.features, k * dataset.features.length);
    labels.set(dataset.labels, k * dataset.labels.length);
  }
  return { length: dataset.length * times, sampleShape: dataset.sampleShape, numClasses: dataset.numClasses, features, labels };
}

/** Trains a linear softmax classifier (plain SGD) with `hook`; returns its weights and the runner. */
async function trainLinear(dataset: ArrayDataset, batchSize: number, maxEpochs: number, hook: OptimizerHook) {
  const model = MLPClassifier({ inputShape: [4], hiddenUnits: [], numClasses: 3, seed: 3 });
  const optimizer = new SGD(model.params(), { lr: 0.5 });
  const runner = new EpochBasedRunner({ model, optimizer, logger: new MemoryLogger(), maxEpochs });
  runner.registerHook(hook, 'ABOVE_NORMAL');
  const probe = new TensorCountProbe();
  runner.registerHook(probe, 'LOWEST');
  const before = tf.memory().numTensors;
  await runner.run([new DataLoader(dataset, { batchSize })], [['train', 1]]);
  const weights = new Map([...model.namedWeights()].map(([k, v]) => [k, Array.from(v.dataSync())]));
  const leaked = tf.memory().numTensors - before;
  model.net.dispose();
  return { weights, runner, counts: probe.counts, leaked };
}

function maxAbsDiff(a: Map<string, number[]>, b: Map<string, number[]>): number {
  expect([...a.keys()]).to.deep.equal([...b.keys()]);
  let max = 0;
  for (const [k, va] of a) va.forEach((x, i) => { max = Math.max(max, Math.abs(x - b.get(k)![i]!)); });
  return max;
}

const warnings = (runner: BaseRunner) => (runner.logger as MemoryLogger).lines.filter((l) => l.level === 'warn').map((l) => l.message);

describe('GradientCumulativeOptimizerHook', () => {
  it("divides the loss by MMCV's factors (cumulativeIters 3)", () => {
    const factors = (maxIters: number, from = 0) => Array.from({ length: maxIters - from }, (_, i) => cumulativeLossFactor(from + i, maxIters, 3));
    expect(factors(6)).to.deep.equal([3, 3, 3, 3, 3, 3]);
    expect(factors(8)).to.deep.equal([3, 3, 3, 3, 3, 3, 2, 2]);
    expect(factors(10)).to.deep.equal([3, 3, 3, 3, 3, 3, 3, 3, 3, 1]);
    expect(factors(10, 5)).to.deep.equal([3, 3, 3, 3, 1]);
    expect(factors(7)).to.deep.equal([3, 3, 3, 3, 3, 3, 1]);
    expect(factors(8, 3)).to.deep.equal([3, 3, 3, 2, 2]);
  });

  it('trains batch 1 × cumulativeIters 3 exactly like batch 3', async () => {
    const data = new Synthetic({ numSamples: 9, inputShape: [4], numClasses: 3, seed: 5 });
    const acc = await trainLinear(data, 1, 1, new GradientCumulativeOptimizerHook({ cumulativeIters: 3 }));
    const plain = await trainLinear(data, 3, 1, new OptimizerHook());
    const untrained = MLPClassifier({ inputShape: [4], hiddenUnits: [], numClasses: 3, seed: 3 });
    const initial = new Map([...untrained.namedWeights()].map(([k, v]) => [k, Array.from(v.dataSync())]));
    untrained.net.dispose();
    expect(maxAbsDiff(plain.weights, initial)).to.be.greaterThan(0.05); // it did train
    expect(maxAbsDiff(acc.weights, plain.weights)).to.be.lessThan(1e-5);
  });

  it('straddles epochs, gives the short last window its own factor and clips the sums like batch 3', async () => {
    // 8 samples, 2 epochs: windows are global iterations 0-2, 3-5, 6-8 (across the epoch end), ...,
    // 12-14 and 15 alone; batch 3 over the data twice in a row has the same groups.
    const data = new Synthetic({ numSamples: 8, inputShape: [4], numClasses: 3, seed: 6 });
    const gradClip = { maxNorm: 0.2 };
    const acc = await trainLinear(data, 1, 2, new GradientCumulativeOptimizerHook({ cumulativeIters: 3, gradClip }));
    const plain = await trainLinear(repeated(data, 2), 3, 1, new OptimizerHook({ gradClip }));
    expect(maxAbsDiff(acc.weights, plain.weights)).to.be.lessThan(1e-5);
    const accNorms = acc.runner.logBuffer.valHistory.get('gradNorm')!;
    const plainNorms = plain.runner.logBuffer.valHistory.get('gradNorm')!;
    expect(accNorms).to.have.length(6);
    expect(Math.max(...plainNorms)).to.be.greaterThan(0.2); // clipping did happen
    accNorms.forEach((n, i) => expect(n).to.be.closeTo(plainNorms[i]!, 1e-5));
    expect(warnings(acc.runner)).to.deep.equal(['Loss will be divided by 1 in the last 1 iterations because they are not enough for 3 cumulativeIters.']);
  });

  it('keeps the tensor count flat and frees its sums after the run', async () => {
    const data = new Synthetic({ numSamples: 8, inputShape: [4], numClasses: 3, seed: 6 });
    const { counts, leaked } = await trainLinear(data, 1, 2, new GradientCumulativeOptimizerHook({ cumulativeIters: 3 }));
    expect(counts).to.have.length(16);
    expect(new Set(counts).size).to.equal(1);
    expect(leaked).to.equal(0);
  });

  it('warns about a resume in the middle of a window and about the short last window', async () => {
    const { runner, train } = tinyRunner({ kind: 'iter', maxIters: 8 });
    runner.registerHook(new GradientCumulativeOptimizerHook({ cumulativeIters: 3 }), 'ABOVE_NORMAL');
    runner.restoreState({ iter: 4 });
    await runner.run([train], [['train', 1]]);
    expect(warnings(runner)).to.deep.equal([
      'Resume iter number is not divisible by cumulativeIters in GradientCumulativeOptimizerHook, which means the gradient of some iters is lost and the result may be influenced slightly.',
      'Loss will be divided by 2 in the last 2 iterations because they are not enough for 3 cumulativeIters.',
      'Loss will be divided by 2 in the last 2 iterations because they are not enough for 3 cumulativeIters.',
    ]);
  });

  it('warns about batch normalization when it accumulates', async () => {
    const run = async (cumulativeIters: number) => {
      const net = tf.sequential({ layers: [
        tf.layers.dense({ units: 5, inputShape: [4], name: 'fc1' }),
        tf.layers.batchNormalization({ name: 'bn1' }),
        tf.layers.dense({ units: 3, name: 'logits' }),
      ] });
      const model = new Classifier(net);
      const runner = new EpochBasedRunner({ model, optimizer: new SGD(model.params(), { lr: 0.1 }), logger: new MemoryLogger(), maxEpochs: 1 });
      runner.registerHook(new GradientCumulativeOptimizerHook({ cumulativeIters }), 'ABOVE_NORMAL');
      await runner.run([new DataLoader(new Synthetic({ numSamples: 8, inputShape: [4], numClasses: 3 }), { batchSize: 4 })], [['train', 1]]);
      net.dispose();
      return warnings(runner);
    };
    expect(await run(2)).to.deep.equal(['GradientCumulativeOptimizerHook may slightly decrease performance if the model has BatchNorm layers.']);
    expect(await run(1)).to.deep.equal([]);
  });

  it('sums in binary16 when asked, rounding every partial sum as a half-precision .grad does', () => {
    const { runner } = tinyRunner({ kind: 'iter', maxIters: 6 });
    const hook = new GradientCumulativeOptimizerHook({ cumulativeIters: 3 });
    const sumOf = (float16: boolean) => {
      const acc = new GradientAccumulation(1, float16);
      for (const value of [1, 2 ** -11, 2 ** -11]) {
        const grad = tf.tensor1d([value]);
        acc.add(hook, runner, new Map([['w', grad]]));
        grad.dispose();
      }
      const sums = acc.take();
      const out = Array.from(sums.get('w')!.dataSync());
      sums.get('w')!.dispose();
      acc.dispose();
      return out;
    };
    expect(sumOf(false)).to.deep.equal([1 + 2 ** -10]);
    expect(sumOf(true)).to.deep.equal([1]); // 1 + 2^-11 is a tie that rounds back to 1, twice
  });

  it('validates its options', () => {
    expect(new GradientCumulativeOptimizerHook().cumulativeIters).to.equal(1);
    expect(() => new GradientCumulativeOptimizerHook({ cumulativeIters: 0 })).to.throw('GradientCumulativeOptimizerHook.cumulativeIters: must be a positive integer; got 0');
    expect(() => new GradientCumulativeOptimizerHook({ cumulativeIters: 1.5 })).to.throw('GradientCumulativeOptimizerHook.cumulativeIters: must be a positive integer; got 1.5');
    expect(() => new GradientCumulativeOptimizerHook({ cumulativeIters: '3' as unknown as number })).to.throw('GradientCumulativeOptimizerHook.cumulativeIters: must be a positive integer; got "3"');
    expect(() => new GradientCumulativeOptimizerHook({ cumulativeIter: 3 } as object)).to.throw(
      "GradientCumulativeOptimizerHook: unknown option 'cumulativeIter' (did you mean 'cumulativeIters'?); allowed options: gradClip, detectAnomalousParams, bucketSizeMb, cumulativeIters",
    );
  });

  it('is registered and builds from optimizerConfig', () => {
    expect(HOOKS.get('GradientCumulativeOptimizerHook')).to.equal(GradientCumulativeOptimizerHook);
    const { runner } = tinyRunner();
    runner.registerTrainingHooks({ optimizerConfig: { type: 'GradientCumulativeOptimizerHook', cumulativeIters: 4, gradClip: { maxNorm: 1 } }, timerConfig: null });
    const [hook] = runner.hooks;
    expect(hook).to.be.instanceOf(GradientCumulativeOptimizerHook);
    expect(hook!.priority).to.equal(40);
    expect((hook as GradientCumulativeOptimizerHook).cumulativeIters).to.equal(4);
    expect((hook as GradientCumulativeOptimizerHook).gradClip).to.deep.equal({ maxNorm: 1 });
  });
});
